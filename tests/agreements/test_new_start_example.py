"""The New START example over the published aggregates: the three facts history records."""

from __future__ import annotations

from cvid.agreements import Package, Status, evaluate, run_scenarios, timeline
from cvid.agreements.timeline import statuses_between
from cvid.evidence.record import Record

Records = list[tuple[int, Record]]
LIMITS = ("deployed-delivery-vehicles", "deployed-warheads", "launchers")


def test_the_package_quotes_the_treaty_for_each_term(new_start: Package) -> None:
    clauses = {t.id: t.clause_ref for t in new_start.terms}
    assert clauses["deployed-warheads"] == "Article II, paragraph 1(b)"
    assert clauses["data-exchange"] == "Protocol, Part Four, Section II, paragraph 2"
    quotes = {t.id: t.clause.quote for t in new_start.model.terms}
    assert "1550, for warheads on deployed ICBMs" in quotes["deployed-warheads"]
    assert "no later than 30 days after the expiration of each" in quotes["data-exchange"]


def test_its_scenarios_pass(new_start: Package) -> None:
    results = run_scenarios(new_start)
    assert len(results) >= 8
    assert all(r.ok for r in results), [f for r in results for f in r.failures]


def test_russia_above_1550_in_september_2017_is_not_a_violation(
    new_start: Package, new_start_records: Records
) -> None:
    assert new_start_records[23][1].values["deployed_warheads"].value == 1561  # type: ignore[union-attr]
    got = evaluate(new_start, new_start_records, "2017-09-01", "now")
    [ru] = [t for t in got.terms if (t.term, t.party) == ("deployed-warheads", "RU")]
    assert ru.status is Status.NOT_IN_FORCE
    assert ru.evidence == (23,)
    assert ru.explanation == (
        "RU declared 1,561 deployed warheads as of 2017-09-01 (log 23); "
        "the 1,550 limit binds from 2018-02-05: not in force"
    )
    changes = timeline(new_start, new_start_records, "2011-02-05", "2018-06-01", "now")
    for party in ("US", "RU"):
        for term in LIMITS:
            assert "violated" not in statuses_between(changes, term, party)


def test_both_parties_meet_all_three_limits_on_5_february_2018(
    new_start: Package, new_start_records: Records
) -> None:
    got = evaluate(new_start, new_start_records, "2018-02-05", "now")
    limits = [t for t in got.terms if t.term in LIMITS]
    assert len(limits) == 6
    # Met on their own declarations: the State Department publishing both parties' figures is
    # not an inspection, so nothing here is verified (README.md explains the choice).
    assert {t.status for t in limits} == {Status.MET_CLAIMED}
    assert {t.party: t.evidence for t in limits} == {"US": (24,), "RU": (25,)}
    assert not got.violated


def test_the_missing_exchanges_of_march_2016_and_2017_are_overdue_never_met(
    new_start: Package, new_start_records: Records
) -> None:
    for at in ("2016-04-15", "2016-08-31", "2017-04-15", "2017-08-31"):
        got = evaluate(new_start, new_start_records, at, "now")
        for t in got.terms:
            if t.term == "data-exchange":
                assert t.status is Status.OVERDUE, (at, t)
                assert t.evidence == ()
    changes = timeline(new_start, new_start_records, "2015-09-01", "2017-12-31", "now")
    overdue = [(c.at, c.party) for c in changes if c.id == "data-exchange" and c.after == "overdue"]
    assert len(overdue) == 4  # from 1 April 2016 and 1 April 2017, for each party
    assert all(
        "met" not in c.after
        for c in changes
        if c.id == "data-exchange" and c.explanation.startswith("no ")
    )


def test_the_march_2018_exchange_is_a_documented_gap_not_met_by_the_february_figures(
    new_start: Package, new_start_records: Records
) -> None:
    # The data set has the figures as of 5 February 2018 (log 24/25), none as of 1 March 2018;
    # README.md explains why the February record does not stand in for the March exchange.
    got = evaluate(new_start, new_start_records, "2018-04-01", "now")
    for t in got.terms:
        if t.term == "data-exchange":
            assert t.status is Status.OVERDUE and t.evidence == ()
            assert "missed so far: 2016-03-01, 2017-03-01, 2018-03-01" in t.explanation
    assert new_start.directory is not None
    readme = (new_start.directory / "README.md").read_text()
    assert "March 2018: a known gap, not a finding" in readme
