"""Selecting and summarising logged records for listings (``cvid evidence list``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cvid.errors import InputError
from cvid.evidence import ledgerdb
from cvid.evidence.ledger import Ledger, LoggedRecord
from cvid.evidence.ledgerdb import RecordQuery
from cvid.evidence.record import Quantity, format_utc
from cvid.limits import InstantRangeError, check_instant
from cvid.store import SqlTx


def parse_instant(text: str, end_of_day: bool = False) -> datetime:
    """A date (``2018-02-05``) or an RFC 3339 time with a zone, as a UTC instant.

    A bare date is its first instant, or with ``end_of_day`` the first instant of the next day.
    """
    try:
        if "T" not in text and " " not in text:
            d = date.fromisoformat(text)
            start = check_instant(datetime(d.year, d.month, d.day, tzinfo=UTC), "date")
            return start + timedelta(days=1) if end_of_day else start
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except InstantRangeError:
        raise  # an InputError naming the range
    except ValueError:
        raise InputError(f"{text!r} is not a date (2018-02-05) or a time with a zone") from None
    if when.tzinfo is None:
        raise InputError(f"time {text!r} needs a zone (for example 2018-02-05T00:00:00Z)")
    return check_instant(when)


def observed_bounds(
    since: str | None, until: str | None
) -> tuple[datetime | None, datetime | None]:
    """``since``/``until`` of a listing as inclusive bounds on ``observed_at``.

    ``until`` given as a date covers that whole day; as a time, up to that instant. Raises
    :class:`InputError` for text that is neither.
    """
    lo = parse_instant(since) if since else None
    hi = None
    if until:
        hi = parse_instant(until, end_of_day=True)
        if "T" not in until and " " not in until:
            hi -= timedelta(microseconds=1)  # the next day's first instant, excluded
    return lo, hi


def select_listed(tx: SqlTx, q: RecordQuery, party: str | None) -> list[int]:
    """The indices of the records a listing shows for ``q`` and ``party``, ascending.

    ``party`` matches a record's ``party`` or its ``submitter``: the union of two indexed
    queries, cut at ``q.limit``.
    """
    if party is None:
        return ledgerdb.select(tx, q)
    found = set(ledgerdb.select(tx, replace(q, party=party)))
    if q.submitter is None or q.submitter == party:
        found.update(ledgerdb.select(tx, replace(q, submitter=party)))
    return sorted(found)[: q.limit]


def iter_listed(ledger: Ledger, q: RecordQuery, party: str | None) -> Iterator[LoggedRecord]:
    """Every record :func:`select_listed` chooses (``q.limit`` ignored), a page at a time."""
    after = q.after
    while True:
        with ledger.driver.read() as tx:
            page = select_listed(tx, replace(q, after=after, limit=ledgerdb.MAX_LIMIT), party)
        yield from ledger.records_at(page)
        if len(page) < ledgerdb.MAX_LIMIT:
            return
        after = page[-1]


def format_values(logged: LoggedRecord) -> str:
    """The record's values in one short line: ``deployed_warheads=1393 warhead, ...``."""
    parts = []
    for name, value in logged.record.values.items():
        if isinstance(value, Quantity):
            # A figure dated apart from its record says its own date (as the listing does).
            when = format_utc(value.as_of).removesuffix("T00:00:00Z") if value.as_of else ""
            dated = f" as of {when}" if when else ""
            parts.append(f"{name}={value.value:g} {value.unit}{dated}")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


def summary(logged: LoggedRecord) -> dict[str, Any]:
    """One listing row as JSON: index, what, who, when, values, the source's speaker and quoted
    words, the attachments (by SHA-256) and the marks."""
    r = logged.record
    source = r.source
    status = "superseded" if logged.superseded_by is not None else "current"
    return {
        "index": logged.index,
        "kind": r.kind.value,
        "subject": r.subject,
        "party": r.party,
        "submitter": r.submitter,
        "observed_at": format_utc(r.observed_at),
        "reported_at": format_utc(r.reported_at),
        "logged_at": format_utc(logged.logged_at) if logged.logged_at is not None else None,
        "values": {
            k: v.model_dump(exclude_none=True) if isinstance(v, Quantity) else v
            for k, v in r.values.items()
        },
        "status": status,
        "superseded_by": logged.superseded_by,
        "supersedes": r.supersedes,
        "disputes": r.disputes,
        "disputed_by": list(logged.disputed_by),
        "signer": r.signer.split("+", 1)[0],
        "speaker": source.speaker if source is not None else None,
        "quote": source.quote if source is not None else None,
        "attachments": [a.model_dump(exclude_none=True) for a in r.attachments],
    }
