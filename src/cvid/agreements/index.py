"""Moved to :mod:`cvid.agreements.evidence_index` (the name says what it holds).

Kept so that imports written before the rename keep working; new code imports
``cvid.agreements.evidence_index``.
"""

from cvid.agreements.evidence_index import (
    NEVER,
    ClockMode,
    Evidence,
    LedgerRecords,
    Series,
    View,
)

__all__ = ["NEVER", "ClockMode", "Evidence", "LedgerRecords", "Series", "View"]
