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
    from cvid.store.export import export_tiles, write_atomic
    from cvid.store.fsck import verify_log, verify_store
    from cvid.store.location import open_driver
    from cvid.store.log import FORMAT, LEDGER_DB_NAME, Log, check_entry, open_store
    from cvid.store.memory import MemoryDriver
    from cvid.store.postgres import PostgresDriver, grant_service_role
    from cvid.store.schema import VERSION as SCHEMA_VERSION
    from cvid.store.sequencer import Sequencer
    from cvid.store.sqlbase import (
        SqlDriver,
        SqlTx,
        add_checkpoint_in,
        append_in,
        read_entries_in,
        size_in,
    )
    from cvid.store.sqlite import SQLiteDriver

_lazy.install(
    __name__,
    {
        "cvid.store.driver": ["ConflictError", "LogDriver"],
        "cvid.store.export": ["export_tiles", "write_atomic"],
        "cvid.store.fsck": ["verify_log", "verify_store"],
        "cvid.store.location": ["open_driver"],
        "cvid.store.log": ["FORMAT", "LEDGER_DB_NAME", "Log", "check_entry", "open_store"],
        "cvid.store.memory": ["MemoryDriver"],
        "cvid.store.postgres": ["PostgresDriver", "grant_service_role"],
        "cvid.store.schema": [("SCHEMA_VERSION", "VERSION")],
        "cvid.store.sequencer": ["Sequencer"],
        "cvid.store.sqlbase": [
            "SqlDriver",
            "SqlTx",
            "add_checkpoint_in",
            "append_in",
            "read_entries_in",
            "size_in",
        ],
        "cvid.store.sqlite": ["SQLiteDriver"],
    },
)

__all__ = [
    "FORMAT",
    "LEDGER_DB_NAME",
    "SCHEMA_VERSION",
    "ConflictError",
    "Log",
    "LogDriver",
    "MemoryDriver",
    "PostgresDriver",
    "SQLiteDriver",
    "Sequencer",
    "SqlDriver",
    "SqlTx",
    "add_checkpoint_in",
    "append_in",
    "check_entry",
    "export_tiles",
    "grant_service_role",
    "open_driver",
    "open_store",
    "read_entries_in",
    "size_in",
    "verify_log",
    "verify_store",
    "write_atomic",
]
