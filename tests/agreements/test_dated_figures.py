"""Issue 10: one report carrying figures as of different dates (``Quantity.as_of``).

The package has two limits an inspectorate's report speaks to: a heavy-water stock and a
uranium stock, each with a 100-day freshness. The report, observed and published in July,
gives heavy water as of 1 January and uranium as of 1 July; only the July uranium figure
breaches its limit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from agreements_kit import rec, two_stocks

from cvid.agreements import Package, Status, evaluate, load_package, timeline
from cvid.agreements.evidence_index import Evidence, View
from cvid.evidence.record import Record

JAN, JUL = "2021-01-01T00:00:00Z", "2021-07-01T00:00:00Z"


@pytest.fixture(scope="module")
def pact(tmp_path_factory: pytest.TempPathFactory) -> Package:
    doc = two_stocks()
    folder = tmp_path_factory.mktemp("pact")
    (folder / "agreement.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_package(folder)


def report(water: float = 120, uranium: float = 150, **extra: Any) -> Record:
    """The inspectorate's July report: heavy water as of 1 January, uranium as of 1 July."""
    return rec(
        "inspection_finding",
        "A",
        "2021-07-15",
        {
            "heavy_water": {"value": water, "unit": "t", "as_of": JAN},
            "uranium": {"value": uranium, "unit": "kg", "as_of": JUL},
        },
        submitter="INSP",
        reported="2021-07-20",
        agreement="pact",
        subject="stocks",
        **extra,
    )


def of(changes: list[Any], term: str) -> list[tuple[str, str]]:
    """A term's changes of status for party A as (date, status); open findings left out."""
    out = [c.to_json() for c in changes]
    return [
        (c["at"][:10], c["to"])
        for c in out
        if c["id"] == term and c["party"] == "A" and c["to"] not in ("open", "closed")
    ]


def judge(pact: Package, records: list[Record], at: str, view: str = "now") -> dict[str, Any]:
    result = evaluate(pact, list(enumerate(records)), at, view)
    return {t.term: t for t in result.terms if t.party == "A"}


def test_each_figure_speaks_for_its_own_date(pact: Package) -> None:
    r = [report()]
    # March: the January heavy-water figure is fresh and met; there is no uranium figure yet,
    # although the record is observed (15 July) and reported (20 July) after neither date.
    march = judge(pact, r, "2021-03-01")
    assert march["water-limit"].status is Status.MET_VERIFIED
    assert march["water-limit"].evidence == (0,)
    assert "as of 2021-01-01" in march["water-limit"].explanation
    assert march["uranium-limit"].status is not Status.VIOLATED
    assert march["uranium-limit"].evidence == ()
    # The day before July, still nothing on uranium; from 1 July it is violated.
    assert judge(pact, r, "2021-06-30T23:59:59Z")["uranium-limit"].status is not Status.VIOLATED
    july = judge(pact, r, JUL)
    assert july["uranium-limit"].status is Status.VIOLATED
    assert set(july["uranium-limit"].evidence) == {0}  # the record's log index, not a position
    assert "as of 2021-07-01" in july["uranium-limit"].explanation
    # Freshness runs from the figure's date: 100 days after 1 January the heavy-water figure
    # is stale, though the record itself was observed in July.
    assert july["water-limit"].status is Status.UNKNOWN


def test_a_violation_cites_the_record_once(pact: Package) -> None:
    assert judge(pact, [report()], JUL)["uranium-limit"].evidence == (0,)


def test_the_timeline_changes_at_each_figures_date(pact: Package) -> None:
    changes = timeline(pact, list(enumerate([report()])), "2020-06-01", "2021-12-31", "now")
    uranium = of(changes, "uranium-limit")
    assert ("2021-07-01", "violated") in uranium
    assert all(to != "violated" for at, to in uranium if at < "2021-07-01")
    water = of(changes, "water-limit")
    assert ("2021-01-01", "met_verified") in water
    assert ("2021-04-11", "unknown") in water  # 100 days after the figure's date


def test_known_then_before_the_report_knows_neither_figure(pact: Package) -> None:
    r = [report()]
    before = judge(pact, r, "2021-07-19", "then")
    assert before["uranium-limit"].evidence == () and before["water-limit"].evidence == ()
    assert before["uranium-limit"].status is not Status.VIOLATED
    after = judge(pact, r, "2021-07-20", "then")
    assert after["uranium-limit"].status is Status.VIOLATED
    assert set(after["uranium-limit"].evidence) == {0}
    # Known now, the same instants already see each figure from its own date.
    assert judge(pact, r, "2021-07-19")["uranium-limit"].status is Status.VIOLATED


def test_a_correction_of_one_figure(pact: Package) -> None:
    # The inspectorate corrects the July uranium figure (90 kg, within the limit) in
    # September, restating the January heavy-water figure unchanged.
    fix = rec(
        "inspection_finding",
        "A",
        "2021-07-15",
        {
            "heavy_water": {"value": 120, "unit": "t", "as_of": JAN},
            "uranium": {"value": 90, "unit": "kg", "as_of": JUL},
        },
        submitter="INSP",
        reported="2021-09-01",
        agreement="pact",
        subject="stocks",
        supersedes=0,
    )
    r = [report(), fix]
    # Known now, the corrected figure stands from its own date: met from 1 July.
    july = judge(pact, r, "2021-07-02")
    assert july["uranium-limit"].status is Status.MET_VERIFIED
    assert july["uranium-limit"].evidence == (1,)
    assert judge(pact, r, "2021-03-01")["water-limit"].evidence == (1,)
    # Known then: violated on the original until the correction was reported.
    assert judge(pact, r, "2021-08-15", "then")["uranium-limit"].status is Status.VIOLATED
    fixed = judge(pact, r, "2021-09-01", "then")["uranium-limit"]
    assert fixed.status is Status.MET_VERIFIED and fixed.evidence == (1,)
    changes = timeline(pact, list(enumerate(r)), "2021-06-01", "2021-12-31", "then")
    uranium = of(changes, "uranium-limit")
    assert uranium == [
        ("2021-06-01", "unknown"),
        ("2021-07-20", "violated"),  # known then once the report was
        ("2021-09-01", "met_verified"),  # and corrected once the correction was
        ("2021-10-09", "unknown"),  # 100 days after the corrected figure's own date
    ]


def test_positions_are_split_from_log_indices(pact: Package) -> None:
    plain = rec(
        "inspection_finding",
        "A",
        "2021-02-01",
        {"heavy_water": {"value": 1, "unit": "t"}},
        submitter="INSP",
        agreement="pact",
        subject="stocks",
    )
    ev = Evidence(list(enumerate([plain, report(), plain.model_copy(update={"summary": "x"})])))
    # The dated report has its own position and one per figure date, right after it.
    assert ev.index == [0, 1, 1, 1, 2]
    assert list(ev.bases) == [0, 1, 4] and ev.position == {0: 0, 1: 1, 2: 4}
    assert ev.base_of == {2: 1, 3: 1} and len(ev) == 3
    assert [i for i, _ in ev.logged()] == [0, 1, 2] and ev.covers(3) and not ev.covers(4)
    assert ev.records[2].values.keys() == {"heavy_water"}
    assert ev.records[3].values.keys() == {"uranium"}
    assert ev.vis[View.NOW][2:4] == [ev.obs[2], ev.obs[3]] and ev.obs[2] < ev.obs[3]
    # Without dated figures, positions are the records (what every existing ledger is).
    same = Evidence(list(enumerate([plain, plain])))
    assert same.index == [0, 1] and same.bases == range(2) and not same.base_of


def test_undated_values_stay_with_the_record(pact: Package) -> None:
    mixed = rec(
        "inspection_finding",
        "A",
        "2021-02-01",
        {
            "heavy_water": {"value": 200, "unit": "t"},
            "uranium": {"value": 50, "unit": "kg", "as_of": JAN},
        },
        submitter="INSP",
        agreement="pact",
        subject="stocks",
    )
    feb = judge(pact, [mixed], "2021-02-01")
    assert feb["water-limit"].status is Status.VIOLATED  # the record's own date
    assert judge(pact, [mixed], "2021-01-15")["water-limit"].status is not Status.VIOLATED
    assert judge(pact, [mixed], "2021-01-15")["uranium-limit"].status is Status.MET_VERIFIED


def test_an_instant_outside_the_accepted_years_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="as_of"):
        report().model_validate(
            {
                **report().model_dump(mode="json", exclude_none=True),
                "values": {"uranium": {"value": 1, "unit": "kg", "as_of": "1800-01-01T00:00:00Z"}},
            }
        )


def test_the_report_lists_the_record_once_and_plots_each_figure_at_its_date(
    pact: Package,
) -> None:
    from cvid.report.model import build_section

    section = build_section(pact, list(enumerate([report()])), "2021-07-25")
    assert [row.index for row in section.evidence] == [0]
    plotted = {c.term: [(p[1][:10], p[3]) for p in c.points] for c in section.charts}
    assert plotted["uranium-limit"] == [("2021-07-01", 0)]
    assert plotted["water-limit"] == [("2021-01-01", 0)]


def test_a_record_without_as_of_keeps_its_bytes_and_one_with_it_round_trips() -> None:
    from cvid.evidence.signing import canonical

    plain = {"value": 1561, "unit": "warhead"}
    r = rec("declaration", "A", "2021-02-01", {"w": plain}, agreement="pact")
    assert r.to_json()["values"] == {"w": plain}  # no "as_of": null, nothing added
    assert b"as_of" not in canonical(r.to_json())
    dated = {"value": 1, "unit": "t", "as_of": "2021-01-01T03:00:00+03:00"}
    d = rec("declaration", "A", "2021-02-01", {"w": dated}, agreement="pact")
    # Read as UTC and written with a Z, as every instant of a record is.
    assert d.to_json()["values"]["w"] == {"value": 1, "unit": "t", "as_of": "2021-01-01T00:00:00Z"}


@pytest.mark.parametrize("view", ["now", "then"])
def test_the_timeline_agrees_with_evaluation_at_every_instant(pact: Package, view: str) -> None:
    """Every change the timeline gives is the status evaluated at its instant, and nothing
    changes in between (checked at each day), over plain records, the dated report and a
    correction of one figure reported later."""
    plain = [
        rec(
            "inspection_finding",
            "A",
            day,
            {"uranium": {"value": v, "unit": "kg"}, "heavy_water": {"value": w, "unit": "t"}},
            submitter="INSP",
            reported=day,
            agreement="pact",
            subject="stocks",
        )
        for day, v, w in (("2020-12-01", 90, 100), ("2021-08-10", 80, 140))
    ]
    fix = report(uranium=95, supersedes=1).model_copy(
        update={"reported_at": plain[0].reported_at.replace(year=2021, month=9)}
    )
    records = list(enumerate([plain[0], report(), fix, plain[1]]))
    changes = timeline(pact, records, "2020-11-01", "2021-12-31", view)
    expect: dict[str, str] = {}
    by_day: dict[str, dict[str, str]] = {}
    for c in changes:
        j = c.to_json()
        if j["party"] == "A" and j["to"] not in ("open", "closed"):
            by_day.setdefault(j["at"][:10], {})[j["id"]] = j["to"]
    day = dt.date(2020, 11, 1)
    while day <= dt.date(2021, 12, 31):
        expect.update(by_day.get(day.isoformat(), {}))
        got = judge(pact, [r for _, r in records], day.isoformat(), view)
        for term in ("uranium-limit", "water-limit"):
            assert got[term].status.value == expect[term], (view, day, term)
        day += dt.timedelta(days=1)


def test_the_view_model_lists_the_record_once_with_each_figures_date(pact: Package) -> None:
    from cvid.view import build_view

    model = build_view(pact, list(enumerate([report()])), "2021-08-01", ("now", "then"))
    doc = model.to_json()
    assert [e["index"] for e in doc["evidence"]] == [0]  # once, not once per figure date
    values = {v["name"]: v for v in doc["evidence"][0]["values"]}
    assert values["heavy_water"]["as_of"] == JAN
    assert values["uranium"]["as_of"] == JUL
    assert doc["evidence"][0]["known"] == {"now": True, "then": True}
