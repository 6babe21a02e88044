"""What PostgreSQL adds to the conformance suite: append-only for the owner (triggers) and for
the service role (privileges), the versioned schema, the writer lock, snapshots and errors.

Every test gets a new database of the throw-away cluster (tests/pg.py); the conformance suite
(test_store_drivers.py and the others) runs on PostgreSQL through ``PostgresKit``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from cvid.errors import InputError, StoreError
from cvid.store import Log, PostgresDriver, SQLiteDriver, open_driver, schema, verify_log
from cvid.store.postgres import WRITER_LOCK, grant_service_role, redact, translate
from cvid.tlog.note import Signer
from pg import Cluster, url_with


def entry(i: int) -> bytes:
    return b"entry-%d" % i


def run_sql(url: str, *statements: str) -> None:
    """Run statements in one transaction behind cvid's back, as a person with ``url``'s role."""
    with psycopg.connect(url) as db:
        for statement in statements:
            db.execute(statement)


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as db:
        return db.execute(query).fetchall()


# One row in each ledger table, so that UPDATE and DELETE have a row to be refused on.
LEDGER_ROWS = (
    "INSERT INTO ledger_meta VALUES ('format', 'cvid-ledger/1')",
    "INSERT INTO ledger_files VALUES ('agreement.yaml', '\\x00')",
    "INSERT INTO ledger_secrets VALUES ('log', 'PRIVATE+KEY+x')",
    "INSERT INTO records VALUES (0, '\\x01', 'declaration', 'a', NULL, NULL, 's', 'k', NULL, "
    "0, 0, NULL, NULL)",
    "INSERT INTO record_values VALUES (0, 'warheads', 1550, NULL)",
    "INSERT INTO checkpoint_times VALUES (260, 0)",
    "INSERT INTO witness_cosignatures VALUES (260, 'w+00000000+BA==', '— w AAAA')",
)


@pytest.fixture
def pg_log(postgres_url: str, signer: Signer) -> str:
    """A PostgreSQL log with a row in every table (closed); its URL, as the owner."""
    with Log.create_in(PostgresDriver(postgres_url, create=True), signer) as log:
        log.append([entry(i) for i in range(260)])
        log.checkpoint()
    run_sql(postgres_url, *LEDGER_ROWS)
    return postgres_url


def snapshot(url: str) -> list[list[tuple[Any, ...]]]:
    """Every row of every cvid table."""
    with psycopg.connect(url) as db:
        return [db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in schema.KEYS]


def refused(url: str, sql: str, said: str) -> None:
    """``sql`` fails saying ``said``, and no row of the store changed."""
    before = snapshot(url)
    with pytest.raises(psycopg.Error, match=said):
        run_sql(url, sql)
    assert snapshot(url) == before


def rewrites(table: str) -> dict[str, str]:
    """Statements that would rewrite ``table``'s history."""
    key = schema.KEYS[table].split(", ")[0]
    return {
        f"update-{table}": f"UPDATE {table} SET {key} = {key}",
        f"delete-{table}": f"DELETE FROM {table}",
        f"truncate-{table}": f"TRUNCATE {table}",
    }


REWRITES = {name: sql for table in schema.KEYS for name, sql in rewrites(table).items()}

OTHER_VIOLATIONS = {
    "gap-entries": "INSERT INTO entries VALUES (270, '\\x00')",
    "negative-entries": "INSERT INTO entries VALUES (-1, '\\x00')",
    "upsert-entries": "INSERT INTO entries VALUES (0, '\\x00') ON CONFLICT (idx) DO UPDATE "
    "SET data = EXCLUDED.data",
    "upsert-tiles": "INSERT INTO tiles VALUES (0, 0, '\\x00') ON CONFLICT (level, idx) "
    "DO UPDATE SET hashes = EXCLUDED.hashes",
    "upsert-meta": "INSERT INTO meta VALUES ('vkey', 'attacker+00000000+AA==') ON CONFLICT (key) "
    "DO UPDATE SET value = EXCLUDED.value",
}


# -- the owner is refused by the triggers ---------------------------------------------------------


@pytest.mark.parametrize("sql", REWRITES.values(), ids=REWRITES.keys())
def test_the_owner_cannot_rewrite_any_table(pg_log: str, sql: str) -> None:
    refused(pg_log, sql, "append-only")


@pytest.mark.parametrize("sql", OTHER_VIOLATIONS.values(), ids=OTHER_VIOLATIONS.keys())
def test_the_owner_cannot_insert_out_of_order_or_upsert(pg_log: str, sql: str) -> None:
    refused(pg_log, sql, "append-only")


def test_through_the_driver_a_refusal_is_a_store_error_saying_append_only(pg_log: str) -> None:
    driver = PostgresDriver(pg_log)
    try:
        before = snapshot(pg_log)
        for sql in ("UPDATE entries SET data = ? WHERE idx = ?", "DELETE FROM entries"):
            with pytest.raises(StoreError, match="append-only") as caught, driver.write() as tx:
                tx.execute(sql, (b"x", 3) if "?" in sql else ())
            assert redact(pg_log) in caught.value.diagnostics()
        # A key stored twice is a unique violation in PostgreSQL's words; cvid says what it means.
        with (
            pytest.raises(StoreError, match="append-only: checkpoints already holds that key"),
            driver.write() as tx,
        ):
            tx.execute("INSERT INTO checkpoints (size, note) VALUES (?, ?)", (260, b"forged"))
        with pytest.raises(StoreError, match="append-only: tiles already holds that key"):
            driver.append(260, [b"more"], [(0, 0, bytes(8192))])
        assert snapshot(pg_log) == before
    finally:
        driver.close()


# -- the service role is refused by its privileges ------------------------------------------------

OWNER = "cvid_test_owner"
SERVICE = "cvid_test_service"


@dataclass
class Roles:
    """A store created by an ordinary owner role, with a service role granted on it."""

    owner: str
    service: str
    admin: str


@pytest.fixture
def roles(postgres_url: str, postgres_cluster: Cluster, signer: Signer) -> Roles:
    postgres_cluster.ensure_role(OWNER)
    postgres_cluster.ensure_role(SERVICE)
    dbname = urlsplit(postgres_url).path.lstrip("/")
    run_sql(postgres_url, f'ALTER DATABASE "{dbname}" OWNER TO {OWNER}')
    owner = url_with(postgres_url, user=OWNER)
    with Log.create_in(PostgresDriver(owner, create=True), signer) as log:
        log.append([entry(i) for i in range(260)])
        log.checkpoint()
    run_sql(owner, *LEDGER_ROWS)
    assert grant_service_role(owner, SERVICE) == sorted({*schema.KEYS, "schema_version"})
    return Roles(owner, url_with(postgres_url, user=SERVICE), postgres_url)


def test_the_service_role_appends_checkpoints_and_reads(roles: Roles, signer: Signer) -> None:
    with Log.open_driver(PostgresDriver(roles.service), signer) as log:
        assert log.append([b"from the service"]) == 260
        assert log.checkpoint().checkpoint.size == 261
        assert log.read_entries(259, 261) == [entry(259), b"from the service"]
        assert verify_log(log) == []


@pytest.mark.parametrize("sql", REWRITES.values(), ids=REWRITES.keys())
def test_the_service_role_cannot_rewrite_even_with_the_triggers_disabled(
    roles: Roles, sql: str
) -> None:
    run_sql(roles.owner, *(f"ALTER TABLE {t} DISABLE TRIGGER ALL" for t in schema.KEYS))
    before = snapshot(roles.owner)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run_sql(roles.service, sql)
    assert snapshot(roles.owner) == before


def test_the_service_role_cannot_touch_the_triggers_or_the_schema(roles: Roles) -> None:
    for sql in (
        "ALTER TABLE entries DISABLE TRIGGER ALL",
        "DROP TRIGGER entries_append_only ON entries",
        "CREATE OR REPLACE FUNCTION cvid_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN NEW; END $$",
        "INSERT INTO schema_version (version) VALUES (99)",
        "CREATE TABLE shadow (idx BIGINT)",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            run_sql(roles.service, sql)
    driver = PostgresDriver(roles.owner)
    try:
        assert driver.missing_protections() == []
    finally:
        driver.close()


def test_through_the_driver_the_service_role_is_told_it_may_only_append(roles: Roles) -> None:
    run_sql(roles.owner, "ALTER TABLE entries DISABLE TRIGGER ALL")
    driver = PostgresDriver(roles.service)
    try:
        with (
            pytest.raises(StoreError, match=r"permission denied.*append-only"),
            driver.write() as tx,
        ):
            tx.execute("DELETE FROM entries WHERE idx = ?", (259,))
        assert driver.size() == 260
    finally:
        driver.close()


def test_the_service_role_cannot_migrate_an_older_store(roles: Roles) -> None:
    run_sql(roles.owner, "DELETE FROM schema_version WHERE version >= 2")
    with pytest.raises(StoreError, match="may not migrate it: open it once as the role"):
        PostgresDriver(roles.service)
    PostgresDriver(roles.owner).close()  # the owner migrates it
    assert rows(roles.owner, "SELECT version FROM schema_version ORDER BY 1") == [
        (m.version,) for m in schema.MIGRATIONS
    ]
    PostgresDriver(roles.service).close()


def test_a_superuser_or_a_member_of_the_owner_is_no_service_role(
    roles: Roles, postgres_cluster: Cluster
) -> None:
    with pytest.raises(StoreError, match="superuser"):
        grant_service_role(roles.owner, "postgres")
    postgres_cluster.ensure_role("cvid_test_member")
    run_sql(roles.admin, f"GRANT {OWNER} TO cvid_test_member")
    try:
        with pytest.raises(StoreError, match="owner of the store's tables"):
            grant_service_role(roles.owner, "cvid_test_member")
    finally:
        run_sql(roles.admin, f"REVOKE {OWNER} FROM cvid_test_member")
    with pytest.raises(StoreError, match="no role named 'nobody_here'"):
        grant_service_role(roles.owner, "nobody_here")


def _grants(url: str, role: str) -> list[tuple[Any, ...]]:
    return rows(
        url,
        "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
        f"WHERE grantee = '{role}' ORDER BY 1, 2",
    )


def test_a_privilege_granted_to_public_is_refused_and_nothing_changes(roles: Roles) -> None:
    run_sql(roles.owner, *(f"REVOKE ALL ON {t} FROM {SERVICE}" for t in schema.KEYS))
    run_sql(roles.owner, "GRANT UPDATE ON records TO PUBLIC")
    before = _grants(roles.owner, SERVICE)
    assert ("meta", "SELECT") not in before
    with pytest.raises(StoreError, match="still hold UPDATE on records") as caught:
        grant_service_role(roles.owner, SERVICE)
    assert "nothing was changed" in caught.value.diagnostics()
    assert _grants(roles.owner, SERVICE) == before
    run_sql(roles.owner, "REVOKE UPDATE ON records FROM PUBLIC")
    grant_service_role(roles.owner, SERVICE)
    assert ("meta", "INSERT") in _grants(roles.owner, SERVICE)
    assert ("schema_version", "INSERT") not in _grants(roles.owner, SERVICE)


# -- the schema -----------------------------------------------------------------------------------


def test_every_migration_is_recorded_with_its_time(postgres_url: str) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    driver = PostgresDriver(postgres_url, create=True)
    try:
        assert driver.schema_version() == schema.VERSION
    finally:
        driver.close()
    recorded = rows(postgres_url, "SELECT version, applied_at FROM schema_version ORDER BY 1")
    assert [v for v, _ in recorded] == [m.version for m in schema.MIGRATIONS]
    assert all(start < t < start + dt.timedelta(minutes=2) for _, t in recorded)
    tables = {r[0] for r in rows(postgres_url, "SELECT tablename FROM pg_tables")}
    assert {*schema.KEYS, "schema_version"} <= tables


def _catalog(url: str) -> list[list[tuple[Any, ...]]]:
    return [
        rows(
            url,
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = "
            "'public'::regnamespace ORDER BY 1",
        ),
        rows(url, "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"),
        rows(url, "SELECT tgname FROM pg_trigger ORDER BY 1"),
        rows(url, "SELECT * FROM notes"),
    ]


def test_a_foreign_database_is_refused_and_left_untouched(postgres_url: str) -> None:
    run_sql(
        postgres_url,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)",
        "INSERT INTO notes VALUES (1, 'someone else''s')",
        "CREATE TABLE entries (idx BIGINT)",  # a table of the same name is not a cvid log
    )
    before = _catalog(postgres_url)
    openings: list[Callable[[], object]] = [
        lambda: PostgresDriver(postgres_url),
        lambda: PostgresDriver(postgres_url, readonly=True),
        lambda: open_driver(postgres_url),
    ]
    for opening in openings:
        with pytest.raises(StoreError, match="not a cvid log") as caught:
            opening()
        said = caught.value.diagnostics()
        assert redact(postgres_url) in said and "nothing was changed" in said
        assert "meta, tiles, checkpoints tables in schema public" in said
    assert _catalog(postgres_url) == before


def test_an_empty_cvid_store_is_not_a_log(postgres_url: str) -> None:
    PostgresDriver(postgres_url, create=True).close()
    with pytest.raises(StoreError, match="not a cvid log"):
        Log.open_driver(PostgresDriver(postgres_url))


def test_a_newer_schema_is_refused(pg_log: str) -> None:
    run_sql(pg_log, "INSERT INTO schema_version (version) VALUES (99)")
    for create in (False, True):
        with pytest.raises(
            StoreError, match=f"schema version 99; this cvid reads up to {schema.VERSION}"
        ):
            PostgresDriver(pg_log, create=create)
    assert rows(pg_log, "SELECT MAX(version) FROM schema_version") == [(99,)]


def test_an_older_store_is_migrated_forward_with_its_protections(
    pg_log: str, signer: Signer
) -> None:
    # As a store of schema version 1 (before the ledger's tables), and before versioning.
    run_sql(
        pg_log,
        *(f"DROP TABLE {t}" for t in schema.LEDGER_TABLES),
        "DROP TRIGGER entries_next ON entries",
        "DROP TABLE schema_version",
    )
    driver = PostgresDriver(pg_log, readonly=True)  # a reader changes nothing
    try:
        assert driver.schema_version() == 0
        assert "entries_next" in driver.missing_protections()
    finally:
        driver.close()
    with Log.open_driver(PostgresDriver(pg_log), signer) as log:
        assert log.driver.schema_version() == schema.VERSION  # type: ignore[attr-defined]
        assert log.driver.missing_protections() == []  # type: ignore[attr-defined]
        assert log.append([b"after the migration"]) == 260
        assert verify_log(log) == []
    refused(pg_log, "INSERT INTO entries VALUES (300, '\\x00')", "next index")
    refused(pg_log, "TRUNCATE records", "append-only")  # recreated, so empty: no row to delete


def test_two_processes_migrating_at_once_migrate_once(pg_log: str) -> None:
    run_sql(pg_log, *(f"DROP TABLE {t}" for t in schema.LEDGER_TABLES))
    run_sql(pg_log, "DELETE FROM schema_version WHERE version >= 2")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        barrier.wait()
        try:
            PostgresDriver(pg_log).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert rows(pg_log, "SELECT version FROM schema_version ORDER BY 1") == [
        (m.version,) for m in schema.MIGRATIONS
    ]


def test_missing_protections_names_a_dropped_or_disabled_trigger(pg_log: str) -> None:
    driver = PostgresDriver(pg_log)
    try:
        assert driver.missing_protections() == []
        run_sql(
            pg_log,
            "DROP TRIGGER tiles_append_only ON tiles",
            "ALTER TABLE entries DISABLE TRIGGER entries_next",
            "DROP TRIGGER records_no_truncate ON records",
        )
        assert driver.missing_protections() == [
            "entries_next (disabled)",
            "records_no_truncate",
            "tiles_append_only",
        ]
    finally:
        driver.close()


# -- one writer, consistent readers ---------------------------------------------------------------


def _lock_is_free(url: str) -> bool:
    with psycopg.connect(url) as db:
        got = db.execute("SELECT pg_try_advisory_xact_lock(%s)", (WRITER_LOCK,)).fetchone()
        return bool(got and got[0])


def test_a_write_holds_the_writer_lock_until_it_ends(pg_log: str) -> None:
    driver = PostgresDriver(pg_log)
    try:
        assert _lock_is_free(pg_log)
        with driver.write():
            assert not _lock_is_free(pg_log)
        assert _lock_is_free(pg_log)
        with pytest.raises(RuntimeError), driver.write() as tx:
            tx.execute("INSERT INTO entries (idx, data) VALUES (?, ?)", (260, b"rolled back"))
            raise RuntimeError("the writer fails after its insert")
        assert _lock_is_free(pg_log)
        assert driver.size() == 260
    finally:
        driver.close()


def test_a_writer_lock_held_too_long_is_a_store_error(pg_log: str, signer: Signer) -> None:
    with psycopg.connect(pg_log, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))  # another writer's
        with Log.open_driver(PostgresDriver(pg_log, timeout=0.2), signer) as log:
            with pytest.raises(StoreError, match="held the writer lock") as caught:
                log.append([b"waits"])
            assert "appending 1 entries" in caught.value.diagnostics()
            other.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
            assert log.append([b"now it goes"]) == 260


def test_two_drivers_appending_at_once_lose_and_duplicate_nothing(
    pg_log: str, signer: Signer
) -> None:
    logs = [Log.open_driver(PostgresDriver(pg_log, max_size=2), signer) for _ in range(2)]
    batches = {
        (w, b): [b"w%d-b%d-%d" % (w, b, i) for i in range(7)] for w in (0, 1) for b in range(40)
    }
    landed: dict[tuple[int, int], int] = {}
    barrier = threading.Barrier(2)

    def writer(w: int) -> None:
        barrier.wait()
        for b in range(40):
            landed[(w, b)] = logs[w].append(batches[(w, b)])
            if b % 10 == 9:
                logs[w].checkpoint()

    threads = [threading.Thread(target=writer, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        stored = logs[0].read_entries(0, logs[0].driver.size())
        assert len(stored) == 260 + 2 * 40 * 7
        assert stored[:260] == [entry(i) for i in range(260)]
        assert sorted(stored[260:]) == sorted(e for batch in batches.values() for e in batch)
        for key, index in landed.items():
            assert stored[index : index + 7] == batches[key]
        assert verify_log(logs[1]) == []
        sizes = [s for s, _ in logs[0].driver.checkpoints()]
        assert sizes == sorted(set(sizes)) and sizes[-1] <= len(stored)
    finally:
        for log in logs:
            log.close()


def test_a_read_sees_one_snapshot_and_cannot_write(pg_log: str) -> None:
    reader, writer = PostgresDriver(pg_log), PostgresDriver(pg_log)
    try:
        with reader.read() as tx:
            first = tx.execute("SELECT COUNT(*) FROM entries")
            writer.append(260, [b"meanwhile"], [])
            assert tx.execute("SELECT COUNT(*) FROM entries") == first == [(260,)]
        assert reader.size() == 261
        with pytest.raises(StoreError, match="read-only transaction"), reader.read() as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("k", "v"))
    finally:
        reader.close()
        writer.close()


def test_a_readonly_driver_reads_and_never_writes(pg_log: str) -> None:
    driver = PostgresDriver(pg_log, readonly=True)
    try:
        assert driver.size() == 260
        with pytest.raises(StoreError, match="read-only; cannot write"):
            driver.append(260, [b"x"], [])
    finally:
        driver.close()
    with pytest.raises(StoreError, match="cannot create a store read-only"):
        PostgresDriver(pg_log, create=True, readonly=True)


def test_bytes_come_back_as_bytes(pg_log: str) -> None:
    driver = PostgresDriver(pg_log)
    try:
        values = [
            *driver.read_entries(0, 3),
            *driver.read_tiles([(0, 0)]).values(),
            *driver.read_tile_nodes([(0, 0)]).values(),
            *(note for _, note in driver.checkpoints()),
            *driver.read_tile_with_nodes(0, 0),
        ]
        with driver.read() as tx:
            values += [r[0] for r in tx.execute("SELECT data FROM entries LIMIT 3")]
        assert len(values) == 11
        assert all(type(v) is bytes for v in values), {type(v) for v in values}
    finally:
        driver.close()


# -- naming the store: URLs, passwords, errors ----------------------------------------------------


def test_the_store_is_named_without_its_password(pg_log: str) -> None:
    with_password = pg_log.replace("postgres@", "postgres:s3cret@", 1) + "&password=s3cret"
    driver = PostgresDriver(with_password)  # the test cluster trusts local connections
    try:
        assert driver.where == pg_log
        assert driver.size() == 260
    finally:
        driver.close()
    missing = url_with(with_password, "no_such_database")
    with pytest.raises(StoreError, match="no_such_database") as caught:
        PostgresDriver(missing)
    assert "s3cret" not in caught.value.diagnostics()
    assert conninfo_to_dict(redact("host=db dbname=cvid user=svc password=s3cret")) == {
        "host": "db",
        "dbname": "cvid",
        "user": "svc",
    }
    assert redact("postgres://svc:s3cret@db:5432/cvid") == "postgres://svc@db:5432/cvid"


def test_an_unreachable_server_is_a_store_error_naming_it(tmp_path: Path) -> None:
    url = f"postgresql://postgres@/cvid?host={tmp_path}"
    with pytest.raises(StoreError, match="cannot reach the database") as caught:
        PostgresDriver(url)
    assert caught.value.diagnostics().startswith(f"{url}: opening the store: ")


def test_placeholders_are_translated_outside_quotes() -> None:
    assert translate("SELECT ?, '?', \"a?\", 'it''s ?', 5 % ?") == (
        "SELECT %s, '?', \"a?\", 'it''s ?', 5 %% %s"
    )


def test_open_driver_picks_the_backend_from_the_location(postgres_url: str, tmp_path: Path) -> None:
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://", 1)):
        driver = open_driver(url, create=True)
        try:
            assert isinstance(driver, PostgresDriver) and driver.dialect == "postgresql"
        finally:
            driver.close()
    for path in (tmp_path / "a.db", str(tmp_path / "b.db")):
        lite = open_driver(path, create=True)
        try:
            assert isinstance(lite, SQLiteDriver)
        finally:
            lite.close()
    reader = open_driver(tmp_path / "a.db", readonly=True)
    try:
        with pytest.raises(StoreError, match="read-only"):
            reader.append(0, [b"x"], [])
    finally:
        reader.close()


def test_importing_cvid_store_does_not_import_psycopg() -> None:
    code = "import sys, cvid.store; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_database_in_sql_ascii_still_gives_text_as_text(postgres_cluster: Cluster) -> None:
    # initdb --locale=C without -E makes SQL_ASCII databases, where psycopg returns bytes for
    # text unless the client encoding is set: the driver sets UTF8 on every connection.
    name = "cvid_ascii_" + uuid.uuid4().hex[:8]
    with postgres_cluster.admin() as db:
        db.execute(
            f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' "
            "LC_CTYPE 'C' TEMPLATE template0"
        )
    url = url_with(postgres_cluster.admin_url, name)
    try:
        driver = PostgresDriver(url, create=True)
        try:
            driver.init_meta({"format": "cvid-log/1", "origin": "example.org/log"})
            assert driver.meta() == {"format": "cvid-log/1", "origin": "example.org/log"}
        finally:
            driver.close()
    finally:
        postgres_cluster.drop_database(url)


def test_a_ledgers_messages_never_show_the_password(postgres_url: str) -> None:
    from cvid.evidence import Ledger

    root = Path(__file__).resolve().parents[2]
    Ledger.create(postgres_url, root / "examples" / "new-start").close()
    parts = urlsplit(postgres_url)
    # The throw-away cluster trusts local connections, so any password is accepted.
    with_password = parts._replace(netloc=f"{parts.username}:s3cret@{parts.hostname or ''}")
    with Ledger.open(with_password.geturl(), readonly=True) as ledger:
        assert "s3cret" not in ledger.where and ledger.size == 0
        with pytest.raises(InputError) as info:
            ledger.record(5)
        assert "s3cret" not in info.value.diagnostics()


def test_verify_reports_a_dropped_trigger_and_a_rewritten_function(pg_log: str) -> None:
    run_sql(
        pg_log,
        "DROP TRIGGER tiles_append_only ON tiles",
        "ALTER TABLE entries DISABLE TRIGGER entries_next",
        "CREATE OR REPLACE FUNCTION cvid_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN NEW; END $$",
    )
    want = [
        "append-only trigger entries_next is disabled",
        "append-only trigger tiles_append_only is missing (dropped)",
        "trigger function cvid_append_only() is not the one cvid creates",
    ]
    for readonly in (True, False):  # neither a reader nor the owner opening it repairs it
        driver = PostgresDriver(pg_log, readonly=readonly)
        try:
            assert driver.schema_problems() == want
            problems = verify_log(Log.open_driver(driver))
            assert problems[:3] == want, problems
        finally:
            driver.close()
