"""Durable logs: the :class:`Log` over a storage driver, group commit, verification, export.

Drivers implement :class:`LogDriver`: :class:`SQLiteDriver` (the embedded default) and
:class:`MemoryDriver` (tests). ``Log.create(dir, origin)`` / ``Log.open(dir)`` use SQLite.
"""

from cvid.store.driver import ConflictError, LogDriver
from cvid.store.export import export_tiles
from cvid.store.fsck import verify_log
from cvid.store.log import Log
from cvid.store.memory import MemoryDriver
from cvid.store.sequencer import Sequencer
from cvid.store.sqlite import SQLiteDriver

__all__ = [
    "ConflictError",
    "Log",
    "LogDriver",
    "MemoryDriver",
    "SQLiteDriver",
    "Sequencer",
    "export_tiles",
    "verify_log",
]
