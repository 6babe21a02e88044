"""What every term kind shares: the term's records in groups, and the words about them.

The kinds read the term's records for one party newest first, in *groups* of records
observed at the same instant (:func:`groups`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from cvid.agreements.explain import num
from cvid.agreements.instants import show
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status, Unusable
from cvid.evidence.record import Quantity
from cvid.evidence.units import parse_unit


def groups(
    e: Reader, term: CompiledTerm, party: str, t: int, lower: int | None
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


def what(e: Reader, term: CompiledTerm, p: int) -> str:
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


def said(e: Reader, term: CompiledTerm, ps: list[int]) -> str:
    """Who said what about the term in records ``ps``."""
    return "; ".join(e.wording.record(p, what(e, term, p)) for p in ps)


def cite(e: Reader, *groups_: list[int]) -> tuple[int, ...]:
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


def not_in_force(e: Reader, term: CompiledTerm, party: str, t: int) -> Finding:
    """``not_in_force``, saying what the latest evidence showed and when the term applies."""

    def detail() -> Detail:
        latest = next(groups(e, term, party, t, None), None)
        when = next_in_force(term, t)
        if latest is None:
            return (), f"{when}: not in force", ()
        return cite(e, latest), f"{said(e, term, latest)}; {when}: not in force", ()

    return Finding(Status.NOT_IN_FORCE, detail=detail)
