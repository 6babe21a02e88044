"""Limits and prohibitions: terms about a state of affairs.

The newest usable group of records since the term took effect decides; a group fails if any
of its records fails the condition, and verifies if any of its records comes from a
verifying role. Around that rule:

- a bound or an interval is judged soundly (:meth:`~cvid.agreements.reader.Reader.judge`):
  ``<= 600`` against a 500 ceiling decides nothing and the term is ``unknown``;
- a notice of lost knowledge (``knowledge_lost``) newer than the deciding group makes the
  term ``unknown`` at once;
- only disputes of the whole record, or naming the term's value, make it ``disputed``;
- corroboration never demotes: a passing claim after a fresh, passing verification stays
  ``met_verified`` (the walk back stops at the first group that fails);
- a violation found by a verifying role opens a finding (:class:`OpenFinding`) that stays open
  until a verifying role's record meets the term.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cvid.agreements.explain import days
from cvid.agreements.instants import show
from cvid.agreements.kinds.common import (
    baseline_note,
    cite,
    groups,
    in_force,
    knowledge_lost,
    limit_text,
    not_in_force,
    said,
)
from cvid.agreements.reader import Reader
from cvid.agreements.terms import (
    CompiledTerm,
    Detail,
    Finding,
    OpenFinding,
    Status,
    Undecided,
    Unusable,
)

_JUDGED = (Status.VIOLATED, Status.MET_CLAIMED, Status.MET_VERIFIED)


def _passes(
    e: Reader, term: CompiledTerm, party: str, ps: list[int], t: int, limit: float | None
) -> bool | None:
    """True if every record of ``ps`` meets the term, False if one fails, None if undecided."""
    decided = False
    for p in ps:
        try:
            if not e.judge(term, party, p, t, limit):
                return False
            decided = True
        except Unusable:
            continue
    return True if decided else None


@dataclass(slots=True)
class _Carry:
    """What a limit term's walks found for one party at instant ``t``, for a later instant.

    Valid there while ``since``, ``limit`` and ``base`` (the baseline, when the condition
    reads one) are unchanged and the groups then are those at ``t`` with only newer groups
    before them (:meth:`Reader.newer` says so, and gives those): a walk back reads only those
    newer groups before it takes up what the walk at ``t`` found.
    """

    t: int
    since: int | None
    limit: float | None
    base: float | None
    #: The newest group at ``t``, and the instant it speaks for.
    group: list[int]
    head: int
    #: The records that open the finding open at ``t`` (:func:`_opening`), if any.
    opening: list[int] | None
    #: Whether :func:`_corroborated` was asked at ``t``, and what it found.
    walked: bool = False
    backing: list[int] | None = None


def _carried(
    e: Reader,
    term: CompiledTerm,
    party: str,
    t: int,
    since: int | None,
    limit: float | None,
    base: float | None,
) -> tuple[_Carry, list[list[int]]] | None:
    """The carry of ``term`` for ``party`` if it holds at ``t`` (see :class:`_Carry`), and
    the groups newer than those its walks read."""
    c: _Carry | None = e.carry.get((term.id, party))
    if c is None or c.since != since or c.limit != limit or c.base != base:
        return None
    new = e.newer(term, party, c.t, t, c.head)
    return None if new is None else (c, new)


def _opening(
    e: Reader,
    term: CompiledTerm,
    party: str,
    t: int,
    since: int | None,
    limit: float | None,
    new: list[list[int]] | None = None,
    carried: _Carry | None = None,
) -> list[int] | None:
    """The failing verifying records of the oldest failing verifying group after the newest
    passing one (or the first): what opens the finding open at ``t``, if any. With
    ``carried``, only the groups ``new`` newer than its walk are read before taking it up."""
    if carried is None or new is None:
        walk: Iterable[list[int]] = groups(e, term, party, t, since, verifying=True)
    else:
        walk = [m for m in ([p for p in g if e.verifies(term, party, p)] for g in new) if m]
    opening: list[int] | None = None
    for mine in walk:
        ok = _passes(e, term, party, mine, t, limit)
        if ok is None:
            continue
        if ok:
            return opening
        opening = [p for p in mine if _fails(e, term, party, p, t, limit)]
    if carried is not None and carried.opening is not None:
        return carried.opening
    return opening


def _found(e: Reader, term: CompiledTerm, party: str, t: int, opening: list[int]) -> OpenFinding:
    when = e.ev.when(opening[0], t)
    # A finding stays open across many instants: its words are made once.
    key: tuple[str | int, ...] = (term.id, party, when, *opening)
    found = e.findings.get(key)
    if found is None:
        text = f"{said(e, term, opening)}: a violation found, open since {show(when)}"
        found = e.findings[key] = OpenFinding(when, cite(e, opening), text)
    return found


def open_finding(
    e: Reader, term: CompiledTerm, party: str, t: int, since: int | None, limit: float | None
) -> OpenFinding | None:
    """The violation found by a verifying role that is open at ``t``, if any."""
    opening = _opening(e, term, party, t, since, limit)
    return None if opening is None else _found(e, term, party, t, opening)


def _fails(e: Reader, term: CompiledTerm, party: str, p: int, t: int, limit: float | None) -> bool:
    try:
        return not e.judge(term, party, p, t, limit)
    except Unusable:
        return False


def _corroborated(
    e: Reader,
    term: CompiledTerm,
    party: str,
    t: int,
    since: int | None,
    limit: float | None,
    new: list[list[int]] | None = None,
    carried: _Carry | None = None,
) -> list[int] | None:
    """A fresh verifying group that meets the term with no failing group after it, if any.

    With ``carried`` (that asked it), only the groups ``new`` newer than its walk are read:
    past them the walk at ``carried.t`` went on, and what it found still holds if fresh.
    """
    fresh = term.freshness
    if carried is not None and carried.walked and new is not None:
        for group in new:
            if fresh is not None and t - e.ev.when(group[0], t) >= fresh:
                return None
            if _passes(e, term, party, group, t, limit) is not True:
                return None
            if any(e.verifies(term, party, p) for p in group):
                return group
        got = carried.backing
        if got is None or (fresh is not None and t - e.ev.when(got[0], t) >= fresh):
            return None
        return got
    # The newest verifying record decides whether there can be one: none, or a stale one,
    # and there is none (the walk over every group would stop there, or before).
    newest = next(groups(e, term, party, t, since, verifying=True), None)
    if newest is None:
        return None
    if fresh is not None and t - e.ev.when(newest[0], t) >= fresh:
        return None
    for group in groups(e, term, party, t, since):
        if fresh is not None and t - e.ev.when(group[0], t) >= fresh:
            return None
        if _passes(e, term, party, group, t, limit) is not True:
            return None
        if any(e.verifies(term, party, p) for p in group):
            return group
    return None


def evaluate_limit(e: Reader, term: CompiledTerm, party: str, t: int) -> Finding:
    """A limit or prohibition: the newest usable evidence since it took effect decides."""
    ok, limit, since = in_force(term, t)
    if not ok:
        return not_in_force(e, term, party, t)
    # Carried from the last instant: only the groups newer than those its walks read.
    uses = term.condition.uses
    carries = "as_of" not in uses and "params" not in uses
    base = e.baseline(term, party, t) if carries and "baseline" in uses else None
    got = _carried(e, term, party, t, since, limit, base) if carries else None
    carried: _Carry | None = None
    new: list[list[int]] | None = None
    group: list[int] | None
    if got is not None:
        carried, new = got
        group = new[0] if new else carried.group
    else:
        group = next(groups(e, term, party, t, since), None)
    facts: list[tuple[str, object]] = []
    if limit is not None:
        facts += [("limit", limit), ("unit", term.unit)]
    if group is None:
        took = f"{limit_text(term, limit)} took effect" if limit is not None else "it applies"
        since_text = f" since {took} on {show(since)}" if since is not None else ""
        text = f"no evidence of {party}'s {term.noun}{since_text}: unknown"
        return Finding(Status.UNKNOWN, (), text, tuple(facts))
    o = e.ev.when(group[0], t)
    failing: list[int] = []
    opening = _opening(e, term, party, t, since, limit, new, carried)
    carry: _Carry | None = None
    if carries:
        carry = e.carry[(term.id, party)] = _Carry(t, since, limit, base, group, o, opening)
    found = None if opening is None else _found(e, term, party, t, opening)

    def words(status: Status, why: Callable[[], str], cited: list[int] | None = None) -> Finding:
        def detail() -> Detail:
            shown = (*facts, ("observed_at", show(o)))
            if term.value_type == "double" and status in _JUDGED:
                p = (failing or group)[-1]
                q = e.quantity(term, p)
                shown += (("value", float(q.value)),)
                if q.bound is not None:
                    shown += (("bound", q.bound),)
                if q.uncertainty:
                    shown += (("uncertainty", float(q.uncertainty)),)
            text = f"{said(e, term, group)}{baseline_note(e, term, party, t)}{why()}"
            if found is not None and status is not Status.VIOLATED:
                text += f"; open finding: {found.explanation}"
            extra = list(cited or [])
            if found is not None:
                extra += [e.ev.carrier(e.ev.position[i], term.quantity) for i in found.evidence]
            return cite(e, group, sorted(set(extra))), text, shown

        return Finding(status, detail=detail, open_finding=found)

    if term.freshness is not None and t - o >= term.freshness:
        fresh = term.freshness
        return words(
            Status.UNKNOWN,
            lambda: f", older than the {days(fresh)}-day freshness window: unknown",
        )
    lost = knowledge_lost(e, term, party, group, t)
    if lost is not None:
        return words(
            Status.UNKNOWN,
            lambda: (
                f"; then {e.wording.record(lost, 'a loss of continuity of knowledge')}: "
                "findings before it no longer hold: unknown"
            ),
            [lost],
        )
    disputes = [d for p in group for d in e.ev.active_disputes(e.view, p, t, term.quantity)]
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
    # A record that cannot be judged (a unit that does not convert, a failing condition, a
    # bound that decides nothing) makes the group unknown, unless another record of it shows
    # a breach: a violation any usable record shows is not hidden by one that cannot be read.
    unusable: list[str] = []
    undecided = False
    for p in group:
        try:
            if not e.judge(term, party, p, t, limit):
                failing.append(p)
        except Undecided as exc:
            undecided = True
            unusable.append(str(exc))
        except Unusable as exc:
            unusable.append(str(exc))
    if unusable and not failing:
        reason = "; ".join(unusable)
        tail = ": it may or may not be met" if undecided else ""
        return words(Status.UNKNOWN, lambda: f": {reason}{tail}: unknown")
    default = term.condition.source in ("value <= limit", "value >= limit")

    def why(met: bool) -> str:
        if limit is None or not default:
            if term.kind == "prohibition":
                return ", none of what it prohibits" if met else ", what it prohibits"
            return ", as the term requires" if met else ", contrary to the term"
        if met:
            return f", within {limit_text(term, limit)}"
        return f", {'above' if term.bound == 'max' else 'below'} {limit_text(term, limit)}"

    if failing:
        also = f" ({'; '.join(unusable)})" if unusable else ""
        return words(Status.VIOLATED, lambda: f"{why(False)}{also}: violated")
    if any(e.verifies(term, party, p) for p in group):
        return words(Status.MET_VERIFIED, lambda: f"{why(True)}: met (verified)")
    backing = _corroborated(e, term, party, t, since, limit, new, carried)
    if carry is not None:
        carry.walked, carry.backing = True, backing
    if backing is not None:
        verified = backing
        return words(
            Status.MET_VERIFIED,
            lambda: f"{why(True)}; verified: {said(e, term, verified)}: met (verified)",
            verified,
        )
    return words(Status.MET_CLAIMED, lambda: f"{why(True)}: met (claimed)")
