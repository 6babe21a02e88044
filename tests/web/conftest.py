"""Fixtures for the service tests: New START ledgers and the app over them, in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_kit import TestClient, make_ledger

from cvid.web import create_app


@pytest.fixture
def ledger_dir(tmp_path: Path) -> Path:
    """A fresh ledger of the 26 New START aggregates, for a test that writes."""
    return make_ledger(tmp_path / "ledger")


@pytest.fixture
def client(ledger_dir: Path) -> Iterator[TestClient]:
    """The service of :func:`ledger_dir` in process (its lifespan run: shut down after), with
    a 64 KiB body cap."""
    with TestClient(create_app(ledger_dir, max_body=64 * 1024)) as c:
        yield c


@pytest.fixture(scope="module")
def read_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger shared by a module's read-only tests."""
    return make_ledger(tmp_path_factory.mktemp("read") / "ledger")


@pytest.fixture(scope="module")
def reader(read_dir: Path) -> Iterator[TestClient]:
    """The service of :func:`read_dir`, shared by a module's read-only tests."""
    with TestClient(create_app(read_dir)) as c:
        yield c
