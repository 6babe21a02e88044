"""Tables to records: a YAML mapping turns each row of a CSV file into one evidence record.

A mapping says, for every record: constant fields and fields taken from columns (``fields``),
the source (``source``), the values with their units (``values``), which column gives
``observed_at`` and how ``reported_at`` is decided. Empty value cells are left out
(``skip_empty``); a row left with no values is skipped. See ``docs/evidence.md`` for the format
and ``tests/evidence/data/new-start-mapping.yaml`` for a worked example::

    fields:
      agreement: new-start
      kind: declaration
      subject: central-limits
      party: {column: party}
      summary: {template: "New START aggregates of {party} as of {as_of}"}
    source:
      title: {column: source}
    observed_at: {column: as_of}
    reported_at: {rule: now}
    values:
      deployed_warheads: {column: deployed_warheads, unit: warhead}
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cvid.errors import InputError
from cvid.evidence.record import format_utc
from cvid.evidence.signing import flatten_errors
from cvid.evidence.units import parse_unit


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Spec):
    """A field taken from a column's cell, converted to ``type``."""

    column: str
    type: Literal["str", "int", "float", "bool"] = "str"


class Template(_Spec):
    """A text field made from the row: ``"{party} as of {as_of}"``."""

    template: str


#: How a mapping fills a field: a constant, a column, or a template.
FieldSpec = Column | Template | str | int | float | bool


class ValueSpec(_Spec):
    """A value from a column: a quantity when ``unit`` is given, else a ``type``d scalar."""

    column: str
    unit: str | None = None
    uncertainty_column: str | None = None
    type: Literal["number", "str", "bool"] = "number"


class TimeSpec(_Spec):
    """An instant: from a ``column`` (a date is 00:00 UTC), a constant ``value``, or a rule.

    ``rule: now`` is the moment of the import; ``rule: observed_at`` is the record's
    ``observed_at`` plus ``plus_days``.
    """

    column: str | None = None
    value: str | None = None
    rule: Literal["now", "observed_at"] | None = None
    format: str | None = Field(default=None, description="strptime format of the column")
    plus_days: int = 0


class TableMapping(_Spec):
    """How each row of a table becomes one record."""

    fields: dict[str, FieldSpec]
    source: dict[str, FieldSpec] = Field(default_factory=dict)
    values: dict[str, ValueSpec] = Field(default_factory=dict)
    observed_at: TimeSpec
    reported_at: TimeSpec
    skip_empty: bool = True


def load_mapping(path: Path) -> TableMapping:
    """Read and validate a mapping file; :class:`InputError` names the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read mapping {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_mapping(text, str(path))


def parse_mapping(text: str, where: str) -> TableMapping:
    """Validate a mapping's YAML text; :class:`InputError` names ``where`` and the problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {exc}".replace("\n", " ")) from None
    try:
        mapping = TableMapping.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{where}: {flatten_errors(exc)}") from None
    for name, spec in mapping.values.items():
        if spec.unit is not None:
            try:
                parse_unit(spec.unit)
            except InputError as exc:
                raise InputError(f"{where}: values.{name}: {exc}") from None
    return mapping


@dataclass(frozen=True)
class Row:
    """A table row: its cells by column name and where it is (``file line N``)."""

    where: str
    cells: Mapping[str, str]

    def cell(self, column: str) -> str:
        """The stripped cell of ``column``; :class:`InputError` if there is no such column."""
        if column not in self.cells:
            raise InputError(f"{self.where}: no column {column!r} (have {', '.join(self.cells)})")
        return (self.cells[column] or "").strip()


def read_csv(data: bytes, name: str) -> list[Row]:
    """The rows of a CSV file with a header line (UTF-8, optional BOM)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for cells in reader:
        if None in cells:
            raise InputError(f"{name} line {reader.line_num}: more cells than header columns")
        rows.append(Row(f"{name} line {reader.line_num}", cells))
    return rows


def _number(text: str, where: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number") from None


def _bool(text: str, where: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise InputError(f"{where}: {text!r} is not true/false")


def _field(spec: FieldSpec, row: Row, name: str) -> Any:
    where = f"{row.where}, {name}"
    if isinstance(spec, Template):
        try:
            return spec.template.format_map({k: (v or "").strip() for k, v in row.cells.items()})
        except KeyError as exc:
            raise InputError(f"{where}: template {spec.template!r}: no column {exc}") from None
        except (IndexError, ValueError) as exc:
            raise InputError(f"{where}: template {spec.template!r}: {exc}") from None
    if not isinstance(spec, Column):
        return spec
    text = row.cell(spec.column)
    if spec.type == "int":
        return int(_number(text, where))
    if spec.type == "float":
        return float(_number(text, where))
    if spec.type == "bool":
        return _bool(text, where)
    return text


def _instant(spec: TimeSpec, row: Row, name: str, now: datetime, observed: str | None) -> str:
    where = f"{row.where}, {name}"
    if spec.rule == "now":
        return format_utc(now.replace(microsecond=0) + timedelta(days=spec.plus_days))
    if spec.rule == "observed_at":
        if observed is None:
            raise InputError(f"{where}: rule observed_at needs observed_at first")
        base = datetime.fromisoformat(observed.replace("Z", "+00:00"))
        return format_utc(base + timedelta(days=spec.plus_days))
    text = spec.value if spec.value is not None else row.cell(spec.column or "")
    if not text:
        raise InputError(f"{where}: empty")
    try:
        if spec.format is not None:
            when = datetime.strptime(text, spec.format)
        elif "T" in text or " " in text:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            d = date.fromisoformat(text)
            when = datetime(d.year, d.month, d.day)
    except ValueError as exc:
        raise InputError(f"{where}: {text!r} is not a date or time: {exc}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_utc(when + timedelta(days=spec.plus_days))


def row_record(
    mapping: TableMapping, row: Row, now: datetime, defaults: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The unsigned record for one row, or None when the row has no values to record.

    ``defaults`` fill fields the mapping does not set (the CLI sets ``submitter`` to the
    signing key's party).
    """
    obj: dict[str, Any] = {k: v for k, v in defaults.items()}
    for name, spec in mapping.fields.items():
        obj[name] = _field(spec, row, name)
    values: dict[str, Any] = {}
    for name, vspec in mapping.values.items():
        text = row.cell(vspec.column)
        where = f"{row.where}, values.{name}"
        if not text:
            if mapping.skip_empty:
                continue
            raise InputError(f"{where}: empty cell in column {vspec.column!r}")
        if vspec.unit is not None:
            quantity: dict[str, Any] = {"value": _number(text, where), "unit": vspec.unit}
            if vspec.uncertainty_column and row.cell(vspec.uncertainty_column):
                quantity["uncertainty"] = _number(row.cell(vspec.uncertainty_column), where)
            values[name] = quantity
        elif vspec.type == "bool":
            values[name] = _bool(text, where)
        elif vspec.type == "number":
            raise InputError(f"{where}: a number needs a unit (or type: str)")
        else:
            values[name] = text
    if mapping.values and not values:
        return None
    obj["values"] = values
    if mapping.source:
        obj["source"] = {k: _field(s, row, f"source.{k}") for k, s in mapping.source.items()}
    obj["observed_at"] = _instant(mapping.observed_at, row, "observed_at", now, None)
    obj["reported_at"] = _instant(mapping.reported_at, row, "reported_at", now, obj["observed_at"])
    return obj


def table_records(
    mapping: TableMapping,
    rows: list[Row],
    now: datetime,
    defaults: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each row's (where, unsigned record), skipping rows without values."""
    for n, row in enumerate(rows, 1):
        obj = row_record(mapping, row, now, defaults or {})
        if progress is not None:
            progress(n)
        if obj is not None:
            yield row.where, obj
