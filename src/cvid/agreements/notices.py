"""A party's notices of withdrawal, suspension, countermeasure and resumption.

A party that withdraws from an agreement, suspends it, or takes a countermeasure under it says
so in a ``notice`` record it submits about itself (``party`` = ``submitter``), with the text
value ``notice``:

- ``withdrawal``: from its effective date the party's terms are ``withdrawn`` and the steps
  it owes (not yet delivered) are ``withdrawn``;
- ``suspension`` or ``countermeasure``: they are ``suspended``;
- ``resumption``: ends the effect of its earlier notices.

``effective`` (a text value, a date or an RFC 3339 instant) is when it takes effect (default:
the record's ``observed_at``; a withdrawal often takes effect months after its notice), and
``scope`` (text: ids of terms and steps, separated by commas or blanks) limits it to those
(default: everything the party owes). At T the latest notice in effect by T that covers a term
or step decides (by effective date, then log order); a corrected (superseded) notice counts no
more. Admission refuses a malformed notice of effect (an unknown ``notice``, a party other
than the submitter, an ``effective`` that is not a date, a ``scope`` naming no term or step:
:mod:`cvid.evidence.reserved`, :class:`cvid.agreements.versions.PackageRecordCheck`); one that
reaches the engine otherwise (a scenario's records, an older log) is ignored, like any record
that is not about a term.

The status says so — ``suspended`` or ``withdrawn``, never a silent ``overdue`` — and keeps what
the term would be without the notice in its explanation and in ``facts.underlying_status``. A
term not in force stays ``not_in_force``; a step already delivered stays delivered (a notice
changes what a party owes, not what it did).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

from cvid.agreements.evidence_index import Evidence
from cvid.agreements.instants import rfc3339, show, to_us
from cvid.agreements.model import to_instant
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Detail, Finding, Status
from cvid.evidence import Kind, reserved

#: The value ``notice`` a notice of effect carries, and what each means for the party.
EFFECTS = reserved.EFFECTS


@dataclass(frozen=True)
class Notice:
    """A notice of effect: the record's position, its party, what and from when, and scope."""

    p: int
    party: str
    effect: str
    effective: int
    scope: frozenset[str] | None

    @property
    def withdrawal(self) -> bool:
        """Whether it withdraws (else it suspends; a resumption is never in effect)."""
        return self.effect == "withdrawal"


_CACHE: weakref.WeakKeyDictionary[Evidence, dict[str, tuple[Notice, ...]]] = (
    weakref.WeakKeyDictionary()
)


def notices(ev: Evidence, party: str) -> tuple[Notice, ...]:
    """``party``'s notices of effect in ``ev``, ordered by (effective date, log order).

    Read from the records carrying a value ``notice`` for the party (``ev.by_value``): a
    party without one costs two dictionary look-ups, whatever the size of the log.
    """
    memo = _CACHE.get(ev)
    if memo is None:
        memo = _CACHE[ev] = {}
    got = memo.get(party)
    if got is not None:
        return got
    series = ev.by_value.get((party, "notice"))
    out: list[Notice] = []
    for p in series.pos if series is not None else ():
        r = ev.records[p]
        if r.kind is not Kind.NOTICE or r.submitter != party:
            continue
        effect = r.values.get("notice")
        if not isinstance(effect, str) or effect not in EFFECTS:
            continue
        effective = ev.obs[p]
        text = r.values.get("effective")
        if isinstance(text, str):
            try:
                effective = to_us(to_instant(text))
            except (ValueError, TypeError, AttributeError):
                continue
        elif text is not None:
            continue
        scope_text = r.values.get("scope")
        scope = (
            frozenset(x for x in re.split(r"[\s,]+", scope_text) if x)
            if isinstance(scope_text, str)
            else None
        )
        out.append(Notice(p, party, effect, effective, scope))
    out.sort(key=lambda n: (n.effective, n.p))
    memo[party] = got = tuple(out)
    return got


def in_effect(e: Reader, party: str, item: str, t: int) -> Notice | None:
    """The notice that decides what ``party`` owes for term or step ``item`` at ``t``, if any."""
    found: Notice | None = None
    for n in notices(e.ev, party):
        if n.effective > t:
            break
        if e.vis[n.p] > t or e.ev.superseded(e.view, n.p, t):
            continue
        if n.scope is None or item in n.scope:
            found = n
    return None if found is None or found.effect == "resumption" else found


def notice_instants(e: Reader, party: str) -> set[int]:
    """Instants the party's notices may change what it owes at (effect, correction)."""
    out: set[int] = set()
    for n in notices(e.ev, party):
        out.add(max(n.effective, e.vis[n.p]))
        out.update(e.vis[q] for q in e.ev.superseders.get(n.p, ()))
    return out


def describe(e: Reader, n: Notice) -> str:
    """``KP notified withdrawal as of 2003-01-10 (log 4), effective 2003-04-10``."""
    said = e.wording.record(n.p, n.effect)
    return f"{said}, effective {show(n.effective)}"


def suspend_term(e: Reader, term: CompiledTerm, party: str, t: int, f: Finding) -> Finding:
    """``f`` as the party's notice in effect at ``t`` leaves it: suspended, withdrawn, or as is."""
    if f.status is Status.NOT_IN_FORCE:
        return f
    n = in_effect(e, party, term.id, t)
    if n is None:
        return f
    status = Status.WITHDRAWN if n.withdrawal else Status.SUSPENDED

    def detail() -> Detail:
        idx = e.ev.index[n.p]
        why = f"{describe(e, n)}: {status.value}; without it: {f.status.value}"
        if f.explanation:
            why += f" ({f.explanation})"
        facts = (
            *f.facts,
            ("underlying_status", f.status.value),
            ("notice", idx),
            ("effective", rfc3339(n.effective)),
        )
        return tuple(sorted({*f.evidence, idx})), why, facts

    return Finding(status, detail=detail, open_finding=f.open_finding)
