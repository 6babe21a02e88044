"""Selecting and summarising logged records for listings (``cvid evidence list``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cvid.errors import InputError
from cvid.evidence.ledger import LoggedRecord
from cvid.evidence.record import Kind, Quantity, format_utc


def parse_instant(text: str, end_of_day: bool = False) -> datetime:
    """A date (``2018-02-05``) or an RFC 3339 time with a zone, as a UTC instant.

    A bare date is its first instant, or with ``end_of_day`` the first instant of the next day.
    """
    try:
        if "T" not in text and " " not in text:
            d = date.fromisoformat(text)
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is not a date (2018-02-05) or a time with a zone") from None
    if when.tzinfo is None:
        raise InputError(f"time {text!r} needs a zone (for example 2018-02-05T00:00:00Z)")
    return when.astimezone(UTC)


def select(
    records: Iterable[LoggedRecord],
    kind: Kind | None = None,
    party: str | None = None,
    subject: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[LoggedRecord]:
    """Records matching every filter given; ``since``/``until`` bound ``observed_at``.

    ``party`` matches a record's ``party`` or its ``submitter``. ``since`` is inclusive;
    ``until`` is inclusive of a whole day when it is a date, of the instant otherwise.
    """
    lo = parse_instant(since) if since else None
    hi = parse_instant(until, end_of_day=True) if until else None
    hi_is_day = until is not None and "T" not in until and " " not in until
    out = []
    for logged in records:
        r = logged.record
        if kind is not None and r.kind is not kind:
            continue
        if party is not None and party not in (r.party, r.submitter):
            continue
        if subject is not None and r.subject != subject:
            continue
        if lo is not None and r.observed_at < lo:
            continue
        if hi is not None and (r.observed_at >= hi if hi_is_day else r.observed_at > hi):
            continue
        out.append(logged)
    return out


def format_values(logged: LoggedRecord) -> str:
    """The record's values in one short line: ``deployed_warheads=1393 warhead, ...``."""
    parts = []
    for name, value in logged.record.values.items():
        if isinstance(value, Quantity):
            parts.append(f"{name}={value.value:g} {value.unit}")
        else:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


def summary(logged: LoggedRecord) -> dict[str, Any]:
    """One listing row as JSON: index, what, who, when, values and the marks."""
    r = logged.record
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
    }
