"""Helpers for the service tests: a New START ledger, records to submit, a running service."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from cvid.evidence import Ledger, sign_record
from cvid.sources import example_signer, import_declarations
from kit import ROOT

with warnings.catch_warnings():
    # Starlette's TestClient says it prefers httpx2; httpx is what this project pins.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "declaration", "jsonl", "make_ledger", "signed"]

NEW_START = ROOT / "examples" / "new-start"
CSV = NEW_START / "data" / "aggregates.csv"


def make_ledger(directory: Path) -> Path:
    """A ledger of the 26 published New START aggregates (log 0..25), clock ``reported``."""
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as ledger:
        import_declarations(ledger, CSV, NEW_START / "mapping.yaml", keys)
    return directory


def declaration(n: int, party: str = "US", **fields: Any) -> dict[str, Any]:
    """An unsigned declaration by ``party``, distinct for each ``n`` (a statement's figures)."""
    obj: dict[str, Any] = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": party,
        "submitter": party,
        "observed_at": "2019-03-01T00:00:00Z",
        "reported_at": "2019-04-01T00:00:00Z",
        "values": {"deployed_warheads": {"value": 1300 + n, "unit": "warhead"}},
    }
    obj.update(fields)
    return obj


def signed(n: int, party: str = "US", **fields: Any) -> dict[str, Any]:
    """:func:`declaration` signed by the party's example key (registered in the package)."""
    return sign_record(declaration(n, party, **fields), example_signer("new-start", party))


def jsonl(records: list[dict[str, Any]]) -> bytes:
    """Records as JSON Lines."""
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)
