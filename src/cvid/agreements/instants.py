"""Instants as integer microseconds since the Unix epoch, UTC: cheap to compare and sort.

The engine works on integers; people read dates (``2018-02-05``) or RFC 3339 instants.
"""

from __future__ import annotations

import datetime as dt
import functools

from cvid.errors import InputError
from cvid.limits import check_instant

DAY = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ORDINAL_1970 = dt.date(1970, 1, 1).toordinal()


def to_us(value: dt.datetime) -> int:
    """An aware datetime as microseconds since the epoch (exact)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> dt.datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + dt.timedelta(microseconds=us)


@functools.lru_cache(maxsize=1 << 16)
def show(us: int) -> str:
    """A date ``2018-02-05`` when the instant is midnight UTC, else RFC 3339 with ``Z``
    (memoized: a timeline's explanations name the same instants again and again)."""
    if us % DAY == 0:
        return dt.date.fromordinal(_ORDINAL_1970 + us // DAY).isoformat()
    return rfc3339(us)


def rfc3339(us: int) -> str:
    """An instant as RFC 3339 UTC with ``Z`` (seconds, or microseconds when present)."""
    return from_us(us).replace(tzinfo=None).isoformat() + "Z"


def parse_instant(text: str) -> int:
    """``2018-02-05`` (00:00Z) or an RFC 3339 instant with a zone, as microseconds.

    Raises ValueError for anything else, including an instant without a time zone or one
    outside the range of :func:`cvid.limits.check_instant`.
    """
    text = text.strip()
    if len(text) == 10:
        d = dt.date.fromisoformat(text)
        return to_us(check_instant(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC), "date"))
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{text!r} has no time zone (write 2018-02-05T00:00:00Z)")
    return to_us(check_instant(t))


def parse_as_of(text: str) -> int:
    """A command-line date or instant; :class:`InputError` if it is neither."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InputError(f"not a date or instant: {text!r} ({exc})") from None
