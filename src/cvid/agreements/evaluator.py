"""The evaluator: every term's status per party and every step's state at an instant.

:class:`Evaluator` reads records through :class:`~cvid.agreements.reader.Reader`, decides each
term through its kind's module (:mod:`cvid.agreements.kinds`) and each step through
:mod:`cvid.agreements.steps`. The kinds and the steps never import this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from cvid.agreements.evidence_index import Evidence
from cvid.agreements.instants import parse_instant, to_us
from cvid.agreements.kinds import evaluate_term
from cvid.agreements.reader import Reader
from cvid.agreements.results import Evaluation, StepResult, TermResult
from cvid.agreements.steps import evaluate_step
from cvid.agreements.terms import CompiledStep, CompiledTerm, Finding, StepState
from cvid.errors import InputError
from cvid.evidence.record import Record

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

    def term(self, term: CompiledTerm, party: str, t: int) -> Finding:
        """The status of ``term`` for ``party`` at ``t``."""
        return evaluate_term(self, term, party, t)

    def step(
        self, step: CompiledStep, findings: Mapping[tuple[str, str], Finding], t: int
    ) -> tuple[StepState, tuple[int, ...], str]:
        """A step's state at ``t`` given every term's finding at ``t``."""
        return evaluate_step(self, step, findings, t)

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
