"""``cvid export`` (CSV and XLSX, cells as text), ``cvid evidence bytes`` and ``cvid receipt
verify`` of a record given as its logged bytes or as signed JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cvid.cli.tables import cell
from cvid.evidence import Ledger, sign_record
from cvid.sources import example_signer, import_declarations
from kit import cvid, ledger_vkey, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"
HOSTILE = '=HYPERLINK("http://x","click")'


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 26 aggregates and a statement whose subject is a spreadsheet formula (log 26)."""
    directory = tmp_path_factory.mktemp("export") / "ledger"
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as opened:
        import_declarations(
            opened, NEW_START / "data" / "aggregates.csv", NEW_START / "mapping.yaml", keys
        )
        rec = {
            "agreement": "new-start",
            "kind": "declaration",
            "subject": HOSTILE,
            "party": "US",
            "submitter": "US",
            "observed_at": "2018-03-01T00:00:00Z",
            "reported_at": "2018-03-02T00:00:00Z",
            "values": {},
        }
        opened.submit([sign_record(rec, keys["US"])])
    return directory


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_never_starts_a_formula(text: str) -> None:
    assert cell(text) == "'" + text and cell("a=1") == "a=1" and cell(None) == ""


def test_export_csv_writes_three_tables_as_text(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    doc = json.loads(
        ok(cvid("export", ledger, "--out", out, "--as-of", "2018-02-05", "--json")).stdout
    )
    assert sorted(Path(f).name for f in doc["files"]) == [
        "evidence.csv",
        "status.csv",
        "timeline.csv",
    ]
    with (out / "evidence.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 27 == doc["rows"]["evidence"]
    assert rows[26]["subject"] == "'" + HOSTILE and rows[0]["index"] == "0"
    with (out / "status.csv").open(newline="") as f:
        status = list(csv.DictReader(f))
    want = json.loads(cvid("status", ledger, "--as-of", "2018-02-05", "--json").stdout)["terms"]
    assert [(r["id"], r["party"], r["status"]) for r in status if r["type"] == "term"] == [
        (t["term"], t["party"], t["status"]) for t in want
    ]


def test_export_xlsx_holds_strings_only(ledger: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    book = tmp_path / "out.xlsx"
    ok(cvid("export", ledger, "--format", "xlsx", "--out", book))
    wb = load_workbook(book)
    assert wb.sheetnames == ["status", "timeline", "evidence"]
    ws = wb["evidence"]
    subjects = [c.value for c in ws["C"]]
    assert "'" + HOSTILE in subjects
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value is not None)
    refused = cvid("export", ledger, "--format", "xlsx", "--out", tmp_path)
    assert refused.exit_code == 2 and "writes a file" in refused.stderr


def test_a_receipt_checks_with_the_logged_bytes_or_the_signed_json(
    ledger: Path, tmp_path: Path
) -> None:
    receipt = tmp_path / "3.tlog-proof"
    receipt.write_text(ok(cvid("log", "prove", ledger, "--index", "3")).stdout)
    vkey = ledger_vkey(ledger)
    raw = tmp_path / "3.bin"
    raw.write_bytes(ok(cvid("evidence", "bytes", ledger, "3")).stdout_bytes)
    shown = json.loads(ok(cvid("evidence", "show", ledger, "3", "--json")).stdout)["record"]
    pretty = tmp_path / "3.json"
    pretty.write_text(json.dumps(shown, indent=2))
    assert raw.read_bytes() != pretty.read_bytes()
    for entry in (raw, pretty):
        got = json.loads(
            ok(cvid("receipt", "verify", receipt, "--vkey", vkey, "--entry", entry)).stdout
        )
        assert got["ok"] is True and got["index"] == 3
    shown["values"]["deployed_warheads"]["value"] += 1
    pretty.write_text(json.dumps(shown))
    refused = cvid("receipt", "verify", receipt, "--vkey", vkey, "--entry", pretty)
    assert refused.exit_code == 1, refused.output
    missing = cvid("evidence", "bytes", ledger, "99")
    assert missing.exit_code == 2 and "no record 99" in missing.stderr
