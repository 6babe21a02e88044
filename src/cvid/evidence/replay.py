"""Admission replayed: which logged entries are evidence, decided from the entries alone.

Whether entry *i* of a ledger's log is admissible depends only on the agreement's parties and
initial keys, entries ``0..i-1`` and entry *i*'s logged time: the same checks the ledger ran
when it wrote it (:data:`cvid.evidence.admission.CHECKS`: JSON, strict schema, units, size,
canonical bytes, signature, agreement, party, the signer's authority as the key records before
*i* define it, replay, ``supersedes``/``disputes`` references, times), run by the same code
(:func:`~cvid.evidence.admission.prepare_batch` and :class:`~cvid.evidence.checks.BatchCheck`).
Replaying needs no ledger state and trusts nothing an operator derived (index rows, tiles,
metadata), so every verifier can run it: ``cvid ledger verify``, ``cvid verdict verify``.

An entry that fails is a :class:`Finding` (its index, the check, what is wrong) and is never
evidence: it changes no key, is no target of a correction or a dispute, and is not returned as
a record. Its time check is ``reported_at`` at most :data:`~cvid.evidence.checks.CLOCK_SKEW`
after the entry's logged time (the ledger checks it against the time its commit's checkpoint
is cosigned with, which *is* that logged time); an entry whose logged time is unknown (tiles
carry no clock) has only ``observed_at ≤ reported_at`` checked.

Use :func:`replay` for a log in memory, or :class:`Replay` to feed a long log a chunk at a time::

    state = Replay(parties)
    for chunk, times in chunks_of_the_log:
        for outcome in state.feed(chunk, times):
            ...   # a Prepared (admitted, in log order) or a Finding
    state.findings, state.registry
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cvid.evidence.admission import Candidate, Prepared, prepare_batch
from cvid.evidence.checks import BatchCheck, Link
from cvid.evidence.parties import AgreementParties
from cvid.evidence.record import Record
from cvid.evidence.registry import KeyRegistry
from cvid.evidence.signing import RecordError


@dataclass(frozen=True, slots=True)
class Finding:
    """Something that does not hold at ``index`` (a log index, or a checkpoint's size for a
    checkpoint finding): the check that failed and what is wrong."""

    index: int
    check: str
    detail: str

    def __str__(self) -> str:
        # A checkpoint finding's detail already names the checkpoint ("checkpoint of size N");
        # the store's schema findings (a trigger dropped) are of no entry: index -1. A record
        # the record model refuses is check "schema" too, and names its entry.
        if self.check in ("checkpoint", "clock") or self.index < 0:
            return f"{self.check}: {self.detail}"
        return f"entry {self.index}: {self.check}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        """The finding as printed by ``--json``: index, check, detail."""
        return {"index": self.index, "check": self.check, "detail": self.detail}


def _no_link(index: int) -> Link | None:
    # Every admitted entry is in the replay's own links: anything else was never evidence.
    return None


def entry_where(index: int) -> str:
    """How a replay names an entry in a refusal: ``entry 7``."""
    return f"entry {index}"


class Replay:
    """Admission replayed from index 0 over a log, a chunk of entries at a time.

    Holds what admission needs from the prefix fed so far (the key registry, the digests of
    admitted records for replays, the facts of admitted records for references); mutate it only
    through :meth:`feed`. ``findings`` lists every inadmissible entry, in log order.
    """

    def __init__(self, parties: AgreementParties) -> None:
        self.parties = parties
        self.size = 0
        self.findings: list[Finding] = []
        self._check = BatchCheck(
            parties=parties,
            registry=KeyRegistry(parties),
            first=0,
            logged_digests=frozenset(),
            link=_no_link,
            superseded_by={},
            now=None,
        )

    @property
    def registry(self) -> KeyRegistry:
        """The key registry as the admitted key records so far define it."""
        return self._check.registry

    def admitted(self, index: int) -> bool:
        """Whether entry ``index`` (below :attr:`size`) was admitted."""
        return index in self._check.new_links

    def feed(
        self,
        entries: Sequence[bytes],
        logged_at: Sequence[datetime | None] | None = None,
        *,
        pool: Executor | None = None,
        workers: int = 1,
    ) -> list[Prepared | Finding]:
        """Decide the next ``len(entries)`` entries (indices :attr:`size` onwards).

        ``logged_at`` gives each entry's logged time (None, or no list: unknown). Returns, for
        each entry in order, its :class:`Prepared` record if admitted (the state then includes
        it) or its :class:`Finding`. Signatures are verified on ``pool`` (``workers`` threads)
        for large chunks; the outcome does not depend on it.
        """
        first = self.size
        items = [(Candidate("", text=e), entry_where(first + k)) for k, e in enumerate(entries)]
        return self.take(prepare_batch(items, pool, workers, logged=True), logged_at)

    def take(
        self,
        prepared: Sequence[Prepared | RecordError],
        logged_at: Sequence[datetime | None] | None = None,
    ) -> list[Prepared | Finding]:
        """:meth:`feed` for entries whose stateless checks already ran (``logged=True``)."""
        out: list[Prepared | Finding] = []
        first = self.size
        for k, p in enumerate(prepared):
            index = first + k
            if isinstance(p, RecordError):
                out.append(self._found(index, p))
                continue
            now = logged_at[k] if logged_at is not None else None
            try:
                self._check.check(index, p, now)
            except RecordError as exc:
                out.append(self._found(index, exc))
            else:
                out.append(p)
        self.size = first + len(prepared)
        return out

    def _found(self, index: int, exc: RecordError) -> Finding:
        finding = Finding(index, exc.check, exc.detail)
        self.findings.append(finding)
        return finding


@dataclass(frozen=True)
class Replayed:
    """The outcome of :func:`replay`: the admitted records ``(index, record)`` in log order,
    the findings, and the key registry the admitted key records define."""

    records: list[tuple[int, Record]]
    findings: list[Finding]
    registry: KeyRegistry


def replay(
    parties: AgreementParties,
    entries: Sequence[bytes],
    logged_at: Sequence[datetime | None] | None = None,
    *,
    pool: Executor | None = None,
    workers: int = 1,
) -> Replayed:
    """Replay admission over ``entries`` (indices 0..n-1) with their logged times (see
    :class:`Replay`): a pure function of its arguments."""
    state = Replay(parties)
    outcomes = state.feed(entries, logged_at, pool=pool, workers=workers)
    records = [(i, o.record) for i, o in enumerate(outcomes) if isinstance(o, Prepared)]
    return Replayed(records, list(state.findings), state.registry)
