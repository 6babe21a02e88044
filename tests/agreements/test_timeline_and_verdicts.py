"""Timelines (a cure shows both states) and verdicts (byte-identical, bound to a checkpoint)."""

from __future__ import annotations

import hashlib
import json

import pytest
from agreements_kit import kg, rec

from cvid.agreements import Package, make_verdict, timeline, verdict_bytes
from cvid.agreements.verdict import compare, read_verdict
from cvid.errors import InputError, VerificationError
from cvid.evidence.record import Record
from cvid.tlog.checkpoint import Checkpoint

Records = list[tuple[int, Record]]


def test_a_cured_violation_shows_both_in_the_timeline(lattice: Package) -> None:
    records = [
        rec("declaration", "A", "2020-02-01", {"stock": kg(300)}),
        rec("declaration", "A", "2020-05-01", {"stock": kg(100)}),
    ]
    changes = timeline(lattice, list(enumerate(records)), "2020-01-15", "2020-06-01")
    mine = [(c.after, c.evidence, c.before) for c in changes if c.id == "stock-limit"]
    assert mine == [
        ("unknown", (), None),
        ("violated", (0,), "unknown"),
        ("met_claimed", (1,), "violated"),
    ]
    at = [c.at for c in changes if c.id == "stock-limit"]
    assert at == sorted(at)


def test_the_timeline_is_in_time_order_then_package_order(lattice: Package) -> None:
    changes = timeline(lattice, [], "2020-01-01", "2021-01-01")
    keys = [c.at for c in changes]
    assert keys == sorted(keys)
    first = [c.id for c in changes if c.before is None]
    assert first == [
        "stock-limit",
        "no-reprocessing",
        "dismantle-pad",
        "eliminate-missiles",
        "report",
        "relief",
        "assurance",
    ]
    assert [c.to_json()["type"] for c in changes][-1] in ("term", "step")


def _checkpoint(records: Records) -> Checkpoint:
    return Checkpoint("cvid.test/verdict", len(records), hashlib.sha256(b"root").digest())


def test_a_verdict_is_byte_identical_on_every_run(
    new_start: Package, new_start_records: Records
) -> None:
    cp = _checkpoint(new_start_records)
    one = verdict_bytes(make_verdict(new_start, new_start_records, "2018-02-05", "now", cp))
    two = verdict_bytes(
        make_verdict(new_start, list(reversed(new_start_records)), "2018-02-05", "now", cp)
    )
    assert one == two and one.endswith(b"}\n") and b"\n" not in one[:-1]
    doc = read_verdict(one, "v")
    assert doc["format"] == "cvid-verdict/1"
    assert doc["package_sha256"] == new_start.sha256
    assert doc["checkpoint"] == {
        "origin": "cvid.test/verdict",
        "size": 26,
        "root": "SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=",
    }
    assert list(doc) == sorted(doc)
    compare(one, two, "v")


def test_a_changed_verdict_does_not_compare(new_start: Package, new_start_records: Records) -> None:
    cp = _checkpoint(new_start_records)
    good = verdict_bytes(make_verdict(new_start, new_start_records, "2018-02-05", "now", cp))
    doc = json.loads(good)
    doc["terms"][3]["status"] = "met_verified"
    with pytest.raises(VerificationError, match="term deployed-warheads RU: met_verified"):
        compare(verdict_bytes(doc), good, "v")


def test_a_verdict_needs_exactly_the_records_of_its_checkpoint(
    new_start: Package, new_start_records: Records
) -> None:
    cp = _checkpoint(new_start_records)
    with pytest.raises(InputError, match="exactly the 26 records"):
        make_verdict(new_start, new_start_records[:-1], "2018-02-05", "now", cp)
