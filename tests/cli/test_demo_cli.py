"""``cvid demo``: the main job end to end, its directory rules, and that what it builds is real.

The ledgers it leaves behind must work with every other command: status, verdict verify,
audit of the exported tiles, receipt verify.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import Result

from cvid.cli.example_ledgers import AMENDED
from cvid.evidence import Ledger
from kit import cvid, ok

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A demo built once, with its human output."""
    directory = tmp_path_factory.mktemp("demo") / "cvid-demo"
    return directory, ok(cvid("demo", directory))


@pytest.fixture(scope="module")
def summary(built: tuple[Path, Result]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((built[0] / "cvid-demo.json").read_text())
    return doc


def test_prints_tables_and_the_report_path(built: tuple[Path, Result]) -> None:
    directory, result = built
    out = result.stdout
    assert out.rstrip().splitlines()[-1] == f"report: {directory / 'report.html'}"
    assert (directory / "report.html").stat().st_size > 50_000
    assert "new-start as of 2018-02-05" in out and "singapore-2018 as of 2019-12-31" in out
    assert "2016-04-01  data-exchange RU: pending → overdue" in out
    assert "dismantle-sohae-structures KP: met_claimed → reversed" in out
    assert out.count("verified offline") == 2 and out.count("audit ok") == 2


def test_summary_names_everything_built(
    summary: dict[str, Any], built: tuple[Path, Result]
) -> None:
    directory = built[0]
    assert summary["format"] == "cvid-demo/1" and summary["complete"] and summary["ok"]
    by_name = {e["example"]: e for e in summary["examples"]}
    assert set(by_name) == {"new-start", "singapore-2018"}
    ns, sg = by_name["new-start"], by_name["singapore-2018"]
    # New START's log also holds the 2021 extension: 2 parties' consent, 2 parts each.
    assert ns["records"] == 26 and ns["checkpoint"]["size"] == 30
    assert sg["records"] == 40 and sg["checkpoint"]["size"] == 40
    assert ns["summary"]["now"] == {"met_claimed": 10}
    assert ns["summary"]["then"]["unknown"] == 6  # the 2018-02-05 figures not yet reported
    assert set(sg["keys"]) == {"US", "KP", "KR", "IAEA", "38north"}
    for e in (ns, sg):
        assert e["receipt"]["ok"] and e["tiles"]["audit_ok"]
        assert e["tiles"]["entries_checked"] == e["checkpoint"]["size"]
        assert e["package_sha256"]["shipped"] != e["package_sha256"]["ledger"]
        for key in e["keys"].values():
            path = Path(key["file"])
            assert path.parent == directory / e["example"] / "keys"
            assert path.stat().st_mode & 0o777 == 0o600
            assert path.with_suffix(".vkey").read_text().strip() == key["vkey"]


def test_the_ledger_registers_the_keys_made_on_the_spot(summary: dict[str, Any]) -> None:
    for e in summary["examples"]:
        with Ledger.open(Path(e["ledger"]), readonly=True) as ledger:
            copy = ledger.package_files["agreement.yaml"].decode()
        folder = ROOT / "examples" / e["example"]
        if e["example"] in AMENDED:  # the ledger starts from the earlier version
            folder = folder / AMENDED[e["example"]].original
        shipped = (folder / "agreement.yaml").read_text()
        for key in e["keys"].values():
            assert key["vkey"] in copy and key["vkey"] not in shipped
        assert "-example+" not in copy
        # Everything but the keys block is the shipped text.
        assert copy.split("\nkeys:")[0].split("\n# Keys made")[0] in shipped


def test_ledgers_work_with_the_other_commands(
    summary: dict[str, Any], built: tuple[Path, Result], tmp_path: Path
) -> None:
    directory = built[0]
    ns = next(e for e in summary["examples"] if e["example"] == "new-start")
    ledger = Path(ns["ledger"])
    doc = json.loads(ok(cvid("status", ledger, "--as-of", "2018-02-05", "--json")).stdout)
    assert doc["checkpoint"] == ns["checkpoint"]
    ok(cvid("verdict", "verify", directory / "new-start" / "verdict-now.json", "--log", ledger))
    vkey = directory / "new-start" / "log.vkey"
    ok(cvid("audit", directory / "new-start" / "tiles", "--vkey", vkey))
    index = ns["receipt"]["index"]
    receipt = directory / "new-start" / "receipt"
    ok(
        cvid(
            "receipt", "verify", receipt / f"{index}.tlog-proof",
            "--vkey", vkey, "--entry", receipt / f"{index}.entry",
        )
    )  # fmt: skip
    # The record proven is Russia's 1,561 as of 2017-09-01.
    entry = json.loads((receipt / f"{index}.entry").read_bytes())
    assert entry["party"] == "RU" and entry["values"]["deployed_warheads"]["value"] == 1561


def test_refuses_a_directory_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = cvid("demo", tmp_path)
    assert result.exit_code == 2
    assert "not a previous cvid demo" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    assert cvid("demo", tmp_path / "file").exit_code == 2


def test_replaces_a_previous_demo_with_json_output(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    first = json.loads(ok(cvid("demo", directory, "--json")).stdout)
    (directory / "stale.txt").write_text("left over")
    second = json.loads(ok(cvid("demo", directory, "--json")).stdout)
    assert not (directory / "stale.txt").exists()
    keys = [e["keys"]["US"]["vkey"] for e in (first["examples"][0], second["examples"][0])]
    assert keys[0] != keys[1]  # made on the spot, every time
    assert second["report"] == str(directory / "report.html")


def test_the_ledgers_are_witnessed_two_of_three_and_the_report_shows_who(
    summary: dict[str, Any], built: tuple[Path, Result], tmp_path: Path
) -> None:
    directory, result = built
    assert result.stdout.count("quorum 2 of 3") == 2
    html = (directory / "report.html").read_text()
    assert html.count("quorum <strong>holds</strong>") == 2
    for e in summary["examples"]:
        w = e["witnesses"]
        assert w["quorum"] is True and w["needed"] == 2 and w["members"] == ["w1", "w2", "w3"]
        assert sorted(w["cosigned"]) == ["w1", "w2", "w3"]
        assert all(f"<code>{name}</code> at " in html for name in w["cosigned"])
        tiles = Path(e["tiles"]["dir"])
        note = (tiles / "checkpoint").read_text()
        assert all(f"— {n}.cvid-demo.example " in note for n in w["members"])
        assert (tiles / "checkpoints" / "index").read_text() == f"{e['checkpoint']['size']}\n"
        policy = tmp_path / f"{e['example']}.policy"
        ok(cvid("ledger", "witnesses", e["ledger"], "--policy-out", policy))
        ok(cvid("audit", "--vkey", e["log_vkey"], tiles, "--policy", policy))
        receipt = Path(e["receipt"]["file"]).read_text()
        assert "— w1.cvid-demo.example " in receipt
    # The witnesses were stopped with the demo: nothing listens at their URLs any more.
    shown = json.loads(
        ok(cvid("ledger", "witnesses", summary["examples"][0]["ledger"], "--json")).stdout
    )
    for member in shown["witnesses"]:
        with pytest.raises(httpx.TransportError):
            httpx.get(member["url"], timeout=1.0)
