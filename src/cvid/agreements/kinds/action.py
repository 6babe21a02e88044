"""One-time actions: done (claimed or verified), pending, overdue, reversed or disputed."""

from __future__ import annotations

from cvid.agreements.instants import DAY, show
from cvid.agreements.kinds.common import baseline_note, cite, groups, not_in_force, said
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status, Unusable


def _done(e: Reader, term: CompiledTerm, party: str, group: list[int], t: int) -> bool:
    return all(e.judge(term, party, p, t) for p in group)


def _verifies(e: Reader, term: CompiledTerm, party: str, group: list[int]) -> bool:
    return any(e.verifies(term, party, p) for p in group)


def evaluate_action(e: Reader, term: CompiledTerm, party: str, t: int) -> Finding:
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
    disputes = [d for p in first for d in e.ev.active_disputes(e.view, p, t, term.quantity)]
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
            base = baseline_note(e, term, party, t)
            text = f"{said(e, term, done)}, then {said(e, term, first)}{base}: reversed"
            return cite(e, done, first), text, ()

        return Finding(Status.REVERSED, detail=reversed_)
    if late:
        return Finding(
            Status.OVERDUE,
            detail=lambda: (
                cite(e, first),
                f"{said(e, term, first)}{baseline_note(e, term, party, t)}; {due} passed: overdue",
                (),
            ),
        )
    return Finding(
        Status.PENDING,
        detail=lambda: (
            cite(e, first),
            f"{said(e, term, first)}{baseline_note(e, term, party, t)}; {due}: pending",
            (),
        ),
    )


def _done_detail(
    e: Reader, term: CompiledTerm, party: str, t: int, first: list[int], due: str
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
    text += baseline_note(e, term, party, t)
    return cite(e, *shown), f"{text}{note}: met ({word})", ()
