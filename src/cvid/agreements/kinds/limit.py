"""Limits and prohibitions: terms about a state of affairs.

The newest usable group of records since the term took effect decides; a group fails if any
of its records fails the condition, and verifies if any of its records comes from a
verifying role.
"""

from __future__ import annotations

from collections.abc import Callable

from cvid.agreements.explain import days
from cvid.agreements.instants import show
from cvid.agreements.kinds.common import cite, groups, in_force, limit_text, not_in_force, said
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status, Unusable

_JUDGED = (Status.VIOLATED, Status.MET_CLAIMED, Status.MET_VERIFIED)


def evaluate_limit(e: Reader, term: CompiledTerm, party: str, t: int) -> Finding:
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
