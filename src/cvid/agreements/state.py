"""Terms about a state of affairs (limits, prohibitions) and one-time actions.

Both read the term's records for one party newest first, in *groups* of records observed at
the same instant. The newest usable group decides; a group fails if any of its records fails
the condition, and verifies if any of its records comes from a verifying role.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from cvid.agreements.explain import days, num
from cvid.agreements.instants import DAY, show
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status, Unusable
from cvid.evidence.record import Quantity
from cvid.evidence.units import parse_unit

if TYPE_CHECKING:
    from cvid.agreements.engine import Evaluator


def groups(
    e: Evaluator, term: CompiledTerm, party: str, t: int, lower: int | None
) -> Iterator[list[int]]:
    """Usable records of ``term`` for ``party`` observed in ``[lower, t]``, newest group first."""
    series = e.ev.by_value.get((party, term.quantity))
    if series is None:
        return
    obs, pos = series.obs, series.pos
    vis, records, sup = e.vis, e.ev.records, e.ev.sup[e.view]
    kinds, subject = term.kinds, term.subject
    i = bisect.bisect_right(obs, t) - 1
    while i >= 0:
        o = obs[i]
        if lower is not None and o < lower:
            return
        group = []
        while i >= 0 and obs[i] == o:
            p = pos[i]
            i -= 1
            if vis[p] > t:
                continue
            r = records[p]
            if r.kind in kinds and (subject is None or r.subject == subject):
                s = sup.get(p)
                if s is None or s > t:
                    group.append(p)
        if group:
            group.sort()
            yield group


def what(e: Evaluator, term: CompiledTerm, p: int) -> str:
    """The term's value in record ``p``, in words (``1,561 deployed warheads``)."""
    v = e.ev.records[p].values[term.quantity]
    if isinstance(v, Quantity):
        if term.unit is not None and v.unit != term.unit:
            try:
                conv = e.value(term, p)
            except Unusable:
                return f"{num(v.value)} {v.unit} of {term.noun}"
            return f"{num(v.value)} {v.unit} of {term.noun} ({num(conv)} {term.unit})"
        return f"{num(v.value)} {term.noun}"
    if isinstance(v, bool):
        return f"{term.noun}: {'yes' if v else 'no'}"
    return f"{term.noun} {v!r}"


def said(e: Evaluator, term: CompiledTerm, ps: list[int]) -> str:
    """Who said what about the term in records ``ps``."""
    return "; ".join(e.wording.record(p, what(e, term, p)) for p in ps)


def cite(e: Evaluator, *groups_: list[int]) -> tuple[int, ...]:
    """The sorted log indices of records in ``groups_``."""
    index = e.ev.index
    if len(groups_) == 1 or not any(groups_[1:]):
        return tuple(index[p] for p in groups_[0])  # a group is sorted, positions in log order
    return tuple(index[p] for p in sorted({p for g in groups_ for p in g}))


def limit_text(term: CompiledTerm, value: float) -> str:
    """``the 1,550 limit``, ``the 100 kg U limit`` (or ``minimum``); counts go without unit."""
    unit = ""
    if term.unit is not None and not parse_unit(term.unit).unit.dimension.startswith("count"):
        unit = f" {term.unit}"
    return f"the {num(value)}{unit} {'limit' if term.bound == 'max' else 'minimum'}"


def next_in_force(term: CompiledTerm, t: int) -> str:
    """When the term next applies after ``t``, in words."""
    for c in sorted(set(term.fixed_instants())):
        if c <= t or not term.in_force_window(c):
            continue
        if term.parameter is not None:
            v = term.parameter.at(c)
            if v is None:
                continue
            return f"{limit_text(term, v)} binds from {show(c)}"
        return f"it applies from {show(c)}"
    return "it no longer applies" if term.start is not None and t >= term.start else "no date"


def in_force(term: CompiledTerm, t: int) -> tuple[bool, float | None, int | None]:
    """Whether ``term`` applies at ``t``, the limit in effect, and since when it holds."""
    ok = term.in_force_window(t)
    since = term.start
    limit = None
    if term.parameter is not None:
        limit = term.parameter.at(t)
        start = term.parameter.since(t)
        ok = ok and limit is not None
        if start is not None:
            since = start if since is None else max(since, start)
    return ok, limit, since


def not_in_force(e: Evaluator, term: CompiledTerm, party: str, t: int) -> Finding:
    """``not_in_force``, saying what the latest evidence showed and when the term applies."""

    def detail() -> Detail:
        latest = next(groups(e, term, party, t, None), None)
        when = next_in_force(term, t)
        if latest is None:
            return (), f"{when}: not in force", ()
        return cite(e, latest), f"{said(e, term, latest)}; {when}: not in force", ()

    return Finding(Status.NOT_IN_FORCE, detail=detail)


_JUDGED = (Status.VIOLATED, Status.MET_CLAIMED, Status.MET_VERIFIED)


def evaluate_state(e: Evaluator, term: CompiledTerm, party: str, t: int) -> Finding:
    """A limit or prohibition: the newest usable evidence since it took effect decides."""
    ok, limit, since = in_force(term, t)
    if not ok:
        return not_in_force(e, term, party, t)
    group = next(groups(e, term, party, t, since), None)
    facts: list[tuple[str, object]] = []
    if limit is not None:
        facts += [("limit", limit), ("unit", term.unit)]
    if group is None:
        took = f"{limit_text(term, limit)} took effect" if limit is not None else "it applies"
        since_text = f" since {took} on {show(since)}" if since is not None else ""
        text = f"no evidence of {party}'s {term.noun}{since_text}: unknown"
        return Finding(Status.UNKNOWN, (), text, tuple(facts))
    o = e.ev.obs[group[0]]
    failing: list[int] = []

    def words(status: Status, why: Callable[[], str], cited: list[int] | None = None) -> Finding:
        def detail() -> Detail:
            shown = (*facts, ("observed_at", show(o)))
            if term.value_type == "double" and status in _JUDGED:
                shown += (("value", e.value(term, (failing or group)[-1])),)
            return cite(e, group, cited or []), f"{said(e, term, group)}{why()}", shown

        return Finding(status, detail=detail)

    if term.freshness is not None and t - o >= term.freshness:
        fresh = term.freshness
        return words(
            Status.UNKNOWN,
            lambda: f", older than the {days(fresh)}-day freshness window: unknown",
        )
    disputes = [d for p in group for d in e.ev.active_disputes(e.view, p, t)]
    if disputes:
        return words(
            Status.DISPUTED,
            lambda: (
                "; disputed: "
                + "; ".join(e.wording.record(d, "otherwise") for d in disputes)
                + ": disputed"
            ),
            disputes,
        )
    # A record that cannot be judged (a unit that does not convert, a failing condition) makes
    # the group unknown, unless another record of it shows a breach: a violation any usable
    # record shows is not hidden by one that cannot be read.
    unusable: list[str] = []
    for p in group:
        try:
            if not e.check(term, party, p, t, limit):
                failing.append(p)
        except Unusable as exc:
            unusable.append(str(exc))
    if unusable and not failing:
        reason = "; ".join(unusable)
        return words(Status.UNKNOWN, lambda: f": {reason}: unknown")
    default = term.condition.source in ("value <= limit", "value >= limit")

    def why(met: bool) -> str:
        if limit is None or not default:
            return "compliant" if met else f"breaking {term.condition.source!r}"
        if met:
            return f"within {limit_text(term, limit)}"
        return f"{'above' if term.bound == 'max' else 'below'} {limit_text(term, limit)}"

    if failing:
        also = f" ({'; '.join(unusable)})" if unusable else ""
        return words(Status.VIOLATED, lambda: f", {why(False)}{also}: violated")
    if any(e.verifies(term, party, p) for p in group):
        return words(Status.MET_VERIFIED, lambda: f", {why(True)}: met (verified)")
    return words(Status.MET_CLAIMED, lambda: f", {why(True)}: met (claimed)")


def _done(e: Evaluator, term: CompiledTerm, party: str, group: list[int], t: int) -> bool:
    return all(e.check(term, party, p, t) for p in group)


def _verifies(e: Evaluator, term: CompiledTerm, party: str, group: list[int]) -> bool:
    return any(e.verifies(term, party, p) for p in group)


def evaluate_action(e: Evaluator, term: CompiledTerm, party: str, t: int) -> Finding:
    """A one-time action: done (claimed or verified), pending, overdue, reversed or disputed.

    Done: the newest group passes. Verified if a group of the run of passing groups up to now
    verifies (the walk back stops at the first one that does). Reversed: the newest group
    fails after an earlier group passed.
    """
    if not term.in_force_window(t):
        return not_in_force(e, term, party, t)
    deadline = term.overdue_from
    due = f"deadline {show(deadline - DAY)}" if deadline is not None else "no deadline"
    late = deadline is not None and t >= deadline
    first = next(groups(e, term, party, t, term.start), None)
    if first is None:
        if late:
            return Finding(
                Status.OVERDUE, (), f"no evidence of {term.noun} ({due} passed): overdue"
            )
        return Finding(Status.PENDING, (), f"no evidence yet of {term.noun} ({due}): pending")
    disputes = [d for p in first for d in e.ev.active_disputes(e.view, p, t)]
    if disputes:

        def disputed() -> Detail:
            by = "; ".join(e.wording.record(d, "otherwise") for d in disputes)
            return cite(e, first, disputes), f"{said(e, term, first)}; disputed: {by}: disputed", ()

        return Finding(Status.DISPUTED, detail=disputed)
    try:
        if _done(e, term, party, first, t):
            verified = _verifies(e, term, party, first)
            if not verified:
                for g in groups(e, term, party, t, term.start):
                    if not _done(e, term, party, g, t):
                        break
                    if _verifies(e, term, party, g):
                        verified = True
                        break
            return Finding(
                Status.MET_VERIFIED if verified else Status.MET_CLAIMED,
                detail=lambda: _done_detail(e, term, party, t, first, due),
            )
        earlier = next(
            (
                g
                for g in groups(e, term, party, t, term.start)
                if g is not first and g != first and _done(e, term, party, g, t)
            ),
            None,
        )
    except Unusable as exc:
        return Finding(Status.UNKNOWN, cite(e, first), f"{said(e, term, first)}: {exc}: unknown")
    if earlier is not None:
        done = earlier

        def reversed_() -> Detail:
            text = f"{said(e, term, done)}, then {said(e, term, first)}: reversed"
            return cite(e, done, first), text, ()

        return Finding(Status.REVERSED, detail=reversed_)
    if late:
        return Finding(
            Status.OVERDUE,
            detail=lambda: (cite(e, first), f"{said(e, term, first)}; {due} passed: overdue", ()),
        )
    return Finding(
        Status.PENDING,
        detail=lambda: (cite(e, first), f"{said(e, term, first)}; {due}: pending", ()),
    )


def _done_detail(
    e: Evaluator, term: CompiledTerm, party: str, t: int, first: list[int], due: str
) -> Detail:
    """Evidence and words of a done action: when it was first done, verified, latest."""
    earliest, verifying = first, first if _verifies(e, term, party, first) else None
    for g in groups(e, term, party, t, term.start):
        if g == first:
            continue
        if not _done(e, term, party, g, t):
            break
        earliest = g
        if _verifies(e, term, party, g):
            verifying = g
    deadline = term.overdue_from
    when = e.ev.obs[earliest[0]]
    note = f" (done after the {due})" if deadline is not None and when >= deadline else ""
    shown = [earliest]
    text = said(e, term, earliest)
    if verifying is not None and verifying != earliest:
        shown.append(verifying)
        text += f"; verified: {said(e, term, verifying)}"
    if first != shown[-1] and first != earliest:
        shown.append(first)
        text += f"; latest: {said(e, term, first)}"
    word = "verified" if verifying is not None else "claimed"
    return cite(e, *shown), f"{text}{note}: met ({word})", ()
