"""``cvid import xlsx``: a sheet's rows through the CSV importer's mapping, with refusals that
name the sheet, the row and the column."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cvid.evidence import Ledger
from cvid.keyfiles import write_signer
from cvid.sources import example_signer
from kit import cvid, ok

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"


def _book(path: Path, rows: list[list[object]], sheet: str = "aggregates") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    key = tmp_path / "us.key"
    write_signer(example_signer("new-start", "US"), key)
    ledger = tmp_path / "ledger"
    with Ledger.create(ledger, NEW_START, clock_mode="reported"):
        pass
    with (NEW_START / "data" / "aggregates.csv").open(newline="") as f:
        table = list(csv.reader(f))
    us = [table[0], *[r for r in table[1:] if "US" in r]]
    # Numbers as numbers, as a spreadsheet holds them.
    typed = [us[0], *[[int(c) if c.isdigit() else c for c in r] for r in us[1:]]]
    return {"key": key, "ledger": ledger, "book": _book(tmp_path / "us.xlsx", typed)}


def test_import_xlsx_admits_what_import_csv_would(setup: dict[str, Path]) -> None:
    args = ["--mapping", NEW_START / "mapping.yaml", "--key", setup["key"], "--json"]
    doc = json.loads(ok(cvid("import", "xlsx", setup["ledger"], setup["book"], *args)).stdout)
    assert len(doc["indexes"]) == doc["rows"] == 13  # the US rows of the 26
    listed = json.loads(ok(cvid("evidence", "list", setup["ledger"], "--json")).stdout)
    assert {r["party"] for r in listed} == {"US"}
    assert any(r["values"]["deployed_warheads"]["value"] == 1800 for r in listed)
    again = json.loads(ok(cvid("import", "xlsx", setup["ledger"], setup["book"], *args)).stdout)
    assert again["indexes"] == [] and len(again["already_logged"]) == doc["rows"]


def test_import_xlsx_names_sheet_row_and_column(setup: dict[str, Path], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(setup["book"])
    ws = wb["aggregates"]
    header = [c.value for c in ws[1]]
    col = header.index("deployed_warheads") + 1
    ws.cell(row=3, column=col, value="many")
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    args = ["--mapping", NEW_START / "mapping.yaml", "--key", setup["key"]]
    got = cvid("import", "xlsx", setup["ledger"], bad, *args)
    assert got.exit_code == 2, got.output
    assert "sheet 'aggregates' row 3" in got.stderr and "many" in got.stderr
    with Ledger.open(setup["ledger"], readonly=True) as ledger:
        assert ledger.size == 0
    missing = cvid("import", "xlsx", setup["ledger"], bad, *args, "--sheet", "nope")
    assert missing.exit_code == 2 and "no sheet 'nope'" in missing.stderr
    notbook = tmp_path / "x.xlsx"
    notbook.write_text("a,b\n")
    refused = cvid("import", "xlsx", setup["ledger"], notbook, *args)
    assert refused.exit_code == 2 and "not an XLSX workbook" in refused.stderr
