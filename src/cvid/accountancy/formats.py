"""Reading balance reports and method tables from CSV or JSON text (no file access here).

The formats are documented in ``docs/accountancy.md``. Every problem is an
:class:`cvid.errors.InputError` whose message starts with the source name and the CSV line or
JSON path, e.g. ``balances.csv, line 7: amount_kg 'abc' is not a number``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

from cvid.accountancy.model import (
    BalancePeriod,
    Component,
    MaterialBalanceArea,
    MeasuredItem,
    MeasurementMethod,
    MethodTable,
    total_kg,
)
from cvid.errors import InputError
from cvid.limits import parse_json

_COMPONENTS = {
    "beginning": Component.BEGINNING,
    "beginning_inventory": Component.BEGINNING,
    "receipt": Component.RECEIPT,
    "receipts": Component.RECEIPT,
    "shipment": Component.SHIPMENT,
    "shipments": Component.SHIPMENT,
    "ending": Component.ENDING,
    "ending_inventory": Component.ENDING,
}
# Keys a JSON balance document may use; any other key is refused, since a misspelt
# "reciepts" silently ignored would turn into a large MUF.
_AREA_KEYS = frozenset({"name", "unit", "beginning_inventory", "periods"})
_PERIOD_KEYS = frozenset(
    {"label", "beginning_inventory", "receipts", "shipments", "ending_inventory"}
)
_ITEM_KEYS = frozenset({"item", "amount_kg", "method"})
# A later period's declared beginning inventory must equal the previous ending inventory.
_CONTINUITY_TOLERANCE_KG = 1e-6


def _is_json(text: str, source: str) -> bool:
    if source.lower().endswith(".json"):
        return True
    if source.lower().endswith(".csv"):
        return False
    return text.lstrip().startswith(("{", "["))


def _number(value: Any, where: str, what: str) -> float:
    if isinstance(value, bool):  # JSON true/false: float(True) would be 1.0
        raise InputError(f"{where}: {what} {json.dumps(value)} is not a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {what} {value!r} is not a number") from None
    if not math.isfinite(out):
        raise InputError(f"{where}: {what} {value!r} is not a finite number")
    return out


def _item(
    amount: Any, method: Any, label: str, where: str, methods: MethodTable | None
) -> MeasuredItem:
    if not isinstance(method, str) or not method.strip():
        raise InputError(f"{where}: method is missing")
    if methods is not None:
        methods.get(method.strip(), where)
    amount_kg = _number(amount, where, "amount_kg")
    try:
        return MeasuredItem(amount_kg, method.strip(), label)
    except InputError as exc:
        raise InputError(f"{where}: {exc.diagnostics()}") from None


@dataclass
class _PeriodDraft:
    label: str
    where: str
    begin_where: str = ""
    parts: dict[Component, list[MeasuredItem]] = field(
        default_factory=lambda: {c: [] for c in Component}
    )


def _assemble(
    area: str, drafts: list[_PeriodDraft], source: str, ending_hint: str
) -> MaterialBalanceArea:
    periods: list[BalancePeriod] = []
    for i, draft in enumerate(drafts):
        if not draft.parts[Component.ENDING]:
            # A missing ending inventory would silently count as zero: the whole stock as MUF.
            raise InputError(
                f"{draft.where}: area {area!r}, period {draft.label!r}: no ending inventory; "
                f"{ending_hint} (an amount of 0 is allowed)"
            )
        begin = tuple(draft.parts[Component.BEGINNING])
        if i > 0 and begin:
            previous = total_kg(periods[-1].ending_inventory)
            if abs(total_kg(begin) - previous) > _CONTINUITY_TOLERANCE_KG:
                raise InputError(
                    f"{draft.begin_where or draft.where}: area {area!r}, period {draft.label!r}: "
                    f"beginning inventory {total_kg(begin):g} kg differs from the ending "
                    f"inventory {previous:g} kg of period {periods[-1].label!r}"
                )
        periods.append(
            BalancePeriod(
                draft.label,
                tuple(draft.parts[Component.RECEIPT]),
                tuple(draft.parts[Component.SHIPMENT]),
                tuple(draft.parts[Component.ENDING]),
            )
        )
    try:
        return MaterialBalanceArea(
            area, tuple(drafts[0].parts[Component.BEGINNING]), tuple(periods)
        )
    except InputError as exc:
        raise InputError(f"{source}: {exc.diagnostics()}") from None


def _balance_csv(text: str, source: str, methods: MethodTable | None) -> list[MaterialBalanceArea]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in ("period", "component", "amount_kg", "method") if c not in fields]
    if missing:
        raise InputError(f"{source}, line 1: missing column(s) {', '.join(missing)}")
    areas: dict[str, dict[str, _PeriodDraft]] = {}
    for row in reader:
        line = reader.line_num
        where = f"{source}, line {line}"
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            raise InputError(f"{where}: more cells than columns")
        if not any(cells.values()):
            continue
        area = cells.get("area") or "default"
        period = cells["period"]
        if not period:
            raise InputError(f"{where}: period is empty")
        component = _COMPONENTS.get(cells["component"].lower())
        if component is None:
            raise InputError(
                f"{where}: component {cells['component']!r} is not one of "
                "beginning, receipt, shipment, ending"
            )
        label = cells.get("item") or f"line {line}"
        item = _item(cells["amount_kg"], cells["method"], label, where, methods)
        drafts = areas.setdefault(area, {})
        draft = drafts.setdefault(period, _PeriodDraft(period, where))
        draft.parts[component].append(item)
        if component is Component.BEGINNING and not draft.begin_where:
            draft.begin_where = where
    if not areas:
        raise InputError(f"{source}: no balance rows")
    hint = "add at least one 'ending' row for the period"
    return [_assemble(name, list(d.values()), source, hint) for name, d in areas.items()]


def _check_keys(entry: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _items_json(value: Any, path: str, methods: MethodTable | None) -> list[MeasuredItem]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{path}: expected a list of items")
    out = []
    for j, entry in enumerate(value):
        where = f"{path}[{j}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object with amount_kg and method")
        _check_keys(entry, _ITEM_KEYS, where)
        label = str(entry.get("item", where.split(": ", 1)[-1]))
        out.append(_item(entry.get("amount_kg"), entry.get("method"), label, where, methods))
    return out


def _balance_json(text: str, source: str, methods: MethodTable | None) -> list[MaterialBalanceArea]:
    try:
        doc = parse_json(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except ValueError as exc:
        raise InputError(f"{source}: not valid JSON ({exc})") from None
    if isinstance(doc, dict) and "periods" in doc:
        doc = {"areas": [doc]}
    if not isinstance(doc, dict) or not isinstance(doc.get("areas"), list) or not doc["areas"]:
        raise InputError(f"{source}: expected an object with a non-empty list 'areas'")
    result = []
    for a, area in enumerate(doc["areas"]):
        path = f"{source}: areas[{a}]"
        if not isinstance(area, dict) or not isinstance(area.get("periods"), list):
            raise InputError(f"{path}: expected an object with a list 'periods'")
        _check_keys(area, _AREA_KEYS, path)
        if not area["periods"]:
            raise InputError(f"{path}.periods: no balance periods")
        name = str(area.get("name", f"area {a + 1}"))
        first = _PeriodDraft("", path)
        first.parts[Component.BEGINNING] = _items_json(
            area.get("beginning_inventory"), f"{path}.beginning_inventory", methods
        )
        drafts = []
        for i, period in enumerate(area["periods"]):
            where = f"{path}.periods[{i}]"
            if not isinstance(period, dict) or "label" not in period:
                raise InputError(f"{where}: expected an object with a 'label'")
            _check_keys(period, _PERIOD_KEYS, where)
            draft = _PeriodDraft(str(period["label"]), where, f"{where}.beginning_inventory")
            for key, component in (
                ("beginning_inventory", Component.BEGINNING),
                ("receipts", Component.RECEIPT),
                ("shipments", Component.SHIPMENT),
                ("ending_inventory", Component.ENDING),
            ):
                draft.parts[component] = _items_json(period.get(key), f"{where}.{key}", methods)
            drafts.append(draft)
        if first.parts[Component.BEGINNING]:
            if drafts[0].parts[Component.BEGINNING]:
                raise InputError(
                    f"{path}: beginning inventory given for the area and its first period"
                )
            drafts[0].parts[Component.BEGINNING] = first.parts[Component.BEGINNING]
        hint = "give ending_inventory at least one item"
        result.append(_assemble(name, drafts, source, hint))
    return result


def parse_balances(
    text: str, source: str, methods: MethodTable | None = None
) -> list[MaterialBalanceArea]:
    """Parse balance reports (CSV or JSON, chosen by ``source``'s suffix or the text itself).

    ``source`` names the input in error messages. With ``methods``, an unknown method is
    reported at its line or path. A leading byte-order mark is ignored.
    """
    text = text.removeprefix("\ufeff")
    if _is_json(text, source):
        return _balance_json(text, source, methods)
    return _balance_csv(text, source, methods)


def _method(entry: dict[str, Any], where: str) -> MeasurementMethod:
    name = entry.get("name", entry.get("method"))
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: method name is missing")
    random_rel = _number(entry.get("random_rel"), where, "random_rel")
    systematic_rel = _number(entry.get("systematic_rel"), where, "systematic_rel")
    try:
        return MeasurementMethod(
            name.strip(), random_rel, systematic_rel, str(entry.get("note") or "")
        )
    except InputError as exc:
        raise InputError(f"{where}: {exc.diagnostics()}") from None


def parse_method_table(text: str, source: str) -> MethodTable:
    """Parse a method table (CSV ``method,random_rel,systematic_rel[,note]`` or JSON)."""
    text = text.removeprefix("\ufeff")
    if _is_json(text, source):
        try:
            doc = parse_json(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
        except ValueError as exc:
            raise InputError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("methods"), list):
            raise InputError(f"{source}: expected an object with a list 'methods'")
        entries = doc["methods"]
        found = []
        for j, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise InputError(f"{source}: methods[{j}]: expected an object")
            found.append(_method(entry, f"{source}: methods[{j}]"))
        table_source = str(doc.get("source") or source)
    else:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip() for f in reader.fieldnames or []]
        missing = [c for c in ("method", "random_rel", "systematic_rel") if c not in fields]
        if missing:
            raise InputError(f"{source}, line 1: missing column(s) {', '.join(missing)}")
        found = []
        for row in reader:
            cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if any(cells.values()):
                found.append(_method(dict(cells), f"{source}, line {reader.line_num}"))
        table_source = source
    try:
        return MethodTable.of(found, table_source)
    except InputError as exc:
        raise InputError(f"{source}: {exc.diagnostics()}") from None


def method_table_json(table: MethodTable) -> dict[str, Any]:
    """``table`` as the JSON object :func:`parse_method_table` reads."""
    return {
        "source": table.source,
        "methods": [
            {
                "name": m.name,
                "random_rel": m.random_rel,
                "systematic_rel": m.systematic_rel,
                "note": m.note,
            }
            for m in table
        ],
    }
