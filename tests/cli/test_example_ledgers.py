"""``cvid demo --data DIR``: the example's table comes from DIR, its package stays as shipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cvid.cli.example_ledgers import read_example
from cvid.report.examples import EXAMPLES
from kit import NEW_START_CSV, ROOT, cvid

NEW_START = next(e for e in EXAMPLES if e.name == "new-start")
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def test_data_replaces_the_table_the_records_are_read_from(tmp_path: Path) -> None:
    table = NEW_START_CSV.read_bytes()
    fewer = b"\n".join(table.split(b"\n")[:5]) + b"\n"  # the header and the first four rows
    (tmp_path / "aggregates.csv").write_bytes(fewer)
    shipped, inputs = read_example(NEW_START, ROOT / "examples", tmp_path)
    assert inputs["data/aggregates.csv"] == fewer
    assert shipped["data/aggregates.csv"] == table
    assert {k for k in inputs if inputs[k] != shipped[k]} == {"data/aggregates.csv"}
    records = NEW_START.records(inputs, "new-start", NOW)
    assert len(records) == 4
    assert read_example(NEW_START, ROOT / "examples", None) == (shipped, shipped)


def test_a_data_folder_without_the_table_is_refused_naming_it(tmp_path: Path) -> None:
    result = cvid("demo", tmp_path / "demo", "--data", tmp_path)
    assert result.exit_code == 2
    assert f"cannot read {tmp_path / 'aggregates.csv'}" in " ".join(result.output.split())


def test_a_folder_without_the_examples_is_refused(tmp_path: Path) -> None:
    result = cvid("demo", tmp_path / "demo", "--examples", tmp_path)
    assert result.exit_code == 2
    assert "no agreement package there" in " ".join(result.output.split())
