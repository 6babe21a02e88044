"""The view model: findings first and in order, margins and since when, steps, series with
roles, gaps and an axis around the limit, and the same document from Python, the CLI and HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cvid.agreements import load_package
from cvid.agreements.instants import parse_instant
from cvid.evidence import Ledger, Record, sign_record
from cvid.sources import example_signer, import_declarations
from cvid.view import build_view, view_for_ledger
from cvid.view.build import role_of
from cvid.web import create_app
from kit import NEW_START_CSV, cvid, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"


def record(**fields: Any) -> dict[str, Any]:
    """An unsigned New START declaration of RU's deployed warheads (``fields`` override)."""
    obj: dict[str, Any] = {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": "central-limits",
        "party": "RU",
        "submitter": "RU",
        "observed_at": "2018-09-01T00:00:00Z",
        "reported_at": "2018-10-01T00:00:00Z",
        "values": {"deployed_warheads": {"value": 1600, "unit": "warhead"}},
    }
    obj.update(fields)
    return obj


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 26 published aggregates (log 0..25), then RU's 1,600 warheads of 2018-09-01 (26)
    and a US inspection finding of 1,560 on RU (27), clock ``reported``."""
    directory = tmp_path_factory.mktemp("view") / "ledger"
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as opened:
        import_declarations(opened, NEW_START_CSV, NEW_START / "mapping.yaml", keys)
        finding = record(
            kind="inspection_finding",
            submitter="US",
            observed_at="2018-10-15T00:00:00Z",
            reported_at="2019-05-01T00:00:00Z",
            values={"deployed_warheads": {"value": 1560, "unit": "warhead"}},
        )
        opened.submit([sign_record(record(), keys["RU"]), sign_record(finding, keys["US"])])
    return directory


@pytest.fixture(scope="module")
def doc(ledger: Path) -> dict[str, Any]:
    """The view model on 2019-04-02: RU's 1,600 is fresh, the March 2019 exchange is late."""
    out: dict[str, Any] = view_for_ledger(ledger, "2019-04-02").to_json()
    return out


def test_plain_json_and_no_drawing(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    assert doc["format"] == "cvid-view/1" and doc["views"] == ["now", "then"]
    assert "<svg" not in text and "<path" not in text
    assert doc["checkpoint"]["size"] == 28
    assert json.loads(text) == doc


def test_findings_first_violated_then_overdue(doc: dict[str, Any]) -> None:
    now = [f for f in doc["findings"] if f["view"] == "now"]
    assert [(f["status"], f["term"], f["party"]) for f in now][:3] == [
        ("violated", "deployed-warheads", "RU"),
        ("overdue", "data-exchange", "US"),
        ("overdue", "data-exchange", "RU"),
    ]
    # Then what is not known any more (figures older than the freshness window), last.
    assert {f["status"] for f in now[3:]} == {"unknown"} and len(now) == 8
    v = now[0]
    # The newest figure is the US inspection's 1,560 of 2018-10-15: 0.65 % over the limit.
    assert (v["value"], v["limit"], v["unit"]) == (1560.0, 1550.0, "warhead")
    assert v["margin"] == -10.0 and v["margin_percent"] == pytest.approx(-0.6452, abs=1e-3)
    assert v["since"] == "2018-09-01T00:00:00Z" and 27 in v["evidence"]
    # As known then (by reported_at), the 1,600 was known from 2018-10-01.
    then = next(f for f in doc["findings"] if f["view"] == "then" and f["status"] == "violated")
    assert then["since"] == "2018-10-01T00:00:00Z" and then["other"] == "violated"


def test_status_is_exactly_cvid_status(ledger: Path, doc: dict[str, Any]) -> None:
    for view in ("now", "then"):
        result = cvid("status", ledger, "--as-of", "2019-04-02", "--view", view, "--json")
        status = json.loads(result.stdout)
        mine = doc["status"][view]
        assert mine["summary"] == status["summary"]
        assert [(t["term"], t["party"], t["status"], t["evidence"]) for t in mine["terms"]] == [
            (t["term"], t["party"], t["status"], t["evidence"]) for t in status["terms"]
        ]
        assert mine["violated"] is True


def test_series_roles_known_and_superseded(doc: dict[str, Any]) -> None:
    ru = next(s for s in doc["series"] if s["term"] == "deployed-warheads" and s["party"] == "RU")
    by_index = {p["index"]: p for p in ru["points"]}
    assert by_index[26]["role"] == "declared" and by_index[27]["role"] == "verified"
    assert by_index[27]["known"] == {"now": True, "then": False}  # reported 2019-05-01
    assert by_index[23]["value"] == 1561.0 and by_index[23]["at"] == "2017-09-01T00:00:00Z"
    assert [p["at"] for p in ru["points"]] == sorted(p["at"] for p in ru["points"])
    assert ru["limits"][0] == {
        "start": "2018-02-05T00:00:00Z",
        "end": "2026-02-05T00:00:00Z",
        "value": 1550.0,
        "reference": ru["limits"][0]["reference"],
    }
    assert ru["limits"][1]["value"] is None
    assert role_of(load_package(NEW_START), "an-observer", "RU", ()) == "observed"


def test_gaps_where_exchanges_are_missing(doc: dict[str, Any]) -> None:
    def gaps(term: str) -> list[tuple[str, str]]:
        us = next(s for s in doc["series"] if s["term"] == term and s["party"] == "US")
        return [(g["start"][:10], g["end"][:10]) for g in us["gaps"]]

    # No figures in March 2016 or March 2017, none after 2018-02-05: a figure holds 214 days.
    assert gaps("deployed-warheads") == [
        ("2016-04-02", "2016-09-01"),
        ("2017-04-03", "2017-09-01"),
        ("2018-09-07", "2019-04-02"),
    ]
    # September 2012 gave warheads only: a gap in the vehicles' series.
    assert gaps("deployed-delivery-vehicles")[0] == ("2012-10-01", "2013-03-01")


def test_axis_around_the_limit_shows_a_one_percent_breach(doc: dict[str, Any]) -> None:
    for s in doc["series"]:
        limits = [x["value"] for x in s["limits"] if x["value"] is not None]
        values = [p["value"] for p in s["points"]]
        lo, hi = s["axis"]["min"], s["axis"]["max"]
        assert lo > 0, s["term"]  # not from zero
        assert lo <= min(values + limits) and max(values + limits) <= hi
        # 1 % over the limit is at least 2 % of the axis' height.
        assert (limits[-1] * 0.01) / (hi - lo) > 0.02, (s["term"], s["party"], lo, hi)


def test_steps_say_what_unlocks_them() -> None:
    package = load_package(ROOT / "examples" / "singapore-2018")
    records = [
        (i, Record.model_validate({**json.loads(line), "signer": "x"}))
        for i, line in enumerate(
            (ROOT / "examples" / "singapore-2018" / "evidence.jsonl").read_text().splitlines()
        )
        if line.strip()
    ]
    model = build_view(package, records, "2019-12-31")
    relief = next(s for s in model.steps if s.step == "sanctions-relief")
    assert relief.states == {"now": "locked", "then": "locked"} and not relief.owed_now
    assert [(r.term, r.party, r.met) for r in relief.missing] == [
        ("complete-denuclearization", "KP", False)
    ]
    assert "unlocks once these are met and verified" in relief.says
    assert "complete-denuclearization" not in relief.says  # titles, not ids
    guarantees = next(s for s in model.steps if s.step == "security-guarantees")
    assert guarantees.owed_now and guarantees.says.startswith("Owed now by US")
    reversed_ = [f for f in model.findings if f.status == "reversed" and f.view == "now"]
    assert [f.term for f in reversed_] == ["dismantle-sohae-structures"]
    assert reversed_[0].since == "2019-03-02T12:00:00Z"


def test_timeline_tracks_are_the_timeline(ledger: Path, doc: dict[str, Any]) -> None:
    tl = doc["timelines"]["now"]
    track = next(t for t in tl["tracks"] if t["id"] == "deployed-warheads" and t["party"] == "RU")
    assert [b["status"] for b in track["bands"]] == ["not_in_force", "met_claimed", "violated"]
    assert track["bands"][-1]["start"] == "2018-09-01T00:00:00Z"
    assert track["bands"][-1]["end"] == doc["as_of"]
    result = cvid(
        "timeline", ledger, "--from", tl["start"], "--to", tl["end"], "--view", "now", "--json"
    )
    assert tl["changes"] == json.loads(result.stdout)["changes"]


def test_evidence_items(doc: dict[str, Any]) -> None:
    items = {e["index"]: e for e in doc["evidence"]}
    assert len(items) == 28
    assert items[27]["role"] == "verified" and items[27]["kind"] == "inspection_finding"
    assert items[27]["known"] == {"now": True, "then": False}
    assert items[0]["source"]["title"].startswith("US State Department fact sheet")
    assert items[0]["values"][0]["unit"] is not None


def test_cli_view_json_and_exit_codes(ledger: Path, doc: dict[str, Any], tmp_path: Path) -> None:
    result = cvid("view", ledger, "--at", "2019-04-02", "--json")
    assert result.exit_code == 1, result.output  # a violated term
    assert json.loads(result.stdout) == doc
    text = cvid("view", ledger, "--at", "2019-04-02")
    assert text.exit_code == 1
    assert "violated: At most 1,550 deployed warheads — RU" in text.stdout
    assert "margin -50 warhead (-3.2 %)" in text.stdout
    early = ok(cvid("view", ledger, "--at", "2018-02-05", "--view", "now", "--json"))
    assert json.loads(early.stdout)["views"] == ["now"]
    bad = cvid("view", ledger, "--at", "5 Feb")
    assert bad.exit_code == 2 and "--at" in bad.output
    assert cvid("view", tmp_path / "none", "--at", "2018-02-05").exit_code == 2


def test_http_view_is_the_same_document(ledger: Path, doc: dict[str, Any]) -> None:
    with TestClient(create_app(ledger)) as client:
        resp = client.get("/v1/view", params={"at": "2019-04-02"})
        assert resp.status_code == 200, resp.text
        assert resp.json() == doc
        one = client.get("/v1/view", params={"at": "2019-04-02", "views": "then"}).json()
        assert one["views"] == ["then"] and one["findings"][0]["since"] == "2018-10-01T00:00:00Z"
        assert (
            client.get("/v1/view", params={"at": "2019-04-02", "views": "later"}).status_code == 400
        )
        assert client.get("/v1/view", params={"at": "soon"}).status_code == 400


def test_a_date_with_nothing_known_yet() -> None:
    model = build_view(load_package(NEW_START), [], parse_instant("2012-01-01"))
    assert model.series and all(not s.points and not s.gaps for s in model.series)
    assert model.to_json()["status"]["now"]["summary"]
