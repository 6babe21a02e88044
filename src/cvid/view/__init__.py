"""One view model of a ledger at an instant: what the CLI tables, the report and the dashboard show.

:func:`build_view` computes, once and as plain data, the status of every term and step in each
view ("now" and "then"), the findings (violated, overdue, disputed, reversed, unknown: value,
limit, margin, since when), the reciprocal steps (owed now, what would unlock the rest), the
timeline of changes, each limit's series against the limit (points by who vouched for them,
gaps, an axis around the limit) and the evidence. Nothing in it is rendered;
``ViewModel.to_json()`` is the ``cvid-view/1`` document of docs/view-model.md::

    from cvid.view import view_for_ledger
    model = view_for_ledger("ledger", "2018-02-05")
    print([f.term for f in model.findings])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cvid import _lazy

if TYPE_CHECKING:
    from cvid.view.build import Instant, build_view, to_instant, view_of_ledger
    from cvid.view.judged import judgement_of
    from cvid.view.ledgers import view_for_ledger, view_for_source, view_under_versions
    from cvid.view.model import (
        FINDING_STATUSES,
        FORMAT,
        EvidenceItem,
        Finding,
        LimitPeriod,
        Series,
        Step,
        TermInfo,
        Value,
        ViewModel,
        Witnesses,
    )

# Each name is imported when first asked for (cvid._lazy): `cvid status` reads judgement_of
# without the rest of the model.
_lazy.install(
    __name__,
    {
        "cvid.view.build": ["Instant", "build_view", "to_instant", "view_of_ledger"],
        "cvid.view.judged": ["judgement_of"],
        "cvid.view.ledgers": ["view_for_ledger", "view_for_source", "view_under_versions"],
        "cvid.view.model": [
            "FINDING_STATUSES",
            "FORMAT",
            "EvidenceItem",
            "Finding",
            "LimitPeriod",
            "Series",
            "Step",
            "TermInfo",
            "Value",
            "ViewModel",
            "Witnesses",
        ],
    },
)

__all__ = [
    "FINDING_STATUSES",
    "FORMAT",
    "EvidenceItem",
    "Finding",
    "Instant",
    "LimitPeriod",
    "Series",
    "Step",
    "TermInfo",
    "Value",
    "ViewModel",
    "Witnesses",
    "build_view",
    "judgement_of",
    "to_instant",
    "view_for_ledger",
    "view_for_source",
    "view_of_ledger",
    "view_under_versions",
]
