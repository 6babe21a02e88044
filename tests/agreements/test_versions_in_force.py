"""The terms of the version in force, and nothing else: ``cvid status``, ``GET /v1/status``
and the view model, on a ledger whose amendments add a term and then remove one; and the view
model judging each view ("now", "then") under the version in force in its own chain."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from test_admission_amendments import World
from test_amendments import package_doc, write_package

from cvid.agreements import amendment_values
from cvid.agreements.instants import parse_instant
from cvid.evidence import Ledger
from cvid.evidence.parties import package_sha256, read_package_files
from kit import cvid

ADDS = "2024-12-01"  # version 2: adds the term no-tests
REMOVES = "2025-06-01"  # version 3: removes the term stock-limit


@pytest.fixture
def world(tmp_path: Path) -> World:
    """Version 1 (stock-limit), 2 (and no-tests), 3 (no-tests alone), all consented."""
    w = World(tmp_path)
    vkeys = {p: s.verifier.vkey for p, s in w.signers.items()}
    doc = package_doc(vkeys, until="2030-01-01", extra_term=True)
    for grant in doc["keys"]:
        grant["kinds"].append("notice")
    doc["terms"] = [t for t in doc["terms"] if t["id"] != "stock-limit"]
    v3 = write_package(tmp_path / "v3", doc)
    previous = str(w.first.sha256)
    for folder, effective in ((w.v2, ADDS), (v3, REMOVES)):
        files = read_package_files(folder)
        (values,) = amendment_values(files, previous, parse_instant(effective))
        for party in ("A", "B"):
            when = f"{effective}T00:00:00Z"
            w.submit_ok(w.amendment(values, by=party, observed_at=when, reported_at=when))
        previous = package_sha256(folder)
    w.v3 = v3  # type: ignore[attr-defined]
    return w


def status_terms(doc: dict[str, Any]) -> set[str]:
    return {t["term"] for t in doc["terms"]}


CASES = [
    ("2024-11-30", {"stock-limit"}, 1),
    ("2025-01-01", {"stock-limit", "no-tests"}, 2),
    ("2025-07-01", {"no-tests"}, 3),
]


@pytest.mark.parametrize(("as_of", "terms", "versions"), CASES)
def test_status_lists_the_terms_of_the_version_in_force_alone(
    world: World, as_of: str, terms: set[str], versions: int
) -> None:
    out = cvid("status", world.ledger, "--as-of", as_of, "--json")
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.stdout)
    assert status_terms(doc) == terms
    assert len(doc["package_versions"]) == versions
    table = cvid("status", world.ledger, "--as-of", as_of)
    assert ("no-tests" in table.stdout) == ("no-tests" in terms)
    assert ("stock-limit" in table.stdout) == ("stock-limit" in terms)


def test_the_service_and_the_view_model_list_the_same_terms(world: World) -> None:
    pytest.importorskip("fastapi")
    from cvid.web import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    with TestClient(create_app(world.ledger)) as client:
        for as_of, terms, _ in CASES:
            local = json.loads(cvid("status", world.ledger, "--as-of", as_of, "--json").stdout)
            served = client.get("/v1/status", params={"as_of": as_of}).json()
            assert served == local
            view = client.get("/v1/view", params={"at": as_of, "views": "now"}).json()
            assert {t["term"] for t in view["terms"]} == terms
            assert {t["term"] for t in view["status"]["now"]["terms"]} == terms


def test_each_view_is_judged_under_the_version_in_force_in_its_own_chain(
    world: World,
) -> None:
    """The ledger's clock is 'log': every amendment was logged today, so as known then on
    2026-01-01 version 1 was in force (stock-limit alone), and now version 3 is (no-tests
    alone). The view model says so in each view, as cvid status --view does."""
    from cvid.view.build import view_of_ledger

    at = "2026-01-01"
    then = json.loads(
        cvid("status", world.ledger, "--as-of", at, "--view", "then", "--json").stdout
    )
    now = json.loads(cvid("status", world.ledger, "--as-of", at, "--json").stdout)
    assert status_terms(then) == {"stock-limit"} and status_terms(now) == {"no-tests"}
    with Ledger.open(world.ledger, readonly=True) as ledger:
        for views in (("now", "then"), ("then", "now")):
            _, model = view_of_ledger(ledger, None, at, views)
            doc = model.to_json()
            assert doc["views"] == list(views)
            for view, expected in (("now", now), ("then", then)):
                rows = {(t["term"], t["party"]): t["status"] for t in doc["status"][view]["terms"]}
                assert rows == {(t["term"], t["party"]): t["status"] for t in expected["terms"]}
            # The package-level members are the primary view's version.
            primary = now if views[0] == "now" else then
            assert doc["package_sha256"] == primary["package_sha256"]
            assert {t["term"] for t in doc["terms"]} == status_terms(primary)
            # Each view's timeline is of its own chain: no-tests is in the now view's.
            ids = {c["id"] for c in doc["timelines"]["now"]["changes"]}
            assert "no-tests" in ids
            assert all(t["id"] != "no-tests" for t in doc["timelines"]["then"]["tracks"])
    # The service answers the same view model.
    pytest.importorskip("fastapi")
    from cvid.web import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    with TestClient(create_app(world.ledger)) as client:
        served = client.get("/v1/view", params={"at": at, "views": "now,then"}).json()
    assert {t["term"] for t in served["status"]["then"]["terms"]} == {"stock-limit"}
    assert {t["term"] for t in served["status"]["now"]["terms"]} == {"no-tests"}


def test_cvid_view_judges_each_view_under_its_own_chain(world: World) -> None:
    """``cvid view`` (the command line's view model) as the service's: as known then on
    2026-01-01 version 1 was in force, now version 3 is, whichever view comes first."""
    at = "2026-01-01"
    for first, second in (("now", "then"), ("then", "now")):
        out = cvid("view", world.ledger, "--at", at, "--view", first, "--view", second, "--json")
        assert out.exit_code in (0, 1), out.output
        doc = json.loads(out.stdout)
        assert {t["term"] for t in doc["status"]["then"]["terms"]} == {"stock-limit"}
        assert {t["term"] for t in doc["status"]["now"]["terms"]} == {"no-tests"}


def test_the_report_judges_its_compare_view_under_its_own_chain(world: World) -> None:
    from cvid.report import section_for_ledger

    at = "2026-01-01"
    for view, other in (("now", "then"), ("then", "now")):
        section = section_for_ledger(world.ledger, at, view)
        assert section.compare == other
        status = section.model.status
        assert {t.term for t in status["then"].terms} == {"stock-limit"}
        assert {t.term for t in status["now"].terms} == {"no-tests"}
        # The side-by-side rows are the primary view's terms, each with the other view's
        # status of that same term: not in force where that view's version lacks it.
        rows = {row.term: row.statuses for row in (*section.terms, *section.pending)}
        assert set(rows) == ({"no-tests"} if view == "now" else {"stock-limit"})
        assert all(s[other] == "not_in_force" for s in rows.values())
