"""``cvid report --pdf``: Debian's chromium prints the report; no browser is a clear exit 2."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cvid.cli import report as report_cli
from cvid.evidence import Ledger
from cvid.report.pdf import find_browser
from cvid.sources import example_signer, import_declarations
from kit import NEW_START_CSV, cvid

ROOT = Path(__file__).resolve().parents[2]
NEW_START = ROOT / "examples" / "new-start"


def _ledger(directory: Path) -> Path:
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(directory, NEW_START, clock_mode="reported") as opened:
        import_declarations(opened, NEW_START_CSV, NEW_START / "mapping.yaml", keys)
    return directory


def test_pdf_printed_by_chromium(tmp_path: Path) -> None:
    if find_browser() is None:
        if os.environ.get("CVID_REQUIRE_BROWSER", "").strip() not in ("", "0"):
            pytest.fail("CVID_REQUIRE_BROWSER is set and no chromium is installed")
        pytest.skip("no chromium installed (scripts/test.sh installs it)")
    ledger = _ledger(tmp_path / "ledger")
    pdf, html = tmp_path / "r.pdf", tmp_path / "r.html"
    result = cvid("report", ledger, "--as-of", "2018-02-05", "--pdf", pdf, "--out", html)
    assert result.exit_code == 0, result.output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert 2 <= pages <= 40, pages  # a few pages, not a 16,000 px scroll
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_no_browser_is_bad_input_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = _ledger(tmp_path / "ledger")
    monkeypatch.setattr(report_cli, "find_browser", lambda: None)
    pdf = tmp_path / "r.pdf"
    result = cvid("report", ledger, "--as-of", "2018-02-05", "--pdf", pdf)
    assert result.exit_code == 2
    assert "chromium" in result.output and not pdf.exists()
    assert cvid("report", ledger, "--as-of", "2018-02-05").exit_code == 2  # neither output
