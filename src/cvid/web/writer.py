"""The service's one writer: a thread that commits queued batches together (group commit).

Request handlers :meth:`Writer.submit` a batch and wait on the future it returns. The writer
thread takes every batch pending (up to :attr:`Writer.max_group` batches and
:attr:`Writer.max_records` records) and admits them with one
:meth:`~cvid.evidence.ledger.Ledger.submit_many`: one transaction, one fsync and one
clock-cosigned checkpoint for all of them, each batch still all or nothing on its own. A
future is resolved only after that commit returned, so whoever answers a request from it
never acknowledges a record that a crash could lose.

One writer per process is enough and is what the store wants: the store's own writer lock
serialises commits across processes anyway, and batching them here turns many small
submissions into few commits.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from cvid.errors import StoreError
from cvid.evidence import Candidate, Ledger, RecordError
from cvid.tlog import SignedCheckpoint

log = logging.getLogger("cvid.web")

#: Receipts kept after their commit, for the handlers answering it (the latest ones).
RECEIPTS_KEPT = 50_000

#: What a batch comes to: its log indices, or the refusal of its first bad record.
Outcome = list[int] | RecordError


def unchained(refusal: RecordError) -> RecordError:
    """``refusal`` without the exception it was raised while handling (its ``__context__``).

    Kept for the service's lifetime, a refusal must not keep that exception: a record's schema
    refusal is raised while handling pydantic's ``ValidationError``, which holds the
    ``ValueError`` a field's validator raised (``ctx.error``) without showing it to the garbage
    collector; that error's traceback holds the frames of the admission that made the
    refusal, and those frames the list holding the refusal. The cycle is then never freed:
    some 9 frames and 5 KB for every refused request (``raise ... from None`` hides the
    context from the message but keeps it). The message and the check are unchanged.
    """
    refusal.__context__ = None
    return refusal


class Busy(StoreError):
    """The writer's queue is full, or the writer is stopping: try again later."""


@dataclass
class _Job:
    batch: Sequence[Candidate]
    future: Future[Outcome] = field(default_factory=Future)


class Writer:
    """Admits batches into ``ledger`` from one thread, many batches a commit.

    ``max_pending`` bounds the batches waiting (beyond it :meth:`submit` raises
    :class:`Busy`); ``max_group`` and ``max_records`` bound one commit (a batch larger than
    ``max_records`` is committed alone). The ledger must not be written by anyone else in this
    process. ``on_commit`` is called on the writer thread after each commit returned, after
    its futures are resolved (the publisher's poke: it must return at once and not raise).
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        max_pending: int = 1024,
        max_group: int = 256,
        max_records: int = 20_000,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.on_commit = on_commit
        self.max_pending = max_pending
        self.max_group = max_group
        self.max_records = max_records
        self.commits = 0  # how many submit_many calls were made (tests read it)
        self._receipts: OrderedDict[int, tuple[SignedCheckpoint, str]] = OrderedDict()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cvid-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: Sequence[Candidate]) -> Future[Outcome]:
        """Queue ``batch``; its future gives the indices or the refusal once committed.

        The future raises whatever stopped the whole commit (a :class:`StoreError`, say): then
        nothing of any batch in it was written. :class:`Busy` when the queue is full or the
        writer is closed.
        """
        job = _Job(batch)
        with self._lock:
            if self._closed:
                raise Busy("the service is stopping; submit again to another instance or later")
            if self._pending >= self.max_pending:
                raise Busy(f"{self._pending} batches are waiting to be written; try again shortly")
            self._pending += 1
            self._queue.put(job)
        return job.future

    def _prove(self, indices: list[int]) -> None:
        """Make the receipts of a commit's records at once: one checkpoint, one read of their
        entries, the tree the commit left (handlers would otherwise read the store each)."""
        if not indices:
            return
        from cvid.web.common import receipts_for  # the service's module imports this one

        try:
            cp, receipts = receipts_for(self.ledger, indices, self.ledger.latest_checkpoint())
        except Exception as exc:  # the handlers make them themselves
            log.warning("receipts of a commit: %s", exc)
            return
        with self._lock:
            for i in indices:
                self._receipts[i] = (cp, receipts[str(i)])
            while len(self._receipts) > RECEIPTS_KEPT:
                self._receipts.popitem(last=False)

    def receipts(self, indices: Sequence[int]) -> tuple[SignedCheckpoint, dict[str, str]] | None:
        """The receipts made at the commit of ``indices``, all against one checkpoint, or None
        when they are not (all) at hand."""
        with self._lock:
            got = [self._receipts.get(i) for i in indices]
        if not got or any(g is None for g in got):
            return None
        cps = {g[0].checkpoint.size for g in got if g is not None}
        if len(cps) != 1:
            return None
        first = got[0]
        assert first is not None
        return first[0], {str(i): g[1] for i, g in zip(indices, got, strict=True) if g}

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting batches, commit every batch already queued, and stop the thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join(timeout)

    def _take(self, first: _Job) -> tuple[list[_Job], bool]:
        """``first`` and whatever else is queued now, within the bounds; and whether the
        stop marker was met (every job before it is in the group or already taken)."""
        jobs = [first]
        records = len(first.batch)
        while len(jobs) < self.max_group and records < self.max_records:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            records += len(job.batch)
        return jobs, False

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            jobs, stop = self._take(first)
            with self._lock:
                self._pending -= len(jobs)
            # A waiter that gave up (its client went away) before the commit started is left
            # out: nothing was acknowledged, so nothing need be written.
            live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                results = self.ledger.submit_many([j.batch for j in live])
            except BaseException as exc:  # every batch of the commit shares its fate
                log.warning("commit of %d batches failed: %s", len(live), exc)
                for j in live:
                    j.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            self.commits += 1
            results = [unchained(r) if isinstance(r, RecordError) else r for r in results]
            self._prove([i for r in results if not isinstance(r, RecordError) for i in r])
            for j, result in zip(live, results, strict=True):
                j.future.set_result(result)
            if self.on_commit is not None:
                self.on_commit()
