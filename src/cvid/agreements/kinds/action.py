"""One-time actions: done (claimed or verified), pending, overdue, reversed or disputed."""

from __future__ import annotations

from dataclasses import dataclass

from cvid.agreements.instants import DAY, show
from cvid.agreements.kinds.common import baseline_note, cite, groups, not_in_force, said
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status, Unusable


def _done(e: Reader, term: CompiledTerm, party: str, group: list[int], t: int) -> bool:
    return all(e.judge(term, party, p, t) for p in group)


def _verifies(e: Reader, term: CompiledTerm, party: str, group: list[int]) -> bool:
    return any(e.verifies(term, party, p) for p in group)


@dataclass(slots=True)
class _Carry:
    """What an action's walks found for one party at instant ``t``, for a later instant
    (valid while the baseline is unchanged and :meth:`Reader.newer` holds from ``t``)."""

    t: int
    base: float | None
    #: The newest group at ``t``, and the instant it speaks for.
    first: list[int]
    head: int
    #: Whether a group in the run of done groups from the newest back verifies (None: not
    #: known), the first done group from the newest on, and from the one after it
    #: (``False``: not known; None: there is none).
    run_verified: bool | None = None
    first_done: list[int] | bool | None = False
    earlier: list[int] | bool | None = False


def _carried(
    e: Reader, term: CompiledTerm, party: str, t: int, base: float | None
) -> tuple[_Carry, list[list[int]]] | None:
    c: _Carry | None = e.carry.get((term.id, party))
    if c is None or c.base != base:
        return None
    new = e.newer(term, party, c.t, t, c.head)
    return None if new is None else (c, new)


def _run_verified(
    e: Reader,
    term: CompiledTerm,
    party: str,
    t: int,
    new: list[list[int]] | None,
    carried: _Carry | None,
) -> bool:
    """Whether a group of the run of done groups from the newest back verifies; with
    ``carried`` (that knows it), only the groups ``new`` newer than its walk are read."""
    if carried is not None and new is not None and carried.run_verified is not None:
        for g in new:
            if not _done(e, term, party, g, t):
                return False
            if _verifies(e, term, party, g):
                return True
        return carried.run_verified
    for g in groups(e, term, party, t, term.start):
        if not _done(e, term, party, g, t):
            return False
        if _verifies(e, term, party, g):
            return True
    return False


def _earlier(
    e: Reader,
    term: CompiledTerm,
    party: str,
    t: int,
    first: list[int],
    new: list[list[int]] | None,
    carried: _Carry | None,
) -> list[int] | None:
    """The newest done group after ``first`` (the newest), if any; with ``carried``, only
    the groups ``new`` newer than its walk are read before taking up what it found."""
    if carried is not None and new is not None:
        if not new and carried.earlier is not False:
            return carried.earlier  # type: ignore[return-value]
        if new and carried.first_done is not False:
            for g in new[1:]:
                if _done(e, term, party, g, t):
                    return g
            return carried.first_done  # type: ignore[return-value]
    return next(
        (
            g
            for g in groups(e, term, party, t, term.start)
            if g is not first and g != first and _done(e, term, party, g, t)
        ),
        None,
    )


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
    # Carried from the last instant: only the groups newer than those its walks read.
    uses = term.condition.uses
    carries = "as_of" not in uses and "params" not in uses
    base = e.baseline(term, party, t) if carries and "baseline" in uses else None
    got = _carried(e, term, party, t, base) if carries else None
    carried: _Carry | None = None
    new: list[list[int]] | None = None
    first: list[int] | None
    if got is not None:
        carried, new = got
        first = new[0] if new else carried.first
    else:
        first = next(groups(e, term, party, t, term.start), None)
    if first is None:
        if late:
            return Finding(
                Status.OVERDUE, (), f"no evidence of {term.noun} ({due} passed): overdue"
            )
        return Finding(Status.PENDING, (), f"no evidence yet of {term.noun} ({due}): pending")
    carry: _Carry | None = None
    if carries:
        carry = e.carry[(term.id, party)] = _Carry(t, base, first, e.ev.when(first[0], t))
    disputes = [d for p in first for d in e.ev.active_disputes(e.view, p, t, term.quantity)]
    if disputes:
        found = first

        def disputed() -> Detail:
            by = "; ".join(e.wording.record(d, "otherwise") for d in disputes)
            return cite(e, found, disputes), f"{said(e, term, found)}; disputed: {by}: disputed", ()

        return Finding(Status.DISPUTED, detail=disputed)
    try:
        if _done(e, term, party, first, t):
            verified = _verifies(e, term, party, first) or _run_verified(
                e, term, party, t, new, carried
            )
            if carry is not None:
                carry.run_verified, carry.first_done = verified, first
            done_first = first
            return Finding(
                Status.MET_VERIFIED if verified else Status.MET_CLAIMED,
                detail=lambda: _done_detail(e, term, party, t, done_first, due),
            )
        earlier = _earlier(e, term, party, t, first, new, carried)
        if carry is not None:
            carry.run_verified, carry.first_done, carry.earlier = False, earlier, earlier
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
    """Evidence and words of a done action: when it was first done, verified, latest.

    The run of done groups ends at one that is not done or cannot be judged (a bound the
    condition cannot judge): the words name what was judged done, never fail.
    """
    earliest, verifying = first, first if _verifies(e, term, party, first) else None
    for g in groups(e, term, party, t, term.start):
        if g == first:
            continue
        try:
            if not _done(e, term, party, g, t):
                break
        except Unusable:
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
