"""Fixtures for the store tests: one kit per storage driver, so every suite runs on each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_kits import KITS, DriverKit

from cvid.store import LogDriver
from cvid.tlog.note import Signer


@pytest.fixture(params=sorted(KITS))
def driver_kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DriverKit]:
    """A kit for each storage driver."""
    kit = KITS[request.param](tmp_path)
    yield kit
    kit.close()


@pytest.fixture
def driver(driver_kit: DriverKit) -> LogDriver:
    """A fresh, empty driver of each kind."""
    return driver_kit.open()


@pytest.fixture(scope="session")
def signer() -> Signer:
    """The log key of the store tests (fixed, so failures reproduce)."""
    return Signer("cvid.test/log", bytes(range(32)))
