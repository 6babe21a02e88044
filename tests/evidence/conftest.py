"""Fixtures for the evidence tests: an agreement package and its keys, and ledgers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from evidence_kit import NOW, World, fixed_key, write_package

from cvid.evidence import Ledger


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A package (with terms the evidence loader must ignore) and the keys behind it."""
    keys = {n: fixed_key(n) for n in ("us-admin", "us-decl", "ru-decl", "us-new", "stranger")}
    extra = {
        "terms": [{"id": "warheads", "limit": 1550, "from": "2018-02-05"}],
        "parameters": {"limit": 1550},
    }
    return World(write_package(tmp_path / "package", keys, extra), keys)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Ledger tests run on every backend; ``@pytest.mark.sqlite_only`` ones (they open the
    SQLite file behind the ledger's back) on SQLite alone."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only else ["sqlite", "postgresql"])


@pytest.fixture
def new_ledger(
    world: World, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Ledger]]:
    """Makes ledgers for ``world``'s package on the test's backend (a directory for SQLite, a
    new database for PostgreSQL), clocked at :data:`NOW`; closes them after."""
    made: list[Ledger] = []
    count = iter(range(1000))

    def make() -> Ledger:
        if backend == "sqlite":
            location: str | Path = tmp_path / f"ledger{next(count)}"
        else:
            location = request.getfixturevalue("postgres_cluster").new_database()
        ledger = Ledger.create(location, world.package, clock=lambda: NOW)
        made.append(ledger)
        return ledger

    yield make
    for ledger in made:
        ledger.close()


@pytest.fixture
def ledger(new_ledger: Callable[[], Ledger]) -> Ledger:
    """An empty ledger for ``world``'s agreement."""
    return new_ledger()
