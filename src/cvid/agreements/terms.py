"""Terms and steps as the engine sees them: compiled, with instants in microseconds.

The statuses form the lattice an analyst reads, from "does not apply" to "broken":

- ``not_in_force``: the term does not apply at T (before it binds, after it ends);
- ``pending``: an obligation not yet due and not yet done;
- ``met_claimed``: met on the party's own word (or an observer's), not verified;
- ``met_verified``: met, on the word of a body whose role the term's ``verified_by`` names;
- ``overdue``: due and not done, or nothing shows it was done;
- ``violated``: the evidence shows a breach;
- ``reversed``: done, then undone;
- ``disputed``: the deciding evidence is contested by another party's record;
- ``unknown``: in force but no usable evidence (none, stale, or a condition that cannot be
  evaluated). Missing data is never green;
- ``suspended``: the party's own notice of suspension or countermeasure is in effect;
- ``withdrawn``: the party's notice of withdrawal is in effect (:mod:`cvid.agreements.notices`).

A step is ``locked`` until what it requires holds, then ``unlocked`` (owed), ``delivered`` once
a record of the owing party says so, ``partly_delivered`` while only some of its parts are,
``reversed`` when a later record of the owing party undoes it, and ``suspended`` or
``withdrawn`` under the owing party's notice (:mod:`cvid.agreements.steps`).
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from cvid.agreements.cel import Condition
from cvid.agreements.instants import DAY, from_us, to_us
from cvid.evidence import Kind, Role


class Status(StrEnum):
    """A term's status for one party at one instant."""

    NOT_IN_FORCE = "not_in_force"
    PENDING = "pending"
    MET_CLAIMED = "met_claimed"
    MET_VERIFIED = "met_verified"
    OVERDUE = "overdue"
    VIOLATED = "violated"
    REVERSED = "reversed"
    DISPUTED = "disputed"
    UNKNOWN = "unknown"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class StepState(StrEnum):
    """A reciprocal step's state at one instant."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    DELIVERED = "delivered"
    PARTLY_DELIVERED = "partly_delivered"
    REVERSED = "reversed"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class Unusable(Exception):
    """Evidence that cannot be judged (a unit that does not convert, a failing condition)."""


class Undecided(Unusable):
    """A bound or interval that neither meets nor breaks the limit (``<= 600`` against 500)."""


Facts = tuple[tuple[str, object], ...]
Detail = tuple[tuple[int, ...], str, Facts]


@dataclass(frozen=True)
class OpenFinding:
    """A violation a verifying role found, open until a verifying role's record shows it cured.

    ``opened_at`` is the instant the first record of the unbroken run of violating verifying
    findings speaks for; ``evidence`` those records' log indices. The party's own later claims,
    a dispute by the party and age leave it open; only a verifying record that meets the term
    closes it.
    """

    opened_at: int
    evidence: tuple[int, ...]
    explanation: str


class Finding:
    """What the engine concludes about one term for one party at one instant.

    ``evidence`` is the sorted log indices the status rests on; ``explanation`` is one line a
    person reads; ``facts`` holds the figures behind it (value, limit, unit, dates) for JSON.
    The three may be given as ``detail``, a function computed on first use: a timeline
    evaluates a term at many instants but reads the words only where the status changes.
    """

    __slots__ = ("_detail", "_make", "open_finding", "status")

    def __init__(
        self,
        status: Status,
        evidence: tuple[int, ...] = (),
        explanation: str = "",
        facts: Facts = (),
        *,
        detail: Callable[[], Detail] | None = None,
        open_finding: OpenFinding | None = None,
    ) -> None:
        self.status = status
        #: The violation found by a verifying role that is still open at this instant, if any.
        self.open_finding = open_finding
        self._make = detail
        self._detail: Detail | None = None if detail else (evidence, explanation, facts)

    def _get(self) -> Detail:
        if self._detail is None:
            assert self._make is not None
            self._detail = self._make()
            self._make = None
        return self._detail

    @property
    def evidence(self) -> tuple[int, ...]:
        """The log indices the status rests on, ascending."""
        return self._get()[0]

    @property
    def explanation(self) -> str:
        """One line a person reads."""
        return self._get()[1]

    @property
    def facts(self) -> Facts:
        """The figures behind the status."""
        return self._get()[2]

    def __repr__(self) -> str:
        return f"Finding({self.status.value}, {self.evidence}, {self.explanation!r})"


@dataclass(frozen=True)
class ParamSeries:
    """A dated parameter: a step function of time, each value with its legal reference."""

    name: str
    description: str
    unit: str | None
    starts: tuple[int, ...]
    values: tuple[float | None, ...]
    references: tuple[str, ...]

    def index_at(self, t: int) -> int:
        """The position of the value in effect at ``t``, or -1 before the first."""
        return bisect.bisect_right(self.starts, t) - 1

    def at(self, t: int) -> float | None:
        """The value in effect at ``t`` (None before the first date or after a null)."""
        i = self.index_at(t)
        return None if i < 0 else self.values[i]

    def since(self, t: int) -> int | None:
        """When the value in effect at ``t`` took effect (None if there is none)."""
        i = self.index_at(t)
        return None if i < 0 or self.values[i] is None else self.starts[i]

    def next_value_after(self, t: int) -> tuple[int, float] | None:
        """The next date after ``t`` when a (non-null) value takes effect, and that value."""
        for i in range(bisect.bisect_right(self.starts, t), len(self.starts)):
            v = self.values[i]
            if v is not None:
                return self.starts[i], v
        return None


@functools.lru_cache(maxsize=4096)
def _occurrences_in(month_days: tuple[tuple[int, int], ...], year: int) -> tuple[int, ...]:
    out = []
    for month, day in month_days:
        last = calendar.monthrange(year, month)[1]  # 31 March stays; 29 February → 28
        out.append(to_us(dt.datetime(year, month, min(day, last), tzinfo=dt.UTC)))
    return tuple(sorted(out))


@dataclass(frozen=True)
class Schedule:
    """When a periodic obligation recurs (month-days from a date, before an end)."""

    month_days: tuple[tuple[int, int], ...]
    start: int
    end: int | None
    grace: int
    window: int

    def _in_year(self, year: int) -> tuple[int, ...]:
        return _occurrences_in(self.month_days, year)

    def occurrences(self, lo: int, hi: int) -> list[int]:
        """Every occurrence in ``[lo, hi]`` that the schedule has (from start, before end)."""
        lo = max(lo, self.start)
        if self.end is not None:
            hi = min(hi, self.end - 1)
        if hi < lo:
            return []
        out: list[int] = []
        for year in range(from_us(lo).year, from_us(hi).year + 1):
            out.extend(t for t in self._in_year(year) if lo <= t <= hi)
        return out

    def latest(self, t: int) -> int | None:
        """The latest occurrence at or before ``t``, or None."""
        if t < self.start:
            return None
        year = from_us(t).year
        got = self.occurrences(to_us(dt.datetime(year - 1, 1, 1, tzinfo=dt.UTC)), t)
        return got[-1] if got else None

    def previous(self, occurrence: int) -> int | None:
        """The occurrence before ``occurrence``, or None."""
        return self.latest(occurrence - 1)

    def overdue_from(self, occurrence: int) -> int:
        """The instant an occurrence becomes overdue: the day after its last day of grace."""
        return occurrence + (self.grace + 1) * DAY


@dataclass(frozen=True)
class CompiledTerm:
    """A term ready for evaluation (see :mod:`cvid.agreements.model` for what each field says).

    ``value_type`` is ``double``, ``bool`` or ``string``. ``overdue_from`` is the instant after
    an action's inclusive deadline. ``line`` is where the term starts in ``agreement.yaml``.
    """

    id: str
    kind: str
    title: str
    clause_ref: str
    parties: tuple[str, ...]
    start: int | None
    end: int | None
    quantity: str
    kinds: frozenset[Kind]
    subject: str | None
    verified_by: frozenset[Role]
    condition: Condition
    value_type: str
    unit: str | None
    material: str | None
    noun: str
    line: int
    parameter: ParamSeries | None = None
    bound: str = "max"
    freshness: int | None = None
    overdue_from: int | None = None
    schedule: Schedule | None = None
    #: U-235 mass percent for conversions between uranium compounds (None: natural uranium).
    enrichment: float | None = None

    def in_force_window(self, t: int) -> bool:
        """Whether ``t`` is in the term's own ``[from, until)`` period."""
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    def fixed_instants(self) -> list[int]:
        """Instants where the term may change status whatever the evidence says."""
        out = [t for t in (self.start, self.end, self.overdue_from) if t is not None]
        if self.parameter is not None:
            out.extend(self.parameter.starts)
        return out


@dataclass(frozen=True)
class CompiledStep:
    """A reciprocal step ready for evaluation.

    ``requires`` pairs (term id, party); ``condition`` (over ``status``) replaces the default
    rule "every requirement met_verified" when given. ``after`` names steps (earlier in the
    package) that must be delivered first; ``owed_from`` the instant before which it is not
    owed; ``delivers`` the condition a delivery record must meet (None: the default rule);
    ``parts`` the ids of its parts.
    """

    id: str
    title: str
    clause_ref: str
    by: str
    to: tuple[str, ...]
    requires: tuple[tuple[str, str], ...]
    condition: Condition | None
    kinds: frozenset[Kind]
    subject: str
    line: int
    cites: tuple[tuple[str, str], ...] = field(default=())
    after: tuple[str, ...] = ()
    owed_from: int | None = None
    delivers: Condition | None = None
    parts: tuple[str, ...] = ()
