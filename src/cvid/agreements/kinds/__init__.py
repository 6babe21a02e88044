"""One module per term kind, behind one dispatch table.

Each kind is a function ``(reader, term, party, t) -> Finding``: :mod:`.limit` (limits and
prohibitions), :mod:`.action` (one-time actions), :mod:`.periodic` (periodic obligations).
:data:`KINDS` maps the ``kind`` of a term in ``agreement.yaml`` to its function;
:func:`evaluate_term` dispatches through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cvid.agreements.kinds.action import evaluate_action
from cvid.agreements.kinds.limit import evaluate_limit
from cvid.agreements.kinds.periodic import evaluate_periodic
from cvid.agreements.reader import Reader
from cvid.agreements.terms import CompiledTerm, Finding

KindEvaluator = Callable[[Reader, CompiledTerm, str, int], Finding]

#: The function that decides a term's status, by the term's kind.
KINDS: Mapping[str, KindEvaluator] = {
    "limit": evaluate_limit,
    "prohibition": evaluate_limit,
    "action": evaluate_action,
    "periodic": evaluate_periodic,
}


def evaluate_term(e: Reader, term: CompiledTerm, party: str, t: int) -> Finding:
    """The status of ``term`` for ``party`` at ``t``, decided by its kind's module."""
    return KINDS[term.kind](e, term, party, t)


__all__ = ["KINDS", "KindEvaluator", "evaluate_term"]
