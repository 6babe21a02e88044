"""Evidence indexed for evaluation: by party and value name, by party and subject.

Building the index is the only pass over all records; evaluating a term then looks only at
its own party's records for its own quantity (a binary search by time), so one evaluation is
near-linear in the number of terms, whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from cvid.agreements.instants import to_us
from cvid.evidence.record import Quantity, Record


class View(StrEnum):
    """Which records an evaluation at T sees."""

    #: As known then: records reported by T (``reported_at ≤ T``).
    THEN = "then"
    #: As known now: every record in the log observed by T (``observed_at ≤ T``).
    NOW = "now"


@dataclass
class Series:
    """Positions of records sorted by (observed_at, log index), and their observed_at."""

    pos: list[int] = field(default_factory=list)
    obs: list[int] = field(default_factory=list)


class Evidence:
    """Logged records, indexed. Pure: built from ``(log index, record)`` pairs, never I/O.

    Positions (0..n-1) follow log order. ``vis[view][p]`` is the first instant record ``p`` is
    visible in ``view``; ``sup[view][p]`` the first instant it is hidden by a correction.
    """

    def __init__(self, items: Iterable[tuple[int, Record]]) -> None:
        pairs = sorted(items, key=lambda x: x[0])
        self.index: list[int] = [i for i, _ in pairs]
        self.records: list[Record] = [r for _, r in pairs]
        if len(set(self.index)) != len(self.index):
            raise ValueError("two records with the same log index")
        self.obs: list[int] = [to_us(r.observed_at) for r in self.records]
        rep = [to_us(r.reported_at) for r in self.records]
        self.vis: dict[View, list[int]] = {
            View.NOW: self.obs,
            View.THEN: [max(o, r) for o, r in zip(self.obs, rep, strict=True)],
        }
        self.position: dict[int, int] = {i: p for p, i in enumerate(self.index)}
        self.by_value: dict[tuple[str, str], Series] = {}
        self.by_subject: dict[tuple[str, str], Series] = {}
        self.superseders: dict[int, list[int]] = {}
        self.disputers: dict[int, list[int]] = {}
        obs = self.obs
        for p, r in enumerate(self.records):
            if r.party is not None:
                for name in r.values:
                    self.by_value.setdefault((r.party, name), Series()).pos.append(p)
                self.by_subject.setdefault((r.party, r.subject), Series()).pos.append(p)
            if r.supersedes is not None and r.supersedes in self.position:
                self.superseders.setdefault(self.position[r.supersedes], []).append(p)
            if r.disputes is not None and r.disputes in self.position:
                self.disputers.setdefault(self.position[r.disputes], []).append(p)
        for series in (*self.by_value.values(), *self.by_subject.values()):
            series.pos.sort(key=lambda p: obs[p])  # stable: log order within an instant
            series.obs = [obs[p] for p in series.pos]
        self.sup: dict[View, dict[int, int]] = {
            view: {p: min(vis[s] for s in ss) for p, ss in self.superseders.items()}
            for view, vis in self.vis.items()
        }

    def __len__(self) -> int:
        return len(self.records)

    def superseded(self, view: View, p: int, t: int) -> bool:
        """Whether record ``p`` is hidden at ``t`` by a visible correction."""
        s = self.sup[view].get(p)
        return s is not None and s <= t

    def active_disputes(self, view: View, p: int, t: int) -> list[int]:
        """Positions of visible, uncorrected records from other submitters disputing ``p``."""
        ds = self.disputers.get(p)
        if not ds:
            return []
        vis = self.vis[view]
        who = self.records[p].submitter
        return [
            d
            for d in ds
            if vis[d] <= t and not self.superseded(view, d, t) and self.records[d].submitter != who
        ]

    def plain_values(self, p: int) -> dict[str, object]:
        """Record ``p``'s values for conditions: quantities as their number, as a double."""
        out: dict[str, object] = {}
        for k, v in self.records[p].values.items():
            out[k] = float(v.value) if isinstance(v, Quantity) else v
        return out
