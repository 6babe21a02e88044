"""The SQLite driver: one database file in WAL mode, append-only by triggers.

Every commit is ``synchronous=FULL``: when :meth:`SQLiteDriver.append` returns, the entries are
on disk. Updates and deletes of entries, tiles, checkpoints and metadata are refused by the
database itself, so a bug or a careless script cannot rewrite history without first dropping
the triggers (which ``cvid log verify`` would then catch by recomputing every hash).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from cvid.errors import StoreError
from cvid.store.driver import ConflictError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tiles (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
"""

_KEYS = {"meta": "key", "entries": "idx", "tiles": "level, idx", "checkpoints": "size"}


def _no_overwrite(table: str, keys: str) -> str:
    # INSERT OR REPLACE deletes the old row without firing DELETE triggers: refuse any insert
    # whose key already exists, so replacing is refused like updating.
    match = " AND ".join(f"{k} = NEW.{k}" for k in keys.split(", "))
    return f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {table} WHERE {match})
BEGIN SELECT RAISE(ABORT, 'cvid log is append-only: replace on {table} refused'); END;
"""


_TRIGGERS = "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table}
BEGIN SELECT RAISE(ABORT, 'cvid log is append-only: {op} on {table} refused'); END;
"""
    for table in _KEYS
    for op in ("update", "delete")
) + "".join(_no_overwrite(t, k) for t, k in _KEYS.items())


class SQLiteDriver:
    """A :class:`cvid.store.driver.LogDriver` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA + _TRIGGERS)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a usable cvid log database ({exc})") from None
        # One connection serves every thread of this process; the lock keeps transactions whole.
        self._lock = threading.Lock()

    def init_meta(self, meta: Mapping[str, str]) -> None:
        """Write the log's metadata once."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if self._db.execute("SELECT 1 FROM meta LIMIT 1").fetchone():
                    raise StoreError(f"{self.path}: a log already exists here")
                self._db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def meta(self) -> dict[str, str]:
        """The metadata written at creation."""
        with self._lock:
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def _size(self) -> int:
        row = self._db.execute("SELECT MAX(idx) FROM entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def size(self) -> int:
        """The number of durable entries."""
        with self._lock:
            return self._size()

    def append(
        self,
        expected_size: int,
        entries: Sequence[bytes],
        tiles: Sequence[tuple[int, int, bytes]],
    ) -> None:
        """Store entries and full tiles in one immediate transaction (one fsync)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                actual = self._size()
                if actual != expected_size:
                    raise ConflictError(
                        f"{self.path}: log has {actual} entries, writer expected {expected_size}"
                    )
                self._db.executemany(
                    "INSERT INTO entries (idx, data) VALUES (?, ?)",
                    zip(range(expected_size, expected_size + len(entries)), entries, strict=True),
                )
                if tiles:
                    self._db.executemany("INSERT INTO tiles VALUES (?, ?, ?)", tiles)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """The entries in ``[start, end)``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def read_tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored full tiles among ``keys``."""
        out: dict[tuple[int, int], bytes] = {}
        with self._lock:
            for level, index in keys:
                row = self._db.execute(
                    "SELECT hashes FROM tiles WHERE level = ? AND idx = ?", (level, index)
                ).fetchone()
                if row is not None:
                    out[(level, index)] = bytes(row[0])
        return out

    def iter_tiles(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored tile, by level then index."""
        with self._lock:
            rows = self._db.execute("SELECT level, idx, hashes FROM tiles ORDER BY level, idx")
            batch = rows.fetchmany(4096)
        while batch:
            yield from ((int(a), int(b), bytes(c)) for a, b, c in batch)
            with self._lock:
                batch = rows.fetchmany(4096)

    def add_checkpoint(self, size: int, signed_note: bytes) -> None:
        """Store a signed checkpoint larger than the last."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT MAX(size) FROM checkpoints").fetchone()
                if row[0] is not None and size <= row[0]:
                    raise StoreError(f"checkpoint of size {size} does not extend size {row[0]}")
                self._db.execute("INSERT INTO checkpoints VALUES (?, ?)", (size, signed_note))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The largest signed checkpoint."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every signed checkpoint, by size."""
        with self._lock:
            rows = self._db.execute("SELECT size, note FROM checkpoints ORDER BY size").fetchall()
        return [(int(a), bytes(b)) for a, b in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
