"""Durable logs: the :class:`Log` over a storage driver, group commit, verification, export.

Drivers implement :class:`LogDriver`: :class:`SQLiteDriver` (the embedded default),
:class:`PostgresDriver` (a shared server) and :class:`MemoryDriver` (tests).
``open_driver(location)`` opens either SQL driver from a path or a ``postgresql://`` URL.
``Log.create(dir, origin)`` / ``Log.open(dir)`` use SQLite.

:class:`PostgresDriver` is imported on first use, so ``import cvid.store`` never loads psycopg.
"""

from typing import TYPE_CHECKING

from cvid.store.driver import ConflictError, LogDriver
from cvid.store.export import export_tiles
from cvid.store.fsck import verify_log
from cvid.store.location import open_driver
from cvid.store.log import Log
from cvid.store.memory import MemoryDriver
from cvid.store.sequencer import Sequencer
from cvid.store.sqlite import SQLiteDriver

if TYPE_CHECKING:
    from cvid.store.postgres import PostgresDriver

__all__ = [
    "ConflictError",
    "Log",
    "LogDriver",
    "MemoryDriver",
    "PostgresDriver",
    "SQLiteDriver",
    "Sequencer",
    "export_tiles",
    "open_driver",
    "verify_log",
]


def __getattr__(name: str) -> object:
    # PEP 562: psycopg (tens of milliseconds to import) loads only for those who use PostgreSQL.
    if name == "PostgresDriver":
        from cvid.store.postgres import PostgresDriver

        return PostgresDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
