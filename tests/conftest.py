"""Shared fixtures: where the project's shared data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the checkout (real data and golden vectors)."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the tests read golden vectors and data from it")
    return SHARED
