"""Storage kits for the store tests: open drivers on one store, and tamper with it.

A :class:`DriverKit` opens drivers on one store (again after closing, as a restarted process
would) and can tamper with the store behind the log's back, as someone with write access to the
database would. A new backend is one more class and one more entry in ``KITS``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import psycopg

import pg
from cvid.store import LogDriver, MemoryDriver, PostgresDriver, SQLiteDriver


class DriverKit(Protocol):
    """Opens drivers on one store and tampers with it."""

    name: str

    def open(self) -> LogDriver:
        """A driver on the store (a new connection where the backend has connections)."""
        ...

    def tamper_entry(self, index: int, data: bytes) -> None:
        """Overwrite a stored entry, bypassing the append-only protection."""
        ...

    def tamper_tile(self, level: int, index: int, data: bytes) -> None:
        """Overwrite a stored full tile, bypassing the append-only protection."""
        ...

    def tamper_tile_nodes(self, level: int, index: int, data: bytes) -> None:
        """Overwrite a full tile's stored interior nodes, bypassing the append-only protection."""
        ...

    def close(self) -> None:
        """Close every driver this kit opened."""
        ...


class MemoryKit:
    """The in-memory driver: "reopening" hands back the same store."""

    name = "memory"

    def __init__(self, tmp_path: Path) -> None:
        self._driver = MemoryDriver()

    def open(self) -> LogDriver:
        return self._driver

    def tamper_entry(self, index: int, data: bytes) -> None:
        self._driver._entries[index] = data

    def tamper_tile(self, level: int, index: int, data: bytes) -> None:
        assert (level, index) in self._driver._tiles
        self._driver._tiles[(level, index)] = data

    def tamper_tile_nodes(self, level: int, index: int, data: bytes) -> None:
        assert (level, index) in self._driver._nodes
        self._driver._nodes[(level, index)] = data

    def close(self) -> None:
        self._driver.close()


class SQLiteKit:
    """The SQLite driver on ``log.db``; tampering drops the triggers first, as an attacker must."""

    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "log.db"
        self._opened: list[SQLiteDriver] = []

    def open(self) -> LogDriver:
        # The first open creates the database, as `Log.create` does; later ones open it.
        driver = SQLiteDriver(self.path, create=not self.path.exists())
        self._opened.append(driver)
        return driver

    def _update(self, trigger: str, sql: str, args: tuple[object, ...]) -> None:
        db = sqlite3.connect(self.path)
        try:
            db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            changed = db.execute(sql, args).rowcount
            db.commit()
        finally:
            db.close()
        assert changed == 1, f"tampering changed {changed} rows"

    def tamper_entry(self, index: int, data: bytes) -> None:
        sql = "UPDATE entries SET data = ? WHERE idx = ?"
        self._update("entries_no_update", sql, (data, index))

    def tamper_tile(self, level: int, index: int, data: bytes) -> None:
        self._update(
            "tiles_no_update",
            "UPDATE tiles SET hashes = ? WHERE level = ? AND idx = ?",
            (data, level, index),
        )

    def tamper_tile_nodes(self, level: int, index: int, data: bytes) -> None:
        self._update(
            "tile_nodes_no_update",
            "UPDATE tile_nodes SET nodes = ? WHERE level = ? AND idx = ?",
            (data, level, index),
        )

    def close(self) -> None:
        for driver in self._opened:
            driver.close()


class PostgresKit:
    """The PostgreSQL driver on a new database of the tests' cluster (tests/pg.py).

    Tampering is what an attacker holding the owner role can do: disable the table's
    append-only trigger, rewrite the row, and enable the trigger again to hide it.
    """

    name = "postgresql"

    def __init__(self, tmp_path: Path) -> None:
        self._cluster = pg.cluster()
        self.url = self._cluster.new_database()
        self._created = False
        self._opened: list[PostgresDriver] = []

    def open(self) -> LogDriver:
        # The first open creates the tables, as `Log.create` does; later ones open them.
        driver = PostgresDriver(self.url, create=not self._created)
        self._created = True
        self._opened.append(driver)
        return driver

    def _update(self, table: str, sql: str, args: tuple[object, ...]) -> None:
        with psycopg.connect(self.url) as db:  # one transaction, committed on exit
            db.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
            changed = db.execute(sql, args).rowcount
            db.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
        assert changed == 1, f"tampering changed {changed} rows"

    def tamper_entry(self, index: int, data: bytes) -> None:
        self._update("entries", "UPDATE entries SET data = %s WHERE idx = %s", (data, index))

    def tamper_tile(self, level: int, index: int, data: bytes) -> None:
        self._update(
            "tiles",
            "UPDATE tiles SET hashes = %s WHERE level = %s AND idx = %s",
            (data, level, index),
        )

    def tamper_tile_nodes(self, level: int, index: int, data: bytes) -> None:
        self._update(
            "tile_nodes",
            "UPDATE tile_nodes SET nodes = %s WHERE level = %s AND idx = %s",
            (data, level, index),
        )

    def close(self) -> None:
        for driver in self._opened:
            driver.close()
        self._cluster.drop_database(self.url)


KITS: dict[str, Callable[[Path], DriverKit]] = {
    "memory": MemoryKit,
    "postgresql": PostgresKit,
    "sqlite": SQLiteKit,
}
