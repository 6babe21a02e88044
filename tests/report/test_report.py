"""The HTML report: what it says about the known facts, that it is self-contained and
well-formed, that it escapes what records say, and that ``cvid report`` agrees with
``cvid status`` for the same ledger, date and view.

The demo is built once for the module (both shipped examples, keys made on the spot).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from report_kit import SVG, changes, read, states, statuses, svgs

from cvid.agreements import load_package
from cvid.agreements.instants import parse_instant
from cvid.evidence import Ledger, Record, sign_record
from cvid.report import build_section, render_report
from cvid.report.charts import axis_ticks
from cvid.report.svg import date_ticks, label
from cvid.sources import example_signer
from kit import cvid, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
LIMITS = ("deployed-delivery-vehicles", "deployed-warheads", "launchers")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo's JSON summary (a fresh demo in a temporary directory)."""
    directory = tmp_path_factory.mktemp("report") / "demo"
    summary: dict[str, Any] = json.loads(ok(cvid("demo", directory, "--json")).stdout)
    return summary


@pytest.fixture(scope="module")
def html(demo: dict[str, Any]) -> str:
    return Path(demo["report"]).read_text(encoding="utf-8")


# -- the known facts ------------------------------------------------------------------------------


def test_new_start_limits_met_by_both_parties_on_5_february_2018(html: str) -> None:
    got = statuses(read(html), "new-start")
    for term in LIMITS:
        for party in ("US", "RU"):
            assert got[(term, party)] == "met_claimed", (term, party)
    assert "RU declared 1,444 deployed warheads as of 2018-02-05 (log 25)" in html


def test_russia_1561_in_september_2017_is_not_a_violation(html: str) -> None:
    page = read(html)
    # The timeline of the warhead limit for Russia: not in force until the limit binds, then
    # met — never violated, though the 2017-09-01 figure (1,561) is above 1,550.
    assert changes(page, "new-start", "deployed-warheads", "RU") == ["not_in_force", "met_claimed"]
    assert "violated" not in {r.data.get("to") for r in page.rows if r.section == "new-start"}
    assert re.search(r"<td>RU</td><td>2017-09-01</td><td class=\"num\">1,561 warhead</td>", html)


def test_missing_march_2016_and_2017_exchanges_are_overdue(html: str) -> None:
    page = read(html)
    for party in ("US", "RU"):
        seq = changes(page, "new-start", "data-exchange", party)
        assert seq.count("overdue") == 2, seq
    overdue = [
        r.data
        for r in page.rows
        if r.section == "new-start" and r.data.get("id") == "data-exchange"
        and r.data.get("to") == "overdue"
    ]  # fmt: skip
    assert len(overdue) == 4
    assert "missed so far: 2016-03-01, 2017-03-01: overdue" in html


def test_singapore_test_site_claimed_sohae_reversed_relief_locked(html: str) -> None:
    page = read(html)
    got = statuses(page, "singapore-2018")
    assert got[("close-punggye-ri", "KP")] == "met_claimed"
    assert got[("dismantle-sohae-structures", "KP")] == "reversed"
    assert got[("repatriate-identified-remains", "KP")] == "met_verified"
    steps = states(page, "singapore-2018")
    assert steps["sanctions-relief"] == "locked"
    assert steps["exercise-suspension"] == "delivered"
    assert steps["security-guarantees"] == "unlocked"
    assert changes(page, "singapore-2018", "dismantle-sohae-structures", "KP")[-2:] == [
        "met_claimed",
        "reversed",
    ]


def test_each_status_is_written_out_not_only_coloured(html: str) -> None:
    for status in ("met_claimed", "reversed", "locked", "overdue"):
        assert f'<span class="st st-{status}" title="{status}">{label(status)}</span>' in html


# -- charts ---------------------------------------------------------------------------------------


def test_one_chart_per_new_start_limit_and_party_with_its_limit_line(html: str) -> None:
    drawings = {e.get("id"): e for e in svgs(html)}
    limits = {"deployed-delivery-vehicles": "700", "deployed-warheads": "1,550", "launchers": "800"}
    for term, value in limits.items():
        for party in ("US", "RU"):
            svg = drawings[f"new-start-chart-{term}-{party}"]
            texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
            assert f"limit {value} from 2018-02-05" in texts, texts
            assert [p for p in svg.iter(f"{SVG}path") if p.get("class") == "limit-line"]
        links = {a.get("href") for a in drawings[f"new-start-chart-{term}-RU"].iter(f"{SVG}a")}
        assert "#new-start-log-23" in links  # Russia's 1,561 links to its record
    assert not [i for i in drawings if str(i).startswith("singapore-2018-chart-")]


def _breach_chart() -> tuple[Any, ET.Element]:
    """RU at 1,444, then 1,566 (1 % over the 1,550 limit), by a US inspection (verified)."""
    records = [
        _declared(0, 1444, observed_at="2018-02-05T00:00:00Z", reported_at="2018-02-06T00:00:00Z"),
        _declared(1, 1566, submitter="US", kind="inspection_finding"),
    ]
    section = build_section(load_package(NEW_START), records, "2018-10-05")
    chart = next(c for c in section.charts if c.term == "deployed-warheads" and c.party == "RU")
    return section, ET.fromstring(str(chart.svg))


def test_axis_around_the_limit_makes_a_one_percent_breach_visible() -> None:
    section, svg = _breach_chart()
    [line] = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "limit-line"]
    y_limit = float(line.get("d", "").split(",")[1].split()[0])
    ticks = [float("".join(t.itertext()).replace(",", "")) for t in svg.iter(f"{SVG}text")
             if t.get("class") == "tick"]  # fmt: skip
    assert ticks and min(ticks) > 0  # the axis does not start at zero
    marks = {a.get("data-index"): a for a in svg.iter() if a.get("class") == "point"}
    over = marks["1"].find(f"{SVG}rect")  # verified: a square
    assert over is not None
    y_over = float(over.get("y", "nan")) + float(over.get("height", "0")) / 2
    assert y_limit - y_over >= 6  # at least 6 px above the limit line for a 1 % breach
    assert marks["1"].get("data-role") == "verified" and marks["0"].get("data-role") == "declared"
    assert marks["0"].find(f"{SVG}circle") is not None  # declared: a circle
    assert [c for c in marks["1"].iter(f"{SVG}circle") if c.get("class") == "breach"]
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert "declared by the party" in texts and "verified (inspection)" in texts
    assert section.findings[0].status == "violated"


def test_gaps_are_hatched_and_the_line_broken(html: str) -> None:
    drawings = {e.get("id"): e for e in svgs(html)}
    svg = drawings["new-start-chart-deployed-warheads-US"]
    gaps = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "gap"]
    assert len(gaps) == 2  # no March 2016 or March 2017 figures
    lines = [p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "series-line"]
    # Broken at each gap: 2011..2015-09, then 2016-09 alone (no line), then 2017-09..2018-02.
    assert len(lines) == 2


def test_axis_ticks_are_round() -> None:
    assert axis_ticks(1402.5, 1841.0) == [1500, 1600, 1700, 1800]
    lo, hi = parse_instant("2011-01-01"), parse_instant("2018-06-01")
    labels = [text for _, text in date_ticks(lo, hi)]
    assert labels == [str(y) for y in range(2011, 2019)]


# -- self-contained, well-formed, escaped ---------------------------------------------------------


def test_self_contained(html: str) -> None:
    for bad in ('src="http', "src='http", "<script", '<link href="http', "@import", "url("):
        assert bad not in html, bad
    assert "<style>" in html


def test_well_formed_with_working_links(html: str) -> None:
    page = read(html)
    assert page.problems == []
    assert len(svgs(html)) >= 3 + 5 + 13  # three charts, the strips of both agreements
    local = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert local and not [h for h in local if h not in page.ids]
    assert "new-start-log-23" in page.ids and "singapore-2018-log-39" in page.ids


def test_what_records_say_is_escaped() -> None:
    package = load_package(NEW_START)
    hostile = Record.model_validate(
        {
            "agreement": "new-start",
            "kind": "declaration",
            "subject": "central-limits",
            "party": "RU",
            "observed_at": "2018-02-05T00:00:00Z",
            "reported_at": "2018-02-06T00:00:00Z",
            "values": {"deployed_warheads": {"value": 1444, "unit": "warhead"}},
            "summary": "<script>alert(1)</script> & co",
            "source": {"title": '"><img src=x onerror=alert(1)>', "url": "javascript:alert(1)"},
            "submitter": "RU",
            "signer": "x",
        }
    )
    out = render_report([build_section(package, [(0, hostile)], "2018-02-05")])
    assert "<script" not in out and "<img" not in out and "javascript:" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in out
    assert read(out).problems == []
    for svg in svgs(out):
        assert svg is not None


def _declared(index: int, warheads: int, **extra: Any) -> tuple[int, Record]:
    obj = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "RU",
        "submitter": "RU",
        "observed_at": "2018-09-01T00:00:00Z",
        "reported_at": "2018-10-01T00:00:00Z",
        "values": {"deployed_warheads": {"value": warheads, "unit": "warhead"}},
        "signer": "x",
        **extra,
    }
    return index, Record.model_validate(obj)


def test_corrections_and_disputes_are_marked() -> None:
    records = [
        _declared(0, 1600),
        _declared(1, 1500, supersedes=0, reported_at="2018-10-02T00:00:00Z"),
        _declared(2, 1560, submitter="US", kind="inspection_finding", disputes=1),
    ]
    section = build_section(load_package(NEW_START), records, "2018-10-05")
    out = render_report([section])
    assert 'superseded by <a href="#new-start-log-1">1</a>' in out
    assert 'corrects <a href="#new-start-log-0">0</a>' in out
    assert 'disputed by <a href="#new-start-log-2">2</a>' in out
    assert statuses(read(out), "new-start")[("deployed-warheads", "RU")] == "disputed"
    chart = next(c for c in section.charts if c.term == "deployed-warheads" and c.party == "RU")
    assert ("RU", "2018-09-01", "1,600 warhead", 0, "declared", True) in chart.points  # hollow


# -- cvid report ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "as_of"), [("new-start", "2018-02-05"), ("singapore-2018", "2019-12-31")]
)
@pytest.mark.parametrize("view", ["now", "then"])
def test_report_agrees_with_status(
    demo: dict[str, Any], tmp_path: Path, example: str, as_of: str, view: str
) -> None:
    ledger = Path(demo["directory"]) / example / "ledger"
    out = tmp_path / "r.html"
    result = ok(cvid("report", ledger, "--as-of", as_of, "--view", view, "--out", out))
    assert result.stdout.strip() == str(out)
    doc = json.loads(ok(cvid("status", ledger, "--as-of", as_of, "--view", view, "--json")).stdout)
    page = read(out.read_text(encoding="utf-8"))
    assert statuses(page, example) == {(t["term"], t["party"]): t["status"] for t in doc["terms"]}
    assert states(page, example) == {s["step"]: s["state"] for s in doc["steps"]}
    assert doc["checkpoint"]["root"] in out.read_text(encoding="utf-8")


def test_report_exits_1_on_a_violation_and_still_writes(tmp_path: Path) -> None:
    ru = example_signer("new-start", "RU")
    record = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "RU",
        "submitter": "RU",
        "observed_at": "2018-09-01T00:00:00Z",
        "reported_at": dt.datetime(2018, 10, 1, tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "values": {"deployed_warheads": {"value": 1600, "unit": "warhead"}},
    }
    with Ledger.create(tmp_path / "ledger", NEW_START, clock_mode="reported") as ledger:
        ledger.submit([sign_record(record, ru)])
    out = tmp_path / "v.html"
    result = cvid("report", tmp_path / "ledger", "--as-of", "2018-10-01", "--out", out, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["summary"]["violated"] == 1
    page = read(out.read_text(encoding="utf-8"))
    assert statuses(page, "new-start")[("deployed-warheads", "RU")] == "violated"


def test_report_of_a_missing_ledger_is_bad_input(tmp_path: Path) -> None:
    result = cvid("report", tmp_path / "nothing", "--as-of", "2018-02-05", "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_findings_come_first_and_the_cover_names_the_verdicts(tmp_path: Path) -> None:
    ru = example_signer("new-start", "RU")
    record = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "RU",
        "submitter": "RU",
        "observed_at": "2018-09-01T00:00:00Z",
        "reported_at": "2018-10-01T00:00:00Z",
        "values": {"deployed_warheads": {"value": 1600, "unit": "warhead"}},
    }
    with Ledger.create(tmp_path / "ledger", NEW_START, clock_mode="reported") as ledger:
        ledger.submit([sign_record(record, ru)])
    out = tmp_path / "r.html"
    assert cvid("report", tmp_path / "ledger", "--as-of", "2018-10-05", "--out", out).exit_code == 1
    html = out.read_text(encoding="utf-8")
    assert html.index('id="new-start-findings"') < html.index('id="new-start-status"')
    assert html.index('data-finding="deployed-warheads"') < html.index(
        'data-term="deployed-warheads"'
    )
    verdict = tmp_path / "v.json"
    cvid("verdict", "create", tmp_path / "ledger", "--as-of", "2018-10-05", "--out", verdict)
    digest = hashlib.sha256(verdict.read_bytes()).hexdigest()
    assert f'data-view="now">{digest}</code>' in html


def test_terms_not_yet_judged_are_one_compact_list() -> None:
    section = build_section(load_package(NEW_START), [], "2012-01-01")
    out = render_report([section])
    # The limits do not bind before 2018: six term/party pairs, each one list item.
    assert len(section.pending) == 6 and {r.status for r in section.pending} == {"not_in_force"}
    assert "Not yet judged (6):" in out
    page = read(out)
    assert page.problems == []
    items = [r for r in page.rows if r.data.get("term") == "deployed-warheads"]
    assert len(items) == 2 and not re.search(r'<tr data-term="deployed-warheads"', out)
    assert re.search(r'<li data-term="deployed-warheads" data-party="RU"', out)
