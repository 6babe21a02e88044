"""Table mappings: rows to records, each rule of the mapping, and errors naming the row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from evidence_kit import NOW, World

from cvid.errors import InputError
from cvid.evidence import Ledger, sign_record
from cvid.evidence.importer import load_mapping, read_csv, row_record, table_records
from kit import NEW_START_CSV

DATA = Path(__file__).parent / "data"
NEW_START = DATA / "new-start-mapping.yaml"


def mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_new_start_rows_become_declarations() -> None:
    rows = read_csv(NEW_START_CSV.read_bytes(), "aggregates.csv")
    records = list(table_records(load_mapping(NEW_START), rows, NOW, {"submitter": "US"}))
    assert len(rows) == len(records) == 26
    where, ru = next(
        (w, r) for w, r in records if r["party"] == "RU" and r["observed_at"].startswith("2017-09")
    )
    assert where == "aggregates.csv line 25"
    assert ru["values"]["deployed_warheads"] == {"value": 1561, "unit": "warhead"}
    assert ru["observed_at"] == "2017-09-01T00:00:00Z"
    assert ru["reported_at"] == "2026-01-15T12:00:00Z"
    assert ru["summary"] == "New START aggregate numbers of RU as of 2017-09-01 (confirmed)"
    assert ru["submitter"] == "US" and ru["kind"] == "declaration"


def test_imported_records_are_admitted(world: World, ledger: Ledger) -> None:
    rows = read_csv(NEW_START_CSV.read_bytes(), "aggregates.csv")
    signer = world.keys["us-decl"]
    batch = [
        sign_record(obj, signer)
        for _, obj in table_records(load_mapping(NEW_START), rows, NOW, {"submitter": "US"})
    ]
    assert ledger.submit(batch) == list(range(26))


def test_reported_at_rules_and_formats(tmp_path: Path) -> None:
    path = mapping_file(
        tmp_path,
        """
fields: {agreement: a, kind: measurement, subject: s, submitter: X}
observed_at: {column: day, format: "%d/%m/%Y"}
reported_at: {rule: observed_at, plus_days: 30}
values:
  stock: {column: kg, unit: kg UF6, uncertainty_column: sigma}
  verified: {column: ok, type: bool}
  note: {column: note, type: str}
""",
    )
    rows = read_csv(b"day,kg,sigma,ok,note\n16/01/2016,300.5,1.5,yes,weighed\n", "t.csv")
    obj = row_record(load_mapping(path), rows[0], NOW, {})
    assert obj is not None
    assert obj["observed_at"] == "2016-01-16T00:00:00Z"
    assert obj["reported_at"] == "2016-02-15T00:00:00Z"
    assert obj["values"] == {
        "stock": {"value": 300.5, "unit": "kg UF6", "uncertainty": 1.5},
        "verified": True,
        "note": "weighed",
    }


def test_a_row_without_values_is_skipped_unless_required(tmp_path: Path) -> None:
    text = """
fields: {agreement: a, kind: declaration, subject: s, submitter: X}
observed_at: {value: "2018-02-05"}
reported_at: {value: "2018-02-22T00:00:00Z"}
values: {w: {column: w, unit: warhead}}
"""
    rows = read_csv(b"w\n\n1550\n", "t.csv")
    got = list(table_records(load_mapping(mapping_file(tmp_path, text)), rows, NOW))
    assert [w for w, _ in got] == ["t.csv line 3"]
    strict = load_mapping(mapping_file(tmp_path, text + "skip_empty: false\n"))
    rows = read_csv(b'w\n""\n', "t.csv")
    with pytest.raises(InputError, match=r"t.csv line 2, values.w: empty cell"):
        list(table_records(strict, rows, NOW))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fields: {}\nobserved_at: {column: d}\nreported_at: {rule: now}\nvalue: {}\n", "value"),
        (
            "fields: {}\nobserved_at: {column: d}\nreported_at: {rule: now}\n"
            "values: {w: {column: w, unit: warheads}}\n",
            "values.w: unknown unit 'warheads'",
        ),
        ("fields: [1]\n", "fields"),
    ],
)
def test_malformed_mappings_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_mapping(mapping_file(tmp_path, text))


def test_cell_errors_name_the_line(tmp_path: Path) -> None:
    mapping = load_mapping(NEW_START)
    rows = read_csv(
        b"as_of,party,deployed_delivery_vehicles,deployed_warheads,launchers,status,source\n"
        b"2018-02-05,US,652,many,800,confirmed,x\n",
        "t.csv",
    )
    with pytest.raises(InputError, match=r"t.csv line 2, values.deployed_warheads: 'many'"):
        list(table_records(mapping, rows, NOW))
    rows = read_csv(b"as_of,party\n2018-02-05,US\n", "short.csv")
    with pytest.raises(InputError, match=r"short.csv line 2, summary: .*: no column 'status'"):
        list(table_records(mapping, rows, NOW))


def test_dates_need_to_be_dates() -> None:
    rows = read_csv(
        b"as_of,party,deployed_delivery_vehicles,deployed_warheads,launchers,status,source\n"
        b"Feb 2018,US,652,1350,800,confirmed,x\n",
        "t.csv",
    )
    with pytest.raises(InputError, match="observed_at: 'Feb 2018' is not a date"):
        list(table_records(load_mapping(NEW_START), rows, datetime.now(UTC)))
