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

from collections.abc import Iterable

from cvid.agreements.evaluator import Evaluator, Instant, as_evidence, instant
from cvid.agreements.evidence_index import Evidence, View
from cvid.agreements.package import Package
from cvid.agreements.results import Evaluation, StepResult, TermResult
from cvid.evidence import Record

__all__ = [
    "Evaluation",
    "Evaluator",
    "Instant",
    "StepResult",
    "TermResult",
    "as_evidence",
    "evaluate",
    "instant",
]


def evaluate(
    package: Package,
    evidence: Evidence | Iterable[tuple[int, Record]],
    as_of: Instant,
    view: View | str = View.NOW,
) -> Evaluation:
    """Each term's status per party and each step's state at ``as_of``, in ``view``.

    ``evidence`` is an :class:`Evidence` index or ``(log index, record)`` pairs (a
    :class:`~cvid.agreements.evidence_index.LedgerRecords` brings its ledger's clock and
    logged times; plain pairs are clock ``reported``). Pure and deterministic: nothing is
    read or written, and equal inputs give equal results.
    """
    return Evaluator(package, as_evidence(evidence), View(view)).evaluate(instant(as_of))
