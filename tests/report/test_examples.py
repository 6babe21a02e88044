"""The shipped examples as records and as the package copy ``cvid demo`` registers its keys in,
computed from files in memory (the module reads and writes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cvid.errors import InputError
from cvid.evidence.parties import files_sha256, read_package_files
from cvid.report.examples import (
    EXAMPLES,
    ledger_package,
    new_start_records,
    proved_index,
    shipped_keys,
    singapore_records,
    with_keys,
)
from cvid.tlog.note import Signer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
NEW_START = read_package_files(ROOT / "examples" / "new-start")
SINGAPORE = read_package_files(ROOT / "examples" / "singapore-2018")


def test_new_start_records_are_the_26_rows_each_its_partys_own() -> None:
    records = new_start_records(NEW_START, "new-start", NOW)
    assert len(records) == 26
    assert all(r["submitter"] == r["party"] and r["kind"] == "declaration" for r in records)
    example = next(e for e in EXAMPLES if e.name == "new-start")
    proved = records[proved_index(example, records)]
    assert (proved["party"], proved["observed_at"]) == ("RU", "2017-09-01T00:00:00Z")
    assert proved["values"]["deployed_warheads"] == {"value": 1561, "unit": "warhead"}


def test_a_missing_or_bad_file_is_named() -> None:
    without = {k: v for k, v in NEW_START.items() if k != "data/aggregates.csv"}
    with pytest.raises(InputError, match=r"new-start/data/aggregates\.csv: missing"):
        new_start_records(without, "new-start", NOW)
    lines = SINGAPORE["evidence.jsonl"].split(b"\n")
    broken = {**SINGAPORE, "evidence.jsonl": b"\n".join([*lines[:2], b"{oops", *lines[2:]])}
    with pytest.raises(InputError, match=r"singapore-2018/evidence.jsonl line 3: not valid JSON"):
        singapore_records(broken, "singapore-2018", NOW)


def test_singapore_records_are_every_line() -> None:
    records = singapore_records(SINGAPORE, "singapore-2018", NOW)
    assert len(records) == SINGAPORE["evidence.jsonl"].decode().strip().count("\n") + 1 == 40


def test_the_copy_differs_from_the_shipped_package_in_its_keys_block_only() -> None:
    signer = Signer.generate("new-start-us-demo")
    entries = [{"party": "US", "vkey": signer.verifier.vkey, "kinds": ["declaration"],
                "may_manage_keys": True}]  # fmt: skip
    copy = ledger_package(NEW_START, entries, "new-start")
    assert {k for k in copy if copy[k] != NEW_START[k]} == {"agreement.yaml"}
    assert files_sha256(copy) != files_sha256(NEW_START)
    old, new = NEW_START["agreement.yaml"].decode(), copy["agreement.yaml"].decode()
    assert new.split("# Keys made on the spot")[0] == old.split("# EXAMPLE KEYS ONLY")[0]
    assert "EXAMPLE KEYS ONLY" not in new and signer.verifier.vkey in new
    doc, shipped = yaml.safe_load(new), yaml.safe_load(old)
    assert doc["keys"] == entries
    assert {k: v for k, v in doc.items() if k != "keys"} == {
        k: v for k, v in shipped.items() if k != "keys"
    }
    assert [k["party"] for k in shipped_keys(NEW_START, "new-start")] == ["US", "RU"]


def test_with_keys_adds_a_block_after_parties_when_there_is_none() -> None:
    text = "id: x\nparties:\n  - id: A\n\nterms: []\n"
    out = with_keys(text, [{"party": "A", "vkey": "v", "kinds": [], "may_manage_keys": False}], [])
    assert out.startswith("id: x\nparties:\n  - id: A\n\nkeys:\n")
    assert out.endswith("\n\nterms: []\n")
