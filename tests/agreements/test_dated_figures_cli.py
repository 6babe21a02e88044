"""Figures dated apart from their record through the command line: sign, submit, status
between the two dates, evidence list showing each figure's date, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from agreements_kit import two_stocks

from cvid.evidence import Ledger
from kit import cvid, ok

JAN, JUL = "2021-01-01T00:00:00Z", "2021-07-01T00:00:00Z"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    keys: dict[str, tuple[Path, str]] = {}
    for name in ("A", "INSP"):
        path = tmp_path / f"{name}.key"
        keys[name] = (path, ok(cvid("key", "new", name.lower(), "--out", path)).stdout.strip())
    doc = two_stocks({p: keys[p][1] for p in ("A", "INSP")})
    package = tmp_path / "pact"
    package.mkdir()
    (package / "agreement.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    ledger = tmp_path / "ledger"
    ok(cvid("ledger", "init", ledger, "--agreement", package, "--json"))
    return {"tmp": tmp_path, "ledger": ledger, "keys": keys}


def report(uranium_as_of: str = JUL) -> dict[str, Any]:
    return {
        "agreement": "pact",
        "kind": "inspection_finding",
        "subject": "stocks",
        "party": "A",
        "observed_at": "2021-07-15T00:00:00Z",
        "reported_at": "2021-07-20T00:00:00Z",
        "values": {
            "heavy_water": {"value": 120, "unit": "t", "as_of": JAN},
            "uranium": {"value": 150, "unit": "kg", "as_of": uranium_as_of},
        },
        "submitter": "INSP",
    }


def signed(world: dict[str, Any], record: dict[str, Any], name: str) -> Path:
    draft = world["tmp"] / f"{name}.json"
    draft.write_text(json.dumps(record))
    out = ok(cvid("evidence", "sign", draft, "--key", world["keys"]["INSP"][0])).stdout
    assert json.loads(out)["values"]["uranium"]["as_of"] == record["values"]["uranium"]["as_of"]
    path = world["tmp"] / f"{name}.signed.json"
    path.write_text(out)
    return path


def ok_or_1(result: Any) -> str:
    assert result.exit_code in (0, 1), result.output
    return str(result.stdout)


def size(ledger: Path) -> int:
    with Ledger.open(ledger, readonly=True) as opened:
        return opened.size


def statuses(world: dict[str, Any], as_of: str) -> dict[str, tuple[str, list[int]]]:
    out = cvid("status", world["ledger"], "--as-of", as_of, "--json")
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.stdout)
    return {t["term"]: (t["status"], t["evidence"]) for t in doc["terms"] if t["party"] == "A"}


def test_sign_submit_status_and_list(world: dict[str, Any]) -> None:
    ok(cvid("submit", world["ledger"], signed(world, report(), "report")))
    # The day after the record's observed_at: the July uranium figure breaches its limit
    # (exit 1: a violation), and the January heavy-water figure is stale, its 100-day
    # freshness counted from 1 January, not from the record's 15 July.
    out = cvid("status", world["ledger"], "--as-of", "2021-07-16")
    assert out.exit_code == 1, out.output
    july = statuses(world, "2021-07-16")
    assert july["uranium-limit"][0] == "violated" and set(july["uranium-limit"][1]) == {0}
    assert july["water-limit"] == ("unknown", [0])
    doc = json.loads(ok_or_1(cvid("status", world["ledger"], "--as-of", "2021-07-16", "--json")))
    water = next(t for t in doc["terms"] if t["term"] == "water-limit")
    assert "as of 2021-01-01" in water["explanation"] and "freshness" in water["explanation"]
    # The listing shows each figure's own date.
    listed = ok(cvid("evidence", "list", world["ledger"])).stdout
    assert "uranium=150 kg as of 2021-07-01" in listed
    assert "heavy_water=120 t as of 2021-01-01" in listed
    rows = json.loads(ok(cvid("evidence", "list", world["ledger"], "--json")).stdout)
    row = rows[0] if isinstance(rows, list) else rows["records"][0]
    assert row["values"]["uranium"]["as_of"] == JUL
    # evidence show says each figure's date too.
    shown = ok(cvid("evidence", "show", world["ledger"], "0")).stdout
    assert "uranium=150 kg as of 2021-07-01" in shown
    assert "heavy_water=120 t as of 2021-01-01" in shown
    # A timeline without --from starts at the earliest figure's date, not at the record's.
    doc = json.loads(ok_or_1(cvid("timeline", world["ledger"], "--json")))
    assert doc["from"].startswith("2021-01-01")


def test_status_between_the_two_figure_dates(world: dict[str, Any]) -> None:
    ok(cvid("submit", world["ledger"], signed(world, report(), "report")))
    march = statuses(world, "2021-03-01")
    assert march["water-limit"] == ("met_verified", [0])
    assert march["uranium-limit"] == ("unknown", [])


def test_status_reads_a_period_observed_after_the_date_asked(world: dict[str, Any]) -> None:
    # A finding observed on 15 July speaking for February to July: as of 1 March it is the
    # record that judges the limit, in cvid status as in the engine (it once read only records
    # observed by the date asked, and said unknown).
    record = report()
    for value in record["values"].values():
        del value["as_of"]
    record["period"] = {"start": "2021-02-01T00:00:00Z", "end": "2021-07-15T00:00:00Z"}
    draft = world["tmp"] / "period.json"
    draft.write_text(json.dumps(record))
    out = ok(cvid("evidence", "sign", draft, "--key", world["keys"]["INSP"][0])).stdout
    path = world["tmp"] / "period.signed.json"
    path.write_text(out)
    ok(cvid("submit", world["ledger"], path))
    march = statuses(world, "2021-03-01")
    assert march["uranium-limit"] == ("violated", [0])
    assert march["water-limit"] == ("met_verified", [0])
    assert statuses(world, "2021-01-15")["uranium-limit"] == ("unknown", [])


def test_a_figure_dated_after_the_report_is_refused(world: dict[str, Any]) -> None:
    late = signed(world, report(uranium_as_of="2021-08-01T00:00:00Z"), "late")
    out = cvid("submit", world["ledger"], late)
    assert out.exit_code == 2, out.output
    assert "values.uranium.as_of 2021-08-01T00:00:00Z is after reported_at" in out.output
    assert size(world["ledger"]) == 0  # nothing written


def test_a_figure_dated_outside_the_accepted_years_is_refused(world: dict[str, Any]) -> None:
    draft = world["tmp"] / "old.json"
    draft.write_text(json.dumps(report(uranium_as_of="1800-07-01T00:00:00Z")))
    out = cvid("evidence", "sign", draft, "--key", world["keys"]["INSP"][0])
    assert out.exit_code == 2, out.output
    assert "as_of" in out.output and "1900" in out.output


def test_the_service_refuses_a_figure_dated_after_the_report_with_a_422(
    world: dict[str, Any],
) -> None:
    from fastapi.testclient import TestClient

    from cvid.web.app import create_app

    late = signed(world, report(uranium_as_of="2021-08-01T00:00:00Z"), "late").read_text()
    with TestClient(create_app(world["ledger"])) as client:
        resp = client.post(
            "/v1/records", content=late, headers={"content-type": "application/json"}
        )
        assert resp.status_code == 422, resp.text  # a refused record, as every admission check
        assert resp.json()["check"] == "time"
        assert "values.uranium.as_of" in resp.json()["detail"]
        assert client.get("/v1/ledger").json()["size"] == 0
        good = signed(world, report(), "good").read_text()
        resp = client.post(
            "/v1/records", content=good, headers={"content-type": "application/json"}
        )
        assert resp.status_code in (200, 201), resp.text
        assert client.get("/v1/ledger").json()["size"] == 1


def test_a_verdict_over_dated_figures_re_derives_and_the_ledger_verifies(
    world: dict[str, Any],
) -> None:
    ok(cvid("submit", world["ledger"], signed(world, report(), "report")))
    out = world["tmp"] / "v.json"
    made = cvid("verdict", world["ledger"], "--as-of", "2021-07-16", "--out", out)
    assert made.exit_code in (0, 1), made.output
    doc = json.loads(out.read_text())
    assert doc["checkpoint"]["size"] == 1  # the one record, not one per figure date
    uranium = next(t for t in doc["terms"] if t["term"] == "uranium-limit")
    assert uranium["status"] == "violated"
    ok(cvid("verdict", "verify", out, "--log", world["ledger"]))
    ok(cvid("ledger", "verify", world["ledger"]))
