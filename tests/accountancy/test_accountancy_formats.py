"""Reading balance reports and method tables: the documented formats and their error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cvid.accountancy import (
    MethodTable,
    material_balance,
    method_table_json,
    parse_balances,
    parse_method_table,
)
from cvid.errors import InputError

HEADER = "area,period,component,amount_kg,method,item\n"
GOOD_CSV = HEADER + (
    "A,Jan,beginning,10,weighing,b1\n"
    "A,Jan,receipt,5,idms,r1\n"
    "A,Jan,shipment,4,titration,s1\n"
    "A,Jan,ending,10.5,weighing,e1\n"
    "A,Feb,beginning,10.5,weighing,e1\n"
    "A,Feb,receipt,2,idms,r2\n"
    "A,Feb,ending,12,weighing,e2\n"
)
GOOD_JSON = {
    "areas": [
        {
            "name": "A",
            "unit": "kg Pu",
            "beginning_inventory": [{"item": "b1", "amount_kg": 10, "method": "weighing"}],
            "periods": [
                {
                    "label": "Jan",
                    "receipts": [{"item": "r1", "amount_kg": 5, "method": "idms"}],
                    "shipments": [{"item": "s1", "amount_kg": 4, "method": "titration"}],
                    "ending_inventory": [{"item": "e1", "amount_kg": 10.5, "method": "weighing"}],
                },
                {
                    "label": "Feb",
                    "receipts": [{"item": "r2", "amount_kg": 2, "method": "idms"}],
                    "ending_inventory": [{"item": "e2", "amount_kg": 12, "method": "weighing"}],
                },
            ],
        }
    ]
}


def test_csv_and_json_give_the_same_balance(methods: MethodTable) -> None:
    from_csv = parse_balances(GOOD_CSV, "b.csv", methods)
    from_json = parse_balances(json.dumps(GOOD_JSON), "b.json", methods)
    assert from_csv == from_json
    assert material_balance(from_csv[0], methods).muf.tolist() == pytest.approx([0.5, 0.5])


def test_shipped_examples_parse(examples_dir: Path, methods: MethodTable) -> None:
    for name in ("balances.csv", "balances.json"):
        areas = parse_balances((examples_dir / name).read_text(encoding="utf-8"), name, methods)
        assert areas and all(len(a.periods) >= 4 for a in areas)
    table = parse_method_table((examples_dir / "methods.csv").read_text(encoding="utf-8"), "m.csv")
    assert table.methods == MethodTable.default().methods


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEADER + "A,Jan,receipt,abc,idms,r1\n",
            r"b\.csv, line 2: amount_kg 'abc' is not a number",
        ),
        (HEADER + "A,Jan,loan,1,idms,r1\n", r"line 2: component 'loan'"),
        (HEADER + "A,Jan,receipt,1,scale,r1\n", r"line 2: unknown measurement method 'scale'"),
        (HEADER + "A,Jan,receipt,-1,idms,r1\n", r"line 2: .*must be finite and >= 0"),
        (HEADER + "A,,receipt,1,idms,r1\n", r"line 2: period is empty"),
        ("period,component,amount_kg\nJan,receipt,1\n", r"line 1: missing column\(s\) method"),
        (HEADER, r"no balance rows"),
        (
            GOOD_CSV.replace("A,Feb,beginning,10.5", "A,Feb,beginning,10.4"),
            r"b\.csv, line 6: area 'A', period 'Feb': beginning inventory 10\.4 kg differs",
        ),
    ],
)
def test_csv_errors_name_file_and_line(text: str, message: str, methods: MethodTable) -> None:
    with pytest.raises(InputError, match=message):
        parse_balances(text, "b.csv", methods)


def _broken(path: list[str | int], value: object) -> str:
    doc = json.loads(json.dumps(GOOD_JSON))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"b\.json, line 1: not valid JSON"),
        ("[]", r"non-empty list 'areas'"),
        (
            _broken(["areas", 0, "periods", 1, "reciepts"], []),
            r"areas\[0\]\.periods\[1\]: unknown key\(s\) reciepts",
        ),
        (
            _broken(["areas", 0, "periods", 0, "receipts", 0, "amount_kg"], "5kg"),
            r"areas\[0\]\.periods\[0\]\.receipts\[0\]: amount_kg '5kg' is not a number",
        ),
        (
            _broken(["areas", 0, "periods", 0, "shipments", 0, "method"], "scale"),
            r"periods\[0\]\.shipments\[0\]: unknown measurement method 'scale'",
        ),
        (_broken(["areas", 0, "periods"], []), r"areas\[0\]\.periods: no balance periods"),
        (
            _broken(
                ["areas", 0, "periods", 1, "beginning_inventory"],
                [{"amount_kg": 9, "method": "weighing"}],
            ),
            r"periods\[1\]\.beginning_inventory: area 'A', period 'Feb': beginning inventory 9 kg",
        ),
        (
            _broken(
                ["areas", 0, "periods", 0, "beginning_inventory"],
                [{"amount_kg": 10, "method": "weighing"}],
            ),
            r"areas\[0\]: beginning inventory given for the area and its first period",
        ),
        (_broken(["areas", 0, "periods", 1, "label"], "Jan"), r"period 'Jan' given twice"),
    ],
)
def test_json_errors_name_the_path(text: str, message: str, methods: MethodTable) -> None:
    with pytest.raises(InputError, match=message):
        parse_balances(text, "b.json", methods)


def test_method_table_round_trips_through_json() -> None:
    table = MethodTable.default()
    again = parse_method_table(json.dumps(method_table_json(table)), "m.json")
    assert again == table


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("method,random_rel,systematic_rel\nscale,0.5,x\n", r"m\.csv, line 2: systematic_rel 'x'"),
        (
            "method,random_rel,systematic_rel\nscale,2,0.1\n",
            r"line 2: .*random_rel = 2\.0 must be a fraction",
        ),
        (
            "method,random_rel,systematic_rel\nscale,0.1,0.1\nscale,0.2,0.1\n",
            r"'scale' is given twice",
        ),
        ("method,random_rel\nscale,0.1\n", r"missing column\(s\) systematic_rel"),
        ("method,random_rel,systematic_rel\n", r"no methods given"),
    ],
)
def test_method_table_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_method_table(text, "m.csv")


def test_examples_in_the_documentation_parse(methods: MethodTable) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "accountancy.md").read_text("utf-8")
    blocks = re.findall(r"```(csv|json)\n(.*?)```", doc, flags=re.DOTALL)
    assert len(blocks) >= 3
    for kind, text in blocks:
        if text.startswith("method,"):
            assert len(parse_method_table(text, "doc.csv")) == 2
        else:
            assert parse_balances(text, f"doc.{kind}", methods)


def test_a_period_without_ending_inventory_is_an_error_in_csv(methods: MethodTable) -> None:
    # It used to count as an ending inventory of zero: the whole stock would become MUF.
    text = GOOD_CSV.replace("A,Feb,ending,12,weighing,e2\n", "")
    with pytest.raises(
        InputError,
        match=r"^b\.csv, line 6: area 'A', period 'Feb': no ending inventory; add at least one "
        r"'ending' row",
    ):
        parse_balances(text, "b.csv", methods)


def test_a_period_without_ending_inventory_is_an_error_in_json(methods: MethodTable) -> None:
    doc = json.loads(json.dumps(GOOD_JSON))
    del doc["areas"][0]["periods"][0]["ending_inventory"]
    with pytest.raises(
        InputError,
        match=r"^b\.json: areas\[0\]\.periods\[0\]: area 'A', period 'Jan': no ending inventory",
    ):
        parse_balances(json.dumps(doc), "b.json", methods)
    doc["areas"][0]["periods"][0]["ending_inventory"] = []
    with pytest.raises(InputError, match="period 'Jan': no ending inventory"):
        parse_balances(json.dumps(doc), "b.json", methods)


def test_an_explicit_zero_ending_inventory_is_accepted(methods: MethodTable) -> None:
    text = GOOD_CSV.replace("A,Feb,ending,12,weighing,e2", "A,Feb,ending,0,weighing,empty")
    area = parse_balances(text, "b.csv", methods)[0]
    assert material_balance(area, methods).muf.tolist() == pytest.approx([0.5, 12.5])
    doc = json.loads(json.dumps(GOOD_JSON))
    doc["areas"][0]["periods"][1]["ending_inventory"] = [
        {"item": "empty", "amount_kg": 0, "method": "weighing"}
    ]
    assert parse_balances(json.dumps(doc), "b.json", methods) == [area]


def test_a_byte_order_mark_is_ignored(methods: MethodTable) -> None:
    expected = parse_balances(GOOD_CSV, "b.csv", methods)
    assert parse_balances("\ufeff" + GOOD_CSV, "b.csv", methods) == expected
    assert parse_balances("\ufeff" + json.dumps(GOOD_JSON), "b.json", methods) == expected
    table = parse_method_table("\ufeffmethod,random_rel,systematic_rel\nscale,0.1,0.1\n", "m.csv")
    assert list(table.methods) == ["scale"]


@pytest.mark.parametrize("value", [True, False])
def test_a_json_boolean_is_not_a_number(value: bool, methods: MethodTable) -> None:
    text = _broken(["areas", 0, "periods", 0, "receipts", 0, "amount_kg"], value)
    with pytest.raises(
        InputError,
        match=rf"periods\[0\]\.receipts\[0\]: amount_kg {json.dumps(value)} is not a number$",
    ):
        parse_balances(text, "b.json", methods)
    table = {"methods": [{"name": "x", "random_rel": value, "systematic_rel": 0.1}]}
    with pytest.raises(InputError, match=rf"random_rel {json.dumps(value)} is not a number$"):
        parse_method_table(json.dumps(table), "m.json")
