"""Range checks of an agreement package's values, where the package enters (issue 12).

The model (:mod:`cvid.agreements.model`) checks each value's type; these checks hold each value
to what every later command can compute with, so that a package ``cvid agreement check`` and
``cvid ledger init`` accept cannot crash or hang ``status``, ``timeline`` or ``report``:

- every number in ``agreement.yaml`` finite and at most
  :data:`~cvid.limits.MAX_PACKAGE_NUMBER` in magnitude (YAML reads ``.nan``, ``.inf`` and
  ``1e400`` as floats; JSON has none of them);
- a count of days (``grace_days``, ``window_days``, ``freshness_days``) at most
  :data:`~cvid.limits.MAX_PACKAGE_DAYS`;
- every date and instant (a YAML timestamp, a date key, the text of ``from``, ``until``,
  ``deadline``, ``owed_from``) within [:data:`~cvid.limits.MIN_INSTANT`,
  :data:`~cvid.limits.MAX_INSTANT`) (:func:`cvid.agreements.model.to_instant` holds the
  model's instants to the same range);
- the agreement's id printable (it becomes the log's origin, a line of every checkpoint).

The checks read the YAML as parsed, not the model: ``ledger init`` reads of a package only its
parties and keys, and runs them too. Each refusal is a
:class:`~cvid.agreements.errors.PackageError` (exit 2) naming the file, line and field.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cvid.agreements.errors import PackageError
from cvid.errors import printable
from cvid.limits import MAX_PACKAGE_DAYS, MAX_PACKAGE_NUMBER, InstantRangeError, check_instant

if TYPE_CHECKING:
    from cvid.agreements.yamlsrc import Located

Path_ = tuple[str | int, ...]

__all__ = ["DAY_FIELDS", "INSTANT_FIELDS", "NUMBER_FIELDS", "check_package_ranges", "check_ranges"]


def check_ranges(located: Located) -> None:
    """Refuse a value out of range in the parsed ``agreement.yaml`` ``located``:
    :class:`PackageError` naming ``file:line:col`` and the field's path."""

    def fail(path: Path_, problem: str) -> PackageError:
        dotted = ".".join(str(p) for p in path) or "(top)"
        return PackageError(f"{located.where(path)}: {dotted}: {problem}")

    data = located.data
    if isinstance(data, dict) and isinstance(data.get("id"), str) and not data["id"].isprintable():
        raise fail(
            ("id",),
            f"{printable(data['id'])!r} holds a control or other non-printable character "
            "(the id is a line of the log's checkpoints)",
        )
    stack: list[tuple[Any, Path_]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        name = path[-1] if path else None
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*path, key if isinstance(key, str | int) else str(key))
                if isinstance(key, dt.date):
                    _instant(key, child, fail)
                stack.append((item, child))
        elif isinstance(value, list):
            stack.extend((item, (*path, n)) for n, item in enumerate(value))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float):
            finite = isinstance(value, int) or math.isfinite(value)  # math wants a float
            if name in DAY_FIELDS and finite and value > MAX_PACKAGE_DAYS:
                shown = f"{value:,}" if value < 10**30 else "over 10^30"
                raise fail(path, f"{shown} days is over the limit of {MAX_PACKAGE_DAYS:,}")
            _number(value, path, fail)
        elif isinstance(value, dt.date):
            _instant(value, path, fail)
        elif isinstance(value, str) and name in INSTANT_FIELDS:
            _instant_text(value, path, fail)
        elif isinstance(value, str) and name in NUMBER_FIELDS:
            # YAML 1.1 reads 1e400 as text, which the model then reads as a float: infinity.
            try:
                number = float(value)
            except ValueError:
                continue  # not a number: the model says so
            stack.append((number, path))


def check_package_ranges(directory: Path) -> None:
    """:func:`check_ranges` of ``directory/agreement.yaml`` (read as :func:`load_package`
    reads it): for a command that needs only part of a package, such as ``ledger init``."""
    from cvid.agreements.yamlsrc import load_yaml, read_package_text

    path = directory / "agreement.yaml"
    check_ranges(load_yaml(read_package_text(path), str(path)))


#: The fields that count days.
DAY_FIELDS = frozenset({"grace_days", "window_days", "freshness_days"})
#: The fields whose text the model reads as a number.
NUMBER_FIELDS = DAY_FIELDS | {"value"}
#: The fields whose text is a date or an instant.
INSTANT_FIELDS = frozenset({"from", "until", "deadline", "owed_from"})


class _Fail(Protocol):
    def __call__(self, path: Path_, problem: str) -> PackageError: ...  # pragma: no cover


def _number(value: float | int, path: Path_, fail: _Fail) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(path, f"{value} is not a finite number")
    if abs(value) > MAX_PACKAGE_NUMBER:
        # An int's digits only from its bits: str() of a huge one is itself refused by Python.
        digits = int(value.bit_length() * math.log10(2)) + 1 if isinstance(value, int) else 0
        shown = f"{value:.3g}" if isinstance(value, float) else f"an integer of {digits:,} digits"
        raise fail(path, f"{shown} is beyond ±{MAX_PACKAGE_NUMBER:,}")


def _instant(value: dt.date, path: Path_, fail: _Fail) -> None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return  # the model refuses an instant without a zone, saying so
        when = value
    else:
        when = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        check_instant(when, "date" if not isinstance(value, dt.datetime) else "instant")
    except InstantRangeError as exc:
        raise fail(path, str(exc)) from None


def _instant_text(text: str, path: Path_, fail: _Fail) -> None:
    try:
        value: dt.date = (
            dt.date.fromisoformat(text.strip())
            if len(text.strip()) == 10
            else dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        )
    except ValueError:
        return  # not a date: the model says so
    _instant(value, path, fail)
