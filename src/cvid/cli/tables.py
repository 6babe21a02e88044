"""``cvid export`` (status, timeline and evidence as CSV or XLSX) and ``cvid evidence bytes``
(the logged bytes of a record, to check its receipt with ``cvid receipt verify``).

Every cell is written as text; a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with ``'`` so that a spreadsheet never reads it as a formula
(CSV/formula injection). openpyxl is imported only by ``--format xlsx``.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cvid.agreements import View, parse_as_of, rfc3339
from cvid.cli._common import AlwaysJsonOpt, emit_json, reports_errors
from cvid.errors import InputError

#: The first characters a spreadsheet may read as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


def cell(value: object) -> str:
    """``value`` as the text of a cell, never a formula."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        text = " ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _plain(v: object) -> str:
    if isinstance(v, dict) and "value" in v:
        return f"{v['value']} {v.get('unit', '')}".strip()
    return str(v)


Sheet = tuple[list[str], list[list[str]]]


def sheets(
    status: Mapping[str, Any], timeline: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]
) -> dict[str, Sheet]:
    """The three tables, by sheet name: a header and rows of cells each."""
    st_cols = ["type", "id", "party", "status", "evidence", "explanation"]
    st_rows = [
        [
            cell(v)
            for v in ("term", t["term"], t["party"], t["status"], t["evidence"], t["explanation"])
        ]
        for t in status["terms"]
    ] + [
        [cell(v) for v in ("step", s["step"], s["by"], s["state"], s["evidence"], s["explanation"])]
        for s in status["steps"]
    ]
    tl_cols = ["at", "type", "id", "party", "from", "to", "evidence", "explanation"]
    tl_rows = [[cell(c.get(k)) for k in tl_cols] for c in timeline["changes"]]
    ev_cols = [
        "index",
        "kind",
        "subject",
        "party",
        "submitter",
        "observed_at",
        "reported_at",
        "logged_at",
        "values",
        "status",
        "superseded_by",
        "disputed_by",
        "speaker",
        "quote",
    ]
    ev_rows = [[cell(r.get(k)) for k in ev_cols] for r in rows]
    return {
        "status": (st_cols, st_rows),
        "timeline": (tl_cols, tl_rows),
        "evidence": (ev_cols, ev_rows),
    }


def write_csv(directory: Path, tables: Mapping[str, Sheet]) -> list[Path]:
    """``DIR/<sheet>.csv`` for each table (UTF-8, a header line)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (header, body) in tables.items():
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(body)
        path = directory / f"{name}.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", newline="")
        paths.append(path)
    return paths


def write_xlsx(path: Path, tables: Mapping[str, Sheet]) -> list[Path]:
    """One workbook, a sheet per table; every cell a string (type ``s``), never a formula."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, (header, body) in tables.items():
        ws = wb.create_sheet(name)
        for row in [header, *body]:
            ws.append([_text_cell(ws, v) for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return [path]


def _text_cell(ws: Any, value: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    c = WriteOnlyCell(ws, value=value)
    c.data_type = "s"  # a string, whatever it looks like
    return c


def _rows(location: str, upto: int | None) -> list[dict[str, Any]]:
    from cvid.cli.diff import _rows as rows

    return rows(location, upto)


@reports_errors
def export_command(
    location: Annotated[
        str, typer.Argument(help="The ledger: its directory, or a postgresql:// URL.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="csv: a directory (status.csv, ...); xlsx: a file.")
    ],
    fmt: Annotated[Format, typer.Option("--format", help="csv or xlsx.")] = Format.csv,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The status date (default: the last record's).")
    ] = None,
    view: Annotated[
        View, typer.Option("--view", help="then: records reported by the date; now: all.")
    ] = View.NOW,
    package: Annotated[
        Path | None,
        typer.Option("--package", help="The agreement package (default: the ledger's own copy)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write the status (as of a date), the timeline and the evidence as CSV or XLSX.

    Every cell is text; one that could start a formula (= + - @) is prefixed with '.
    """
    from cvid.cli import remote
    from cvid.cli.agreements import _source_and_package
    from cvid.documents import status_document, timeline_document

    if remote.is_service(location):
        raise InputError(f"{location}: cvid export reads a ledger's directory or database")
    source, pkg = _source_and_package(location, package)
    timeline = timeline_document(
        source, pkg, None, as_of, view, where=location, names=("--from", "--as-of")
    )
    t = parse_as_of(timeline["to"]) if as_of is None else parse_as_of(as_of)
    status = status_document(source, pkg, t, view)
    cp = source.checkpoint
    tables = sheets(status, timeline, _rows(location, cp.size if cp is not None else None))
    if fmt is Format.xlsx:
        if out.is_dir():
            raise InputError(f"--out {out}: a directory; --format xlsx writes a file")
        paths = write_xlsx(out, tables)
    else:
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out}: not a directory; --format csv writes one")
        paths = write_csv(out, tables)
    doc = {
        "format": fmt.value,
        "as_of": rfc3339(t),
        "view": view.value,
        "files": [str(p) for p in paths],
        "rows": {name: len(body) for name, (_, body) in tables.items()},
    }
    if as_json:
        emit_json(doc)
    else:
        for p in paths:
            typer.echo(str(p))


@reports_errors
def evidence_bytes(
    location: Annotated[
        str, typer.Argument(help="The ledger: its directory, or a postgresql:// URL.")
    ],
    index: Annotated[int, typer.Argument(help="The record's log index.", min=0)],
    as_json: AlwaysJsonOpt = False,
) -> None:
    """Write the bytes the log holds for record INDEX (its entry, RFC 8785 JSON) to standard
    output: the --entry of cvid receipt verify."""
    from cvid.evidence import Ledger

    with Ledger.open(location, readonly=True) as ledger:
        size = ledger.size
        if index >= size:
            raise InputError(f"{location}: no record {index} (the ledger holds {size})")
        entry = ledger.log.read_entries(index, index + 1)[0]
    sys.stdout.buffer.write(entry)
    sys.stdout.buffer.flush()


@reports_errors
def import_xlsx(
    location: Annotated[
        str, typer.Argument(help="The ledger: its directory, or a postgresql:// URL.")
    ],
    file: Annotated[Path, typer.Argument(help="The workbook (XLSX, a header row).")],
    mapping: Annotated[Path, typer.Option(help="How rows become records (YAML), as for CSV.")],
    key: Annotated[Path, typer.Option("--key", help="The private key file (cvid key new).")],
    sheet: Annotated[str | None, typer.Option(help="The sheet (default: the first).")] = None,
    receipts: Annotated[
        Path | None, typer.Option(help="Write each receipt to RECEIPTS/<index>.tlog-proof.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Turn each row of a sheet into a record, sign it with KEYFILE and admit them all at once.

    The same mapping, rules and output as cvid import csv; refusals name the sheet, the row
    and the column. All or nothing.
    """
    from cvid.cli.evidence import import_rows
    from cvid.evidence import load_mapping, read_xlsx
    from cvid.keyfiles import read_signer

    spec = load_mapping(mapping)
    signer = read_signer(key)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from None
    rows = read_xlsx(data, str(file), sheet)
    import_rows(location, rows, spec, signer, receipts, as_json)


_registered: list[bool] = []


def register(app: typer.Typer) -> None:
    """Add ``cvid export`` to ``app``, ``bytes`` to ``cvid evidence`` and ``xlsx`` to
    ``cvid import`` (once)."""
    from cvid.cli.evidence import evidence_app, import_app

    app.command("export")(export_command)
    if not _registered:
        evidence_app.command("bytes")(evidence_bytes)
        import_app.command("xlsx")(import_xlsx)
        _registered.append(True)
