"""The limits every parser of outside input holds to, and the JSON loader that applies them.

Outside input — a record file, a request body, a verdict, a package — is read with explicit
bounds so that no input can exhaust the stack, the memory or the time of a command, and every
refusal is a :class:`~cvid.errors.LimitError` (an ``InputError``: exit 2) naming the input.
docs/reliability.md ("Limits") lists them for people; the figures are these constants.

:func:`parse_json` is the one strict JSON loader: UTF-8, no duplicate member names, no
NaN/Infinity, no number beyond a double's range, at most :data:`MAX_JSON_BYTES` and
:data:`MAX_JSON_DEPTH` levels of nesting. The YAML limits are applied by
:mod:`cvid.agreements.yamlsrc`; the instant range by :func:`check_instant`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from cvid.errors import LimitError

__all__ = [
    "MAX_INSTANT",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_PACKAGE_DAYS",
    "MAX_PACKAGE_NUMBER",
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "MIN_INSTANT",
    "InstantRangeError",
    "JSONLimitError",
    "check_instant",
    "json_depth",
    "parse_json",
]

#: The most bytes of one JSON document (a file of records, a verdict); HTTP bodies have their
#: own, smaller cap (``cvid serve --max-body``).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: The deepest nesting of arrays and objects in a JSON document. A record nests five levels;
#: a verdict or a status document about ten.
MAX_JSON_DEPTH = 64

#: The most bytes of one YAML file of a package (agreement.yaml, a scenario, a mapping).
MAX_YAML_BYTES = 8 * 1024 * 1024
#: The deepest nesting of mappings and sequences in a YAML file.
MAX_YAML_DEPTH = 64
#: The most aliases (``*name``) in a YAML file.
MAX_YAML_ALIASES = 1_000
#: The most values a YAML file may hold once its aliases are expanded (an alias bomb, a
#: "billion laughs", expands a few hundred bytes into billions of values).
MAX_YAML_NODES = 200_000

#: The earliest instant a record or a package may name: 1900-01-01T00:00:00Z.
MIN_INSTANT = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
#: The latest instant a record or a package may name: 2200-01-01T00:00:00Z (excluded).
MAX_INSTANT = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)

#: The largest magnitude of a number in a package (a parameter's value): the largest integer
#: JSON (RFC 8785) carries exactly. NaN and infinities (YAML's ``.nan``, ``.inf``, ``1e400``)
#: are refused too.
MAX_PACKAGE_NUMBER = 2**53 - 1
#: The most days a package may give a span (``grace_days``, ``window_days``,
#: ``freshness_days``): a century.
MAX_PACKAGE_DAYS = 36_525


class JSONLimitError(LimitError, ValueError):
    """A JSON document over a limit. Also a ``ValueError``, so that callers which report a
    malformed document with its place (``record 3 (batch.jsonl line 3)``) report this alike."""


class InstantRangeError(LimitError, ValueError):
    """An instant outside [:data:`MIN_INSTANT`, :data:`MAX_INSTANT`). Also a ``ValueError``,
    so that a model's validator reports it as the field's problem. A bad value, not a body
    too large: HTTP 400."""

    http_status = 400


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        names = [k for k, _ in pairs]
        dup = next(k for k in names if names.count(k) > 1)
        raise ValueError(f"duplicate member name {dup!r} (RFC 8785 needs unique names)")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    # 1e400 is valid JSON text but no float: Python would read it as infinity.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is beyond a double's range (it would be infinite)")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_members, parse_constant=_no_constant, parse_float=_finite
)

_LAST_NAME_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0), without
    recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json(
    text: str | bytes,
    where: str | None = None,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
    unique_names: bool = True,
) -> Any:
    """Parse strict JSON (UTF-8 when bytes) within the limits.

    Duplicate member names, NaN/Infinity and numbers beyond a double's range raise
    ``ValueError`` (``json.JSONDecodeError`` with a position for syntax; ``UnicodeDecodeError``
    for bytes that are not UTF-8). A document over ``max_bytes`` or nested deeper than
    ``max_depth`` raises :class:`JSONLimitError` (a ``LimitError`` and a ``ValueError``),
    prefixed with ``where`` when given.

    ``unique_names=False`` keeps the last of repeated member names instead, at about half the
    cost: only for a caller that then requires the text to be the canonical (RFC 8785) bytes
    of the value, which have no repeated names, so that the text is refused all the same.
    """
    head = f"{where}: " if where else ""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JSONLimitError(f"{head}JSON of {size:,} bytes is over the limit of {max_bytes:,}")
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        value = (_DECODER if unique_names else _LAST_NAME_DECODER).decode(text)
    except RecursionError:
        # The decoder recurses once a level; the interpreter stops it near 1,000 levels.
        raise JSONLimitError(
            f"{head}JSON nested deeper than {max_depth} levels (arrays and objects)"
        ) from None
    # Nesting needs an opening bracket a level: a text with few cannot nest deeply (those
    # inside strings count too, so this only ever walks more than it must).
    if text.count("[") + text.count("{") > max_depth and json_depth(value) > max_depth:
        raise JSONLimitError(
            f"{head}JSON nested deeper than {max_depth} levels (arrays and objects)"
        )
    return value


def check_instant(value: dt.datetime, what: str = "instant") -> dt.datetime:
    """``value`` (aware) in UTC if it is within [:data:`MIN_INSTANT`, :data:`MAX_INSTANT`);
    else :class:`InstantRangeError` naming ``what``. A zone offset that moves an instant
    beyond year 1 or 9999 is refused the same way, never an ``OverflowError``."""
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not MIN_INSTANT <= utc < MAX_INSTANT:
        raise InstantRangeError(
            f"{what} {value.isoformat()} is outside the range cvid accepts "
            f"({MIN_INSTANT:%Y-%m-%d} to {MAX_INSTANT:%Y-%m-%d}, UTC)"
        )
    return utc
