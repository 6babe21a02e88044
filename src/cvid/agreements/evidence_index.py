"""Evidence indexed for evaluation: by party and value name, by party and subject.

(This module was ``cvid.agreements.index``.)

Building the index is the only pass over all records; evaluating a term then looks only at
its own party's records for its own quantity (a binary search by time), so one evaluation is
near-linear in the number of terms, whatever the size of the log.

**When a record becomes known** (the ``then`` view) depends on the ledger's clock
(:class:`ClockMode`): under ``log`` it is the instant the record was *logged* — the time of the
first clock-cosigned checkpoint covering it, which no submitter controls — and under
``reported`` (reconstructions of the past) the record's own ``reported_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cvid.agreements.instants import to_us
from cvid.evidence import Quantity, Record, Value

#: The visibility of a record that never becomes visible (not logged by any checkpoint yet).
NEVER = to_us(dt.datetime.max.replace(tzinfo=dt.UTC))


class View(StrEnum):
    """Which records an evaluation at T sees."""

    #: As known then: records logged by T (see :class:`ClockMode`) and observed by T.
    THEN = "then"
    #: As known now: every record in the log observed by T (``observed_at ≤ T``).
    NOW = "now"


class ClockMode(StrEnum):
    """What stands for the instant a record became known, in the ``then`` view.

    Chosen when a ledger is created and recorded in its store (``ledger_meta``, ``"clock"``).
    """

    #: The record's logged time: the timestamp of the first checkpoint cosigned by the ledger's
    #: clock that covers it. A record no such checkpoint covers yet is not known "then" at all.
    LOG = "log"
    #: The record's own ``reported_at``: for ledgers that reconstruct the past, whose records
    #: were entered long after the fact (the shipped historical examples).
    REPORTED = "reported"


class LedgerRecords(list[tuple[int, Record]]):
    """``(log index, record)`` pairs that also carry the ledger's clock and logged times.

    A plain list to every reader; :class:`Evidence` built from it takes ``clock`` and
    ``logged_at`` (by log index; ``None`` when no cosigned checkpoint covers the record yet).
    ``logged_at`` is ``None`` as a whole when the logged times are not available (records read
    from ``tlog-tiles``, which carry no cosigned checkpoints): then, under clock ``log``, the
    ``then`` view cannot be evaluated. Slicing gives a plain list (clock ``reported``).
    """

    def __init__(
        self,
        items: Iterable[tuple[int, Record]],
        clock: ClockMode | str,
        logged_at: Mapping[int, dt.datetime | None] | None,
    ) -> None:
        super().__init__(items)
        self.clock = ClockMode(clock)
        self.logged_at = dict(logged_at) if logged_at is not None else None


@dataclass
class Series:
    """Positions of records sorted by (observed_at, log index), and their observed_at."""

    pos: list[int] = field(default_factory=list)
    obs: list[int] = field(default_factory=list)
    #: The positions among ``pos`` of records that speak for a period.
    spans: list[int] = field(default_factory=list)
    #: :attr:`spans` indexed for walks by time (made on first use, :func:`span_index`).
    span_index: SpanIndex | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class SpanIndex:
    """A series' period records, indexed so a walk back from ``t`` reads only those it needs.

    A period record ``p`` observed by ``t`` speaks for ``min(t, key)`` at ``t``, where ``key``
    is ``max(start, end)`` (:meth:`Evidence.when`): those with ``key >= t`` (their period
    still runs) for ``t`` itself, the others for their ``key``, so they are read in
    descending ``key`` order and no further back than a walk goes.
    """

    #: Period records in series order (by start), and their starts.
    pos: list[int]
    obs: list[int]
    #: ``key`` of every period record, ascending, and the records in that order (ties by
    #: position).
    keys: list[int]
    by_key: list[int]
    #: ``key`` by position.
    key: dict[int, int]
    #: The largest ``key - start``: a record whose period still runs at ``t`` starts no
    #: earlier than ``t - longest``.
    longest: int


def span_index(series: Series, obs: list[int], end: Mapping[int, int]) -> SpanIndex:
    """The :class:`SpanIndex` of ``series`` (made once and kept on it)."""
    ix = series.span_index
    if ix is None:
        key = {p: max(obs[p], end[p]) for p in series.spans}
        order = sorted(series.spans, key=lambda p: (key[p], p))
        ix = series.span_index = SpanIndex(
            pos=list(series.spans),
            obs=[obs[p] for p in series.spans],
            keys=[key[p] for p in order],
            by_key=order,
            key=key,
            longest=max((key[p] - obs[p] for p in series.spans), default=0),
        )
    return ix


class Evidence:
    """Logged records, indexed. Pure: built from ``(log index, record)`` pairs, never I/O.

    **Positions.** The engine reads records by *position* (0..P-1), in log order.
    ``index[p]`` is the log index of position ``p`` (what every citation names) and
    ``records[p]`` its record. A record whose quantities all share its ``observed_at`` (or
    period) has one position; one with figures dated apart (:attr:`Quantity.as_of
    <cvid.evidence.record.Quantity.as_of>`) and a ``party`` (whose values terms read) has
    one more position per distinct figure date, right after its own, whose record is the
    logged one cut to those figures and observed at their date (no period): a term reading
    such a quantity sees it at its own date, and the record's own position carries only its
    undated values in :attr:`by_value`. Without dated figures, position ``p`` is the
    ``p``-th record: :attr:`bases` is ``range(len(self))``. :attr:`bases` lists the records'
    own positions (one per logged record, in log order; :meth:`logged` their pairs),
    :attr:`position` maps a log index to its record's own position, :attr:`base_of` a
    figure's position to it and :meth:`carrier` a record and value name to the position
    that carries it.

    ``vis[view][p]`` is the first instant position ``p`` is visible in ``view``;
    ``sup[view][p]`` the first instant it is hidden by a correction (a figure by the
    correction's figure of the same name, at its date, when the correction carries one).

    ``now``: ``observed_at`` (a figure's ``as_of``). ``then``, by ``clock``:

    - ``log``: ``max(observed_at, logged_at, reported_at)``, where ``logged_at`` maps log
      indexes to logged instants; a record without one (``None`` or absent) is never visible
      "then" (:data:`NEVER`). With ``logged_at`` None the ``then`` view is unavailable
      (:attr:`unavailable` says why; the engine refuses to evaluate it).
    - ``reported``: ``max(observed_at, reported_at)``; ``logged_at`` is not used.

    A :class:`LedgerRecords` gives its own clock and logged times unless they are given here;
    plain pairs (scenarios, tests) are ``reported`` by default: their ``reported_at`` is all
    there is.
    """

    def __init__(
        self,
        items: Iterable[tuple[int, Record]],
        *,
        clock: ClockMode | str | None = None,
        logged_at: Mapping[int, dt.datetime | None] | None = None,
    ) -> None:
        if isinstance(items, LedgerRecords):
            clock = items.clock if clock is None else clock
            logged_at = items.logged_at if logged_at is None else logged_at
        self.clock = ClockMode(clock) if clock is not None else ClockMode.REPORTED
        pairs = sorted(items, key=lambda x: x[0])
        self.index: list[int] = [i for i, _ in pairs]
        self.records: list[Record] = [r for _, r in pairs]
        if len(set(self.index)) != len(self.index):
            raise ValueError("two records with the same log index")
        self._count = len(self.records)
        #: The position of each logged record itself, in log order.
        self.bases: Sequence[int] = range(self._count)
        #: A dated figure's position -> its record's own position.
        self.base_of: dict[int, int] = {}
        #: A record's own position -> the positions of its dated figures (by date).
        self.figures: dict[int, list[int]] = {}
        #: A log index -> the position of its record itself.
        self.position: dict[int, int] = {i: p for p, i in enumerate(self.index)}
        self.by_value: dict[tuple[str, str], Series] = {}
        self.by_subject: dict[tuple[str, str], Series] = {}
        self.superseders: dict[int, list[int]] = {}
        self.disputers: dict[int, list[int]] = {}
        #: Notices of lost knowledge by the party they concern, in log order.
        self.losses: dict[str, list[int]] = {}
        if not self._index_plain():  # a figure dated apart: split the records, index again
            #: The names of the values of a record's own position that its figures carry.
            dated_names: dict[int, frozenset[str]] = {}
            self._split_figures(dated_names)
            self.position = {self.index[p]: p for p in self.bases}
            self._index_split(dated_names)
            self._link_figures()
        #: When each position's observation begins: ``observed_at``, or its period's start.
        self.obs: list[int] = [
            to_us(r.period.start if r.period is not None else r.observed_at) for r in self.records
        ]
        #: The end of the period of records that speak for one (position -> instant).
        self.end: dict[int, int] = {
            p: to_us(r.period.end) for p, r in enumerate(self.records) if r.period is not None
        }
        rep = [to_us(r.reported_at) for r in self.records]
        known = [max(o, r) for o, r in zip(self.obs, rep, strict=True)]
        self.vis: dict[View, list[int]] = {View.NOW: self.obs}
        #: Why a view cannot be evaluated, for views missing from :attr:`vis`.
        self.unavailable: dict[View, str] = {}
        if self.clock is ClockMode.REPORTED:
            self.vis[View.THEN] = known
        elif logged_at is None:
            self.unavailable[View.THEN] = (
                "the ledger's clock is 'log': as known then rests on when each record was "
                "logged, and these records come without their logged times (tlog-tiles carry "
                "no cosigned checkpoints); read them from the ledger directory"
            )
        else:
            logged = [logged_at.get(i) for i in self.index]
            self.vis[View.THEN] = [
                NEVER if t is None else max(k, to_us(t)) for k, t in zip(known, logged, strict=True)
            ]
        obs = self.obs
        for series in (*self.by_value.values(), *self.by_subject.values()):
            series.pos.sort(key=lambda p: obs[p])  # stable: log order within an instant
            series.obs = [obs[p] for p in series.pos]
            series.spans = [p for p in series.pos if p in self.end] if self.end else []
        self.sup: dict[View, dict[int, int]] = {
            view: {p: min(vis[s] for s in ss) for p, ss in self.superseders.items()}
            for view, vis in self.vis.items()
        }

    def _index_plain(self) -> bool:
        """Index one position a record (every record without figures dated apart); False,
        leaving the index to be made again, on meeting a figure dated apart."""
        by_value, by_subject, position = self.by_value, self.by_subject, self.position
        for p, r in enumerate(self.records):
            if r.party is not None:
                for name, v in r.values.items():
                    if v.__class__ is Quantity and v.as_of is not None:
                        for made in (by_value, by_subject, self.superseders, self.disputers):
                            made.clear()
                        self.losses.clear()
                        return False
                    by_value.setdefault((r.party, name), Series()).pos.append(p)
                by_subject.setdefault((r.party, r.subject), Series()).pos.append(p)
            # _links, inline: a call a record is measurable over a million of them.
            if r.supersedes is not None and r.supersedes in position:
                self.superseders.setdefault(position[r.supersedes], []).append(p)
            if r.disputes is not None and r.disputes in position:
                self.disputers.setdefault(position[r.disputes], []).append(p)
            if r.knowledge_lost is not None and r.party is not None:
                self.losses.setdefault(r.party, []).append(p)
        return True

    def _links(self, p: int, r: Record) -> None:
        """Take record ``r`` at its own position ``p`` into the corrections, disputes and
        notices of lost knowledge."""
        if r.supersedes is not None and r.supersedes in self.position:
            self.superseders.setdefault(self.position[r.supersedes], []).append(p)
        if r.disputes is not None and r.disputes in self.position:
            self.disputers.setdefault(self.position[r.disputes], []).append(p)
        if r.knowledge_lost is not None and r.party is not None:
            self.losses.setdefault(r.party, []).append(p)

    def _index_split(self, dated_names: dict[int, frozenset[str]]) -> None:
        """The series of records some of whose figures are dated apart: a figure's position
        carries its values, a record's own position the rest, its subject and its links."""
        base_of = self.base_of
        for p, r in enumerate(self.records):
            if p in base_of:  # a dated figure: its values, nothing else
                if r.party is not None:
                    for name in r.values:
                        self.by_value.setdefault((r.party, name), Series()).pos.append(p)
                continue
            if r.party is not None:
                skip = dated_names.get(p, frozenset())
                for name in r.values:
                    if name not in skip:
                        self.by_value.setdefault((r.party, name), Series()).pos.append(p)
                self.by_subject.setdefault((r.party, r.subject), Series()).pos.append(p)
            self._links(p, r)

    def _split_figures(self, dated_names: dict[int, frozenset[str]]) -> None:
        """Give every dated figure date of a record a position of its own, right after the
        record's (so positions stay in log order)."""
        index: list[int] = []
        records: list[Record] = []
        bases: list[int] = []
        for i, r in zip(self.index, self.records, strict=True):
            base = len(records)
            bases.append(base)
            index.append(i)
            records.append(r)
            if r.party is None:  # no term reads its values (Evidence.by_value)
                continue
            by_date: dict[dt.datetime, dict[str, Value]] = {}
            for name, v in r.values.items():
                if type(v) is Quantity and v.as_of is not None:
                    by_date.setdefault(v.as_of, {})[name] = v
            if not by_date:
                continue
            dated_names[base] = frozenset(n for vs in by_date.values() for n in vs)
            figs = self.figures[base] = []
            for when in sorted(by_date):
                p = len(records)
                figs.append(p)
                self.base_of[p] = base
                index.append(i)
                records.append(
                    r.model_copy(
                        update={"values": by_date[when], "observed_at": when, "period": None}
                    )
                )
        self.index, self.records, self.bases = index, records, bases

    def _link_figures(self) -> None:
        """A dated figure is corrected by the correction's figure of the same name (or, if
        the correction does not carry it, by the correction itself), and disputed as its
        record is."""
        records = self.records
        for base, figs in self.figures.items():
            by = self.superseders.get(base)
            ds = self.disputers.get(base)
            for f in figs:
                if ds:
                    self.disputers[f] = ds
                if not by:
                    continue
                out: set[int] = set()
                for s in by:
                    for name in records[f].values:
                        out.add(self.carrier(s, name))
                self.superseders[f] = sorted(out)

    def carrier(self, base: int, name: str) -> int:
        """The position that carries value ``name`` of the record at ``base`` (its own
        position, or that of its figure dated apart)."""
        for f in self.figures.get(base, ()):
            if name in self.records[f].values:
                return f
        return base

    def logged(self) -> Iterator[tuple[int, Record]]:
        """``(log index, record)`` of every logged record, in log order (once each, whatever
        its dated figures)."""
        index, records = self.index, self.records
        for p in self.bases:
            yield index[p], records[p]

    def covers(self, size: int) -> bool:
        """Whether the records are exactly log entries 0..``size``-1."""
        if self._count != size:
            return False
        index = self.index
        return all(index[p] == n for n, p in enumerate(self.bases))

    def __len__(self) -> int:
        """The number of logged records (not of positions: see :attr:`bases`)."""
        return self._count

    def superseded(self, view: View, p: int, t: int) -> bool:
        """Whether record ``p`` is hidden at ``t`` by a visible correction."""
        s = self.sup[view].get(p)
        return s is not None and s <= t

    def active_disputes(self, view: View, p: int, t: int, value: str | None = None) -> list[int]:
        """Positions of visible, uncorrected records from other submitters disputing ``p``.

        With ``value``, only disputes of the whole record or naming that value count: a
        dispute of one figure leaves the record's other figures undisputed.
        """
        ds = self.disputers.get(p)
        if not ds:
            return []
        vis = self.vis[view]
        who = self.records[p].submitter
        out = []
        for d in ds:
            r = self.records[d]
            if vis[d] > t or self.superseded(view, d, t) or r.submitter == who:
                continue
            named = r.disputed_values
            if value is None or named is None or value in named:
                out.append(d)
        return out

    def when(self, p: int, t: int) -> int:
        """The instant record ``p`` speaks for at ``t``: its observation, or ``t`` within its
        period (the period's end once it is over)."""
        end = self.end.get(p)
        return self.obs[p] if end is None else max(self.obs[p], min(t, end))

    def plain_values(self, p: int) -> dict[str, object]:
        """Record ``p``'s values for conditions: quantities as their number, as a double."""
        out: dict[str, object] = {}
        for k, v in self.records[p].values.items():
            out[k] = float(v.value) if isinstance(v, Quantity) else v
        return out
