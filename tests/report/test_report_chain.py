"""The report shows the package hash chain: every version up to the one in force, each with
its SHA-256 and effective date, as the verdict JSON carries it (docs/amendments.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cvid.evidence.parties import package_sha256
from kit import cvid, ok


def _package(keys: dict[str, str], until: str) -> dict[str, Any]:
    return {
        "format": "cvid-agreement/1",
        "id": "pact",
        "title": "A pact",
        "parties": [
            {"id": "A", "name": "State A", "roles": ["inspected_party"]},
            {"id": "B", "name": "State B", "roles": ["counterparty"]},
        ],
        "keys": [
            {"party": p, "vkey": keys[p], "kinds": ["declaration", "statement"]} for p in ("A", "B")
        ],
        "parameters": {
            "stock_limit": {
                "description": "Stock",
                "unit": "kg",
                "values": {
                    "2020-01-01": {"value": 100, "reference": "Article 1"},
                    until: {"value": None, "reference": "Article 9 (expiry)"},
                },
            }
        },
        "terms": [
            {
                "id": "stock-limit",
                "kind": "limit",
                "title": "Stock of at most 100 kg",
                "clause": {"ref": "Article 1", "quote": "The stock shall not exceed 100 kg."},
                "parameter": "stock_limit",
                "evidence": {"quantity": "stock"},
                "freshness_days": 3000,
                "noun": "stock",
            }
        ],
    }


@pytest.fixture
def amended(tmp_path: Path) -> dict[str, Any]:
    """A ledger of version 1 (limit until 2025) amended by both states to version 2 (until
    2030) from 2024-12-01."""
    keys = {}
    for name in ("A", "B"):
        path = tmp_path / f"{name}.key"
        keys[name] = (path, ok(cvid("key", "new", name.lower(), "--out", path)).stdout.strip())
    vkeys = {p: v for p, (_, v) in keys.items()}
    folders = {}
    for name, until in (("v1", "2025-01-01"), ("v2", "2030-01-01")):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        doc = _package(vkeys, until)
        (folders[name] / "agreement.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    ledger = tmp_path / "ledger"
    ok(cvid("ledger", "init", ledger, "--agreement", folders["v1"], "--json"))
    declaration = {
        "agreement": "pact",
        "kind": "declaration",
        "subject": "stock",
        "party": "A",
        "observed_at": "2024-06-01T00:00:00Z",
        "reported_at": "2024-06-02T00:00:00Z",
        "values": {"stock": {"value": 50, "unit": "kg"}},
        "submitter": "A",
    }
    (tmp_path / "d.json").write_text(json.dumps(declaration))
    signed = ok(cvid("evidence", "sign", tmp_path / "d.json", "--key", keys["A"][0])).stdout
    (tmp_path / "d.signed.json").write_text(signed)
    ok(cvid("submit", ledger, tmp_path / "d.signed.json"))
    args: list[object] = ["ledger", "amend", ledger, folders["v2"], "--effective", "2024-12-01"]
    ok(cvid(*args, "--key", keys["A"][0], "--key", keys["B"][0], "--json"))
    return {
        "tmp": tmp_path,
        "ledger": ledger,
        "v1": package_sha256(folders["v1"]),
        "v2": package_sha256(folders["v2"]),
    }


def _report(world: dict[str, Any], at: str) -> str:
    out = world["tmp"] / f"report-{at}.html"
    result = cvid("report", world["ledger"], "--as-of", at, "--out", out)
    assert result.exit_code in (0, 1), result.output
    return out.read_text(encoding="utf-8")


def _versions(html: str) -> list[tuple[str, str]]:
    """The cover's package versions: (SHA-256, the rest of the line, tags stripped)."""
    items = re.findall(r'<li data-version="\d+"[^>]*>(.*?)</li>', html, re.S)
    out = []
    for item in items:
        digest = re.search(r'<code class="mono package-hash">([0-9a-f]{64})</code>', item)
        assert digest is not None, item
        out.append((digest.group(1), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item))))
    return out


def test_the_report_shows_both_hashes_after_the_amendment(amended: dict[str, Any]) -> None:
    html = _report(amended, "2026-01-01")
    shown = _versions(html)
    assert [d for d, _ in shown] == [amended["v1"], amended["v2"]]
    assert "the first version, from the start" in shown[0][1]
    assert "in force" not in shown[0][1].replace("the first version", "")
    assert "in force from 2024-12-01" in shown[1][1] and shown[1][1].endswith("in force")
    # The same chain as the verdict JSON carries, and the version in force is its last.
    status = json.loads(
        ok(cvid("status", amended["ledger"], "--as-of", "2026-01-01", "--json")).stdout
    )
    assert [v["sha256"] for v in status["package_versions"]] == [d for d, _ in shown]
    assert f"recorded at log {status['package_versions'][1]['index']}" in shown[1][1]
    assert status["package_sha256"] == amended["v2"]
    assert amended["v2"] + "</code> (version 2, in force at this date)" in html


def test_before_the_amendment_the_report_shows_the_first_version_in_force(
    amended: dict[str, Any],
) -> None:
    html = _report(amended, "2024-11-30")
    # The chain up to that date is the first version alone, in force; the later one is not
    # shown as a version.
    shown = _versions(html)
    assert [d for d, _ in shown] == [amended["v1"]] and shown[0][1].endswith("in force")
    assert amended["v1"] + "</code> (version 1, in force at this date)" in html
    assert f'<code class="mono package-hash">{amended["v2"]}' not in html
