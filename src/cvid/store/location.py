"""Where a store is: a PostgreSQL URL or the path of a SQLite file, opened by one function."""

from __future__ import annotations

from pathlib import Path

from cvid.store.sqlbase import SqlDriver
from cvid.store.sqlite import SQLiteDriver

#: URL schemes that name a PostgreSQL database (libpq accepts both).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str | Path) -> bool:
    """Whether ``location`` is a PostgreSQL URL (a :class:`Path` never is)."""
    return isinstance(location, str) and location[:13].lower().startswith(POSTGRES_SCHEMES)


def open_driver(location: str | Path, create: bool = False, readonly: bool = False) -> SqlDriver:
    """Open the store at ``location``: a ``postgresql://``/``postgres://`` URL opens a
    :class:`cvid.store.postgres.PostgresDriver`, anything else the SQLite file at that path.

    ``create`` and ``readonly`` mean what they mean for each driver; psycopg is imported only
    when a URL asks for PostgreSQL.
    """
    if is_postgres(location):
        from cvid.store.postgres import PostgresDriver

        return PostgresDriver(str(location), create, readonly=readonly)
    return SQLiteDriver(Path(location), create, readonly=readonly)
