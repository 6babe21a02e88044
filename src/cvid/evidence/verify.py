"""Verifying a ledger from its entries alone: what ``cvid ledger verify`` does.

:func:`verify_ledger` trusts nothing the operator derived. It

- replays admission from index 0 over the stored entries (:mod:`cvid.evidence.replay`), each
  entry against its logged time as the verified clock cosignatures give it: every entry that
  would have been refused is a finding with its index and check;
- checks every stored checkpoint: the log's signature, its size, its root against the root
  recomputed from the entries at that size, the clock's cosignature, clock times that never go
  backwards, and the ``checkpoint_times`` row beside it; and that a checkpoint covers every
  entry (each commit signs one);
- checks that the index (``records``, ``record_values``) says exactly what the entries say: a
  row missing, forged, or kept for an inadmissible entry is a finding.

Stored tiles are not read (``cvid log verify`` checks them against the entries). Signatures are
verified on a pool while the calling thread parses the next chunks: worker processes for a
ledger of :data:`PROCESS_MIN` entries or more, threads below (a process costs a start-up; a
thread costs the calling thread the GIL each time it picks up the next signature, which nearly
doubled the parsing time).
"""

from __future__ import annotations

import bisect
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from cvid.errors import Error
from cvid.evidence import ledgerdb
from cvid.evidence.admission import (
    Candidate,
    Prepared,
    gc_paused,
    prepare_all,
    verify_signatures,
)
from cvid.evidence.ledger import Ledger
from cvid.evidence.replay import Finding, Replay, entry_where
from cvid.evidence.signing import RecordError
from cvid.store import SqlTx, read_entries_in, size_in
from cvid.tlog import TreeEdge, leaf_hash, open_checkpoint

#: Entries read, parsed and verified at a time.
CHUNK = 4096
#: Chunks parsed ahead of the one being finished (their signatures queue on the pool).
DEPTH = 2
#: Ledgers at least this large have their signatures verified on a pool (threads or processes).
PARALLEL_MIN = 256
#: Ledgers at least this large verify their signatures in worker processes (by default).
PROCESS_MIN = 20_000

Progress = Callable[[int], None]


@dataclass
class LedgerVerification:
    """The outcome of :func:`verify_ledger`: ``size`` entries, ``admitted`` of them evidence,
    ``checkpoints`` stored checkpoints, and every finding (empty: the ledger holds)."""

    size: int
    admitted: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings


@dataclass
class _Clock:
    """What the stored checkpoints say, checked: per size, whether it verified and its time."""

    times: list[tuple[int, int]]  # (size, clock time) of each verified checkpoint, by size
    roots: dict[int, bytes]  # size -> root the checkpoint claims


def _checkpoints(ledger: Ledger, tx: SqlTx, size: int, out: LedgerVerification) -> _Clock:
    """Check every stored checkpoint's signatures and times; collect what the roots must be."""
    rows = [(int(a), bytes(b)) for a, b in tx.execute("SELECT size, note FROM checkpoints")]
    rows.sort()
    stamps = dict(ledgerdb.checkpoint_times(tx))
    out.checkpoints = len(rows)
    clock = _Clock([], {})
    last = -1
    for cp_size, note in rows:
        try:
            cp = open_checkpoint(note, ledger.log.verifier).checkpoint
        except Error as exc:
            out.findings.append(Finding(cp_size, "checkpoint", _at(cp_size, exc.diagnostics())))
            continue
        if cp.size != cp_size or cp.origin != ledger.log.origin:
            detail = f"stored as size {cp_size} but says size {cp.size}, origin {cp.origin!r}"
            out.findings.append(Finding(cp_size, "checkpoint", _at(cp_size, detail)))
            continue
        if cp_size > size:
            detail = f"covers entries the log does not have (it holds {size})"
            out.findings.append(Finding(cp_size, "checkpoint", _at(cp_size, detail)))
            continue
        clock.roots[cp_size] = cp.root
        try:
            t = ledger.clock_key.verify(note)
        except Error as exc:
            out.findings.append(Finding(cp_size, "clock", _at(cp_size, exc.diagnostics())))
            continue
        if t < last:
            detail = f"clock time {t} is earlier than the previous checkpoint's ({last})"
            out.findings.append(Finding(cp_size, "clock", _at(cp_size, detail)))
        last = max(last, t)
        clock.times.append((cp_size, last))
        stored = stamps.pop(cp_size, None)
        if stored != t:
            detail = f"checkpoint_times says {stored}, the clock's cosignature {t}"
            out.findings.append(Finding(cp_size, "clock", _at(cp_size, detail)))
    for cp_size in sorted(stamps):
        detail = "checkpoint_times has a time for it but no such cosigned checkpoint is stored"
        out.findings.append(Finding(cp_size, "clock", _at(cp_size, detail)))
    covered = clock.times[-1][0] if clock.times else 0
    if covered < size:
        detail = (
            f"entries {covered}..{size - 1} are covered by no clock-cosigned checkpoint (every "
            "commit of the ledger signs one): they have no logged time"
        )
        out.findings.append(Finding(covered, "checkpoint", detail))
    return clock


def _at(cp_size: int, detail: str) -> str:
    return f"checkpoint of size {cp_size}: {detail}"


def _logged_at(times: list[tuple[int, int]], lo: int, hi: int) -> list[datetime | None]:
    """Each of entries ``[lo, hi)``'s logged time: the first verified checkpoint past it."""
    out: list[datetime | None] = []
    k = bisect.bisect_right(times, (lo, math.inf))
    for i in range(lo, hi):
        while k < len(times) and times[k][0] <= i:
            k += 1
        out.append(datetime.fromtimestamp(times[k][1], UTC) if k < len(times) else None)
    return out


def _chunks(size: int, cuts: list[int]) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` ranges of at most :data:`CHUNK` entries, split at every checkpoint size."""
    stops = sorted({c for c in cuts if 0 < c < size} | {size})
    lo = 0
    for stop in stops:
        while lo < stop:
            hi = min(stop, lo + CHUNK)
            yield lo, hi
            lo = hi


@dataclass
class _Staged:
    """A chunk parsed and canonicalised, its signatures being verified on the pool."""

    lo: int
    hi: int
    prepared: list[Prepared | RecordError]
    todo: list[int]  # positions in ``prepared`` whose signature is being checked
    futures: list[Future[list[tuple[str, str] | None]]]


def _stage(
    tx: SqlTx, lo: int, hi: int, pool: Executor | None, workers: int, edge: TreeEdge
) -> _Staged | int:
    """Read entries ``[lo, hi)``, hash them into ``edge``, run the GIL-bound checks and start
    their signature checks on ``pool`` (inline without one); the first missing index if the
    entries have a gap."""
    entries = read_entries_in(tx, lo, hi)
    if len(entries) != hi - lo:
        return lo + len(entries)
    edge.extend([leaf_hash(e) for e in entries])
    items = [(Candidate("", text=e), entry_where(lo + k)) for k, e in enumerate(entries)]
    if pool is None:
        return _Staged(lo, hi, prepare_all(items, logged=True), [], [])
    prepared = prepare_all(items, verify=False, logged=True)
    todo = [k for k, p in enumerate(prepared) if isinstance(p, Prepared)]
    jobs = []
    for k in todo:
        p = cast(Prepared, prepared[k])
        jobs.append((p.record.signer, p.unsigned, cast(str, p.record.signature)))
    step = len(jobs) // workers + 1
    futures = [
        pool.submit(verify_signatures, jobs[i : i + step]) for i in range(0, len(jobs), step)
    ]
    return _Staged(lo, hi, prepared, todo, futures)


def _finish(
    tx: SqlTx, staged: _Staged, state: Replay, clock: _Clock, out: LedgerVerification
) -> None:
    """Take a staged chunk's signature results, replay its stateful checks, compare its rows."""
    refusals = [r for f in staged.futures for r in f.result()]
    prepared = staged.prepared
    for k, refusal in zip(staged.todo, refusals, strict=True):
        if refusal is not None:
            prepared[k] = RecordError(refusal[0], entry_where(staged.lo + k), refusal[1])
    lo, hi = staged.lo, staged.hi
    outcomes = state.take(prepared, _logged_at(clock.times, lo, hi))
    rows = ledgerdb.index_rows_between(tx, lo, hi)
    for k, outcome in enumerate(outcomes):
        i = lo + k
        stored = rows.get(i)
        if isinstance(outcome, Finding):
            out.findings.append(outcome)
            if stored is not None and stored[0]:
                detail = "the index has a records row for an entry that is not admissible"
                out.findings.append(Finding(i, "index", detail))
            continue
        out.admitted += 1
        problem = ledgerdb.row_problem(i, outcome, stored)
        if problem is not None:
            out.findings.append(Finding(i, "index", problem))
    for key in sorted(k for k in rows if k < 0):
        detail = "the index has record_values rows but no records row for this entry"
        out.findings.append(Finding(-1 - key, "index", detail))


def _pool(size: int, n: int, processes: bool | None) -> Executor | None:
    """The pool that verifies signatures (None: inline). Processes come from a fork server,
    a fresh interpreter: a worker never inherits the ledger's database connection."""
    if size < PARALLEL_MIN or n <= 1:
        return None
    if processes is None:
        processes = size >= PROCESS_MIN
    if processes and "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(n, mp_context=context)
    # libsodium and OpenSSL release the GIL while they verify an Ed25519 signature.
    return ThreadPoolExecutor(n, thread_name_prefix="cvid-verify")


def verify_ledger(
    ledger: Ledger,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    processes: bool | None = None,
) -> LedgerVerification:
    """Verify ``ledger`` from its entries (see the module's docstring); return what was found
    (it raises only if the store cannot be read). ``progress`` is called with the number of
    entries checked so far, after each chunk. ``processes`` chooses worker processes (True)
    or threads (False) for the signatures; None: processes from :data:`PROCESS_MIN` entries."""
    n = workers if workers is not None else max(1, min(os.cpu_count() or 1, 4))
    # The collector paused: what the replay keeps, and each chunk's parsed records, hold no
    # reference cycles; collections would only rescan them (a quarter of the time).
    # A dropped or altered append-only trigger is a finding (reported, never repaired).
    protections = ledger.driver.schema_problems()
    with ledger.driver.read() as tx, ExitStack() as stack, gc_paused():
        size = size_in(tx)
        pool = _pool(size, n, processes)
        if pool is not None:
            stack.enter_context(pool)
        out = LedgerVerification(size)
        out.findings.extend(Finding(-1, "schema", p) for p in protections)
        clock = _checkpoints(ledger, tx, size, out)
        state = Replay(ledger.parties)
        edge = TreeEdge()
        inflight: deque[_Staged] = deque()
        for lo, hi in _chunks(size, list(clock.roots)):
            got = _stage(tx, lo, hi, pool, n, edge)
            if isinstance(got, int):
                detail = (
                    f"entry {got} is missing: the entries have a gap; nothing after it was checked"
                )
                out.findings.append(Finding(got, "entries", detail))
                break
            root = clock.roots.get(hi)
            if root is not None and root != edge.root():
                detail = _at(hi, "its root is not the root recomputed from the entries")
                out.findings.append(Finding(hi, "checkpoint", detail))
            inflight.append(got)
            # Earlier chunks' signatures are verified on the pool while later ones are parsed
            # here; finishing only the oldest keeps both the pool and this thread busy.
            if len(inflight) > DEPTH:
                done = inflight.popleft()
                _finish(tx, done, state, clock, out)
                if progress is not None:
                    progress(done.hi)
        while inflight:
            done = inflight.popleft()
            _finish(tx, done, state, clock, out)
            if progress is not None:
                progress(done.hi)
        beyond = tx.execute("SELECT MIN(idx) FROM records WHERE idx >= ?", (size,))[0][0]
        if beyond is not None:
            detail = f"the index has a records row beyond the log (which holds {size} entries)"
            out.findings.append(Finding(int(beyond), "index", detail))
    out.findings.sort(key=lambda f: f.index)
    return out
