"""A term whose condition reads ``baseline`` says, in its explanation, what the baseline was
and which record it came from (docs/agreements.md promises it)."""

from __future__ import annotations

import pytest
from agreements_kit import kg, rec

from cvid.agreements import Package, Status, evaluate


def _eliminate(lattice: Package, records: list[object], at: str) -> tuple[Status, str]:
    [t] = [
        t
        for t in evaluate(lattice, list(enumerate(records)), at).terms  # type: ignore[arg-type]
        if t.term == "eliminate-missiles" and t.party == "A"
    ]
    return t.status, t.explanation


@pytest.mark.parametrize(("remaining", "status"), [(0, Status.MET_CLAIMED), (5, Status.PENDING)])
def test_an_action_names_its_baseline_and_the_record_it_comes_from(
    lattice: Package, remaining: int, status: Status
) -> None:
    first = rec("declaration", "A", "2020-02-01", {"missiles_remaining": kg(20, "missile")})
    later = rec("declaration", "A", "2020-06-01", {"missiles_remaining": kg(remaining, "missile")})
    got, text = _eliminate(lattice, [first, later], "2020-07-01")
    assert got is status
    assert "against the baseline of 20 missiles remaining first on record (log 0)" in text, text


def test_a_term_without_baseline_in_its_condition_does_not_mention_one(lattice: Package) -> None:
    r = rec("declaration", "A", "2020-02-01", {"stock": kg(100)})
    terms = evaluate(lattice, [(0, r)], "2020-03-01").terms
    assert terms and all(
        "baseline" not in t.explanation for t in terms if t.term != "eliminate-missiles"
    )
