"""Helpers for the agreement tests: packages on disk, records in a line, the New START data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cvid.agreements.model import to_instant
from cvid.evidence.record import Record

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LATTICE = HERE / "packages" / "lattice"
STEPS = HERE / "packages" / "steps"
NEW_START = ROOT / "examples" / "new-start"
NEW_START_CSV = NEW_START / "data" / "aggregates.csv"


def when(value: str | dt.date) -> dt.datetime:
    """A date or an RFC 3339 text as an aware UTC datetime."""
    out = to_instant(value)
    assert isinstance(out, dt.datetime)
    return out


def rec(
    kind: str,
    party: str,
    observed: str,
    values: dict[str, Any] | None = None,
    *,
    submitter: str | None = None,
    reported: str | None = None,
    subject: str = "stock",
    agreement: str = "lattice",
    **extra: Any,
) -> Record:
    """An unsigned record for tests (submitter defaults to the party)."""
    return Record.model_validate(
        {
            "agreement": agreement,
            "kind": kind,
            "party": party,
            "subject": subject,
            "observed_at": when(observed),
            "reported_at": when(reported or observed),
            "values": values or {},
            "submitter": submitter or party,
            "signer": "test",
            **extra,
        }
    )


def kg(value: float, unit: str = "kg UF6") -> dict[str, Any]:
    """A quantity value."""
    return {"value": value, "unit": unit}


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (parents made) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
