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

Every cell is outside input: a number must be finite and, in an ``int`` column, a whole number
JSON can carry exactly; a time must name its zone (a bare date is 00:00 UTC); a template names
plain columns only; a quoted field must be closed. Each refusal is an :class:`InputError`
naming the table line and member.

Importing is idempotent: :func:`split_logged` sets apart the rows whose record the ledger
already holds (with ``reported_at: {rule: now}``, the same record but for its
``reported_at``), so a table imported again admits only its new rows.
"""

from __future__ import annotations

import csv
import io
import math
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cvid.errors import InputError
from cvid.evidence.record import format_utc
from cvid.evidence.signing import canonical, flatten_errors
from cvid.evidence.units import parse_unit
from cvid.limits import MAX_INSTANT, MIN_INSTANT, InstantRangeError, check_instant

if TYPE_CHECKING:
    from cvid.evidence.ledger import Ledger

#: The longest cell a table may hold (the ``csv`` module's own limit), in characters.
MAX_FIELD = 131_072
#: The largest ``plus_days``, either way: a century.
MAX_PLUS_DAYS = 36_525
#: The largest whole number a cell may give: JSON (RFC 8785) carries integers exactly up to it.
MAX_EXACT_INT = 2**53 - 1
# strptime directives that read a time of day: a format with one of them needs a zone.
_TIME_OF_DAY = re.compile(r"%[HIMSfpXc]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Spec):
    """A field taken from a column's cell, converted to ``type``."""

    column: str
    type: Literal["str", "int", "float", "bool"] = "str"


class Template(_Spec):
    """A text field made from the row: ``"{party} as of {as_of}"``.

    Each ``{...}`` names a column, nothing more: no attribute or index access, no conversion,
    no format spec (``{{`` and ``}}`` are literal braces).
    """

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
    plus_days: int = Field(default=0, ge=-MAX_PLUS_DAYS, le=MAX_PLUS_DAYS)


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
    # The packages' YAML reader: within cvid.limits' YAML limits (size, depth, aliases,
    # expanded values); a PackageError (an InputError) names ``where`` and the line.
    from cvid.agreements import safe_load_yaml

    data = safe_load_yaml(text, where)
    try:
        mapping = TableMapping.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{where}: {flatten_errors(exc)}") from None
    specs = [(f"fields.{k}", v) for k, v in mapping.fields.items()]
    specs += [(f"source.{k}", v) for k, v in mapping.source.items()]
    for member, field in specs:
        if isinstance(field, Template):
            try:
                template_columns(field.template)
            except ValueError as exc:
                raise InputError(f"{where}: {member}: {exc}") from None
    for name, spec in mapping.values.items():
        if spec.unit is not None:
            try:
                parse_unit(spec.unit)
            except InputError as exc:
                raise InputError(f"{where}: values.{name}: {exc}") from None
    return mapping


def template_columns(text: str) -> list[str]:
    """The columns a template names, in order; :class:`ValueError` for anything but plain
    ``{column}`` fields (:func:`parse_mapping` reports it against the mapping member)."""
    names = []
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"template {text!r}: {exc}") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name or spec or conversion or "." in name or "[" in name:
            whole = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(
                f"template {text!r}: {{{whole}}} is not a plain column name "
                "(a template names columns only: no attribute, index, conversion or format)"
            )
        names.append(name)
    return names


def _render(text: str, cells: Mapping[str, str], where: str) -> str:
    out = []
    for literal, name, _, _ in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            if name not in cells:
                raise InputError(f"{where}: template {text!r}: no column {name!r}")
            out.append((cells[name] or "").strip())
    return "".join(out)


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
    """The rows of a CSV file with a header line (UTF-8, optional BOM).

    Strict: a quoted field left open, text after a closing quote or a cell longer than
    :data:`MAX_FIELD` characters is an :class:`InputError` naming the line the row starts on.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    try:
        if reader.fieldnames is None:
            return rows
    except csv.Error as exc:
        raise InputError(f"{name} line 1 (the header): {_csv_problem(str(exc))}") from None
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"{name} line {start}: {_csv_problem(str(exc))}") from None
        # The line the row starts on: blank lines are skipped, a quoted cell may span lines.
        breaks = sum(len(_LINE_BREAK.findall(v)) for v in cells.values() if isinstance(v, str))
        line = reader.line_num - breaks
        if None in cells:
            raise InputError(f"{name} line {line}: more cells than header columns")
        rows.append(Row(f"{name} line {line}", cells))
        start = reader.line_num + 1
    return rows


def _csv_problem(message: str) -> str:
    if "field larger than field limit" in message:
        return f"a cell is longer than {MAX_FIELD:,} characters"
    if "unexpected end of data" in message:
        return 'a quoted cell is never closed (a " is missing)'
    return f"not valid CSV: {message}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _number(text: str, where: str) -> int | float:
    """A finite number; whole numbers beyond ±:data:`MAX_EXACT_INT` are refused."""
    if len(text) <= 20:
        try:
            value = int(text)
        except ValueError:
            pass
        else:
            if abs(value) > MAX_EXACT_INT:
                raise InputError(f"{where}: {_shown(text)} is too large (at most {MAX_EXACT_INT})")
            return value
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{where}: {_shown(text)} is not a number") from None
    if math.isnan(number) or (math.isinf(number) and "inf" in text.lower()):
        raise InputError(f"{where}: {_shown(text)} is not a finite number")
    if math.isinf(number):
        raise InputError(f"{where}: {_shown(text)} is too large for a number")
    return number


def _integer(text: str, where: str) -> int:
    number = _number(text, where)
    if isinstance(number, float):
        if not number.is_integer():
            raise InputError(f"{where}: {_shown(text)} is not a whole number")
        if abs(number) > MAX_EXACT_INT:
            raise InputError(f"{where}: {_shown(text)} is too large (at most {MAX_EXACT_INT})")
        return int(number)
    return number


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
        return _render(spec.template, row.cells, where)
    if not isinstance(spec, Column):
        return spec
    text = row.cell(spec.column)
    if spec.type == "int":
        return _integer(text, where)
    if spec.type == "float":
        return float(_number(text, where))
    if spec.type == "bool":
        return _bool(text, where)
    return text


def _shifted(when: datetime, days: int, where: str) -> str:
    """``when`` plus ``days``, in UTC; :class:`InputError` when that is outside the instants
    a record may name (:data:`~cvid.limits.MIN_INSTANT` to :data:`~cvid.limits.MAX_INSTANT`)."""
    shift = f" plus {days} days" if days else ""
    try:
        moved = when + timedelta(days=days)
    except OverflowError:
        moved = None
    if moved is not None:
        try:
            return format_utc(check_instant(moved, "instant"))
        except InstantRangeError:
            pass
    raise InputError(
        f"{where}: {when.isoformat()}{shift} is outside the range cvid accepts "
        f"({MIN_INSTANT:%Y-%m-%d} to {MAX_INSTANT:%Y-%m-%d}, UTC)"
    )


def _instant(spec: TimeSpec, row: Row, name: str, now: datetime, observed: str | None) -> str:
    where = f"{row.where}, {name}"
    if spec.rule == "now":
        return _shifted(now.replace(microsecond=0), spec.plus_days, where)
    if spec.rule == "observed_at":
        if observed is None:
            raise InputError(f"{where}: rule observed_at needs observed_at first")
        base = datetime.fromisoformat(observed.replace("Z", "+00:00"))
        return _shifted(base, spec.plus_days, where)
    text = spec.value if spec.value is not None else row.cell(spec.column or "")
    column = f"value {text!r}" if spec.value is not None else f"column {spec.column!r}"
    if not text:
        raise InputError(f"{where}: empty")
    try:
        if spec.format is not None:
            when = datetime.strptime(text, spec.format)
            has_time = _TIME_OF_DAY.search(spec.format.replace("%%", "")) is not None
        elif "T" in text or " " in text:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            has_time = True
        else:
            d = date.fromisoformat(text)
            when = datetime(d.year, d.month, d.day)
            has_time = False
    except ValueError as exc:
        raise InputError(f"{where}: {_shown(text)} is not a date or time: {exc}") from None
    if when.tzinfo is None:
        if has_time:
            raise InputError(
                f"{where} ({column}): time {_shown(text)} has no zone; write it with one "
                "(2018-02-05T00:00:00Z, +01:00) or give a date alone (00:00 UTC)"
            )
        when = when.replace(tzinfo=UTC)
    return _shifted(when, spec.plus_days, where)


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


@dataclass(frozen=True)
class Logged:
    """A row whose record the ledger already holds, at ``index``."""

    where: str
    index: int


def _identity(obj: Mapping[str, Any], ignore: frozenset[str]) -> bytes:
    return canonical({k: v for k, v in obj.items() if k not in ignore})


def split_logged(
    mapping: TableMapping,
    signed: Sequence[tuple[str, Mapping[str, Any]]],
    ledger: Ledger,
) -> tuple[list[tuple[str, Mapping[str, Any]]], list[Logged]]:
    """Set apart the rows whose record ``ledger`` already holds: ``(new rows, logged rows)``.

    ``signed`` is each row's ``(where, signed record)``. A record is already logged when one in
    the ledger equals it but for its signature and, when the mapping's ``reported_at`` is
    ``rule: now`` (the moment of the import, which differs between imports), its
    ``reported_at``. Two rows making the same record are an :class:`InputError` naming both
    lines: a ledger admits a record once.
    """
    ignore = frozenset(
        {"signature"} | ({"reported_at"} if mapping.reported_at.rule == "now" else set())
    )
    seen: dict[bytes, str] = {}
    keys: list[bytes] = []
    for where, obj in signed:
        key = _identity(obj, ignore)
        if key in seen:
            raise InputError(f"{where}: the same record as {seen[key]}; a record is admitted once")
        seen[key] = where
        keys.append(key)
    logged = _logged_identities(ledger, [obj for _, obj in signed], ignore)
    fresh: list[tuple[str, Mapping[str, Any]]] = []
    found: list[Logged] = []
    for (where, obj), key in zip(signed, keys, strict=True):
        if key in logged:
            found.append(Logged(where, logged[key]))
        else:
            fresh.append((where, obj))
    return fresh, found


def _logged_identities(
    ledger: Ledger, objs: Iterable[Mapping[str, Any]], ignore: frozenset[str]
) -> dict[bytes, int]:
    """The identity of each logged record that could equal one of ``objs``: those of the same
    kind, subject and submitter, found by the ledger's index."""
    from cvid.evidence.ledgerdb import RecordQuery

    groups = {(str(o.get("kind")), str(o.get("subject")), str(o.get("submitter"))) for o in objs}
    out: dict[bytes, int] = {}
    for kind, subject, submitter in sorted(groups):
        query = RecordQuery(kind=kind, subject=subject, submitter=submitter)
        for logged in ledger.iter_query(query):
            out.setdefault(_identity(logged.raw, ignore), logged.index)
    return out
