"""The PostgreSQL driver: one store on a shared server where several writers and readers meet.

A :class:`PostgresDriver` keeps a pool of connections (psycopg 3, ``psycopg_pool``) to one
database; the store's tables live in the connection's current schema (the first of its
``search_path``, ``public`` unless the URL says ``?options=-csearch_path%3Dname``).

- **One writer at a time.** Every write transaction first takes a transaction-level advisory
  lock, :data:`WRITER_LOCK`, so across every process and host on the database exactly one
  writer holds it; the size it reads inside the transaction is the index it appends at.
  Migrations take the same lock, so two processes opening an old store at once migrate it once.
- **Consistent reads.** Every read is a ``READ ONLY`` transaction at ``REPEATABLE READ``: all
  its statements see one snapshot.
- **Append-only, twice over.** Triggers (:func:`cvid.store.schema.postgresql_triggers`) refuse
  UPDATE, DELETE and TRUNCATE of every table and an entry anywhere but at the next index, for
  every role, the owner included; :meth:`PostgresDriver.missing_protections` reports a trigger
  someone dropped or disabled. The owner can drop triggers, so a service should not run as the
  owner: :func:`grant_service_role` gives a login role SELECT and INSERT and nothing else, so a
  service process cannot rewrite history even with the triggers gone.

How an operator sets it up, with two roles:

- the **owner** (``cvid_owner``) owns the database's tables: it creates the store and migrates it
  when cvid is upgraded. Keep its credentials away from the service hosts;
- the **service role** (``cvid_service``), an ordinary login role (neither a superuser nor a
  member of the owner), is what every service process (``cvid serve``) connects as.

::

    createuser --login --pwprompt cvid_service          # as a PostgreSQL administrator
    python - <<'PY'                                     # as the owner
    from cvid.store.postgres import PostgresDriver, grant_service_role
    owner = "postgresql://cvid_owner@db.example/cvid"
    PostgresDriver(owner, create=True).close()          # tables, triggers, schema_version
    grant_service_role(owner, "cvid_service")           # SELECT and INSERT, nothing else
    PY
    # each service process then opens the store as the service role:
    #   cvid.store.open_driver("postgresql://cvid_service@db.example/cvid")

Run :func:`grant_service_role` again after upgrading cvid: a migration may add tables, and a
service role is granted only the tables that exist when it runs. A store whose schema is older
than this code is migrated when it is opened, which only the owner may do; the service role
then gets a :class:`StoreError` saying so.

Durability is the server's: with its defaults (``fsync``, ``synchronous_commit`` on) a write
transaction that returned is on disk. Every psycopg error becomes a :class:`StoreError` naming
the store (its URL without any password) and the operation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.adapt import Buffer, Loader
from psycopg.pq import Format, TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from cvid.errors import StoreError
from cvid.store import schema
from cvid.store.sqlbase import Dialect, SqlDriver

#: The advisory lock key of cvid's single writer: the first 8 bytes, as a signed big-endian
#: integer, of SHA-256("cvid: the single writer of a store"). Fixed forever: processes of
#: different cvid versions on one database must contend for the same lock.
WRITER_LOCK = -788613012105317191

#: Seconds a write waits for the writer lock (or a table lock) before giving up.
LOCK_TIMEOUT = 30.0

#: Seconds to wait for the server when connecting.
CONNECT_TIMEOUT = 10

#: The tables a store must already have to be opened (older logs have no ``tile_nodes``).
REQUIRED_TABLES = ("meta", "entries", "tiles", "checkpoints")

_SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)

# READ COMMITTED on purpose: each statement after the lock sees every commit made while this
# transaction waited for it (a REPEATABLE READ snapshot would be taken before the wait).
_TAKE_LOCK = f"SELECT pg_advisory_xact_lock({WRITER_LOCK})"
_BEGIN_WRITE = f"BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE; {_TAKE_LOCK}"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"

_TABLES_HERE = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"


def redact(url: str) -> str:
    """``url`` (a URL or a ``key=value`` connection string) without any password in it."""
    if "://" not in url:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            return "a PostgreSQL database (unreadable connection string)"
        params.pop("password", None)
        return make_conninfo("", **params)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        netloc = userinfo.partition(":")[0] + "@" + hosts
    query = "&".join(
        p for p in parts.query.split("&") if p and p.partition("=")[0].lower() != "password"
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _plain(exc: psycopg.Error) -> str:
    """A sentence for a person about a psycopg error."""
    diag = exc.diag
    text = " ".join(str(exc).split())
    primary = diag.message_primary or text or type(exc).__name__
    state = exc.sqlstate
    if isinstance(exc, PoolTimeout):
        return (
            "no connection to the database became free in time (every pooled connection is "
            "busy, or the server cannot be reached); nothing was written, try again"
        )
    if "append-only" in primary:
        return primary
    if state == "23505":  # unique_violation
        detail = f" ({diag.message_detail})" if diag.message_detail else ""
        return (
            f"cvid store is append-only: {diag.table_name or 'the table'} already holds that "
            f"key{detail}, and a stored row is never replaced"
        )
    if state == "42501":  # insufficient_privilege
        return (
            f"{primary}: this role may not do that (a cvid service role may only read and "
            "append; the store is append-only, and only its owner migrates it)"
        )
    if state == "55P03":  # lock_not_available (lock_timeout)
        return (
            "another process held the writer lock (or a lock on a table) for the whole wait; "
            "nothing was written, try again"
        )
    if state == "53100":  # disk_full
        return f"the disk is full; the transaction was rolled back, nothing was written ({primary})"
    if state == "25006":  # read_only_sql_transaction
        return f"a write was refused in a read-only transaction ({primary})"
    if state is None and isinstance(exc, psycopg.OperationalError):
        return f"cannot reach the database: {text}"
    return f"PostgreSQL error {state}: {primary}" if state else f"PostgreSQL error: {primary}"


class _BytesLoader(Loader):
    """bytea in binary form as ``bytes``: psycopg may hand out a memoryview of its buffer."""

    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


@lru_cache(maxsize=256)
def translate(query: str) -> str:
    """``query`` with ``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` as ``%%``).

    A ``?`` inside a quoted literal or identifier stays as it is.
    """
    out: list[str] = []
    quote = ""
    for ch in query:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


class _Tx:
    """A :class:`cvid.store.sqlbase.SqlTx` on one connection's open transaction."""

    dialect: Dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        # Binary results: tiles (8 KiB each) travel as bytes rather than as hex text.
        self._cur = conn.cursor(binary=True)

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cur = self._cur
        cur.execute(translate(sql), tuple(params))
        return cur.fetchall() if cur.description is not None else []

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._cur.executemany(translate(sql), rows)


def _finish(conn: psycopg.Connection[Any], ok: bool) -> None:
    """End the open transaction: COMMIT if ``ok``, else a ROLLBACK whose own failure is moot."""
    if ok:
        conn.execute("COMMIT")
    elif conn.info.transaction_status != TransactionStatus.IDLE:
        # The original error is the one to report, not a failed rollback on a broken line.
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")


class PostgresDriver(SqlDriver):
    """A :class:`cvid.store.driver.LogDriver` on one PostgreSQL database (``url``).

    ``create=True`` creates the tables and triggers (every migration, recorded in
    ``schema_version``); otherwise the database must already hold a cvid store, and nothing is
    created or changed in one that does not. A store newer than this code is refused; an older
    cvid log is migrated forward. ``readonly=True`` never writes: the schema is not migrated
    and every write is a :class:`StoreError`. ``min_size``/``max_size`` bound the pool;
    ``timeout`` is how long a write waits for the writer lock (default :data:`LOCK_TIMEOUT`).
    """

    dialect: Dialect = "postgresql"

    def __init__(
        self,
        url: str,
        create: bool = False,
        *,
        readonly: bool = False,
        min_size: int = 1,
        max_size: int = 8,
        timeout: float | None = None,
    ) -> None:
        self.url = url
        self.where = redact(url)
        self.readonly = readonly
        self._lock_ms = max(1, round(1000 * (LOCK_TIMEOUT if timeout is None else timeout)))
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        if create and readonly:
            raise StoreError(f"{self.where}: cannot create a store read-only")
        try:
            with self._errors("opening the store"):
                # One plain connection first: a wrong URL or a foreign database fails at once,
                # with the server's own reason, rather than after a pool's retries.
                # client_encoding UTF8: text comes back as str even from a database created
                # with encoding SQL_ASCII (initdb --locale=C without -E), where psycopg would
                # otherwise hand out bytes.
                with psycopg.connect(
                    url,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT,
                    application_name="cvid",
                    client_encoding="UTF8",
                ) as conn:
                    self._configure(conn)
                    if create:
                        self._refuse_newer(conn)
                        self._migrate(conn, 0)
                    else:
                        self._check_schema(conn, migrate=not readonly)
                pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                    url,
                    min_size=min_size,
                    max_size=max_size,
                    kwargs={
                        "autocommit": True,
                        "connect_timeout": CONNECT_TIMEOUT,
                        "application_name": "cvid",
                        "client_encoding": "UTF8",
                    },
                    configure=self._configure,
                    timeout=CONNECT_TIMEOUT + self._lock_ms / 1000,
                    name="cvid",
                    open=False,
                )
                self._pool = pool
                pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Set up a new connection: bytea as bytes, and how long a lock is waited for."""
        conn.adapters.register_loader("bytea", _BytesLoader)
        conn.execute(f"SET lock_timeout = {self._lock_ms}")

    # -- schema ------------------------------------------------------------------------------

    @staticmethod
    def _tables(conn: psycopg.Connection[Any]) -> set[str]:
        return {str(r[0]) for r in conn.execute(_TABLES_HERE).fetchall()}

    @classmethod
    def _version(cls, conn: psycopg.Connection[Any]) -> int:
        if "schema_version" not in cls._tables(conn):
            # A store from before versioning: every migration is applied again (each one's
            # tables are created only if missing, its triggers replaced).
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0) if row else 0

    def _refuse_newer(self, conn: psycopg.Connection[Any]) -> int:
        have = self._version(conn)
        if have > schema.VERSION:
            raise StoreError(
                f"{self.where}: the store has schema version {have}; this cvid reads up to "
                f"{schema.VERSION} (upgrade cvid)"
            )
        return have

    def _migrate(self, conn: psycopg.Connection[Any], have: int) -> None:
        """Apply every migration after ``have``, each in one transaction under the writer lock."""
        for m in schema.MIGRATIONS:
            if m.version <= have:
                continue
            conn.execute(_BEGIN_WRITE)
            ok = False
            try:
                if self._version(conn) < m.version:  # else another process migrated meanwhile
                    # No parameters: the DDL's own % signs (RAISE formats) are sent as they are.
                    conn.execute(m.postgresql + schema.postgresql_triggers(m.tables))
                    conn.execute(_SCHEMA_VERSION_DDL)
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (m.version,))
                ok = True
            except psycopg.errors.InsufficientPrivilege:
                raise StoreError(
                    f"{self.where}: the store has schema version {have} and this cvid needs "
                    f"{schema.VERSION}; this role may not migrate it: open it once as the role "
                    "that owns its tables"
                ) from None
            finally:
                _finish(conn, ok)

    def _check_schema(self, conn: psycopg.Connection[Any], migrate: bool) -> None:
        """Refuse a database without a cvid log's tables or with a newer schema; migrate older."""
        names = self._tables(conn)
        if missing := [t for t in REQUIRED_TABLES if t not in names]:
            where = conn.execute("SELECT current_schema()").fetchone()
            schema_name = where[0] if where and where[0] else "(none)"
            raise StoreError(
                f"{self.where}: not a cvid log (no {', '.join(missing)} table"
                f"{'s' if len(missing) > 1 else ''} in schema {schema_name}); nothing was changed"
            )
        have = self._refuse_newer(conn)
        if have < schema.VERSION and migrate:
            # Only a cvid log is migrated: nothing is created in someone else's database.
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is not None and str(row[0]).startswith("cvid-log/"):
                self._migrate(conn, have)

    def schema_version(self) -> int:
        """The highest migration recorded in the store (0 for a store from before versioning)."""
        with self._errors("reading the schema version"), self._connection() as conn:
            return self._version(conn)

    def missing_protections(self) -> list[str]:
        """The append-only triggers this store should have and does not, or has disabled.

        A disabled trigger is named with `` (disabled)`` after it. Empty for an intact store.
        """
        query = (
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
        )
        with self._errors("reading the triggers"), self._connection() as conn:
            triggers = {str(name): str(state) for name, state in conn.execute(query).fetchall()}
            tables = self._tables(conn)
        out: list[str] = []
        for name in sorted(_trigger_names(tuple(t for t in schema.KEYS if t in tables))):
            if name not in triggers:
                out.append(name)
            elif triggers[name] == "D":  # ALTER TABLE ... DISABLE TRIGGER
                out.append(f"{name} (disabled)")
        return out

    def schema_problems(self) -> list[str]:
        """What is wrong with the store's protections, one sentence each (empty: intact).

        A trigger missing or disabled (:meth:`missing_protections`), or a trigger function
        whose body is not the one cvid creates. Reading only: a check reports, never repairs.
        """
        out = [
            f"append-only trigger {name.removesuffix(' (disabled)')} is "
            f"{'disabled' if name.endswith(' (disabled)') else 'missing (dropped)'}"
            for name in self.missing_protections()
        ]
        query = (
            "SELECT p.proname, p.prosrc FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = ANY(%s)"
        )
        want = _function_bodies()
        with self._errors("reading the trigger functions"), self._connection() as conn:
            have = {str(a): str(b) for a, b in conn.execute(query, (list(want),)).fetchall()}
        for name, body in sorted(want.items()):
            if name not in have:
                out.append(f"trigger function {name}() is missing (dropped)")
            elif " ".join(have[name].split()) != body:
                out.append(f"trigger function {name}() is not the one cvid creates")
        return out

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn any psycopg error into a :class:`StoreError` naming the store and operation."""
        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: {what}: {_plain(exc)}") from None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        pool = self._pool
        if pool is None:
            raise StoreError(f"{self.where}: the store is closed")
        with pool.connection() as conn:
            yield conn

    @contextmanager
    def _transaction(self, what: str, begin: str) -> Iterator[_Tx]:
        """A transaction opened by ``begin``: committed on exit, rolled back on error."""
        with self._errors(what), self._connection() as conn:
            conn.execute(begin)
            ok = False
            try:
                yield _Tx(conn)
                ok = True
            finally:
                _finish(conn, ok)

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        """One transaction holding :data:`WRITER_LOCK`; committed on exit, rolled back on error."""
        if self.readonly:
            raise StoreError(f"{self.where}: opened read-only; cannot write")
        with self._transaction("writing", _BEGIN_WRITE) as tx:
            yield tx

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        """One ``READ ONLY``, ``REPEATABLE READ`` transaction: every statement, one snapshot."""
        with self._transaction("reading", _BEGIN_READ) as tx:
            yield tx

    def close(self) -> None:
        """Close every pooled connection; the driver cannot be used afterwards."""
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(psycopg.Error):
                pool.close()


def _function_bodies() -> dict[str, str]:
    """The body of each trigger function cvid creates, whitespace folded, by name."""
    ddl = schema.postgresql_triggers(())
    out: dict[str, str] = {}
    for part in ddl.split("CREATE OR REPLACE FUNCTION ")[1:]:
        name = part.split("(", 1)[0]
        out[name] = " ".join(part.split("$$")[1].split())
    return out


def _trigger_names(tables: tuple[str, ...]) -> set[str]:
    """The names :func:`cvid.store.schema.postgresql_triggers` gives its triggers."""
    names: set[str] = set()
    for t in tables:
        names |= {f"{t}_append_only", f"{t}_no_truncate"}
    if "entries" in tables:
        names.add("entries_next")
    return names


#: Privileges a service role must not hold on any cvid table.
FORBIDDEN = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")


def grant_service_role(url: str, role: str) -> list[str]:
    """Let the login role ``role`` read and append to the cvid store at ``url``, nothing more.

    Connect to ``url`` as the role that owns the store's tables. In one transaction: USAGE on
    the store's schema; on every cvid table, every privilege ``role`` held is revoked and
    SELECT and INSERT granted (``schema_version``: SELECT only). Refuses (a
    :class:`StoreError`, nothing changed) a role that does not exist, a superuser, a member of
    the owner role, and a role that would still hold UPDATE, DELETE, TRUNCATE, TRIGGER or
    REFERENCES through PUBLIC or another role. Returns the tables granted, sorted.
    """
    where = redact(url)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
            conn.execute("BEGIN")
            ok = False
            try:
                granted = _grant(conn, where, role)
                ok = True
            finally:
                _finish(conn, ok)
    except psycopg.Error as exc:
        raise StoreError(f"{where}: granting {role!r} the service role: {_plain(exc)}") from None
    return granted


def _grant(conn: psycopg.Connection[Any], where: str, role: str) -> list[str]:
    here = conn.execute("SELECT current_schema()").fetchone()
    schema_name = str(here[0]) if here and here[0] else ""
    tables = sorted(PostgresDriver._tables(conn) & ({*schema.KEYS} | {"schema_version"}))
    if not schema_name or not set(REQUIRED_TABLES) <= set(tables):
        raise StoreError(f"{where}: not a cvid store (no cvid tables in its schema)")
    found = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if found is None:
        raise StoreError(
            f"{where}: no role named {role!r}; create it first (CREATE ROLE ... LOGIN)"
        )
    if found[0]:
        raise StoreError(
            f"{where}: {role!r} is a superuser, which bypasses every privilege and trigger; a "
            "service role must be an ordinary role"
        )
    owners = conn.execute(
        "SELECT DISTINCT tableowner FROM pg_tables "
        "WHERE schemaname = current_schema() AND tablename = ANY(%s) "
        "AND pg_has_role(%s, tableowner, 'MEMBER')",
        (tables, role),
    ).fetchall()
    if owners:
        raise StoreError(
            f"{where}: {role!r} is, or acts as, {owners[0][0]!r}, the owner of the store's "
            "tables, and an owner can drop the append-only triggers; use a separate role"
        )
    who = sql.Identifier(role)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema_name), who))
    for table in tables:
        name = sql.Identifier(schema_name, table)
        conn.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, who))
        grant = (
            sql.SQL("GRANT SELECT ON TABLE {} TO {}")
            if table == "schema_version"  # migrations are the owner's
            else sql.SQL("GRANT SELECT, INSERT ON TABLE {} TO {}")
        )
        conn.execute(grant.format(name, who))
    for table in tables:
        for privilege in FORBIDDEN:
            row = conn.execute(
                "SELECT has_table_privilege(%s, format('%%I.%%I', %s::text, %s::text), %s)",
                (role, schema_name, table, privilege),
            ).fetchone()
            if row and row[0]:
                raise StoreError(
                    f"{where}: {role!r} would still hold {privilege} on {table} (granted to "
                    "PUBLIC or to a role it belongs to); revoke that first, nothing was changed"
                )
    return tables
