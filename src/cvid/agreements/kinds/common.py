"""What every term kind shares: the term's records in groups, and the words about them.

The kinds read the term's records for one party newest first, in *groups* of records
observed at the same instant (:func:`groups`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from cvid.agreements.evidence_index import SpanIndex, span_index
from cvid.agreements.explain import num
from cvid.agreements.instants import show
from cvid.agreements.reader import Reader, unit_suffix
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status, Unusable
from cvid.evidence import Quantity


def groups(
    e: Reader,
    term: CompiledTerm,
    party: str,
    t: int,
    lower: int | None,
    *,
    verifying: bool = False,
) -> Iterator[list[int]]:
    """Usable records of ``term`` for ``party`` speaking for ``[lower, t]``, newest group first.

    A record with a period speaks for ``t`` while ``t`` is in it (for its end after): it
    ranks at :meth:`~cvid.agreements.evidence_index.Evidence.when`, not at its start. With
    ``verifying``, only the records that verify (:meth:`Reader.verifies`): the groups are
    those of all records, each cut to its verifying records, and empty ones left out.
    """
    series = (
        e.verifying_series(term, party) if verifying else e.ev.by_value.get((party, term.quantity))
    )
    if series is None:
        return
    points = _point_groups(e, term, series.obs, series.pos, t, lower)
    if not series.spans:
        yield from points
        return
    spans = _span_groups(e, term, span_index(series, e.ev.obs, e.ev.end), t, lower)
    pending = next(spans, None)
    for group in points:
        o = e.ev.obs[group[0]]
        while pending is not None and pending[0] > o:
            yield pending[1]
            pending = next(spans, None)
        if pending is not None and pending[0] == o:
            group = sorted(group + pending[1])
            pending = next(spans, None)
        yield group
    while pending is not None:
        yield pending[1]
        pending = next(spans, None)


def _span_groups(
    e: Reader, term: CompiledTerm, ix: SpanIndex, t: int, lower: int | None
) -> Iterator[tuple[int, list[int]]]:
    """The usable period records of a series at ``t`` by the instant they speak for
    (:meth:`~cvid.agreements.evidence_index.Evidence.when`), newest first, read lazily."""
    if lower is None or t >= lower:  # records whose period still runs speak for t
        lo = bisect.bisect_left(ix.obs, t - ix.longest)
        hi = bisect.bisect_right(ix.obs, t)
        running = [p for p in ix.pos[lo:hi] if ix.key[p] >= t and e.usable(term, p, t)]
        if running:
            yield t, sorted(running)
    keys, by_key = ix.keys, ix.by_key
    j = bisect.bisect_left(keys, t) - 1  # the others speak for their key, below t
    while j >= 0:
        k = keys[j]
        if lower is not None and k < lower:
            return
        ps = []
        while j >= 0 and keys[j] == k:
            p = by_key[j]
            j -= 1
            if e.usable(term, p, t):
                ps.append(p)
        if ps:
            yield k, sorted(ps)


def _point_groups(
    e: Reader,
    term: CompiledTerm,
    obs: list[int],
    pos: list[int],
    t: int,
    lower: int | None,
) -> Iterator[list[int]]:
    vis, records, sup, ends = e.vis, e.ev.records, e.ev.sup[e.view], e.ev.end
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
            if vis[p] > t or p in ends:
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
    """The term's value in record ``p``, in words (``1,561 deployed warheads``, ``95.2 t of
    heavy water``, ``at most 500 kg of ...``), converted figures after the stated ones."""
    v = e.ev.records[p].values[term.quantity]
    if isinstance(v, Quantity):
        stated = e.amount(term, v)
        of = " of " if unit_suffix(v.unit) else " "
        if term.unit is not None and v.unit != term.unit:
            try:
                conv = e.quantity(term, p)
            except Unusable:
                return f"{stated}{of}{term.noun}"
            return f"{stated}{of}{term.noun} ({e.amount(term, conv)})"
        return f"{stated}{of}{term.noun}"
    if isinstance(v, bool):
        return f"{term.noun}: {'yes' if v else 'no'}"
    return f"{term.noun} {v!r}"


def said(e: Reader, term: CompiledTerm, ps: list[int]) -> str:
    """Who said what about the term in records ``ps`` (each record's words made once)."""
    memo = e.said
    out = []
    for p in ps:
        key = (term.id, p)
        words = memo.get(key)
        if words is None:
            words = memo[key] = e.wording.record(p, what(e, term, p))
        out.append(words)
    return "; ".join(out)


def cite(e: Reader, *groups_: list[int]) -> tuple[int, ...]:
    """The sorted log indices of records in ``groups_``."""
    index = e.ev.index
    if len(groups_) == 1 or not any(groups_[1:]):
        return tuple(index[p] for p in groups_[0])  # a group is sorted, positions in log order
    return tuple(index[p] for p in sorted({p for g in groups_ for p in g}))


def baseline_note(e: Reader, term: CompiledTerm, party: str, t: int) -> str:
    """``; against the baseline of 20 first on record (log 7)`` when the term's condition
    reads ``baseline``, so the words show what the figure was judged against; else ``""``."""
    if "baseline" not in term.condition.uses:
        return ""
    p = e.baseline_record(term, party, t)
    if p is None:
        return "; against a baseline of 0 (no figure on record)"
    return f"; against the baseline of {what(e, term, p)} first on record (log {e.ev.index[p]})"


def limit_text(term: CompiledTerm, value: float) -> str:
    """``the 1,550 limit``, ``the 100 kg U limit`` (or ``minimum``); counts go without unit."""
    return (
        f"the {num(value)}{unit_suffix(term.unit)} {'limit' if term.bound == 'max' else 'minimum'}"
    )


def next_in_force(term: CompiledTerm, t: int) -> str:
    """When the term next applies after ``t``, in words (or since when it no longer does)."""
    for c in sorted(set(term.fixed_instants())):
        if c <= t or not term.in_force_window(c):
            continue
        if term.parameter is not None:
            v = term.parameter.at(c)
            if v is None:
                continue
            return f"{limit_text(term, v)} binds from {show(c)}"
        return f"it applies from {show(c)}"
    if term.end is not None and t >= term.end:
        return f"it no longer applies (it ended on {show(term.end)})"
    param = term.parameter
    if param is not None:
        i = param.index_at(t)
        if i >= 0 and param.values[i] is None and any(v is not None for v in param.values[:i]):
            return f"its limit ended on {show(param.starts[i])} ({param.references[i]})"
    if term.start is not None and t >= term.start:
        return "it no longer applies"
    return "no date is set from which it applies"


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


def knowledge_lost(
    e: Reader, term: CompiledTerm, party: str, group: list[int], t: int
) -> int | None:
    """The newest notice of lost knowledge that ends the validity of ``group`` at ``t``.

    It counts if visible at ``t`` and uncorrected, from a verifying role of the term, about
    ``party``, observed after what ``group`` speaks for, and naming the term's value or a
    subject of ``group``'s records.
    """
    notices = e.ev.losses.get(party)
    if not notices:
        return None
    after = e.ev.when(group[0], t)
    subjects = {e.ev.records[p].subject for p in group}
    for n in reversed(notices):
        if e.vis[n] > t or e.ev.obs[n] <= after or e.ev.superseded(e.view, n, t):
            continue
        r = e.ev.records[n]
        lost = r.knowledge_lost
        if lost is None or not e.verifies(term, party, n):
            continue
        if term.quantity in lost.quantities or subjects & set(lost.subjects):
            return n
    return None
