"""The one definition of a cvid store's tables, for SQLite and PostgreSQL, as numbered migrations.

A store holds a log (``meta``, ``entries``, ``tiles``, ``tile_nodes``, ``checkpoints``) and, when
it is a ledger, the ledger's own state beside it, written in the same transactions as the entries:

- ``ledger_meta``: the ledger's metadata (format, agreement, origin, keys' public halves, clock
  mode, the package's SHA-256), written once at creation;
- ``ledger_files``: the ledger's copy of the agreement package, file by file;
- ``ledger_secrets``: the private keys the ledger signs with (log and clock), in the Go
  ``PRIVATE+KEY+...`` text. Whoever writes to the ledger signs its checkpoints, so a writing
  service reads them; a role that only serves reads needs no SELECT on this table;
- ``records``: one row per logged record, the fields admission checks and queries need (its
  SHA-256 for replays, kind, party, subject, submitter, signing key, speaker, times in
  microseconds since the epoch, supersedes, disputes);
- ``record_values``: one row per value a record carries (the number and unit of a quantity);
- ``checkpoint_times``: the verified clock time of each clock-cosigned checkpoint, by size.

Any store (log or ledger) also keeps ``witness_cosignatures``: each witness's verified
cosignature line on a checkpoint, by size and witness vkey (:mod:`cvid.witness.publish`).

Every table is append-only: the database refuses UPDATE and DELETE (and TRUNCATE on
PostgreSQL). ``schema_version`` says which migrations a store has; :data:`MIGRATIONS` are applied
in order, each in one transaction, and a store newer than this code is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every table of a cvid store, all append-only, with their primary keys.
KEYS: dict[str, str] = {
    "meta": "key",
    "entries": "idx",
    "tiles": "level, idx",
    "checkpoints": "size",
    "tile_nodes": "level, idx",
    "ledger_meta": "key",
    "ledger_files": "path",
    "ledger_secrets": "name",
    "records": "idx",
    "record_values": "idx, name",
    "checkpoint_times": "size",
    "witness_cosignatures": "size, witness",
}

LOG_TABLES = ("meta", "entries", "tiles", "checkpoints", "tile_nodes")
LEDGER_TABLES = (
    "ledger_meta",
    "ledger_files",
    "ledger_secrets",
    "records",
    "record_values",
    "checkpoint_times",
)
#: Witnesses' cosignatures on the log's checkpoints (:mod:`cvid.witness.publish`).
WITNESS_TABLES = ("witness_cosignatures",)


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its number, what it does, and its DDL in each dialect."""

    version: int
    description: str
    tables: tuple[str, ...]
    sqlite: str
    postgresql: str


# One text of each migration's DDL; :func:`_dialect` fills in the types: {int} an index or
# size (SQLite INTEGER is 64-bit; PostgreSQL needs BIGINT), {blob} bytes, {real} a double,
# {norowid} SQLite's clustered primary key (PostgreSQL has none).
_LOG = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx {int} PRIMARY KEY, data {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS tiles (
    level INTEGER NOT NULL, idx {int} NOT NULL, hashes {blob} NOT NULL,
    PRIMARY KEY (level, idx)
){norowid};
CREATE TABLE IF NOT EXISTS checkpoints (size {int} PRIMARY KEY, note {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS tile_nodes (
    level INTEGER NOT NULL, idx {int} NOT NULL, nodes {blob} NOT NULL,
    PRIMARY KEY (level, idx)
){norowid};
"""

_LEDGER = """
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_files (path TEXT PRIMARY KEY, data {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    idx {int} PRIMARY KEY,
    digest {blob} NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    agreement TEXT NOT NULL,
    party TEXT,
    subject TEXT,
    submitter TEXT NOT NULL,
    signer TEXT NOT NULL,
    speaker TEXT,
    observed_at {int} NOT NULL,
    reported_at {int} NOT NULL,
    supersedes {int},
    disputes {int}
);
CREATE INDEX IF NOT EXISTS records_kind ON records (kind, idx);
CREATE INDEX IF NOT EXISTS records_party ON records (party, idx);
CREATE INDEX IF NOT EXISTS records_subject ON records (subject, idx);
CREATE INDEX IF NOT EXISTS records_submitter ON records (submitter, idx);
CREATE INDEX IF NOT EXISTS records_speaker ON records (speaker, idx);
CREATE INDEX IF NOT EXISTS records_observed ON records (observed_at, idx);
CREATE INDEX IF NOT EXISTS records_supersedes ON records (supersedes);
CREATE INDEX IF NOT EXISTS records_disputes ON records (disputes);
CREATE TABLE IF NOT EXISTS record_values (
    idx {int} NOT NULL, name TEXT NOT NULL, number {real}, unit TEXT,
    PRIMARY KEY (idx, name)
){norowid};
CREATE INDEX IF NOT EXISTS record_values_name ON record_values (name, idx);
CREATE TABLE IF NOT EXISTS checkpoint_times (size {int} PRIMARY KEY, time {int} NOT NULL);
"""

_TYPES = {
    "sqlite": {"int": "INTEGER", "blob": "BLOB", "real": "REAL", "norowid": " WITHOUT ROWID"},
    "postgresql": {"int": "BIGINT", "blob": "BYTEA", "real": "DOUBLE PRECISION", "norowid": ""},
}


def _dialect(ddl: str, dialect: str) -> str:
    return ddl.format(**_TYPES[dialect])


_LOG_SQLITE, _LOG_POSTGRESQL = _dialect(_LOG, "sqlite"), _dialect(_LOG, "postgresql")
_LEDGER_SQLITE, _LEDGER_POSTGRESQL = _dialect(_LEDGER, "sqlite"), _dialect(_LEDGER, "postgresql")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the log: entries, tiles, interior nodes, checkpoints",
        LOG_TABLES,
        _LOG_SQLITE,
        _LOG_POSTGRESQL,
    ),
    Migration(
        2,
        "the ledger: metadata, package copy, keys, record index, clock times",
        LEDGER_TABLES,
        _LEDGER_SQLITE,
        _LEDGER_POSTGRESQL,
    ),
    Migration(
        3,
        "witness cosignatures: one line per checkpoint size and witness vkey",
        WITNESS_TABLES,
        "CREATE TABLE IF NOT EXISTS witness_cosignatures (\n"
        "    size INTEGER NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL,\n"
        "    PRIMARY KEY (size, witness)\n) WITHOUT ROWID;\n",
        "CREATE TABLE IF NOT EXISTS witness_cosignatures (\n"
        "    size BIGINT NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL,\n"
        "    PRIMARY KEY (size, witness)\n);\n",
    ),
)

#: The schema version this code writes and reads.
VERSION = MIGRATIONS[-1].version


def sqlite_triggers(tables: tuple[str, ...]) -> str:
    """SQLite triggers that make ``tables`` append-only.

    UPDATE and DELETE are refused; so is an INSERT whose key exists (``INSERT OR REPLACE``
    deletes the old row without firing DELETE triggers); an entry must go at the next index.
    """
    out = []
    for table in tables:
        keys = KEYS[table]
        for op in ("update", "delete"):
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table}\n"
                f"BEGIN SELECT RAISE(ABORT, 'cvid store is append-only: {op} on {table} "
                "refused'); END;\n"
            )
        if table == "entries":
            # A gap would leave a tree whose size (MAX(idx) + 1) counts entries that do not
            # exist; this also refuses any existing index, so entries needs no replace trigger.
            out.append(
                "CREATE TRIGGER IF NOT EXISTS entries_no_gap BEFORE INSERT ON entries\n"
                "WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM entries)\n"
                "BEGIN SELECT RAISE(ABORT, 'cvid store is append-only: an entry must go at "
                "the next index'); END;\n"
            )
            continue
        match = " AND ".join(f"{k} = NEW.{k}" for k in keys.split(", "))
        out.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table}\n"
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {match})\n"
            f"BEGIN SELECT RAISE(ABORT, 'cvid store is append-only: replace on {table} "
            "refused'); END;\n"
        )
    return "".join(out)


def sqlite_trigger_names(tables: tuple[str, ...]) -> set[str]:
    """The names :func:`sqlite_triggers` gives its triggers."""
    names: set[str] = set()
    for t in tables:
        names |= {f"{t}_no_update", f"{t}_no_delete"}
        names.add("entries_no_gap" if t == "entries" else f"{t}_no_replace")
    return names


def postgresql_triggers(tables: tuple[str, ...]) -> str:
    """PostgreSQL triggers that make ``tables`` append-only (UPDATE, DELETE, TRUNCATE refused;
    an entry only at the next index)."""
    out = [
        """
CREATE OR REPLACE FUNCTION cvid_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cvid store is append-only: % on % refused', lower(TG_OP), TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE OR REPLACE FUNCTION cvid_entries_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.idx IS DISTINCT FROM (SELECT COALESCE(MAX(idx) + 1, 0) FROM entries) THEN
        RAISE EXCEPTION 'cvid store is append-only: an entry must go at the next index'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
"""
    ]
    for table in tables:
        out.append(
            f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION cvid_append_only();
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION cvid_append_only();
"""
        )
        if table == "entries":
            out.append(
                """
DROP TRIGGER IF EXISTS entries_next ON entries;
CREATE TRIGGER entries_next BEFORE INSERT ON entries
    FOR EACH ROW EXECUTE FUNCTION cvid_entries_next();
"""
            )
    return "".join(out)
