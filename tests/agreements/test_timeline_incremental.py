"""A limit or an action evaluated at one instant after another carries its walks forward:
the same answers as evaluated afresh at each instant.

:class:`~cvid.agreements.kinds.limit._Carry` keeps what the walks for the open finding and
for corroboration found, and :meth:`Reader.newer` says when a later instant may take them
up (only newer records came in between). Each scenario here changes, between two instants,
something a stale carry would miss — a correction of the verifying record, an older record
becoming known late, a period record still running, a new limit — and checks the carried
answer against the fresh one and against the status it must be. The generated series mix
all of these at random, in both views.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from agreements_kit import rec

from cvid.agreements import Evidence, Package, Status, parse_package, timeline
from cvid.agreements.evaluator import Evaluator, instant
from cvid.agreements.evidence_index import View
from cvid.agreements.terms import CompiledTerm, Finding
from cvid.agreements.timeline import term_instants
from cvid.evidence.record import Record

PACKAGE = """\
id: carry
title: Carry test
parties:
  - {id: A, name: Party A, roles: [inspected_party]}
  - {id: INSP, name: Inspectorate, roles: [inspectorate]}
defaults:
  verified_by: [inspectorate]
parameters:
  cap:
    description: Cap
    unit: item
    values:
      2020-01-01: {value: 100, reference: "Art. 1"}
      2021-01-01: {value: 50, reference: "Art. 1 bis"}
terms:
  - id: cap
    kind: limit
    title: Cap
    clause: {ref: "Art. 1", quote: "At most the cap."}
    parameter: cap
    evidence: {quantity: q}
    freshness_days: 30
  - id: near
    kind: prohibition
    title: Near the baseline
    clause: {ref: "Art. 2", quote: "Stay near the first figure."}
    in_force: {from: 2020-01-01}
    unit: item
    condition: "value <= baseline * 1.5"
    evidence: {quantity: q}
    freshness_days: 60
  - id: cut
    kind: action
    title: Cut
    clause: {ref: "Art. 3", quote: "Cut to below half the first figure."}
    in_force: {from: 2020-01-01}
    deadline: 2021-06-30
    unit: item
    condition: "value < baseline / 2.0"
    evidence: {quantity: q}
"""


def package() -> Package:
    return parse_package(PACKAGE, "carry/agreement.yaml")


def n(value: float, **extra: Any) -> dict[str, Any]:
    return {"value": value, "unit": "item", **extra}


def same(a: Finding, b: Finding) -> bool:
    return (
        a.status is b.status
        and a.evidence == b.evidence
        and a.explanation == b.explanation
        and a.facts == b.facts
        and a.open_finding == b.open_finding
    )


def walk(
    pkg: Package, records: list[Record], view: str, at: list[str]
) -> list[tuple[Finding, Finding]]:
    """The term ``cap`` for A at each of ``at`` in turn: carried (one evaluator) and afresh."""
    ev = Evidence(list(enumerate(records)))
    carrying = Evaluator(pkg, ev, View(view))
    cap = next(t for t in pkg.terms if t.id == "cap")
    out = []
    for text in at:
        t = instant(text)
        out.append((carrying.term(cap, "A", t), Evaluator(pkg, ev, View(view)).term(cap, "A", t)))
    return out


def insp(observed: str, value: float, **extra: Any) -> Record:
    return rec("inspection_finding", "A", observed, {"q": n(value)}, submitter="INSP", **extra)


def decl(observed: str, value: float, **extra: Any) -> Record:
    return rec("declaration", "A", observed, {"q": n(value)}, **extra)


def test_a_correction_of_the_corroborating_record_ends_the_corroboration() -> None:
    # Claims after a verified figure are met_verified. A statement withdrawing the
    # inspectorate's figure (a correction the term does not read) hides it from 12 March:
    # the claims alone are met_claimed, where a carried corroboration would be stale.
    withdrawn = rec("statement", "A", "2020-03-12", {}, submitter="INSP", supersedes=0)
    records = [insp("2020-03-01", 80), decl("2020-03-05", 90), decl("2020-03-10", 85), withdrawn]
    at = ["2020-03-01", "2020-03-05", "2020-03-10", "2020-03-12", "2020-03-20"]
    got = walk(package(), records, "now", at)
    assert all(same(a, b) for a, b in got)
    assert [a.status for a, _ in got] == [
        Status.MET_VERIFIED,
        Status.MET_VERIFIED,
        Status.MET_VERIFIED,
        Status.MET_CLAIMED,
        Status.MET_CLAIMED,
    ]


def test_a_failing_finding_known_late_opens_a_finding_the_carry_had_not_seen() -> None:
    # As known then, an inspection of March reported in May opens a finding behind the
    # newest records: the walks at the April instant must not be taken up in May.
    records = [
        insp("2020-02-01", 80),
        insp("2020-03-01", 130, reported="2020-05-01"),
        decl("2020-04-01", 90),
        decl("2020-05-01", 95),
    ]
    got = walk(package(), records, "then", ["2020-04-01", "2020-05-01"])
    assert all(same(a, b) for a, b in got)
    assert got[0][0].open_finding is None
    found = got[1][0].open_finding
    assert found is not None and found.evidence == (1,)


def test_a_running_period_record_moves_with_the_instant() -> None:
    # A declaration for a period that still runs speaks for each instant in it, ahead of
    # the point records: its freshness and its place in the walk follow the instant.
    period = {"start": "2020-03-01T00:00:00Z", "end": "2020-06-01T00:00:00Z"}
    records = [
        insp("2020-02-20", 80),
        decl("2020-03-01", 90, period=period),
        decl("2020-04-01", 95),
        insp("2020-05-01", 99),
    ]
    at = ["2020-03-01", "2020-04-01", "2020-05-01", "2020-06-01", "2020-07-15"]
    got = walk(package(), records, "now", at)
    assert all(same(a, b) for a, b in got)
    assert got[-1][0].status is Status.UNKNOWN  # stale: the period ended 44 days before


def test_a_new_limit_is_not_carried() -> None:
    records = [insp("2020-06-01", 80), decl("2021-02-01", 70), decl("2021-02-05", 60)]
    got = walk(package(), records, "now", ["2020-06-01", "2021-02-01", "2021-02-05"])
    assert all(same(a, b) for a, b in got)
    assert [a.status for a, _ in got] == [
        Status.MET_VERIFIED,
        Status.VIOLATED,  # 70 over the 50 cap of 2021
        Status.VIOLATED,
    ]


def records_at_random(rng: random.Random, count: int) -> list[Record]:
    """A party's series: claims and inspections, some bounds, periods, late reports,
    corrections, disputes and a notice of lost knowledge."""
    out: list[Record] = []
    start = dt.datetime(2019, 12, 1, tzinfo=dt.UTC)
    for k in range(count):
        observed = start + dt.timedelta(days=rng.randrange(1, 800))
        reported = observed + dt.timedelta(days=rng.choice((0, 0, 3, 40)))
        inspect = rng.random() < 0.3
        value: dict[str, Any] = n(rng.choice((30, 45, 60, 90, 99, 101, 140)))
        if inspect and rng.random() < 0.2:
            value["bound"] = "<="
        extra: dict[str, Any] = {}
        if k and rng.random() < 0.15:
            extra["supersedes" if rng.random() < 0.5 else "disputes"] = rng.randrange(k)
        if not inspect and rng.random() < 0.15:
            extra["period"] = {
                "start": observed.isoformat(),
                "end": (observed + dt.timedelta(days=rng.choice((5, 30, 90)))).isoformat(),
            }
        out.append(
            Record.model_validate(
                {
                    "agreement": "carry",
                    "kind": "inspection_finding" if inspect else "declaration",
                    "party": "A",
                    "subject": "stock",
                    "observed_at": observed,
                    "reported_at": reported,
                    "values": {"q": value},
                    "submitter": "INSP" if inspect else "A",
                    "signer": "test",
                    **extra,
                }
            )
        )
    lost = {"quantities": ["q"], "subjects": []}
    out.append(
        rec(
            "notice", "A", "2020-09-01", {}, submitter="INSP", subject="notice", knowledge_lost=lost
        )
    )
    return out


def terms(pkg: Package) -> list[CompiledTerm]:
    return [t for t in pkg.terms if t.kind in ("limit", "prohibition", "action")]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("view", ["now", "then"])
def test_carried_walks_give_the_fresh_answer_at_every_instant(seed: int, view: str) -> None:
    rng = random.Random(seed)
    pkg = package()
    ev = Evidence(list(enumerate(records_at_random(rng, 60))))
    lo, hi = instant("2019-12-01"), instant("2022-06-01")
    for term in terms(pkg):
        carrying = Evaluator(pkg, ev, View(view))
        instants = term_instants(carrying, term, "A", lo, hi)
        # Also instants no record marks, in order: the carry spans any gap.
        instants = sorted({*instants, *(rng.randrange(lo, hi) for _ in range(40))})
        carried = 0
        for t in instants:
            a = carrying.term(term, "A", t)
            b = Evaluator(pkg, ev, View(view)).term(term, "A", t)
            assert same(a, b), (term.id, t, a, b)
            carried += (term.id, "A") in carrying.carry
        assert carried  # the carry was there to take up
        # Asked again out of order: the carry is not taken up backwards.
        for t in reversed(instants[::7]):
            assert same(
                carrying.term(term, "A", t), Evaluator(pkg, ev, View(view)).term(term, "A", t)
            )


def test_the_timeline_is_that_of_fresh_evaluations() -> None:
    # The timeline (carrying) against the status of a fresh evaluator at each change.
    rng = random.Random(99)
    pkg = package()
    records = records_at_random(rng, 80)
    ev = Evidence(list(enumerate(records)))
    changes = timeline(pkg, ev, "2019-12-01", "2022-06-01", "now")
    assert changes
    for c in changes:
        if c.subject != "term":
            continue
        term = next(t for t in pkg.terms if t.id == c.id)
        f = Evaluator(pkg, ev, View.NOW).term(term, "A", c.at)
        assert (f.status.value, f.evidence, f.explanation) == (c.after, c.evidence, c.explanation)


def test_a_done_action_is_explained_when_an_older_record_cannot_be_judged() -> None:
    # "at most 30" cannot be judged by `value < baseline / 2.0`: the run of done groups ends
    # there. The status stops at the verifying 20 of March; its words used to walk on and
    # fail on the bound (the timeline raised instead of explaining the change).
    records = [
        decl("2020-01-15", 100),
        rec("inspection_finding", "A", "2020-02-01", {"q": n(30, bound="<=")}, submitter="INSP"),
        insp("2020-03-01", 20),
        decl("2020-04-01", 20),
    ]
    changes = timeline(package(), list(enumerate(records)), "2020-01-01", "2020-06-01")
    cut = [c for c in changes if c.id == "cut"]
    assert cut[-1].after == "met_verified"
    assert cut[-1].at == instant("2020-03-01")
    assert cut[-1].explanation.endswith("met (verified)")
    assert cut[-1].evidence == (2,)


def test_the_timeline_shows_a_verification_expiring_under_a_newer_claim() -> None:
    # A claim observed after a verified figure corroborates it (met_verified); when the
    # verification is 30 days old the claim alone is left (met_claimed) until it too goes
    # stale. The claim is newer and observed by then, yet the verification's expiry is a
    # change the timeline must list (found by test_engine_properties, seed-dependent).
    pkg = package()
    ev = Evidence(list(enumerate([insp("2020-03-01", 80), decl("2020-03-02", 90)])))
    changes = [c for c in timeline(pkg, ev, "2020-02-01", "2020-06-01", "now") if c.id == "cap"]
    assert [(dt.datetime.fromtimestamp(c.at / 1e6, dt.UTC).date(), c.after) for c in changes] == [
        (dt.date(2020, 2, 1), "unknown"),
        (dt.date(2020, 3, 1), "met_verified"),
        (dt.date(2020, 3, 31), "met_claimed"),
        (dt.date(2020, 4, 1), "unknown"),
    ]
    for c in changes:
        f = Evaluator(pkg, ev, View.NOW).term(pkg.terms[0], "A", c.at)
        assert f.status.value == c.after
