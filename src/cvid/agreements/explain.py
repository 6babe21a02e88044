"""The words of explanations: who said what, as of when, in which log entry.

An explanation is one line a person reads, e.g. "RU declared 1,561 deployed warheads as of
2017-09-01 (log 12); the 1,550 limit binds from 2018-02-05: not in force".
"""

from __future__ import annotations

from collections.abc import Iterable

from cvid.agreements.evidence_index import Evidence
from cvid.agreements.instants import show
from cvid.evidence import Kind

VERBS = {
    Kind.DECLARATION: "declared",
    Kind.INSPECTION_FINDING: "found",
    Kind.MEASUREMENT: "measured",
    Kind.OBSERVATION: "observed",
    Kind.STATEMENT: "stated",
    Kind.MATERIAL_BALANCE_REPORT: "reported",
    Kind.NOTICE: "notified",
    Kind.KEY_REGISTRATION: "registered",
    Kind.KEY_REVOCATION: "revoked",
}


def num(x: float) -> str:
    """A number as people write it: ``1,561``, ``202.812``."""
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.3f}".rstrip("0").rstrip(".")


def days(us: int) -> str:
    """A duration in microseconds as a number of days."""
    return num(us / 86_400_000_000)


class Wording:
    """Describes records of one evidence index."""

    def __init__(self, evidence: Evidence) -> None:
        self.ev = evidence

    def record(self, p: int, what: str) -> str:
        """``<submitter> <verb> <what> as of <observed date> (log <index>)``; a record with a
        period says ``for <start> to <end>``."""
        r = self.ev.records[p]
        end = self.ev.end.get(p)
        when = (
            f"as of {show(self.ev.obs[p])}"
            if end is None
            else f"for {show(self.ev.obs[p])} to {show(end)}"
        )
        return f"{r.submitter} {VERBS[r.kind]} {what} {when} (log {self.ev.index[p]})"

    def records(self, ps: Iterable[int], what: dict[int, str]) -> str:
        """Several records, joined with ``; ``."""
        return "; ".join(self.record(p, what[p]) for p in ps)
