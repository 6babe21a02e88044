"""Reading records for a term: matching, visibility, typed and converted values, conditions.

:class:`Reader` is what every term kind (:mod:`cvid.agreements.kinds`) and the steps
(:mod:`cvid.agreements.steps`) read evidence through. It knows nothing of how a kind decides
a status, so the kinds depend on it and never on the evaluator that dispatches to them.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Any

from cvid.agreements.cel import ConditionError
from cvid.agreements.evidence_index import Evidence, Series, View
from cvid.agreements.explain import Wording, num
from cvid.agreements.instants import from_us
from cvid.agreements.package import Package
from cvid.agreements.terms import CompiledTerm, OpenFinding, Undecided, Unusable
from cvid.errors import InputError
from cvid.evidence import Quantity, convert, parse_unit


@functools.lru_cache(maxsize=1024)
def unit_suffix(unit: str | None) -> str:
    """`` kg`` for a unit to show after a number; nothing for a count or no unit."""
    if unit is None:
        return ""
    try:
        counted = parse_unit(unit).unit.dimension.startswith("count")
    except InputError:
        counted = False
    return "" if counted else f" {unit}"


@dataclass(frozen=True)
class Track:
    """When the groups of one term's records for one party can change other than by newer
    records: what :meth:`Reader.newer` reads (made once per term and party)."""

    #: The matching records by the instant each becomes visible, and those instants.
    pos: list[int]
    vis: list[int]
    #: The instants at which a matching record is corrected (hidden), ascending.
    sups: list[int]
    #: Disjoint intervals, ascending, in which a matching period record is visible and still
    #: moves (it speaks for the instant itself until its period ends), or becomes visible.
    span_lo: list[int]
    span_hi: list[int]


class Reader:
    """Reads the records of one evidence index for the terms of one package, in one view.

    It memoizes what does not depend on the instant (converted values, and each record's
    verdict, :meth:`judge`, for conditions that use neither ``as_of`` nor ``params``, keyed by
    limit and baseline), so a timeline that evaluates a term at many instants evaluates each
    record's condition once. It keeps, per term and party, what the kind's walks back over the
    records found at the last instant (:attr:`carry`), and says when a later instant may take
    it up (:meth:`newer`): then a timeline reads only what became visible in between.
    """

    def __init__(self, package: Package, evidence: Evidence, view: View) -> None:
        """Raises :class:`InputError` if ``evidence`` cannot say when its records became
        visible in ``view`` (as known then under clock ``log`` without logged times)."""
        self.package = package
        self.ev = evidence
        self.view = view
        if view not in evidence.vis:
            raise InputError(f"cannot evaluate as known {view.value}: {evidence.unavailable[view]}")
        self.vis = evidence.vis[view]
        self.wording = Wording(evidence)
        self._values: dict[tuple[str, int], Any] = {}
        self._quantities: dict[tuple[str, int], Quantity] = {}
        self._verifying: dict[tuple[str, str], Series | None] = {}
        self._judged: dict[tuple[str, int, float | None, float | None], bool | Unusable] = {}
        self._base: tuple[tuple[str, str, int], int | None] | None = None
        #: Open findings by (term id, party, opened at, *opening records), made once each.
        self.findings: dict[tuple[str | int, ...], OpenFinding] = {}
        #: Who said what about a term in a record, by (term id, position): the words of
        #: :func:`cvid.agreements.kinds.common.said`, which depend on neither party nor instant.
        self.said: dict[tuple[str, int], str] = {}
        #: What a kind's walks found at the last instant a term was evaluated for a party,
        #: by (term id, party): the next, later instant starts from it when
        #: :meth:`newer` says only newer records came in between.
        self.carry: dict[tuple[str, str], Any] = {}
        self._tracks: dict[tuple[str, str], Track] = {}
        self._matching: dict[tuple[str, str], list[int]] = {}

    def forget(self) -> None:
        """Drop the memos (a timeline calls this between terms to bound memory)."""
        self._values.clear()
        self._quantities.clear()
        self._verifying.clear()
        self._judged.clear()
        self._base = None
        self.findings.clear()
        self.said.clear()
        self.carry.clear()
        self._tracks.clear()
        self._matching.clear()

    def matching(self, term: CompiledTerm, party: str) -> list[int]:
        """The indices in ``party``'s series for ``term`` of the records of a kind and subject
        it reads (:meth:`matches`), ascending (memoized: the instants, the track and the
        verifying records are each read from them)."""
        key = (term.id, party)
        got = self._matching.get(key)
        if got is not None:
            return got
        series = self.ev.by_value.get((party, term.quantity))
        records, kinds, subject = self.ev.records, term.kinds, term.subject
        got = self._matching[key] = (
            []
            if series is None
            else [
                i
                for i, p in enumerate(series.pos)
                if records[p].kind in kinds and (subject is None or records[p].subject == subject)
            ]
        )
        return got

    def track(self, term: CompiledTerm, party: str) -> Track:
        """The :class:`Track` of ``term``'s records for ``party`` (memoized)."""
        key = (term.id, party)
        got = self._tracks.get(key)
        if got is not None:
            return got
        series = self.ev.by_value.get((party, term.quantity))
        mine = [series.pos[i] for i in self.matching(term, party)] if series is not None else []
        vis, sup, end, obs = self.vis, self.ev.sup[self.view], self.ev.end, self.ev.obs
        mine.sort(key=lambda p: vis[p])
        spans = sorted((min(vis[p], obs[p]), max(vis[p], obs[p], end[p])) for p in mine if p in end)
        lo: list[int] = []
        hi: list[int] = []
        for a, b in spans:
            if lo and a <= hi[-1]:
                hi[-1] = max(hi[-1], b)
            else:
                lo.append(a)
                hi.append(b)
        got = self._tracks[key] = Track(
            pos=mine,
            vis=[vis[p] for p in mine],
            sups=sorted(sup[p] for p in mine if p in sup),
            span_lo=lo,
            span_hi=hi,
        )
        return got

    def newer(
        self, term: CompiledTerm, party: str, t0: int, t1: int, head: int
    ) -> list[list[int]] | None:
        """The groups of ``term``'s records for ``party`` at ``t1`` newer than those at ``t0``
        (``t0 <= t1``, the newest then speaking for ``head``), newest first, if the others
        are those at ``t0``: no record of them corrected in ``(t0, t1]``, none of a period
        visible and moving in ``[t0, t1]``, every record becoming visible in ``(t0, t1]``
        observed after ``head``; else None. Then a walk back at ``t1`` reads these groups
        and takes up what the walk at ``t0`` found."""
        if t1 < t0:
            return None
        tr = self.track(term, party)
        sups = tr.sups
        i = bisect.bisect_right(sups, t0)
        if i < len(sups) and sups[i] <= t1:
            return None
        j = bisect.bisect_right(tr.span_lo, t1) - 1
        if j >= 0 and tr.span_hi[j] >= t0:
            return None
        vis = tr.vis
        lo = bisect.bisect_right(vis, t0)
        if lo == len(vis) or vis[lo] > t1:
            return []
        hi = bisect.bisect_right(vis, t1)
        obs, sup = self.ev.obs, self.ev.sup[self.view]
        if hi == lo + 1:  # one record becomes visible
            p = tr.pos[lo]
            if obs[p] <= head:
                return None
            return [[p]] if p not in sup or sup[p] > t1 else []
        got = []
        for p in tr.pos[lo:hi]:
            if obs[p] <= head:
                return None
            if p not in sup or sup[p] > t1:  # corrected before it is visible: never usable
                got.append((-obs[p], p))
        got.sort()
        out: list[list[int]] = []
        last = None
        for o, p in got:
            if o != last:
                out.append([])
                last = o
            out[-1].append(p)
        return out

    # -- records -----------------------------------------------------------------------------

    def matches(self, term: CompiledTerm, p: int) -> bool:
        """Whether record ``p`` is of a kind and subject the term reads."""
        r = self.ev.records[p]
        return r.kind in term.kinds and (term.subject is None or r.subject == term.subject)

    def usable(self, term: CompiledTerm, p: int, t: int) -> bool:
        """Whether record ``p`` bears on ``term`` at ``t``: visible, matching, not corrected."""
        return (
            self.vis[p] <= t and self.matches(term, p) and not self.ev.superseded(self.view, p, t)
        )

    def verifies(self, term: CompiledTerm, party: str, p: int) -> bool:
        """Whether record ``p`` verifies (its submitter is not the party, has a verifying role)."""
        who = self.ev.records[p].submitter
        if who == party:
            return False
        return bool(self.package.roles.get(who, frozenset()) & term.verified_by)

    def verifying_series(self, term: CompiledTerm, party: str) -> Series | None:
        """The records of ``party``'s series for ``term`` that match it and verify it, in
        the series' order (memoized: an open finding walks only these)."""
        key = (term.id, party)
        if key in self._verifying:
            return self._verifying[key]
        series = self.ev.by_value.get((party, term.quantity))
        out: Series | None = None
        if series is not None:
            keep = [
                i for i in self.matching(term, party) if self.verifies(term, party, series.pos[i])
            ]
            if keep:
                pos = [series.pos[i] for i in keep]
                spans = set(series.spans)
                out = Series(
                    pos=pos, obs=[series.obs[i] for i in keep], spans=[p for p in pos if p in spans]
                )
        self._verifying[key] = out
        return out

    def quantity(self, term: CompiledTerm, p: int) -> Quantity:
        """Record ``p``'s quantity for a term on a double value, in the term's unit."""
        key = (term.id, p)
        q = self._quantities.get(key)
        if q is not None:
            return q
        v = self.ev.records[p].values[term.quantity]
        idx = self.ev.index[p]
        if not isinstance(v, Quantity):
            raise Unusable(f"log {idx}: {term.quantity} is not a quantity")
        if term.unit is not None and v.unit != term.unit:
            try:
                v = convert(v, term.unit, material=term.material, enrichment=term.enrichment)
            except InputError as exc:
                raise Unusable(f"log {idx}: {exc}") from None
        self._quantities[key] = v
        return v

    def value(self, term: CompiledTerm, p: int) -> Any:
        """Record ``p``'s value of the term's quantity, typed (and converted) for the term.

        For a bound or an interval this is its stated value (500 of "at most 500"); the
        limit kinds judge those through :meth:`judge`.
        """
        key = (term.id, p)
        if key in self._values:
            return self._values[key]
        v = self.ev.records[p].values[term.quantity]
        idx = self.ev.index[p]
        if term.value_type == "double":
            out: Any = float(self.quantity(term, p).value)
        elif term.value_type == "bool":
            if not isinstance(v, bool):
                raise Unusable(f"log {idx}: {term.quantity} is not yes/no")
            out = v
        else:
            if not isinstance(v, str):
                raise Unusable(f"log {idx}: {term.quantity} is not a text")
            out = v
        self._values[key] = out
        return out

    def judge(
        self, term: CompiledTerm, party: str, p: int, t: int, limit: float | None = None
    ) -> bool:
        """Whether record ``p`` meets the term at ``t``, judging bounds and intervals soundly.

        A figure goes to the condition (:meth:`check`). A bound or an interval (``<= 500``,
        ``500 ± 5``) against the default ``value <= limit`` (or ``>=``) condition is met when
        every value it allows meets the limit, violated when none does, and otherwise decides
        nothing (:class:`Undecided`). Other conditions cannot judge a bound: :class:`Unusable`.
        """
        uses = term.condition.uses
        if "as_of" in uses or "params" in uses:
            return self._judge(term, party, p, t, limit)
        # Beyond the baseline, neither the instant nor the party changes the verdict on one
        # record: made once per limit and baseline.
        base = self.baseline(term, party, t) if "baseline" in uses else None
        key = (term.id, p, limit, base)
        got = self._judged.get(key)
        if got is None:
            try:
                got = self._judge(term, party, p, t, limit)
            except Unusable as exc:
                got = exc
            self._judged[key] = got
        if isinstance(got, Unusable):
            raise type(got)(str(got))
        return got

    def _judge(self, term: CompiledTerm, party: str, p: int, t: int, limit: float | None) -> bool:
        if term.value_type != "double":
            return self.check(term, party, p, t, limit)
        q = self.quantity(term, p)
        span = q.interval()
        if span is None:
            if limit is not None:
                # The default conditions on a figure compare two doubles, as CEL does
                # (IEEE 754: false with a NaN); no CEL call for each record of a limit.
                source = term.condition.source
                if source == "value <= limit":
                    return float(q.value) <= limit
                if source == "value >= limit":
                    return float(q.value) >= limit
            return self.check(term, party, p, t, limit)
        where = f"log {self.ev.index[p]}"
        if limit is None or term.condition.source not in ("value <= limit", "value >= limit"):
            raise Unusable(f"{where}: the term's condition cannot judge a bound or an interval")
        lo, lo_in, hi, hi_in = span
        if term.bound == "max":
            if hi <= limit:
                return True
            if lo > limit or (lo == limit and not lo_in):
                return False
        else:
            if lo >= limit:
                return True
            if hi < limit or (hi == limit and not hi_in):
                return False
        raise Undecided(
            f"{where}: {self.amount(term, q)} against the {self.amount_of(term, limit)} "
            f"{'limit' if term.bound == 'max' else 'minimum'} decides nothing"
        )

    def amount(self, term: CompiledTerm, q: Quantity) -> str:
        """A quantity in words with its unit and any bound: ``at most 500 kg``, ``95.2 t``."""
        words = {"<": "below ", "<=": "at most ", ">=": "at least ", ">": "above "}
        text = f"{words[q.bound] if q.bound else ''}{num(q.value)}"
        if q.uncertainty:
            text += f" ± {num(q.uncertainty)}"
        return text + unit_suffix(q.unit)

    def amount_of(self, term: CompiledTerm, value: float) -> str:
        """A number in the term's unit: ``500 kg``; counts go without unit."""
        return num(value) + unit_suffix(term.unit)

    def baseline_record(self, term: CompiledTerm, party: str, t: int) -> int | None:
        """The first usable record of the term's quantity for ``party`` at ``t``, if any
        (the last one asked for is kept: an evaluation judges many records at one ``t``)."""
        key = (term.id, party, t)
        last = self._base
        if last is not None and last[0] == key:
            return last[1]
        series = self.ev.by_value.get((party, term.quantity))
        found = None
        for p in series.pos if series else ():
            if self.usable(term, p, t):
                found = p
                break
        self._base = (key, found)
        return found

    def baseline(self, term: CompiledTerm, party: str, t: int) -> float:
        """The first usable value of the term's quantity for ``party`` at ``t`` (0 if none)."""
        p = self.baseline_record(term, party, t)
        return 0.0 if p is None else float(self.value(term, p))

    def check(
        self, term: CompiledTerm, party: str, p: int, t: int, limit: float | None = None
    ) -> bool:
        """Evaluate the term's condition on record ``p`` at ``t``; :class:`Unusable` if it fails."""
        cond = term.condition
        uses = cond.uses
        base = self.baseline(term, party, t) if "baseline" in uses else None
        r = self.ev.records[p]
        data: dict[str, Any] = {}
        if "value" in uses:
            data["value"] = self.value(term, p)
        if "limit" in uses:
            data["limit"] = limit
        if "values" in uses:
            data["values"] = self.ev.plain_values(p)
        if base is not None:
            data["baseline"] = base
        if "params" in uses:
            data["params"] = self.params(t)
        for name in ("party", "submitter", "subject"):
            if name in uses:
                data[name] = getattr(r, name) or ""
        if "kind" in uses:
            data["kind"] = r.kind.value
        if "observed_at" in uses:
            data["observed_at"] = from_us(self.ev.obs[p])
        if "as_of" in uses:
            data["as_of"] = from_us(t)
        try:
            ok = cond(data)
        except ConditionError as exc:
            where = f"log {self.ev.index[p]}"
            raise Unusable(f"condition {cond.source!r} fails on {where}: {exc}") from None
        return ok

    def params(self, t: int) -> dict[str, float]:
        """Every parameter with a value at ``t``."""
        out = {}
        for name, series in self.package.parameters.items():
            v = series.at(t)
            if v is not None:
                out[name] = v
        return out
