"""The compliance engine: each term's status per party, and each step's state, at an instant.

``evaluate(package, evidence, as_of, view)`` is a pure function: the same package, records,
instant and view give the same result, byte for byte once serialized. See
:mod:`cvid.agreements.terms` for the statuses and :doc:`docs/agreements.md` for how each term
kind reaches them.

Usage::

    from cvid.agreements import evaluate, load_package
    result = evaluate(load_package(Path("examples/new-start")), records, "2018-02-05", "now")
    for t in result.terms:
        print(t.term, t.party, t.status, t.evidence, t.explanation)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cvid.agreements.cel import ConditionError
from cvid.agreements.explain import Wording
from cvid.agreements.index import ClockMode, Evidence, View
from cvid.agreements.instants import from_us, parse_instant, rfc3339, to_us
from cvid.agreements.package import Package
from cvid.agreements.periodic import evaluate_periodic
from cvid.agreements.state import evaluate_action, evaluate_state
from cvid.agreements.terms import (
    CompiledStep,
    CompiledTerm,
    Finding,
    Status,
    StepState,
    Unusable,
)
from cvid.errors import InputError
from cvid.evidence.record import Quantity, Record
from cvid.evidence.units import convert

Instant = dt.datetime | str | int


@dataclass(frozen=True)
class TermResult:
    """One term's status for one party."""

    term: str
    party: str
    kind: str
    clause: str
    status: Status
    evidence: tuple[int, ...]
    explanation: str
    facts: tuple[tuple[str, object], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (docs/status.md)."""
        return {
            "term": self.term,
            "party": self.party,
            "kind": self.kind,
            "clause": self.clause,
            "status": self.status.value,
            "evidence": list(self.evidence),
            "explanation": self.explanation,
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class StepResult:
    """One reciprocal step's state."""

    step: str
    by: str
    clause: str
    state: StepState
    evidence: tuple[int, ...]
    explanation: str

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (docs/status.md)."""
        return {
            "step": self.step,
            "by": self.by,
            "clause": self.clause,
            "state": self.state.value,
            "evidence": list(self.evidence),
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class Evaluation:
    """Every term's status and every step's state at one instant, in one view."""

    agreement: str
    package_sha256: str | None
    as_of: int
    view: View
    terms: tuple[TermResult, ...]
    steps: tuple[StepResult, ...]
    #: what stood for "known" in the ``then`` view (the evidence's clock)
    clock: ClockMode = ClockMode.REPORTED

    @property
    def violated(self) -> bool:
        """Whether any term is violated (a finding: ``cvid status`` exits 1)."""
        return any(t.status is Status.VIOLATED for t in self.terms)

    def to_json(self, checkpoint: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The status document of docs/status.md (``checkpoint``: origin, size, root)."""
        counts: dict[str, int] = {}
        for t in self.terms:
            counts[t.status.value] = counts.get(t.status.value, 0) + 1
        return {
            "format": "cvid-status/1",
            "agreement": self.agreement,
            "package_sha256": self.package_sha256,
            "checkpoint": dict(checkpoint) if checkpoint is not None else None,
            "as_of": rfc3339(self.as_of),
            "view": self.view.value,
            "clock": self.clock.value,
            "summary": dict(sorted(counts.items())),
            "terms": [t.to_json() for t in self.terms],
            "steps": [s.to_json() for s in self.steps],
        }


def instant(value: Instant) -> int:
    """An instant given as a datetime, a date/RFC 3339 text or microseconds, as microseconds."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise InputError(f"not a date or instant: {value!r} ({exc})") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("an instant must carry a time zone")
    return to_us(value)


def as_evidence(evidence: Evidence | Iterable[tuple[int, Record]]) -> Evidence:
    """``evidence`` indexed (unchanged if it already is)."""
    return evidence if isinstance(evidence, Evidence) else Evidence(evidence)


class Evaluator:
    """Evaluates terms and steps of one package over one evidence index in one view.

    It memoizes what does not depend on the instant (converted values, condition results
    that use neither ``as_of``, ``params`` nor ``baseline``), so a timeline that evaluates a
    term at many instants evaluates each record's condition once.
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
        self._conds: dict[tuple[str, int, float | None, float | None], bool] = {}

    def forget(self) -> None:
        """Drop the memos (a timeline calls this between terms to bound memory)."""
        self._values.clear()
        self._conds.clear()

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

    def value(self, term: CompiledTerm, p: int) -> Any:
        """Record ``p``'s value of the term's quantity, typed (and converted) for the term."""
        key = (term.id, p)
        if key in self._values:
            return self._values[key]
        r = self.ev.records[p]
        v = r.values[term.quantity]
        idx = self.ev.index[p]
        if term.value_type == "double":
            if not isinstance(v, Quantity):
                raise Unusable(f"log {idx}: {term.quantity} is not a quantity")
            if term.unit is not None and v.unit != term.unit:
                try:
                    v = convert(v, term.unit, material=term.material)
                except InputError as exc:
                    raise Unusable(f"log {idx}: {exc}") from None
            out: Any = float(v.value)
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

    def baseline(self, term: CompiledTerm, party: str, t: int) -> float:
        """The first usable value of the term's quantity for ``party`` at ``t``."""
        series = self.ev.by_value.get((party, term.quantity))
        for p in series.pos if series else ():
            if self.usable(term, p, t):
                return float(self.value(term, p))
        return 0.0

    def check(
        self, term: CompiledTerm, party: str, p: int, t: int, limit: float | None = None
    ) -> bool:
        """Evaluate the term's condition on record ``p`` at ``t``; :class:`Unusable` if it fails."""
        cond = term.condition
        uses = cond.uses
        cacheable = not (uses & {"as_of", "params"})
        base = self.baseline(term, party, t) if "baseline" in uses else None
        key = (term.id, p, limit, base)
        if cacheable and key in self._conds:
            return self._conds[key]
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
        if cacheable:
            self._conds[key] = ok
        return ok

    def params(self, t: int) -> dict[str, float]:
        """Every parameter with a value at ``t``."""
        out = {}
        for name, series in self.package.parameters.items():
            v = series.at(t)
            if v is not None:
                out[name] = v
        return out

    # -- terms and steps ---------------------------------------------------------------------

    def term(self, term: CompiledTerm, party: str, t: int) -> Finding:
        """The status of ``term`` for ``party`` at ``t``."""
        if term.kind in ("limit", "prohibition"):
            return evaluate_state(self, term, party, t)
        if term.kind == "action":
            return evaluate_action(self, term, party, t)
        return evaluate_periodic(self, term, party, t)

    def step(
        self, step: CompiledStep, findings: Mapping[tuple[str, str], Finding], t: int
    ) -> tuple[StepState, tuple[int, ...], str]:
        """A step's state at ``t`` given every term's finding at ``t``."""
        cited = [findings[k] for k in step.cites if k in findings]
        evidence = {i for f in cited for i in f.evidence}
        if step.condition is not None:
            status = {f"{term}/{party}": f.status.value for (term, party), f in findings.items()}
            data = {"status": status, "params": self.params(t), "as_of": from_us(t)}
            try:
                ok = step.condition({k: v for k, v in data.items() if k in step.condition.uses})
            except ConditionError as exc:
                ok = False
                why = f"its condition fails: {exc}"
            else:
                why = f"condition {step.condition.source!r} {'holds' if ok else 'does not hold'}"
        else:
            ok = all(findings[k].status is Status.MET_VERIFIED for k in step.requires)
            parts = [
                f"{term}/{party} {findings[(term, party)].status.value}"
                for term, party in step.requires
            ]
            why = ", ".join(parts)
        delivery = self.delivery(step, t)
        if delivery is not None:
            said = self.wording.record(delivery, step.subject.replace("-", " "))
            note = "" if ok else f"; its requirement no longer holds ({why})"
            return (
                StepState.DELIVERED,
                tuple(sorted({*evidence, self.ev.index[delivery]})),
                f"{said}: delivered{note}",
            )
        if ok:
            return (
                StepState.UNLOCKED,
                tuple(sorted(evidence)),
                f"{why}: owed by {step.by}: unlocked",
            )
        return StepState.LOCKED, tuple(sorted(evidence)), f"{why}: locked"

    def delivery(self, step: CompiledStep, t: int) -> int | None:
        """The latest visible, uncorrected record submitted by the owing party showing delivery.

        A record *about* the owing party from anyone else (a newspaper, the other side) does
        not deliver its step: only the party that owes it can.
        """
        series = self.ev.by_subject.get((step.by, step.subject))
        if series is None:
            return None
        for p in reversed(series.pos):
            r = self.ev.records[p]
            if (
                self.vis[p] <= t
                and r.kind in step.kinds
                and r.submitter == step.by
                and not self.ev.superseded(self.view, p, t)
            ):
                return p
        return None

    def evaluate(self, t: int) -> Evaluation:
        """Every term and step at ``t``."""
        findings: dict[tuple[str, str], Finding] = {}
        results = []
        for term in self.package.terms:
            for party in term.parties:
                f = self.term(term, party, t)
                findings[(term.id, party)] = f
                results.append(
                    TermResult(
                        term.id,
                        party,
                        term.kind,
                        term.clause_ref,
                        f.status,
                        f.evidence,
                        f.explanation,
                        f.facts,
                    )
                )
        steps = []
        for step in self.package.steps:
            state, evidence, why = self.step(step, findings, t)
            steps.append(StepResult(step.id, step.by, step.clause_ref, state, evidence, why))
        return Evaluation(
            self.package.id,
            self.package.sha256,
            t,
            self.view,
            tuple(results),
            tuple(steps),
            self.ev.clock,
        )


def evaluate(
    package: Package,
    evidence: Evidence | Iterable[tuple[int, Record]],
    as_of: Instant,
    view: View | str = View.NOW,
) -> Evaluation:
    """Each term's status per party and each step's state at ``as_of``, in ``view``.

    ``evidence`` is an :class:`Evidence` index or ``(log index, record)`` pairs (a
    :class:`~cvid.agreements.index.LedgerRecords` brings its ledger's clock and logged times;
    plain pairs are clock ``reported``). Pure and deterministic: nothing is read or written,
    and equal inputs give equal results.
    """
    return Evaluator(package, as_evidence(evidence), View(view)).evaluate(instant(as_of))
