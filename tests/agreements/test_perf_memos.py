"""The engine's speed-ups change no result: memos keyed on all they depend on, lazy walks.

The reader memoizes a record's verdict per (term, record, limit, baseline), its words per
(term, record), and the baseline per (term, party, instant); the walk over a series' period
records reads them lazily. Each test makes a later record, a parameter change or a period
change what a memo holds, and checks the answer follows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from agreements_kit import rec

from cvid.agreements import Evidence, Package, Status, evaluate, parse_package, timeline
from cvid.agreements.evaluator import Evaluator, instant
from cvid.agreements.evidence_index import View
from cvid.agreements.instants import rfc3339
from cvid.agreements.kinds.common import groups
from cvid.agreements.terms import CompiledTerm
from cvid.evidence.record import Record

PACKAGE = """\
id: memo
title: Memo test
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
    freshness_days: 1000
  - id: cut
    kind: action
    title: Cut
    clause: {ref: "Art. 2", quote: "Cut to a tenth."}
    in_force: {from: 2020-01-01}
    deadline: 2023-12-31
    unit: item
    condition: "value < baseline / 10.0"
    evidence: {quantity: r}
"""


def package() -> Package:
    return parse_package(PACKAGE, "memo/agreement.yaml")


def n(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "item"}


def statuses(
    pkg: Package, records: list[Record], term: str, view: str = "now"
) -> list[tuple[str, str]]:
    changes = timeline(pkg, list(enumerate(records)), "2020-01-01", "2023-01-01", view)
    return [(rfc3339(c.at)[:10], c.after) for c in changes if c.id == term and c.subject == "term"]


def test_one_record_is_judged_again_under_a_new_limit() -> None:
    # 80 is within the 100 cap and above the 50 cap from 2021: the memo keys on the limit.
    pkg = package()
    r = rec("inspection_finding", "A", "2020-06-01", {"q": n(80)}, submitter="INSP")
    later = rec("inspection_finding", "A", "2021-02-01", {"q": n(80)}, submitter="INSP")
    assert statuses(pkg, [r, later], "cap") == [
        ("2020-01-01", "unknown"),
        ("2020-06-01", "met_verified"),
        ("2021-01-01", "unknown"),  # a new limit: evidence from before it does not count
        ("2021-02-01", "violated"),
    ]
    e = Evaluator(pkg, Evidence([(0, r)]), View.NOW)
    cap = next(t for t in pkg.terms if t.id == "cap")
    t = instant("2020-07-01")
    assert e.judge(cap, "A", 0, t, 100.0) is True
    assert e.judge(cap, "A", 0, t, 50.0) is False
    assert e.judge(cap, "A", 0, t, 100.0) is True


def test_a_later_correction_or_dispute_changes_the_memoized_record() -> None:
    first = rec("inspection_finding", "A", "2020-06-01", {"q": n(80)}, submitter="INSP")
    fixed = rec(
        "inspection_finding",
        "A",
        "2020-06-01",
        {"q": n(120)},
        submitter="INSP",
        reported="2020-08-01",
        supersedes=0,
    )
    # As known then, the correction arrives when it is reported.
    assert statuses(package(), [first, fixed], "cap", "then")[1:] == [
        ("2020-06-01", "met_verified"),
        ("2020-08-01", "violated"),
        ("2021-01-01", "unknown"),
    ]
    dispute = rec("statement", "A", "2020-09-01", {}, disputes=0)
    assert statuses(package(), [first, dispute], "cap")[1:] == [
        ("2020-06-01", "met_verified"),
        ("2020-09-01", "disputed"),
        ("2021-01-01", "unknown"),
    ]


def test_a_verdict_against_a_baseline_follows_a_corrected_baseline() -> None:
    # 15 is below a tenth of 200 but not of 100: when the first figure (the baseline) is
    # corrected from 200 to 100, the same record no longer meets the condition.
    base = rec("declaration", "A", "2020-02-01", {"r": n(200)})
    low = rec("inspection_finding", "A", "2020-03-01", {"r": n(15)}, submitter="INSP")
    fixed = rec("declaration", "A", "2020-02-01", {"r": n(100)}, reported="2020-05-01")
    fixed = fixed.model_copy(update={"supersedes": 0})
    pkg = package()
    records = [base, low, fixed]
    assert statuses(pkg, records, "cut", "then")[1:] == [
        ("2020-03-01", "met_verified"),
        ("2020-05-01", "pending"),
    ]
    # The reader asked at the two instants in turn gives each its own baseline.
    e = Evaluator(pkg, Evidence(list(enumerate(records))), View.THEN)
    cut = next(t for t in pkg.terms if t.id == "cut")
    assert e.term(cut, "A", instant("2020-04-01")).status is Status.MET_VERIFIED
    assert e.term(cut, "A", instant("2020-06-01")).status is Status.PENDING
    assert e.term(cut, "A", instant("2020-04-01")).status is Status.MET_VERIFIED


def test_a_period_record_speaks_for_its_period_then_for_its_end() -> None:
    pkg = package()
    span = rec(
        "inspection_finding",
        "A",
        "2020-06-30",
        {"q": n(90)},
        submitter="INSP",
        period={"start": "2020-03-01T00:00:00Z", "end": "2020-06-30T00:00:00Z"},
    )
    claim = rec("declaration", "A", "2020-05-01", {"q": n(70)})
    records = [span, claim]
    mid = evaluate(pkg, list(enumerate(records)), "2020-05-15")
    cap = next(t for t in mid.terms if t.term == "cap")
    assert cap.status is Status.MET_VERIFIED
    assert "for 2020-03-01 to 2020-06-30" in cap.explanation
    # Once over, it speaks for its end (newer than the claim) and not for later instants.
    after = evaluate(pkg, list(enumerate(records)), "2020-08-01")
    cap = next(t for t in after.terms if t.term == "cap")
    assert cap.status is Status.MET_VERIFIED
    assert cap.explanation.startswith("INSP found 90 q for 2020-03-01 to 2020-06-30")
    late = rec("declaration", "A", "2020-07-15", {"q": n(130)})
    over = evaluate(pkg, list(enumerate([*records, late])), "2020-08-01")
    assert next(t for t in over.terms if t.term == "cap").status is Status.VIOLATED


def _eager_groups(
    e: Evaluator, term: CompiledTerm, party: str, t: int, lower: int | None, verifying: bool
) -> Iterator[list[int]]:
    """The walk as it was before period records were read lazily: every one ranked."""
    series = (
        e.verifying_series(term, party) if verifying else e.ev.by_value.get((party, term.quantity))
    )
    if series is None:
        return
    points = []
    for i in range(len(series.pos) - 1, -1, -1):
        p = series.pos[i]
        if series.obs[i] > t or (lower is not None and series.obs[i] < lower):
            continue
        if p in e.ev.end or not e.usable(term, p, t):
            continue
        if points and e.ev.obs[points[-1][0]] == series.obs[i]:
            points[-1].append(p)
        else:
            points.append([p])
    spans: dict[int, list[int]] = {}
    for p in series.spans:
        if e.ev.obs[p] > t or not e.usable(term, p, t):
            continue
        w = e.ev.when(p, t)
        if lower is None or w >= lower:
            spans.setdefault(w, []).append(p)
    pending = sorted(spans.items(), reverse=True)
    for group in (sorted(g) for g in points):
        o = e.ev.obs[group[0]]
        while pending and pending[0][0] > o:
            yield sorted(pending.pop(0)[1])
        if pending and pending[0][0] == o:
            group = sorted(group + pending.pop(0)[1])
        yield group
    for _, ps in pending:
        yield sorted(ps)


def test_the_lazy_walk_over_period_records_gives_the_eager_walks_groups() -> None:
    pkg = package()
    cap = next(t for t in pkg.terms if t.id == "cap")
    rng = random.Random(7)
    day = 86_400_000_000
    t0 = instant("2020-01-01")
    records: list[Record] = []
    for i in range(300):
        start = t0 + rng.randrange(700) * day
        extra: dict[str, Any] = {}
        if rng.random() < 0.3:
            length = rng.choice([0, 1, 10, 60, 200])
            end = start + length * day
            extra["period"] = {"start": _iso(start), "end": _iso(end)}
            observed = end
        else:
            observed = start
        if i and rng.random() < 0.1:
            extra["supersedes"] = rng.randrange(i)
        inspect = rng.random() < 0.3
        records.append(
            rec(
                "inspection_finding" if inspect else "declaration",
                "A",
                _iso(observed),
                {"q": n(rng.randrange(40, 120))},
                submitter="INSP" if inspect else "A",
                reported=_iso(observed + rng.randrange(60) * day),
                **extra,
            )
        )
    ev = Evidence(list(enumerate(records)))
    for view in (View.NOW, View.THEN):
        e = Evaluator(pkg, ev, view)
        for _ in range(300):
            t = t0 + rng.randrange(-10, 800) * day + rng.choice([0, 1, day // 2])
            lower = rng.choice([None, t0, t0 + 300 * day, t + day])
            for verifying in (False, True):
                lazy = list(groups(e, cap, "A", t, lower, verifying=verifying))
                eager = list(_eager_groups(e, cap, "A", t, lower, verifying))
                assert lazy == eager, (view, t, lower, verifying)


def _iso(us: int) -> str:
    return rfc3339(us)
