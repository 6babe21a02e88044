"""Timelines (a cure shows both states) and verdicts (byte-identical, bound to a checkpoint)."""

from __future__ import annotations

import hashlib
import json

import pytest
from agreements_kit import kg, rec

from cvid.agreements import (
    Package,
    Status,
    evaluate,
    make_verdict,
    parse_package,
    timeline,
    verdict_bytes,
)
from cvid.agreements.engine import instant
from cvid.agreements.instants import show
from cvid.agreements.timeline import Change, status_at
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


def _ends(changes: list[Change], term: str, party: str | None = "A") -> list[tuple[str, str]]:
    return [(c.after, show(c.at)) for c in changes if c.id == term and c.party == party]


def test_evidence_that_goes_stale_shows_stale_although_another_subject_was_declared(
    lattice: Package,
) -> None:
    # Site y is not what no-reprocessing reads (site x): the site-x record still goes stale
    # 200 days after 2020-02-01, on 2020-08-19.
    records = [
        rec("declaration", "A", "2020-02-01", {"reprocessing": False}, subject="site-x"),
        rec("declaration", "A", "2020-03-01", {"reprocessing": False}, subject="site-y"),
    ]
    pairs = list(enumerate(records))
    changes = timeline(lattice, pairs, "2020-01-01", "2020-09-01")
    assert _ends(changes, "no-reprocessing") == [
        ("unknown", "2020-01-01"),
        ("met_claimed", "2020-02-01"),
        ("unknown", "2020-08-19"),
    ]
    [t] = [t for t in evaluate(lattice, pairs, "2020-08-20").terms if t.term == "no-reprocessing"]
    assert t.status is Status.UNKNOWN
    # Another kind the term does not read: the same.
    ruled_out = timeline(
        _with_kinds(lattice),
        [
            (0, rec("declaration", "A", "2020-02-01", {"reprocessing": False}, subject="site-x")),
            (1, rec("statement", "A", "2020-03-01", {"reprocessing": False}, subject="site-x")),
        ],
        "2020-01-01",
        "2020-09-01",
    )
    assert _ends(ruled_out, "no-reprocessing")[-1] == ("unknown", "2020-08-19")


def _with_kinds(lattice: Package) -> Package:
    assert lattice.directory is not None
    text = (lattice.directory / "agreement.yaml").read_text()
    text = text.replace(
        "evidence: {quantity: reprocessing, subject: site-x}",
        "evidence: {quantity: reprocessing, subject: site-x, kinds: [declaration]}",
    )
    return parse_package(text)


def test_a_newer_record_corrected_before_the_old_one_goes_stale_does_not_hide_it(
    lattice: Package,
) -> None:
    records = [
        rec("declaration", "A", "2020-02-01", {"reprocessing": False}, subject="site-x"),
        rec("declaration", "A", "2020-03-01", {"reprocessing": False}, subject="site-x"),
        # Withdrawn on 2020-04-01: the 2020-02-01 record decides again, and goes stale.
        rec("statement", "A", "2020-04-01", subject="site-x", supersedes=1),
    ]
    pairs = list(enumerate(records))
    changes = timeline(lattice, pairs, "2020-01-01", "2020-12-31")
    assert _ends(changes, "no-reprocessing")[-1] == ("unknown", "2020-08-19")
    for at in ("2020-08-18", "2020-08-19", "2020-09-20"):
        [t] = [t for t in evaluate(lattice, pairs, at).terms if t.term == "no-reprocessing"]
        assert status_at(changes, "no-reprocessing", "A", instant(at)) == t.status.value


PARAMS = """\
id: p
title: Conditions that read other parameters
parties:
  - {id: A, name: A, roles: [inspected_party]}
  - {id: B, name: B, roles: [counterparty]}
parameters:
  ceiling:
    description: A ceiling set elsewhere
    unit: item
    values:
      2020-01-01: {value: 10, reference: R1}
      2020-06-01: {value: 5, reference: R2}
  relief_open:
    description: Whether relief may be given
    values:
      2020-01-01: {value: 0, reference: R3}
      2020-09-01: {value: 1, reference: R4}
terms:
  - id: stock
    kind: prohibition
    title: Stock under the ceiling
    clause: {ref: R, quote: Q}
    unit: item
    condition: 'value <= params["ceiling"]'
    evidence: {quantity: stock}
    freshness_days: 1000
steps:
  - id: relief
    title: Relief
    clause: {ref: R, quote: Q}
    by: B
    condition: 'params["relief_open"] > 0.0'
    delivered_by: {subject: relief}
"""


def test_the_timeline_shows_changes_that_come_from_params_in_a_condition() -> None:
    pkg = parse_package(PARAMS)
    pairs = [(0, rec("declaration", "A", "2020-02-01", {"stock": {"value": 7, "unit": "item"}}))]
    changes = timeline(pkg, pairs, "2020-01-15", "2020-12-31")
    assert _ends(changes, "stock") == [
        ("unknown", "2020-01-15"),
        ("met_claimed", "2020-02-01"),
        ("violated", "2020-06-01"),
    ]
    assert _ends(changes, "relief", None) == [("locked", "2020-01-15"), ("unlocked", "2020-09-01")]
    for at in ("2020-05-31", "2020-06-01", "2020-08-31", "2020-09-01"):
        got = evaluate(pkg, pairs, at)
        assert status_at(changes, "stock", "A", instant(at)) == got.terms[0].status.value
        assert status_at(changes, "relief", None, instant(at)) == got.steps[0].state.value
