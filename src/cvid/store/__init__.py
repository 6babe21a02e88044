"""Durable logs: the :class:`Log` over a storage driver, group commit, verification, export.

Drivers implement :class:`LogDriver`: :class:`SQLiteDriver` (the embedded default),
:class:`PostgresDriver` (a shared server) and :class:`MemoryDriver` (tests).
``open_driver(location)`` opens either SQL driver from a path or a ``postgresql://`` URL.
``Log.create(dir, origin)`` / ``Log.open(dir)`` use SQLite.

Each name is imported on first use (:mod:`cvid._lazy`): ``import cvid.store`` loads no
submodule, and psycopg loads only with :class:`PostgresDriver`.
"""

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.store.driver import ConflictError, LogDriver
    from cvid.store.export import export_tiles
    from cvid.store.fsck import verify_log
    from cvid.store.location import open_driver
    from cvid.store.log import Log
    from cvid.store.memory import MemoryDriver
    from cvid.store.postgres import PostgresDriver
    from cvid.store.sequencer import Sequencer
    from cvid.store.sqlite import SQLiteDriver

_lazy.install(
    __name__,
    {
        "cvid.store.driver": ["ConflictError", "LogDriver"],
        "cvid.store.export": ["export_tiles"],
        "cvid.store.fsck": ["verify_log"],
        "cvid.store.location": ["open_driver"],
        "cvid.store.log": ["Log"],
        "cvid.store.memory": ["MemoryDriver"],
        "cvid.store.postgres": ["PostgresDriver"],
        "cvid.store.sequencer": ["Sequencer"],
        "cvid.store.sqlite": ["SQLiteDriver"],
    },
)

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
