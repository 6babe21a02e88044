"""The SQLite driver: one database file in WAL mode, append-only by triggers.

Every commit is ``synchronous=FULL``: when a write transaction returns, its rows are on disk.
Updates and deletes of every table, and an entry inserted anywhere but at the next index, are
refused by the database itself (:mod:`cvid.store.schema`), so a bug or a careless script cannot
rewrite history without first dropping the triggers (which ``cvid log verify`` reports).

Writes go through one connection, each in ``BEGIN IMMEDIATE``: SQLite's writer lock, held from
the first statement, so the size read inside the transaction is the index the append goes to,
across threads and processes. Reads go through a separate read-only connection, each in its
own snapshot. Opening never changes a database that is not a cvid store: the tables are created
only when a store is created (``create=True``); an older cvid store is migrated forward.
Every SQLite error becomes a :class:`StoreError` naming the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cvid.errors import StoreError
from cvid.store import schema
from cvid.store.sqlbase import Dialect, SqlDriver

#: Seconds a write waits for another process's write lock before giving up.
BUSY_TIMEOUT = 30.0

TABLES = schema.LOG_TABLES


def _plain(exc: sqlite3.Error) -> str:
    """A sentence for a person about a SQLite error."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return (
            "the database is locked by another process and stayed locked for the whole wait; "
            "nothing was written, try again"
        )
    if isinstance(exc, sqlite3.OperationalError) and "disk is full" in text:
        return "the disk is full; the transaction was rolled back, nothing was written"
    if "append-only" in text:
        return text
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "not a SQLite database"
    return f"SQLite error: {text}"


class _Tx:
    """A :class:`cvid.store.sqlbase.SqlTx` on one SQLite connection."""

    dialect: Dialect = "sqlite"

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._db.executemany(sql, rows)


class SQLiteDriver(SqlDriver):
    """A :class:`cvid.store.driver.LogDriver` on one SQLite file.

    ``create=True`` makes the tables and triggers (a new store); otherwise the file must already
    hold a cvid store's tables, and nothing is created or changed in a file that does not.
    ``timeout`` is how long a write waits for another process's lock (default
    :data:`BUSY_TIMEOUT` seconds). ``readonly=True`` opens no write connection at all: every
    write is then a :class:`StoreError`.
    """

    dialect: Dialect = "sqlite"

    def __init__(
        self,
        path: Path,
        create: bool = False,
        timeout: float | None = None,
        readonly: bool = False,
    ) -> None:
        self.path = path
        self.where = str(path)
        self._timeout = BUSY_TIMEOUT if timeout is None else timeout
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._ro: sqlite3.Connection | None = None
        if create and readonly:
            raise StoreError(f"{path}: cannot create a store read-only")
        try:
            if not readonly:
                # mode=rw: never create a missing file unless asked to.
                self._db = self._connect("rwc" if create else "rw")
                with self._errors("opening the store"):
                    if not create:
                        self._check_tables(self._db)
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("PRAGMA synchronous=FULL")
                    if create:
                        self._migrate(self._db, 0)
                    else:
                        self._check_schema(self._db)
            self._ro = self._connect("ro")
            with self._errors("opening the store"):
                self._ro.execute("PRAGMA query_only=ON")
                if readonly:
                    self._check_schema(self._ro, migrate=False)
        except BaseException:
            self.close()
            raise

    def _connect(self, mode: str) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                f"{self.path.absolute().as_uri()}?mode={mode}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._timeout,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the database ({_plain(exc)})") from None
        return db

    # -- schema ------------------------------------------------------------------------------

    @staticmethod
    def _version(db: sqlite3.Connection) -> int:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_version" not in names:
            # A store from before versioning: every migration is applied again (each one's
            # tables and triggers are created only if missing).
            return 0
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self, db: sqlite3.Connection, have: int) -> None:
        """Apply every migration after ``have``, each in one transaction."""
        for m in schema.MIGRATIONS:
            if m.version <= have:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._version(db) >= m.version:  # another process migrated meanwhile
                    db.execute("ROLLBACK")
                    continue
                for stmt in _statements(m.sqlite + schema.sqlite_triggers(m.tables)):
                    db.execute(stmt)
                db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                db.execute(
                    "INSERT INTO schema_version VALUES (?, ?)",
                    (m.version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    def _check_tables(self, db: sqlite3.Connection) -> None:
        """Refuse a database without the cvid log's tables, changing nothing in it."""
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if missing := [t for t in TABLES if t not in names and t != "tile_nodes"]:
            raise StoreError(
                f"{self.path}: not a cvid log (no {', '.join(missing)} table"
                f"{'s' if len(missing) > 1 else ''}); nothing was changed"
            )

    def _check_schema(self, db: sqlite3.Connection, migrate: bool = True) -> None:
        """Refuse a database without the cvid tables; migrate an older cvid store forward."""
        self._check_tables(db)
        have = self._version(db)
        if have > schema.VERSION:
            raise StoreError(
                f"{self.path}: the store has schema version {have}; this cvid reads up to "
                f"{schema.VERSION} (upgrade cvid)"
            )
        if have < schema.VERSION and migrate:
            # Only a cvid log is migrated: nothing is created in someone else's database.
            fmt = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if fmt is not None and str(fmt[0]).startswith("cvid-log/"):
                self._migrate(db, have)

    def missing_protections(self) -> list[str]:
        """The append-only triggers this store should have and does not (dropped by someone)."""
        with self.read() as tx:
            have = {r[0] for r in tx.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
            tables = {r[0] for r in tx.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        want = schema.sqlite_trigger_names(tuple(t for t in schema.KEYS if t in tables))
        return sorted(want - have)

    def schema_problems(self) -> list[str]:
        """What is wrong with the store's protections, one sentence each (empty: intact).

        An append-only trigger missing, a trigger whose SQL is not the one cvid creates, a
        trigger cvid never creates on one of its tables, or no ``schema_version``. Reading
        only: a check reports, it never repairs.
        """
        with self.read() as tx:
            rows = tx.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
        tables = {str(name) for kind, name, _, _ in rows if kind == "table"}
        have = {
            str(name): (str(tbl), str(sql)) for kind, name, tbl, sql in rows if kind == "trigger"
        }
        ours = tuple(t for t in schema.KEYS if t in tables)
        want = _trigger_texts(ours)
        out: list[str] = []
        if "schema_version" not in tables:
            out.append(
                "the store has no schema_version table: its tables and triggers were made "
                "before versioning or altered since"
            )
        for name in sorted(want):
            if name not in have:
                table = want[name][0]
                out.append(
                    f"append-only trigger {name} is missing (dropped): the database no longer "
                    f"refuses {_trigger_refuses(name)} on {table}"
                )
            elif _normal(have[name][1]) != want[name][1]:
                out.append(f"trigger {name} on {have[name][0]} is not the one cvid creates")
        out.extend(
            f"trigger {name} on {tbl} is not one cvid creates"
            for name, (tbl, _) in sorted(have.items())
            if name not in want and tbl in ours
        )
        return out

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn any SQLite error into a :class:`StoreError` naming the file and the operation."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {what}: {_plain(exc)}") from None

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        """One ``BEGIN IMMEDIATE`` transaction, committed on exit, rolled back on error."""
        db = self._db
        if db is None:
            raise StoreError(f"{self.path}: opened read-only; cannot write")
        with self._wlock, self._errors("writing"):
            db.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    # The original error is the one to report, not a failed rollback.
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        """One read-only snapshot on the read connection."""
        ro = self._ro
        if ro is None:
            raise StoreError(f"{self.path}: the store is closed")
        with self._rlock, self._errors("reading"):
            ro.execute("BEGIN")
            try:
                yield _Tx(ro)
            finally:
                if ro.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        ro.execute("COMMIT")

    def close(self) -> None:
        """Close the database connections."""
        for attr, lock in (("_db", self._wlock), ("_ro", self._rlock)):
            db = getattr(self, attr)
            if db is not None:
                with lock, contextlib.suppress(sqlite3.Error):
                    db.close()
                setattr(self, attr, None)


def _normal(sql: str) -> str:
    """A trigger's SQL as SQLite keeps it in ``sqlite_master``, whitespace folded."""
    text = " ".join(sql.split()).removesuffix(";")
    return text.replace("CREATE TRIGGER IF NOT EXISTS ", "CREATE TRIGGER ", 1)


def _trigger_texts(tables: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Each append-only trigger of ``tables``: its table and its SQL (:func:`_normal`)."""
    out: dict[str, tuple[str, str]] = {}
    for stmt in _statements(schema.sqlite_triggers(tables)):
        text = _normal(stmt)
        words = text.split()
        out[words[2]] = (words[words.index("ON") + 1], text)
    return out


def _trigger_refuses(name: str) -> str:
    """What the trigger ``name`` refuses, in words."""
    if name.endswith("_no_gap"):
        return "an entry inserted anywhere but at the next index"
    return {"update": "UPDATE", "delete": "DELETE", "replace": "INSERT OR REPLACE"}[
        name.rsplit("_", 1)[1]
    ]


def _statements(script: str) -> list[str]:
    """Split a DDL script into statements (triggers keep their ``BEGIN ... END;`` bodies)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
