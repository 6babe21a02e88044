"""Table mappings: rows to records, each rule of the mapping, and errors naming the row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from evidence_kit import NOW, World

from cvid.errors import InputError
from cvid.evidence import Ledger, sign_record
from cvid.evidence.importer import (
    TableMapping,
    load_mapping,
    read_csv,
    row_record,
    split_logged,
    table_records,
)
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


# -- hostile tables and mappings (issue 12): each refused with the line and member named ------

HOSTILE = """
fields:
  agreement: a
  kind: declaration
  subject: s
  submitter: X
  summary: {template: "count {n}"}
observed_at: {column: d}
reported_at: {rule: observed_at, plus_days: 1}
values: {w: {column: w, unit: warhead}, n: {column: n, type: str}}
"""


def hostile(tmp_path: Path, text: str = HOSTILE) -> TableMapping:
    return load_mapping(mapping_file(tmp_path, text))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (b"d,n,w\n2018-01-01,1,nan\n", r"t.csv line 2, values.w: 'nan' is not a finite number"),
        (b"d,n,w\n2018-01-01,1,-inf\n", r"t.csv line 2, values.w: '-inf' is not a finite"),
        (b"d,n,w\n2018-01-01,1,1e400\n", r"t.csv line 2, values.w: '1e400' is too large"),
        (b"d,n,w\n2018-01-01,1," + b"9" * 5000 + b"\n", r"line 2, values.w: '9+…' is too large"),
        (
            b"d,n,w\n2018-01-01,1,2\n2018-01-02,1," + b"7" * 131_073 + b"\n",
            r"t.csv line 3: a cell is longer than 131,072",
        ),
        (
            b'd,n,w\n2018-01-01,1,2\n2018-01-02,"1,3\n2018-01-03,1,4\n',
            r"t.csv line 3: a quoted cell is never closed",
        ),
        (b'd,n,w\n2018-01-01,"1"x,2\n', r"t.csv line 2: not valid CSV"),
        (
            b"d,n,w\n2018-01-01T10:00:00,1,2\n",
            r"t.csv line 2, observed_at \(column 'd'\): time '2018-01-01T10:00:00' has no zone",
        ),
        (
            b"d,n,w\n2199-12-31,1,2\n",
            r"line 2, reported_at: 2199-12-31T00:00:00\+00:00 plus 1 days is outside",
        ),
        (
            b"d,n,w\n0001-01-01T00:00:00+01:00,1,2\n",
            r"line 2, observed_at: 0001-01-01T00:00:00\+01:00 is outside",
        ),
    ],
)
def test_hostile_cells_are_refused_naming_the_line(
    tmp_path: Path, table: bytes, message: str
) -> None:
    mapping = hostile(tmp_path)
    with pytest.raises(InputError, match=message):
        list(table_records(mapping, read_csv(table, "t.csv"), NOW))


def test_an_unterminated_quote_drops_no_row_silently(tmp_path: Path) -> None:
    # Before, the open quote swallowed the rest of the file into one cell and two rows vanished.
    with pytest.raises(InputError, match="line 2: a quoted cell is never closed"):
        read_csv(b'd,n,w\n2018-01-01,"1,2\n2018-01-02,1,3\n2018-01-03,1,4\n', "t.csv")


def test_an_int_column_takes_only_exact_whole_numbers(tmp_path: Path) -> None:
    text = HOSTILE.replace('summary: {template: "count {n}"}', "count: {column: n, type: int}")
    mapping = hostile(tmp_path, text)
    good = read_csv(b"d,n,w\n2018-01-01,1e3,2\n2018-01-01,-42,2\n", "t.csv")
    assert [obj["count"] for _, obj in table_records(mapping, good, NOW)] == [1000, -42]
    for cell, why in [
        ("nan", "not a finite number"),
        ("1e400", "too large"),
        ("1.5", "not a whole number"),
        ("9007199254740993", "too large"),
        ("1e20", "too large"),
    ]:
        rows = read_csv(f"d,n,w\n2018-01-01,{cell},2\n".encode(), "t.csv")
        with pytest.raises(InputError, match=f"t.csv line 2, count: '{cell}' is {why}"):
            list(table_records(mapping, rows, NOW))


@pytest.mark.parametrize("days", [10**12, -(10**18), 36_526])
def test_plus_days_is_bounded_in_the_mapping(tmp_path: Path, days: int) -> None:
    with pytest.raises(InputError, match=r"mapping.yaml: reported_at.plus_days"):
        hostile(tmp_path, HOSTILE.replace("plus_days: 1", f"plus_days: {days}"))


def test_times_need_a_zone_unless_they_are_dates(tmp_path: Path) -> None:
    mapping = hostile(tmp_path)
    rows = read_csv(b"d,n,w\n2018-01-01T10:00:00+02:00,1,2\n2018-01-01,1,2\n", "t.csv")
    got = [obj["observed_at"] for _, obj in table_records(mapping, rows, NOW)]
    assert got == ["2018-01-01T08:00:00Z", "2018-01-01T00:00:00Z"]
    timed = hostile(
        tmp_path, HOSTILE.replace("{column: d}", '{column: d, format: "%d/%m/%Y %H:%M"}')
    )
    rows = read_csv(b"d,n,w\n01/01/2018 10:00,1,2\n", "t.csv")
    with pytest.raises(InputError, match=r"line 2, observed_at \(column 'd'\): time .* no zone"):
        list(table_records(timed, rows, NOW))
    zoned = hostile(
        tmp_path, HOSTILE.replace("{column: d}", '{column: d, format: "%d/%m/%Y %H:%M%z"}')
    )
    rows = read_csv(b"d,n,w\n01/01/2018 10:00+0100,1,2\n", "t.csv")
    assert next(table_records(zoned, rows, NOW))[1]["observed_at"] == "2018-01-01T09:00:00Z"
    constant = hostile(tmp_path, HOSTILE.replace("{column: d}", '{value: "2018-01-01 10:00"}'))
    with pytest.raises(InputError, match=r"observed_at \(value '2018-01-01 10:00'\): time"):
        list(table_records(constant, read_csv(b"d,n,w\nx,1,2\n", "t.csv"), NOW))


@pytest.mark.parametrize(
    "template",
    ["{n.__class__}", "{n.__class__.__mro__}", "{n[0]}", "{n!r}", "{n:>999999999}", "{}", "{0}x{"],
)
def test_templates_name_plain_columns_only(tmp_path: Path, template: str) -> None:
    text = HOSTILE.replace('"count {n}"', f'"{template}"')
    with pytest.raises(InputError, match=r"mapping.yaml: fields.summary: template"):
        hostile(tmp_path, text)


def test_a_template_copies_cells_literally(tmp_path: Path) -> None:
    text = HOSTILE.replace('"count {n}"', '"{{n}} is {n}"')
    rows = read_csv(b"d,n,w\n2018-01-01,{d.__class__} [/b],2\n", "t.csv")
    _, obj = next(table_records(hostile(tmp_path, text), rows, NOW))
    assert obj["summary"] == "{n} is {d.__class__} [/b]"


def _signed(
    world: World, mapping: TableMapping, table: bytes, now: datetime
) -> list[tuple[str, dict[str, object]]]:
    signer = world.keys["us-decl"]
    rows = read_csv(table, "aggregates.csv")
    return [
        (w, sign_record(o, signer))
        for w, o in table_records(mapping, rows, now, {"submitter": "US"})
    ]


def test_a_table_imported_again_admits_only_its_new_rows(world: World, ledger: Ledger) -> None:
    # Before, a second import within the same second was refused whole as a replay, and one a
    # second later logged every row again. Now a row is logged once, whenever it is imported.
    mapping = load_mapping(NEW_START)
    lines = NEW_START_CSV.read_bytes().splitlines(keepends=True)
    first = _signed(world, mapping, b"".join(lines[:11]), NOW)
    fresh, logged = split_logged(mapping, first, ledger)
    assert logged == [] and len(fresh) == 10
    assert ledger.submit([obj for _, obj in fresh]) == list(range(10))
    for later in (NOW, NOW - timedelta(hours=1)):  # reported_at: {rule: now}
        again = _signed(world, mapping, b"".join(lines), later)
        fresh, logged = split_logged(mapping, again, ledger)
        assert [(x.where, x.index) for x in logged] == [
            (f"aggregates.csv line {n}", n - 2) for n in range(2, 12)
        ]
        assert [w for w, _ in fresh] == [f"aggregates.csv line {n}" for n in range(12, 28)]
    assert ledger.submit([obj for _, obj in fresh]) == list(range(10, 26))


def test_a_fixed_reported_at_keeps_it_in_what_is_already_logged(
    tmp_path: Path, world: World, ledger: Ledger
) -> None:
    text = NEW_START.read_text().replace(
        "reported_at: {rule: now}", 'reported_at: {value: "2026-01-01"}'
    )
    assert "2026-01-01" in text
    mapping = load_mapping(mapping_file(tmp_path, text))
    table = b"".join(NEW_START_CSV.read_bytes().splitlines(keepends=True)[:4])
    ledger.submit([obj for _, obj in _signed(world, mapping, table, NOW)])
    moved = load_mapping(mapping_file(tmp_path, text.replace("2026-01-01", "2026-01-02")))
    fresh, logged = split_logged(moved, _signed(world, moved, table, NOW), ledger)
    assert logged == [] and len(fresh) == 3  # another reported_at: new records


def test_two_rows_making_one_record_are_refused(world: World, ledger: Ledger) -> None:
    mapping = load_mapping(NEW_START)
    lines = NEW_START_CSV.read_bytes().splitlines(keepends=True)
    table = b"".join([*lines[:3], lines[2]])
    with pytest.raises(
        InputError, match=r"aggregates.csv line 4: the same record as aggregates.csv line 3"
    ):
        split_logged(mapping, _signed(world, mapping, table, NOW), ledger)
