"""The evaluator: every term's status per party and every step's state at an instant.

:class:`Evaluator` reads records through :class:`~cvid.agreements.reader.Reader`, decides each
term through its kind's module (:mod:`cvid.agreements.kinds`) and each step through
:mod:`cvid.agreements.steps`. The kinds and the steps never import this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.instants import parse_instant, to_us
from cvid.agreements.kinds import evaluate_term
from cvid.agreements.notices import suspend_term
from cvid.agreements.package import Package
from cvid.agreements.reader import Reader
from cvid.agreements.results import Evaluation, StepResult, TermResult
from cvid.agreements.steps import evaluate_step
from cvid.agreements.terms import CompiledStep, CompiledTerm, Finding, StepState
from cvid.errors import InputError
from cvid.evidence import Record

Instant = dt.datetime | str | int


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


class Evaluator(Reader):
    """Evaluates terms and steps of one package over one evidence index in one view."""

    def __init__(self, package: Package, evidence: Evidence, view: View) -> None:
        super().__init__(package, evidence, view)
        #: The parties with a record carrying a value ``notice``: only their terms can be
        #: suspended or withdrawn, so the others skip the notice look-up altogether.
        self.noticed = frozenset(p for p in package.roles if (p, "notice") in evidence.by_value)

    def term(self, term: CompiledTerm, party: str, t: int) -> Finding:
        """The status of ``term`` for ``party`` at ``t``: its kind decides, then the party's
        notice of suspension or withdrawal in effect at ``t``, if any, says what it owes."""
        f = evaluate_term(self, term, party, t)
        return suspend_term(self, term, party, t, f) if party in self.noticed else f

    def step(
        self,
        step: CompiledStep,
        findings: Mapping[tuple[str, str], Finding],
        t: int,
        steps: Mapping[str, StepState] | None = None,
    ) -> tuple[StepState, tuple[int, ...], str]:
        """A step's state at ``t`` given every term's finding at ``t`` and the states of the
        steps it waits on (computed here when ``steps`` does not hold them)."""
        known = dict(steps or {})
        for other in step.after:
            if other not in known:
                known[other] = self.step_state(other, t, known)
        return evaluate_step(self, step, findings, t, known)

    def step_state(self, id: str, t: int, known: dict[str, StepState]) -> StepState:
        """The state of step ``id`` at ``t`` (the terms it cites evaluated here)."""
        step = next(s for s in self.package.steps if s.id == id)
        terms = {x.id: x for x in self.package.terms}
        findings = {k: self.term(terms[k[0]], k[1], t) for k in step.cites}
        state = self.step(step, findings, t, known)[0]
        known[id] = state
        return state

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
                        f.open_finding,
                    )
                )
        steps = []
        states: dict[str, StepState] = {}
        for step in self.package.steps:
            state, evidence, why = self.step(step, findings, t, states)
            states[step.id] = state
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
