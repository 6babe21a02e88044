"""Fixtures for the agreement tests: the synthetic lattice package and New START."""

from __future__ import annotations

import pytest
from agreements_kit import LATTICE, NEW_START, NEW_START_CSV

from cvid.agreements import Package, load_package
from cvid.agreements.scenarios import imported_records
from cvid.evidence.record import Record


@pytest.fixture(scope="session")
def lattice() -> Package:
    """The synthetic package whose scenarios reach every status."""
    return load_package(LATTICE)


@pytest.fixture(scope="session")
def new_start() -> Package:
    """The New START example package."""
    return load_package(NEW_START)


@pytest.fixture(scope="session")
def new_start_records() -> list[tuple[int, Record]]:
    """The published aggregates as the parties' declarations, indexed in CSV order."""
    spec = {"mapping": "mapping.yaml", "csv": str(NEW_START_CSV.relative_to(NEW_START))}
    return list(enumerate(imported_records(NEW_START, spec, "test", None)))
