"""Rows of an XLSX workbook as :class:`~cvid.evidence.importer.Row` for the CSV importer's
row mapping (``cvid import xlsx``).

One sheet (the first, or the one named), its first row the header. Every cell becomes text as
a CSV cell would be: numbers as written (``1550``, not ``1550.0``), dates as ``2018-02-05`` or
an RFC 3339 instant when they carry a time, booleans as ``true``/``false``, empty cells as ``""``.
A formula is read as the value the workbook saved for it (an empty cell when it saved none).
Limits: :data:`MAX_BYTES` of file, :data:`MAX_ROWS` rows, :data:`MAX_COLUMNS` columns, and a cell
at most :data:`~cvid.evidence.importer.MAX_FIELD` characters. Every refusal is an
:class:`InputError` naming the file, the sheet, the row and the column. openpyxl is imported here
only.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from cvid.errors import InputError
from cvid.evidence.importer import MAX_FIELD, Row

MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 1_000


def _letter(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | str):
        text = str(value)
        if len(text) > MAX_FIELD:
            raise InputError(f"{where}: a cell is longer than {MAX_FIELD:,} characters")
        return text
    raise InputError(f"{where}: a cell of type {type(value).__name__} is not a value")


def read_xlsx(data: bytes, name: str, sheet: str | None = None) -> list[Row]:
    """The rows of ``sheet`` (default: the first) of the workbook ``data``, under its header."""
    if len(data) > MAX_BYTES:
        raise InputError(f"{name}: larger than {MAX_BYTES // 2**20} MiB")
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, XML errors alike
        raise InputError(f"{name}: not an XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        if sheet is None:
            ws = wb.worksheets[0] if wb.worksheets else None
            if ws is None:
                raise InputError(f"{name}: the workbook has no sheet")
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise InputError(f"{name}: no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
        label = f"{name} sheet {ws.title!r}"
        rows: list[Row] = []
        header: list[str] | None = None
        for n, values in enumerate(ws.iter_rows(values_only=True), 1):
            if len(values) > MAX_COLUMNS:
                raise InputError(f"{label} row {n}: more than {MAX_COLUMNS:,} columns")
            if header is None:
                header = [
                    _text(v, f"{label} row 1 column {_letter(i)}").strip()
                    for i, v in enumerate(values, 1)
                ]
                while header and header[-1] == "":
                    header.pop()
                if len(set(header)) != len(header) or "" in header:
                    raise InputError(
                        f"{label} row 1 (the header): every column needs a name of its own"
                    )
                continue
            if all(v is None for v in values):
                continue  # a blank row, as a blank CSV line
            if len(rows) >= MAX_ROWS:
                raise InputError(f"{label}: more than {MAX_ROWS:,} rows")
            cells: dict[str, str] = {}
            for i, v in enumerate(values, 1):
                where = f"{label} row {n} column {_letter(i)}"
                if i > len(header):
                    if v is not None:
                        raise InputError(f"{where}: a cell beyond the header's columns")
                    continue
                where += f" ({header[i - 1]})"
                cells[header[i - 1]] = _text(v, where)
            for col in header[len(values) :]:
                cells[col] = ""
            rows.append(Row(f"{label} row {n}", cells))
        return rows
    finally:
        wb.close()
