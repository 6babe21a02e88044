"""Storage kits for the store tests: open drivers on one store, and tamper with it.

A :class:`DriverKit` opens drivers on one store (again after closing, as a restarted process
would) and can tamper with the store behind the log's back, as someone with write access to the
database would. A new backend (PostgreSQL) is one more class and one more entry in ``KITS``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cvid.store import LogDriver, MemoryDriver, SQLiteDriver


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


KITS: dict[str, Callable[[Path], DriverKit]] = {"memory": MemoryKit, "sqlite": SQLiteKit}
