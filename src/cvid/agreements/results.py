"""What an evaluation gives: each term's status per party, each step's state, at one instant.

These are the stable JSON forms of docs/status.md; :mod:`cvid.agreements.evaluator` makes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cvid.agreements.evidence_index import ClockMode, View
from cvid.agreements.instants import rfc3339
from cvid.agreements.terms import OpenFinding, Status, StepState


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
    #: A violation found by a verifying role still open at the instant (docs/status.md).
    open_finding: OpenFinding | None = None

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
            "open_finding": finding_json(self.open_finding),
        }


def finding_json(f: OpenFinding | None) -> dict[str, Any] | None:
    """An open finding as JSON: ``opened_at``, ``evidence``, ``explanation`` (or None)."""
    if f is None:
        return None
    return {
        "opened_at": rfc3339(f.opened_at),
        "evidence": list(f.evidence),
        "explanation": f.explanation,
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
            "open_findings": [
                {"term": t.term, "party": t.party, **(finding_json(t.open_finding) or {})}
                for t in self.terms
                if t.open_finding is not None
            ],
        }
