"""``cvid diff LEDGER --from A --to B``: what changed between two dates.

The statuses of terms and steps that differ between the two dates (in one view), the records
that arrived in between (logged, or reported under the ledger's ``reported`` clock), and the
findings opened and closed. A finding is a term whose status is one of
:data:`FINDING_STATUSES`; a term that moves from one finding status to another closes the old
finding and opens the new one.

Exit 0, or 1 when a term is violated at B (as ``cvid status --as-of B``); 2 for bad input.
The ``cvid-diff/1`` document is described in docs/cli.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from cvid.agreements import View, parse_as_of, rfc3339, show
from cvid.cli import remote
from cvid.cli._common import emit_json, reports_errors
from cvid.errors import InputError

FORMAT = "cvid-diff/1"

#: The statuses that make a finding: a term that needs someone's attention.
FINDING_STATUSES = ("violated", "overdue", "disputed", "reversed", "unknown")

Key = tuple[str, str, str | None]


def _statuses(doc: Mapping[str, Any]) -> dict[Key, dict[str, Any]]:
    """Each term (per party) and step of a status document by ``(type, id, party)``."""
    got: dict[Key, dict[str, Any]] = {}
    for t in doc["terms"]:
        got[("term", t["term"], t["party"])] = {**t, "state": t["status"]}
    for s in doc["steps"]:
        got[("step", s["step"], None)] = {**s, "state": s["state"]}
    return got


def arrival(row: Mapping[str, Any], clock: str) -> str | None:
    """When a listed record arrived: its logged time (None until cosigned), or its
    ``reported_at`` under the ``reported`` clock."""
    value = row.get("reported_at") if clock == "reported" else row.get("logged_at")
    return value if isinstance(value, str) else None


def diff_document(
    before: Mapping[str, Any], after: Mapping[str, Any], records: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The ``cvid-diff/1`` document between two status documents of one ledger and view.

    ``records`` are listing rows (``cvid evidence list --json``); those that arrived after
    ``before["as_of"]`` and by ``after["as_of"]`` are listed. Pure: reads what it is given.
    """
    lo, hi = parse_as_of(before["as_of"]), parse_as_of(after["as_of"])
    if hi < lo:
        raise InputError("--to is before --from")
    a, b = _statuses(before), _statuses(after)
    changed: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    for key in [*a, *(k for k in b if k not in a)]:
        old, new = a.get(key), b.get(key)
        was = old["state"] if old is not None else None
        now = new["state"] if new is not None else None
        if was == now:
            continue
        kind, ident, party = key
        shown = new if new is not None else old
        assert shown is not None
        change = {
            "type": kind,
            "id": ident,
            "party": party,
            "from": was,
            "to": now,
            "evidence": shown.get("evidence", []),
            "explanation": shown.get("explanation", ""),
        }
        changed.append(change)
        if kind != "term":
            continue
        if now in FINDING_STATUSES:
            opened.append(change)
        if was in FINDING_STATUSES:
            closed.append(change)
    clock = str(after.get("clock") or "log")
    arrived = []
    for row in records:
        at = arrival(row, clock)
        if at is not None and lo < parse_as_of(at) <= hi:
            arrived.append({**row, "arrived_at": at})
    arrived.sort(key=lambda r: (parse_as_of(r["arrived_at"]), r["index"]))
    return {
        "format": FORMAT,
        "agreement": after["agreement"],
        "package_sha256": after["package_sha256"],
        "checkpoint": after["checkpoint"],
        "view": after["view"],
        "clock": clock,
        "from": rfc3339(lo),
        "to": rfc3339(hi),
        "changed": changed,
        "arrived": arrived,
        "findings": {"opened": opened, "closed": closed},
        "violated": any(t["status"] == "violated" for t in after["terms"]),
    }


def _rows(location: str, upto: int | None) -> list[dict[str, Any]]:
    """Every record's listing row of a local ledger (the first ``upto`` entries)."""
    from cvid.evidence import Ledger, RecordQuery, iter_listed, summary

    with Ledger.open(location, readonly=True) as ledger:
        return [summary(r) for r in iter_listed(ledger, RecordQuery(upto=upto), None)]


def _print(doc: Mapping[str, Any]) -> None:
    from cvid.cli.agreements import _cells, _columns, _console, _styled

    console = _console()
    lo, hi = show(parse_as_of(doc["from"])), show(parse_as_of(doc["to"]))
    title = f"{doc['agreement']}: what changed from {lo} to {hi} (as known {doc['view']})"
    table = Table(title=Text(title))
    _columns(table, ("term or step", "party", "from", "to", "evidence", "explanation"))
    for c in doc["changed"]:
        what, party, before, evidence, why = _cells(
            c["id"],
            c["party"] or "",
            c["from"] or "",
            " ".join(map(str, c["evidence"])),
            c["explanation"],
        )
        table.add_row(what, party, before, _styled(c["to"] or ""), evidence, why)
    console.print(table if doc["changed"] else "no status changed")
    f = doc["findings"]
    console.print(f"findings opened: {len(f['opened'])}, closed: {len(f['closed'])}")
    arrived = Table(title=f"records that arrived ({doc['clock']} clock)")
    _columns(arrived, ("index", "arrived", "kind", "subject", "party", "submitter"))
    for r in doc["arrived"]:
        arrived.add_row(
            *_cells(
                r["index"],
                r["arrived_at"],
                r["kind"],
                r["subject"],
                r["party"] or "",
                r["submitter"],
            )
        )
    console.print(arrived if doc["arrived"] else "no record arrived")


@reports_errors
def diff_command(
    location: Annotated[
        str,
        typer.Argument(
            help="The ledger: its directory, a postgresql:// URL, or a served ledger's URL."
        ),
    ],
    start: Annotated[str, typer.Option("--from", help="The earlier date (00:00Z) or instant.")],
    end: Annotated[str, typer.Option("--to", help="The later date (00:00Z) or instant.")],
    view: Annotated[
        View, typer.Option("--view", help="then: records reported by each date; now: all.")
    ] = View.NOW,
    package: Annotated[
        Path | None,
        typer.Option("--package", help="The agreement package (default: the ledger's own copy)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (docs/cli.md).")] = False,
) -> None:
    """What changed between two dates: statuses, records that arrived, findings opened and
    closed.

    Exit 0, or 1 when a term is violated at --to (as cvid status --as-of TO).
    """
    lo, hi = parse_as_of(start), parse_as_of(end)
    if hi < lo:
        raise InputError(f"--to {end} is before --from {start}")
    if remote.is_service(location):
        with remote.service(location, package) as svc:
            before, after = svc.status(start, view), svc.status(end, view)
            rows = svc.records()
    else:
        from cvid.cli.agreements import _source_and_package
        from cvid.documents import status_document

        source, pkg = _source_and_package(location, package)
        before = status_document(source, pkg, lo, view)
        after = status_document(source, pkg, hi, view)
        cp = source.checkpoint
        rows = _rows(location, cp.size if cp is not None else None)
    doc = diff_document(before, after, rows)
    if as_json:
        emit_json(doc)
    else:
        _print(doc)
    if doc["violated"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``cvid diff`` to ``app``."""
    app.command("diff")(diff_command)


__all__ = ["FINDING_STATUSES", "FORMAT", "diff_command", "diff_document", "register"]
