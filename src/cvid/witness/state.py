"""A witness's durable state: the logs it witnesses, the latest checkpoint it cosigned per log,
and the checkpoints it refused as evidence, in one SQLite file (``witness.db``).

Tables:

- ``meta``: the witness's name and cosigner vkey, written at creation;
- ``logs``: ``origin → vkey``, the log keys the witness trusts (added by ``cvid witness
  add-log``);
- ``latest``: per origin, the size, root and note (log signatures and this witness's
  cosignature) of the latest checkpoint cosigned. A trigger refuses any update to a smaller size
  and any update to the same size with another root, so even a bug cannot roll it back;
- ``cosigned``: every cosignature given (origin, size, root, time), append-only;
- ``refused``: checkpoints correctly signed by a known log that the witness refused as
  inconsistent (a fork or a bad proof), with the reason, append-only: evidence to show.

Every check-and-update runs in one ``BEGIN IMMEDIATE`` transaction (:meth:`WitnessState.update`),
SQLite's writer lock, so two requests (or two processes) can never both pass the check against
the same old state. Commits are ``synchronous=FULL``: on return, the new state is on disk.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvid.errors import InputError, StoreError

__all__ = ["Latest", "Refusal", "WitnessState"]

FORMAT = "cvid-witness/1"
#: Refused checkpoints kept per origin: enough evidence, bounded against a log flooding it.
MAX_REFUSED_PER_ORIGIN = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (origin TEXT PRIMARY KEY, vkey TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note BLOB NOT NULL,
    time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL, time INTEGER NOT NULL,
    PRIMARY KEY (origin, size, time)
);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, received_at INTEGER NOT NULL,
    old_size INTEGER NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL, note BLOB NOT NULL,
    reason TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS latest_no_rollback BEFORE UPDATE ON latest
WHEN NEW.size < OLD.size OR (NEW.size = OLD.size AND NEW.root <> OLD.root)
BEGIN SELECT RAISE(ABORT, 'witness state: refusing to roll back or fork a cosigned log'); END;
CREATE TRIGGER IF NOT EXISTS latest_no_delete BEFORE DELETE ON latest
BEGIN SELECT RAISE(ABORT, 'witness state: refusing to forget a cosigned log'); END;
CREATE TRIGGER IF NOT EXISTS cosigned_no_update BEFORE UPDATE ON cosigned
BEGIN SELECT RAISE(ABORT, 'witness state is append-only'); END;
CREATE TRIGGER IF NOT EXISTS cosigned_no_delete BEFORE DELETE ON cosigned
BEGIN SELECT RAISE(ABORT, 'witness state is append-only'); END;
CREATE TRIGGER IF NOT EXISTS refused_no_update BEFORE UPDATE ON refused
BEGIN SELECT RAISE(ABORT, 'witness state is append-only'); END;
CREATE TRIGGER IF NOT EXISTS refused_no_delete BEFORE DELETE ON refused
BEGIN SELECT RAISE(ABORT, 'witness state is append-only'); END;
"""


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint a witness cosigned for one origin."""

    origin: str
    size: int
    root: bytes
    note: bytes
    time: int


@dataclass(frozen=True)
class Refusal:
    """A checkpoint the witness refused as inconsistent, kept as evidence."""

    origin: str
    received_at: int
    old_size: int
    size: int
    root: bytes
    note: bytes
    reason: str


class Tx:
    """The open check-and-update transaction of :meth:`WitnessState.update`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def latest(self, origin: str) -> Latest | None:
        """The latest cosigned checkpoint of ``origin``, read under the writer lock."""
        return _latest(self._db, origin)

    def cosigned(self, origin: str, size: int, root: bytes, note: bytes, time: int) -> None:
        """Record a cosignature: ``latest`` moves to it (never back: the trigger refuses)."""
        self._db.execute(
            "INSERT INTO latest (origin, size, root, note, time) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note, time = excluded.time",
            (origin, size, root, note, time),
        )
        self._db.execute(
            "INSERT OR IGNORE INTO cosigned (origin, size, root, time) VALUES (?, ?, ?, ?)",
            (origin, size, root, time),
        )

    def refused(self, r: Refusal) -> None:
        """Keep a refused checkpoint as evidence (the first :data:`MAX_REFUSED_PER_ORIGIN`)."""
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM refused WHERE origin = ?", (r.origin,)
        ).fetchone()
        if count >= MAX_REFUSED_PER_ORIGIN:
            return
        self._db.execute(
            "INSERT INTO refused (origin, received_at, old_size, size, root, note, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (r.origin, r.received_at, r.old_size, r.size, r.root, r.note, r.reason),
        )


def _latest(db: sqlite3.Connection, origin: str) -> Latest | None:
    row = db.execute(
        "SELECT size, root, note, time FROM latest WHERE origin = ?", (origin,)
    ).fetchone()
    if row is None:
        return None
    return Latest(origin, int(row[0]), bytes(row[1]), bytes(row[2]), int(row[3]))


class WitnessState:
    """The SQLite state of a witness at ``path``.

    ``create=True`` makes a new file (refused if it exists) holding ``meta``; otherwise the file
    must be a witness's. Every SQLite error becomes a :class:`StoreError` naming the file.
    Thread-safe: one connection behind a lock.
    """

    def __init__(self, path: Path, create: bool = False, meta: dict[str, str] | None = None):
        self.path = path
        self._lock = threading.Lock()
        if create and path.exists():
            raise InputError(f"{path} exists; refusing to replace a witness's state")
        if not create and not path.is_file():
            raise InputError(f"{path}: no witness state here; see `cvid witness init`")
        try:
            self._db = sqlite3.connect(
                f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the witness state ({exc})") from None
        with self._errors("opening"):
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if create:
                self._db.executescript(_SCHEMA)
                with self.update() as _:
                    self._db.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        sorted({"format": FORMAT, **(meta or {})}.items()),
                    )
        if self.meta().get("format") != FORMAT:
            self.close()
            raise StoreError(f"{path}: not a cvid witness's state")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {what} the witness state: {exc}") from None

    @contextmanager
    def update(self) -> Iterator[Tx]:
        """One ``BEGIN IMMEDIATE`` transaction: committed (durably) on exit, else rolled back."""
        with self._lock, self._errors("writing"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._db)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors("reading"):
            return self._db.execute(sql, params).fetchall()

    def meta(self) -> dict[str, str]:
        """The witness's metadata (format, name, vkey)."""
        return {str(k): str(v) for k, v in self._read("SELECT key, value FROM meta")}

    def add_log(self, origin: str, vkey: str) -> bool:
        """Trust ``vkey`` for ``origin``; False if that is already so. A second, different key
        for a known origin is an :class:`InputError` (a log's key never changes silently)."""
        with self.update() as _:
            row = self._db.execute("SELECT vkey FROM logs WHERE origin = ?", (origin,)).fetchone()
            if row is not None:
                if row[0] == vkey:
                    return False
                raise InputError(f"log {origin!r} is already witnessed with the key {row[0]}")
            self._db.execute("INSERT INTO logs (origin, vkey) VALUES (?, ?)", (origin, vkey))
            return True

    def logs(self) -> dict[str, str]:
        """``origin → vkey`` of every log witnessed."""
        return {str(o): str(v) for o, v in self._read("SELECT origin, vkey FROM logs")}

    def latest(self, origin: str) -> Latest | None:
        """The latest cosigned checkpoint of ``origin`` (None if never cosigned)."""
        with self._lock, self._errors("reading"):
            return _latest(self._db, origin)

    def all_latest(self) -> list[Latest]:
        """The latest cosigned checkpoint of every origin, by origin."""
        rows = self._read("SELECT origin, size, root, note, time FROM latest ORDER BY origin")
        return [Latest(str(o), int(s), bytes(r), bytes(n), int(t)) for o, s, r, n, t in rows]

    def cosigned_count(self, origin: str) -> int:
        """How many cosignatures were given for ``origin``."""
        return int(self._read("SELECT COUNT(*) FROM cosigned WHERE origin = ?", (origin,))[0][0])

    def refusals(self) -> list[Refusal]:
        """Every refused checkpoint kept, oldest first."""
        rows = self._read(
            "SELECT origin, received_at, old_size, size, root, note, reason "
            "FROM refused ORDER BY id"
        )
        return [
            Refusal(str(o), int(t), int(a), int(s), bytes(r), bytes(n), str(why))
            for o, t, a, s, r, n, why in rows
        ]

    def close(self) -> None:
        """Close the database."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
