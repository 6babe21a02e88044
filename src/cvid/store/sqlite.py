"""The SQLite driver: one database file in WAL mode, append-only by triggers.

Every commit is ``synchronous=FULL``: when :meth:`SQLiteDriver.append` returns, the entries are
on disk. Updates and deletes of entries, tiles, checkpoints and metadata are refused by the
database itself, and so is an entry inserted anywhere but at the next index, so a bug or a
careless script cannot rewrite history or leave a gap without first dropping the triggers
(which ``cvid log verify`` would then catch by recomputing every hash).

Opening never changes a database that is not a cvid log: the tables are created only when a log
is created (``create=True``). Every SQLite error becomes a :class:`StoreError` naming the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from cvid.errors import StoreError
from cvid.store.driver import ConflictError

T = TypeVar("T")

#: Seconds a write waits for another process's write lock before giving up.
BUSY_TIMEOUT = 30.0

TABLES = ("meta", "entries", "tiles", "checkpoints")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tiles (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tile_nodes (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, nodes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
"""

_KEYS = {
    "meta": "key",
    "entries": "idx",
    "tiles": "level, idx",
    "checkpoints": "size",
    "tile_nodes": "level, idx",
}


def _no_overwrite(table: str, keys: str) -> str:
    # INSERT OR REPLACE deletes the old row without firing DELETE triggers: refuse any insert
    # whose key already exists, so replacing is refused like updating.
    match = " AND ".join(f"{k} = NEW.{k}" for k in keys.split(", "))
    return f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {table} WHERE {match})
BEGIN SELECT RAISE(ABORT, 'cvid log is append-only: replace on {table} refused'); END;
"""


# An entry goes at the next index and nowhere else: a gap would leave a tree whose size
# (MAX(idx) + 1) counts entries that do not exist. MAX on the primary key is one B-tree descent.
_NO_GAP = """
CREATE TRIGGER IF NOT EXISTS entries_no_gap BEFORE INSERT ON entries
WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM entries)
BEGIN SELECT RAISE(ABORT, 'cvid log is append-only: an entry must go at the next index'); END;
"""

_TRIGGERS = (
    "".join(
        f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table}
BEGIN SELECT RAISE(ABORT, 'cvid log is append-only: {op} on {table} refused'); END;
"""
        for table in _KEYS
        for op in ("update", "delete")
    )
    # entries needs no replace trigger: entries_no_gap already refuses any existing index.
    + "".join(_no_overwrite(t, k) for t, k in _KEYS.items() if t != "entries")
    + _NO_GAP
)

_TRIGGER_NAMES = {f"{t}_no_{op}" for t in _KEYS for op in ("update", "delete", "replace")} - {
    "entries_no_replace"
} | {"entries_no_gap"}


#: Entries inserted by one multi-row INSERT statement (2 parameters a row, far below SQLite's
#: 32,766-parameter limit).
_ROWS = 250


def _plain(exc: sqlite3.Error) -> str:
    """A sentence for a person about a SQLite error."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return (
            "the database is locked by another process and stayed locked for the whole wait; "
            "nothing was written, try again"
        )
    if "append-only" in text:
        return text
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return "not a SQLite database"
    return f"SQLite error: {text}"


class SQLiteDriver:
    """A :class:`cvid.store.driver.LogDriver` on one SQLite file.

    ``create=True`` makes the tables and triggers (a new log); otherwise the file must already
    hold a cvid log's tables, and nothing is created or changed in a file that does not.
    ``timeout`` is how long a write waits for another process's lock (default
    :data:`BUSY_TIMEOUT` seconds).
    """

    def __init__(self, path: Path, create: bool = False, timeout: float | None = None) -> None:
        self.path = path
        # One connection serves every thread of this process; the lock keeps transactions whole.
        self._lock = threading.Lock()
        wait = BUSY_TIMEOUT if timeout is None else timeout
        try:
            if create:
                self._db = sqlite3.connect(
                    path, isolation_level=None, check_same_thread=False, timeout=wait
                )
            else:
                # mode=rw: never create a missing file.
                self._db = sqlite3.connect(
                    f"{path.absolute().as_uri()}?mode=rw",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=wait,
                )
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the log database ({_plain(exc)})") from None
        try:
            with self._errors("opening the log"):
                if not create:
                    self._check_schema()
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                if create:
                    self._db.executescript(SCHEMA + _TRIGGERS)
        except BaseException:
            self._db.close()
            raise

    def _check_schema(self) -> None:
        """Refuse a database without the cvid tables; add missing ones and triggers to a cvid log.

        A log made before ``tile_nodes`` existed gets the (empty) table: its proofs hash the
        tiles it has, and the tiles appended from now on come with their interior nodes.
        """
        rows = self._db.execute("SELECT type, name FROM sqlite_master").fetchall()
        tables = {name for kind, name in rows if kind == "table"}
        if missing := [t for t in TABLES if t not in tables]:
            raise StoreError(
                f"{self.path}: not a cvid log (no {', '.join(missing)} table"
                f"{'s' if len(missing) > 1 else ''}); nothing was changed"
            )
        triggers = {name for kind, name in rows if kind == "trigger"}
        fmt = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if _TRIGGER_NAMES - triggers and fmt is not None and str(fmt[0]).startswith("cvid-log/"):
            # A log made before a table or trigger existed: add it (CREATE ... IF NOT EXISTS).
            self._db.executescript(SCHEMA + _TRIGGERS)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn any SQLite error into a :class:`StoreError` naming the file and the operation."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {what}: {_plain(exc)}") from None

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        with self._lock, self._errors(what):
            return fn()

    def _write(self, what: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` in one immediate transaction, rolled back whole if anything fails."""
        with self._lock, self._errors(what):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                fn()
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    # The original error is the one to report, not a failed rollback.
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def init_meta(self, meta: Mapping[str, str]) -> None:
        """Write the log's metadata once."""

        def write() -> None:
            if self._db.execute("SELECT 1 FROM meta LIMIT 1").fetchone():
                raise StoreError(f"{self.path}: a log already exists here")
            self._db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))

        self._write("writing the log's metadata", write)

    def meta(self) -> dict[str, str]:
        """The metadata written at creation."""
        return self._read(
            "reading the log's metadata",
            lambda: dict(self._db.execute("SELECT key, value FROM meta").fetchall()),
        )

    def _size(self) -> int:
        row = self._db.execute("SELECT MAX(idx) FROM entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def size(self) -> int:
        """The number of durable entries."""
        return self._read("reading the log's size", self._size)

    def append(
        self,
        expected_size: int,
        entries: Sequence[bytes],
        tiles: Sequence[tuple[int, int, bytes]],
        nodes: Sequence[tuple[int, int, bytes]] = (),
    ) -> None:
        """Store entries, full tiles and their interior nodes in one transaction (one fsync)."""

        def write() -> None:
            actual = self._size()
            if actual != expected_size:
                raise ConflictError(
                    f"{self.path}: log has {actual} entries, writer expected {expected_size}"
                )
            # Many rows a statement: the per-statement overhead, not the rows, dominated.
            n = len(entries)
            full = n - n % _ROWS
            if full:
                sql = "INSERT INTO entries (idx, data) VALUES " + ",".join(["(?, ?)"] * _ROWS)
                self._db.executemany(
                    sql,
                    (
                        [v for i in range(k, k + _ROWS) for v in (expected_size + i, entries[i])]
                        for k in range(0, full, _ROWS)
                    ),
                )
            self._db.executemany(
                "INSERT INTO entries (idx, data) VALUES (?, ?)",
                ((expected_size + i, entries[i]) for i in range(full, n)),
            )
            if tiles:
                self._db.executemany("INSERT INTO tiles VALUES (?, ?, ?)", tiles)
            if nodes:
                self._db.executemany("INSERT INTO tile_nodes VALUES (?, ?, ?)", nodes)

        self._write(f"appending {len(entries)} entries", write)

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries in ``[start, end)``."""
        rows = self._read(
            f"reading entries {start}..{end - 1}",
            lambda: self._db.execute(
                "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            ).fetchall(),
        )
        return [bytes(r[0]) for r in rows]

    def read_tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored full tiles among ``keys``."""

        def read() -> dict[tuple[int, int], bytes]:
            out: dict[tuple[int, int], bytes] = {}
            for level, index in keys:
                row = self._db.execute(
                    "SELECT hashes FROM tiles WHERE level = ? AND idx = ?", (level, index)
                ).fetchone()
                if row is not None:
                    out[(level, index)] = bytes(row[0])
            return out

        return self._read("reading tiles", read)

    def read_tile_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored interior nodes of full tiles among ``keys``."""

        def read() -> dict[tuple[int, int], bytes]:
            out: dict[tuple[int, int], bytes] = {}
            for level, index in keys:
                row = self._db.execute(
                    "SELECT nodes FROM tile_nodes WHERE level = ? AND idx = ?", (level, index)
                ).fetchone()
                if row is not None:
                    out[(level, index)] = bytes(row[0])
            return out

        return self._read("reading tiles' interior nodes", read)

    def read_tile_with_nodes(self, level: int, index: int) -> tuple[bytes | None, bytes | None]:
        """A full tile's hashes and interior nodes in one query (proofs read both)."""
        row = self._read(
            f"reading tile ({level}, {index})",
            lambda: self._db.execute(
                "SELECT t.hashes, n.nodes FROM tiles t LEFT JOIN tile_nodes n "
                "ON n.level = t.level AND n.idx = t.idx WHERE t.level = ? AND t.idx = ?",
                (level, index),
            ).fetchone(),
        )
        if row is None:
            return None, None
        return bytes(row[0]), None if row[1] is None else bytes(row[1])

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored tile, by level then index."""

        # Small pages by key, not an open cursor: other statements may run meanwhile, and memory
        # stays at 64 tiles (512 KiB) however large the log.
        def page(after: tuple[int, int]) -> list[tuple[int, int, bytes]]:
            rows = self._db.execute(
                "SELECT level, idx, hashes FROM tiles WHERE (level, idx) > (?, ?) "
                "ORDER BY level, idx LIMIT 64",
                after,
            ).fetchall()
            return [(int(a), int(b), bytes(c)) for a, b, c in rows]

        after = (-1, -1)
        while batch := self._read("reading tiles", lambda: page(after)):  # noqa: B023
            yield from batch
            after = batch[-1][:2]

    def add_checkpoint(self, size: int, signed_note: bytes) -> None:
        """Store a signed checkpoint larger than the last."""

        def write() -> None:
            row = self._db.execute("SELECT MAX(size) FROM checkpoints").fetchone()
            if row[0] is not None and size <= row[0]:
                raise ConflictError(f"checkpoint of size {size} does not extend size {row[0]}")
            self._db.execute("INSERT INTO checkpoints VALUES (?, ?)", (size, signed_note))

        self._write(f"storing the checkpoint of size {size}", write)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The largest signed checkpoint."""
        row = self._read(
            "reading the latest checkpoint",
            lambda: self._db.execute(
                "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone(),
        )
        return None if row is None else (int(row[0]), bytes(row[1]))

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every signed checkpoint, by size."""
        rows = self._read(
            "reading checkpoints",
            lambda: self._db.execute("SELECT size, note FROM checkpoints ORDER BY size").fetchall(),
        )
        return [(int(a), bytes(b)) for a, b in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock, self._errors("closing"):
            self._db.close()
