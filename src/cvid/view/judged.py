"""What ``cvid status`` prints: one view's judgement from a ``cvid-status/1`` document.

Apart from the rest of the view model so that the status command reads a status document
without building (or importing) the model's series, timelines and evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cvid.agreements import View, rfc3339

if TYPE_CHECKING:
    from cvid.agreements import Package


@dataclass(frozen=True)
class TermStatus:
    """One term's status for one party in one view, and since when it has held."""

    term: str
    party: str
    title: str
    kind: str
    clause: str
    status: str
    since: str | None
    evidence: tuple[int, ...]
    explanation: str
    facts: Mapping[str, Any]


@dataclass(frozen=True)
class StepStatus:
    """One reciprocal step's state in one view, and since when it has held."""

    step: str
    by: str
    clause: str
    state: str
    since: str | None
    evidence: tuple[int, ...]
    explanation: str


@dataclass(frozen=True)
class Judgement:
    """The status document of one view: its summary, terms and steps (``extra``: any other
    member the engine's status document carries, passed through as it is)."""

    view: str
    summary: Mapping[str, int]
    violated: bool
    terms: tuple[TermStatus, ...]
    steps: tuple[StepStatus, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)


#: The members of a status document the view model reads itself; any other is kept as ``extra``.
_KNOWN = frozenset(
    ("format", "agreement", "package_sha256", "checkpoint", "as_of", "view", "clock")
) | {"summary", "terms", "steps"}


def judgement(
    view: View,
    doc: Mapping[str, Any],
    since: Mapping[tuple[str, str, str | None], int],
    titles: Mapping[str, str],
) -> Judgement:
    """One view's :class:`Judgement` from its status document; ``since`` maps
    ``(subject, id, party)`` to the instant the status began, ``titles`` term ids to titles."""
    terms = []
    for r in doc["terms"]:
        at = since.get(("term", r["term"], r["party"]))
        terms.append(
            TermStatus(
                term=r["term"],
                party=r["party"],
                title=titles.get(r["term"], r["term"]),
                kind=r["kind"],
                clause=r["clause"],
                status=r["status"],
                since=rfc3339(at) if at is not None else None,
                evidence=tuple(r["evidence"]),
                explanation=r["explanation"],
                facts=dict(r.get("facts") or {}),
            )
        )
    steps = []
    for s in doc["steps"]:
        at = since.get(("step", s["step"], None))
        steps.append(
            StepStatus(
                step=s["step"],
                by=s["by"],
                clause=s["clause"],
                state=s["state"],
                since=rfc3339(at) if at is not None else None,
                evidence=tuple(s["evidence"]),
                explanation=s["explanation"],
            )
        )
    return Judgement(
        view=view.value,
        summary=dict(doc["summary"]),
        violated=any(x.status == "violated" for x in terms),
        terms=tuple(terms),
        steps=tuple(steps),
        extra={k: v for k, v in doc.items() if k not in _KNOWN},
    )


def judgement_of(doc: Mapping[str, Any], package: Package | None = None) -> Judgement:
    """The view model's status of one view from a ``cvid-status/1`` document (the engine's,
    or a served ledger's): what ``cvid status`` prints as a table and as JSON alike. Term
    titles come from ``package`` when given; ``since`` needs a timeline, so it is left
    out here (:func:`build_view` fills it)."""
    titles = {term.id: term.title for term in package.terms} if package is not None else {}
    return judgement(View(doc["view"]), doc, {}, titles)
