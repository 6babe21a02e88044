"""Issue 10, first half: bounds, periods, lost knowledge, per-figure disputes, open findings.

Each test reaches a status on purpose through the lattice package's stock-limit (at most
100 kg U from 2020-01-01, records in kg UF6 or kg U, freshness 100 days).
"""

from __future__ import annotations

from typing import Any

from agreements_kit import rec

from cvid.agreements import Package, Status, evaluate, timeline
from cvid.evidence.record import Record


def status(lattice: Package, records: list[Record], at: str) -> Any:
    result = evaluate(lattice, list(enumerate(records)), at)
    return next(t for t in result.terms if t.term == "stock-limit" and t.party == "A"), result


def u(value: float, bound: str | None = None, unc: float | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": "kg U"}
    if bound:
        q["bound"] = bound
    if unc is not None:
        q["uncertainty"] = unc
    return q


def test_bounds_are_judged_soundly(lattice: Package) -> None:
    def at_most(q: dict[str, Any]) -> Any:
        r = rec("inspection_finding", "A", "2020-03-01", {"stock": q}, submitter="INSP")
        return status(lattice, [r], "2020-03-02")[0]

    assert at_most(u(100, "<=")).status is Status.MET_VERIFIED  # <= 100 vs 100: met
    assert at_most(u(100, ">")).status is Status.VIOLATED  # > 100: violated
    assert at_most(u(100, ">=")).status is Status.UNKNOWN  # could be exactly 100
    undecided = at_most(u(120, "<="))
    assert undecided.status is Status.UNKNOWN
    assert "at most 120 kg U" in undecided.explanation
    assert "decides nothing" in undecided.explanation
    assert at_most(u(95, unc=4)).status is Status.MET_VERIFIED
    assert at_most(u(98, unc=4)).status is Status.UNKNOWN  # 94..102 straddles 100
    assert at_most(u(105, unc=4)).status is Status.VIOLATED


def test_a_record_speaks_for_every_instant_of_its_period(lattice: Package) -> None:
    r = rec(
        "inspection_finding",
        "A",
        "2020-12-31",
        {"stock": u(80)},
        submitter="INSP",
        period={"start": "2020-02-01T00:00:00Z", "end": "2020-12-31T00:00:00Z"},
    )
    # In the middle of the period, far beyond the 100-day freshness from its start.
    mid, _ = status(lattice, [r], "2020-09-01")
    assert mid.status is Status.MET_VERIFIED
    assert "for 2020-02-01 to 2020-12-31" in mid.explanation
    # 100 days after its end it is stale.
    assert status(lattice, [r], "2021-04-15")[0].status is Status.UNKNOWN


def test_loss_of_knowledge_makes_the_term_unknown_at_once(lattice: Package) -> None:
    found = rec("inspection_finding", "A", "2020-03-01", {"stock": u(80)}, submitter="INSP")
    lost = rec(
        "notice", "A", "2020-03-10", submitter="INSP", knowledge_lost={"quantities": ["stock"]}
    )
    claim = rec("declaration", "A", "2020-03-05", {"stock": u(70)})
    assert status(lattice, [found, claim, lost], "2020-03-09")[0].status is Status.MET_VERIFIED
    after, _ = status(lattice, [found, claim, lost], "2020-03-11")
    assert after.status is Status.UNKNOWN
    assert "continuity of knowledge" in after.explanation
    again = rec("inspection_finding", "A", "2020-04-01", {"stock": u(60)}, submitter="INSP")
    assert status(lattice, [found, lost, again], "2020-04-02")[0].status is Status.MET_VERIFIED


def test_a_dispute_of_one_figure_disputes_only_terms_reading_it(lattice: Package) -> None:
    decl = rec("declaration", "A", "2020-03-01", {"stock": u(80), "other": u(1)})
    other = rec(
        "statement", "A", "2020-03-02", submitter="B", disputes=0, disputed_values=["other"]
    )
    assert status(lattice, [decl, other], "2020-03-03")[0].status is Status.MET_CLAIMED
    stock = rec(
        "statement", "A", "2020-03-02", submitter="B", disputes=0, disputed_values=["stock"]
    )
    assert status(lattice, [decl, stock], "2020-03-03")[0].status is Status.DISPUTED


def test_an_open_finding_stays_open_until_a_verifying_record_cures_it(lattice: Package) -> None:
    bad = rec("inspection_finding", "A", "2020-03-01", {"stock": u(130)}, submitter="INSP")
    claim = rec("declaration", "A", "2020-04-01", {"stock": u(90)})
    cure = rec("inspection_finding", "A", "2020-05-01", {"stock": u(90)}, submitter="INSP")
    term, result = status(lattice, [bad, claim], "2020-04-02")
    assert term.status is Status.MET_CLAIMED
    assert term.open_finding is not None
    doc = result.to_json()
    assert doc["open_findings"][0]["opened_at"] == "2020-03-01T00:00:00Z"
    assert doc["open_findings"][0]["evidence"] == [0]
    # Age never hides it: long after the freshness window the finding is still open.
    assert status(lattice, [bad, claim], "2021-01-01")[0].open_finding is not None
    cured, result = status(lattice, [bad, claim, cure], "2020-05-02")
    assert cured.status is Status.MET_VERIFIED and cured.open_finding is None
    assert result.to_json()["open_findings"] == []
    changes = timeline(lattice, list(enumerate([bad, claim, cure])), "2020-02-01", "2020-06-01")
    mine = [(c.after, c.at) for c in changes if c.subject == "finding" and c.id == "stock-limit"]
    assert [a for a, _ in mine] == ["open", "closed"]


def test_corroboration_never_demotes(lattice: Package) -> None:
    seen = rec("inspection_finding", "A", "2020-03-01", {"stock": u(80)}, submitter="INSP")
    claim = rec("declaration", "A", "2020-03-20", {"stock": u(82)})
    got, _ = status(lattice, [seen, claim], "2020-03-21")
    assert got.status is Status.MET_VERIFIED
    assert got.evidence == (0, 1)
    # A claim that breaks the limit is not verified by an older inspection.
    worse = rec("declaration", "A", "2020-03-20", {"stock": u(120)})
    assert status(lattice, [seen, worse], "2020-03-21")[0].status is Status.VIOLATED
