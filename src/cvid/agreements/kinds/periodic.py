"""Periodic obligations: an occurrence on each scheduled date, due after a grace period.

At T the latest occurrence ``D ≤ T`` decides: fulfilled (a usable record observed within the
window from ``D``, meeting the condition) → met; not yet due → pending, unless the previous
occurrence was missed, then overdue; due and missing → overdue.
"""

from __future__ import annotations

import bisect

from cvid.agreements.instants import DAY, show
from cvid.agreements.kinds.common import cite, not_in_force, said
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Finding, Status, Unusable


def fulfilment(e: Reader, term: CompiledTerm, party: str, d: int, t: int) -> list[int]:
    """Records (positions) usable at ``t`` that fulfil occurrence ``d``."""
    series = e.ev.by_value.get((party, term.quantity))
    schedule = term.schedule
    if series is None or schedule is None:
        return []
    lo = bisect.bisect_left(series.obs, d)
    hi = bisect.bisect_left(series.obs, min(d + schedule.window, t + 1))
    out = []
    for p in series.pos[lo:hi]:
        if not e.usable(term, p, t):
            continue
        try:
            if e.judge(term, party, p, t):
                out.append(p)
        except Unusable:
            continue  # a record that cannot be judged fulfils nothing
    return sorted(out)


def evaluate_periodic(e: Reader, term: CompiledTerm, party: str, t: int) -> Finding:
    """The status of a periodic term at ``t``."""
    s = term.schedule
    assert s is not None
    ended = s.end is not None and t >= s.end
    if not term.in_force_window(t) or ended:
        return not_in_force(e, term, party, t)
    lower = max(s.start, term.start) if term.start is not None else s.start
    d = s.latest(t)
    if d is None or d < lower:
        nxt = s.occurrences(max(t, lower), t + 400 * DAY)
        when = f"the first is as of {show(nxt[0])}" if nxt else "no occurrence yet"
        return Finding(Status.NOT_IN_FORCE, (), f"{_lower(term.title)}: {when}: not in force")
    title = _lower(term.title)
    name = f"{title} as of {show(d)}"
    got = fulfilment(e, term, party, d, t)
    if got:
        text = said(e, term, got)
        disputes = [x for p in got for x in e.ev.active_disputes(e.view, p, t, term.quantity)]
        if disputes:
            by = "; ".join(e.wording.record(x, "otherwise") for x in disputes)
            return Finding(
                Status.DISPUTED, cite(e, got, disputes), f"{name}: {text}; disputed: {by}: disputed"
            )
        verified = any(e.verifies(term, party, p) for p in got)
        status = Status.MET_VERIFIED if verified else Status.MET_CLAIMED
        word = "verified" if verified else "claimed"
        return Finding(status, cite(e, got), f"{name}: {text}: met ({word})")
    missed = [
        o
        for o in s.occurrences(lower, t)
        if s.overdue_from(o) <= t and not fulfilment(e, term, party, o, t)
    ]
    listed = f"; missed so far: {', '.join(show(o) for o in missed)}" if missed else ""
    due_by = show(s.overdue_from(d) - DAY)
    if t >= s.overdue_from(d):
        return Finding(
            Status.OVERDUE, (), f"no {name} from {party} (due by {due_by}){listed}: overdue"
        )
    prev = s.previous(d)
    if prev is not None and prev >= lower and prev in missed:
        return Finding(
            Status.OVERDUE,
            (),
            f"no {title} as of {show(prev)} from {party}; {name} due by {due_by}{listed}: overdue",
        )
    evidence: tuple[int, ...] = ()
    before = ""
    if prev is not None and prev >= lower:
        prior = fulfilment(e, term, party, prev, t)
        evidence = cite(e, prior)
        before = f"; the previous one was met ({said(e, term, prior)})" if prior else ""
    return Finding(Status.PENDING, evidence, f"{name} due by {due_by}{before}{listed}: pending")


def _lower(title: str) -> str:
    """A title inside a sentence: ``Six-monthly data exchange`` → ``six-monthly data exchange``."""
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title
