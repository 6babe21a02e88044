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


def two_stocks(keys: dict[str, str] | None = None) -> dict[str, Any]:
    """The agreement.yaml of the dated-figure tests: State A's heavy water (130 t) and uranium
    (100 kg) limits, judged by an inspectorate's findings fresh for 100 days; ``keys`` (party ->
    vkey) registers each party's key in the package."""

    def limit(term: str, parameter: str, quantity: str, unit: str, noun: str) -> dict[str, Any]:
        return {
            "id": term,
            "kind": "limit",
            "title": f"At most the {noun} limit",
            "clause": {"ref": "Article 1", "quote": f"The {noun} shall not exceed the limit."},
            "parameter": parameter,
            "unit": unit,
            "evidence": {"quantity": quantity},
            "freshness_days": 100,
            "noun": noun,
        }

    doc: dict[str, Any] = {
        "format": "cvid-agreement/1",
        "id": "pact",
        "title": "Two stocks",
        "parties": [
            {"id": "A", "name": "State A", "roles": ["inspected_party"]},
            {"id": "INSP", "name": "Inspectorate", "roles": ["inspectorate"]},
        ],
        "defaults": {"verified_by": ["inspectorate"]},
        "parameters": {
            "water": {
                "description": "Heavy water",
                "unit": "t",
                "values": {"2020-01-01": {"value": 130, "reference": "Article 1"}},
            },
            "uranium": {
                "description": "Uranium",
                "unit": "kg",
                "values": {"2020-01-01": {"value": 100, "reference": "Article 1"}},
            },
        },
        "terms": [
            limit("water-limit", "water", "heavy_water", "t", "heavy water stock"),
            limit("uranium-limit", "uranium", "uranium", "kg", "uranium stock"),
        ],
    }
    if keys:
        doc["keys"] = [
            {"party": p, "vkey": v, "kinds": ["declaration", "inspection_finding"]}
            for p, v in keys.items()
        ]
    return doc
