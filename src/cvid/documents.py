"""The JSON documents cvid prints and serves, built in one place.

``cvid status --json``, ``cvid timeline --json``, ``cvid evidence show --json`` and ``cvid
ledger keys --json`` print these, and ``cvid serve`` answers with the very same documents
(docs/status.md, docs/ledger.md, docs/service.md), so a script reads one format whether it
runs against a ledger directory or a served ledger. Every function here is pure: it reads the
source or records it is given and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cvid.agreements import Package, View, checkpoint_json, evaluate, parse_as_of, rfc3339, timeline
from cvid.errors import InputError
from cvid.evidence import KeyState, LoggedRecord, Quantity, Record, summary
from cvid.sources import Source


def source_checkpoint(source: Source) -> dict[str, Any] | None:
    """The ``checkpoint`` member of a document built from ``source`` (None without one)."""
    return checkpoint_json(source.checkpoint) if source.checkpoint is not None else None


def status_document(source: Source, package: Package, as_of: int, view: View) -> dict[str, Any]:
    """The ``cvid-status/1`` document (docs/status.md) of ``source`` at ``as_of`` (µs)."""
    return evaluate(package, source.records, as_of, view).to_json(source_checkpoint(source))


def is_violated(status: dict[str, Any]) -> bool:
    """Whether a status document has a violated term (``cvid status`` then exits 1)."""
    return any(t.get("status") == "violated" for t in status.get("terms", []))


def _earliest(r: Record) -> dt.datetime:
    """The earliest instant ``r`` speaks for: its observed_at, its period's start, or the
    date of a figure dated apart (``as_of``)."""
    when = [r.observed_at]
    if r.period is not None:
        when.append(r.period.start)
    when += [v.as_of for v in r.values.values() if isinstance(v, Quantity) and v.as_of is not None]
    return min(when)


def timeline_window(
    records: Iterable[Record],
    start: str | None,
    end: str | None,
    view: View,
    *,
    where: str,
    names: tuple[str, str] = ("--from", "--to"),
) -> tuple[int, int]:
    """A timeline's ``[from, to]`` as instants: ``start``/``end`` (dates or RFC 3339), each
    defaulting to the first or last of ``records``' instants in ``view``. :class:`InputError`
    naming ``where`` and ``names`` when a bound is missing and there are no records, or when
    *to* is before *from*."""
    records = list(records)
    times = [
        r.observed_at if view is View.NOW else max(r.observed_at, r.reported_at) for r in records
    ]
    if (start is None or end is None) and not times:
        raise InputError(f"{where}: no records; give {names[0]} and {names[1]}")
    # As known now a record speaks from the start of its period or its earliest dated figure.
    first = [_earliest(r) for r in records] if view is View.NOW else times
    lo = parse_as_of(start) if start else parse_as_of(min(first).isoformat())
    hi = parse_as_of(end) if end else parse_as_of(max(times).isoformat())
    if hi < lo:
        raise InputError(f"{names[1]} is before {names[0]}")
    return lo, hi


def timeline_document(
    source: Source,
    package: Package,
    start: str | None,
    end: str | None,
    view: View,
    *,
    where: str,
    names: tuple[str, str] = ("--from", "--to"),
) -> dict[str, Any]:
    """The ``cvid-timeline/1`` document (docs/status.md) between two instants.

    ``start``/``end`` are dates or RFC 3339 instants; each defaults to the first or last
    record's instant in ``view``. :class:`InputError` naming ``where`` and the options
    ``names`` (how the caller spells *from* and *to*) when a bound is missing and there are
    no records, or when *to* is before *from*.
    """
    lo, hi = timeline_window(
        (r for _, r in source.records), start, end, view, where=where, names=names
    )
    changes = timeline(package, source.records, lo, hi, view)
    return {
        "format": "cvid-timeline/1",
        "agreement": package.id,
        "package_sha256": package.sha256,
        "checkpoint": source_checkpoint(source),
        "view": view.value,
        "from": rfc3339(lo),
        "to": rfc3339(hi),
        "changes": [c.to_json() for c in changes],
    }


def record_document(logged: LoggedRecord) -> dict[str, Any]:
    """``cvid evidence show --json``: the record as signed, its marks and its logged time."""
    return {
        "index": logged.index,
        "status": "superseded" if logged.superseded_by is not None else "current",
        "superseded_by": logged.superseded_by,
        "disputed_by": list(logged.disputed_by),
        "logged_at": summary(logged)["logged_at"],
        "record": logged.raw,
    }


def keys_document(states: Iterable[KeyState]) -> list[dict[str, Any]]:
    """``cvid ledger keys --json``: every key's grant, where it was registered and revoked."""
    return [
        {
            **s.grant.model_dump(mode="json"),
            "registered_at": s.registered_at,
            "revoked_at": s.revoked_at,
        }
        for s in states
    ]
