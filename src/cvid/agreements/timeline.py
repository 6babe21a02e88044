"""The timeline: every change of status of every term and step between two instants.

A term's status can only change when something it depends on changes: one of its records
becomes visible (or is corrected or disputed), evidence goes stale, a parameter or its period
starts or ends, a deadline passes, a periodic occurrence begins or falls due. The timeline
evaluates each term at exactly those instants — never day by day — and keeps the changes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cvid.agreements.evaluator import Evaluator, Instant, as_evidence, instant
from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.instants import rfc3339
from cvid.agreements.notices import notice_instants
from cvid.agreements.package import Package
from cvid.agreements.terms import CompiledStep, CompiledTerm, Finding, OpenFinding
from cvid.evidence import Record


@dataclass(frozen=True)
class Change:
    """A term's status (or a step's state) from ``at`` on; ``before`` None at the start."""

    at: int
    subject: str  # "term" or "step"
    id: str
    party: str | None
    before: str | None
    after: str
    evidence: tuple[int, ...]
    explanation: str

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (docs/status.md)."""
        return {
            "at": rfc3339(self.at),
            "type": self.subject,
            "id": self.id,
            "party": self.party,
            "from": self.before,
            "to": self.after,
            "evidence": list(self.evidence),
            "explanation": self.explanation,
        }


def term_instants(e: Evaluator, term: CompiledTerm, party: str, lo: int, hi: int) -> list[int]:
    """``lo`` and every instant in ``(lo, hi]`` at which ``term`` may change for ``party``."""
    ev = e.ev
    out = {lo}
    out.update(term.fixed_instants())
    s = term.schedule
    if s is not None:
        for o in s.occurrences(lo - 400 * 86_400_000_000, hi):
            out.update((o, s.overdue_from(o)))
        if s.end is not None:
            out.add(s.end)  # the schedule's until: the term stops applying
    out.update(notice_instants(e, party))  # suspension, withdrawal, resumption
    for n in ev.losses.get(party, ()):
        out.add(e.vis[n])
        out.update(e.vis[q] for q in ev.superseders.get(n, ()))
    if "params" in term.condition.uses:
        out.update(param_instants(e))
    series = ev.by_value.get((party, term.quantity))
    if series is not None:
        out.update(_record_instants(e, term, party, series.pos, series.obs))
    return sorted(t for t in out if lo <= t <= hi)


_NEVER = 2**63


def param_instants(e: Evaluator) -> set[int]:
    """Every instant a parameter of the package changes (what ``params`` may change at)."""
    return {t for series in e.package.parameters.values() for t in series.starts}


def _record_instants(
    e: Evaluator, term: CompiledTerm, party: str, pos: list[int], obs: list[int]
) -> set[int]:
    """Instants the term's records (and their corrections and disputes) may change it at.

    Evidence goes stale at ``observed_at + freshness``. In the ``now`` view that instant is
    skipped when a newer record the term reads (same kinds and subject), observed by then and
    not corrected by then, decides instead: it is visible from its ``observed_at``, so the
    record going stale can no longer be the deciding one. Records of the same quantity that
    the term does not read (another subject or kind) never make the skip, and neither does a
    verifying record: a newer passing claim does not demote it, so its expiry can still turn
    ``met_verified`` into ``met_claimed``.
    """
    ev, vis = e.ev, e.vis
    fresh = term.freshness
    prune = e.view is View.NOW
    sup = ev.sup[e.view]
    out: set[int] = set()
    # Walking newest first: the observed_at of the nearest newer group of records the term
    # reads, and the instant its last uncorrected record is corrected (_NEVER: never).
    next_obs = group_obs = _NEVER
    next_until = group_until = -_NEVER
    for i in reversed(e.matching(term, party)):
        p = pos[i]
        o = obs[i]
        if o != group_obs:
            next_obs, next_until = group_obs, group_until
            group_obs, group_until = o, -_NEVER
        group_until = max(group_until, sup.get(p, _NEVER))
        out.add(vis[p])
        end = ev.end.get(p)
        if end is not None:
            out.add(end)  # a period record's end: the instant it speaks for stops moving
            if fresh is not None:
                out.add(end + fresh)
        for q in ev.superseders.get(p, ()):
            out.add(vis[q])
        for d in ev.disputers.get(p, ()):
            out.add(vis[d])
            out.update(vis[q] for q in ev.superseders.get(d, ()))
        if fresh is not None:
            expiry = o + fresh
            if not (prune and next_obs <= expiry < next_until) or e.verifies(term, party, p):
                out.add(expiry)
    return out


def _step_instants(e: Evaluator, step: CompiledStep, lo: int, hi: int) -> list[int]:
    out: set[int] = set()
    if step.condition is not None and "params" in step.condition.uses:
        out.update(param_instants(e))
    series = e.ev.by_subject.get((step.by, step.subject))
    for p in series.pos if series else ():
        out.add(e.vis[p])
        out.update(e.vis[q] for q in e.ev.superseders.get(p, ()))
    out.update(notice_instants(e, step.by))
    if step.owed_from is not None:
        out.add(step.owed_from)
    return sorted(t for t in out if lo < t <= hi)


def timeline(
    package: Package,
    evidence: Evidence | Iterable[tuple[int, Record]],
    start: Instant,
    end: Instant,
    view: View | str = View.NOW,
) -> list[Change]:
    """Every change of status in ``[start, end]``, in time order (package order within one).

    The first entry of each term/party and step is its state at ``start`` (``before`` None).
    Pure and deterministic, like :func:`cvid.agreements.evaluate`.
    """
    e = Evaluator(package, as_evidence(evidence), View(view))
    lo, hi = instant(start), instant(end)
    changes: list[tuple[int, int, Change]] = []
    order = 0
    history: dict[tuple[str, str], list[int]] = {}
    terms = {t.id: t for t in package.terms}
    for term in package.terms:
        for party in term.parties:
            prev: Finding | None = None
            at: list[int] = []
            opened: int | None = None
            for t in term_instants(e, term, party, lo, hi):
                f = e.term(term, party, t)
                if prev is None or f.status is not prev.status:
                    before = None if prev is None else prev.status.value
                    change = Change(
                        t, "term", term.id, party, before, f.status.value, f.evidence, f.explanation
                    )
                    changes.append((t, order, change))
                    at.append(t)
                found = f.open_finding
                now_open = None if found is None else found.opened_at
                if now_open != opened:
                    changes.append((t, order, _finding_change(t, term.id, party, opened, found)))
                    opened = now_open
                prev = f
            history[(term.id, party)] = at
            order += 1
        e.forget()
    for step in package.steps:
        instants = {lo, *_step_instants(e, step, lo, hi)}
        for key in step.cites:
            instants.update(history.get(key, ()))
        for other in step.after:  # a step it waits on changes
            instants.update(history.get(("step", other), ()))
        history[("step", step.id)] = at = []
        state = None
        for t in sorted(instants):
            findings = {k: e.term(terms[k[0]], k[1], t) for k in step.cites}
            new, cited, why = e.step(step, findings, t)
            if new is not state:
                before = None if state is None else state.value
                changes.append(
                    (t, order, Change(t, "step", step.id, None, before, new.value, cited, why))
                )
                at.append(t)
                state = new
        order += 1
    changes.sort(key=lambda c: (c[0], c[1]))
    return [c for _, _, c in changes]


def _finding_change(
    t: int, term: str, party: str, was: int | None, found: OpenFinding | None
) -> Change:
    """A finding opening (``to`` ``open``) or closing (``to`` ``closed``) at ``t``."""
    if found is None:
        text = f"the finding open since {rfc3339(was or t)} is closed: a verifying record meets it"
        return Change(t, "finding", term, party, "open", "closed", (), text)
    before = None if was is None else "open"
    return Change(t, "finding", term, party, before, "open", found.evidence, found.explanation)


def statuses_between(changes: list[Change], term: str, party: str | None) -> list[str]:
    """The sequence of statuses one term/party (or step) takes in a timeline."""
    return [
        c.after for c in changes if c.id == term and c.party == party and c.subject != "finding"
    ]


def status_at(changes: list[Change], term: str, party: str | None, t: int) -> str | None:
    """The status of a term/party in a timeline at ``t`` (None before its first entry)."""
    mine = [c for c in changes if c.id == term and c.party == party and c.subject != "finding"]
    i = bisect.bisect_right([c.at for c in mine], t) - 1
    return None if i < 0 else mine[i].after
