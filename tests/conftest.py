"""Fixtures for every test folder: where the project's shared golden vectors live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from kit import missing

# The session's PostgreSQL cluster and a new database per test (tests/pg.py); the cluster
# starts only when a test asks for it.
from pg import postgres_cluster, postgres_url  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the checkout (the origin document).

    Only tests read it; the package, its examples and ``cvid demo`` need nothing outside the
    repository (the New START figures are copied into ``examples/new-start/data/``).
    """
    if not SHARED.is_dir():
        missing(f"{SHARED} is missing")
    return SHARED


@pytest.fixture(autouse=True)
def verifier_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's own ``$XDG_STATE_HOME``: verifiers remember checkpoints there
    (:mod:`cvid.witness.remember`), never in the user's home, never across tests."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


# In CI, property tests draw the same examples every run (a failure there is reproducible, and a
# green run cannot hide a rare counterexample found locally: run them locally to explore).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
