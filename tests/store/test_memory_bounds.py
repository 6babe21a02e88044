"""Verifying and auditing a log hold a bounded amount in memory, not something per entry.

A log of ``4·65536 + 512`` entries has 1,026 full level-0 tiles (8 MiB of hashes); keeping every
tile while checking (the level-1 tiles come last in storage order, and a consistency proof
reads only a few tiles) would show up as several megabytes at the peak. (After the rest of the
suite, an audit's peak was measured at 3.8 MiB where alone it stays under 2: the bound for the
audit leaves room for that and still catches a tree held whole.)
"""

from __future__ import annotations

import gc
import multiprocessing
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from cvid.audit import TileSource, audit
from cvid.store import Log, export_tiles, verify_log

T = TypeVar("T")
N = 4 * 65536 + 512
MiB = 1 << 20


def peak(run: Callable[[], T]) -> tuple[T, int]:
    """``run()``'s result and the peak of memory allocated while it ran.

    Measured in a forked child, which has this thread alone: tracemalloc counts every thread's
    allocations, and other tests' threads (servers, clients) may still be running here.
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        # The parent's collector state is whatever earlier tests left (commands run in process
        # freeze it): measure with it on and the heap clean, as a fresh process would.
        gc.enable()
        gc.collect()
        tracemalloc.start()
        result = run()
        send.send((result, tracemalloc.get_traced_memory()[1]))

    proc = ctx.Process(target=child)
    proc.start()
    try:
        if not receive.poll(300):
            raise AssertionError("the measured run did not finish in 300 s")
        got: tuple[T, int] = receive.recv()
    finally:
        proc.join(60)
    assert proc.exitcode == 0
    return got


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Log, Path, bytes]]:
    """A SQLite log of N entries, its export, and a checkpoint from part way."""
    directory = tmp_path_factory.mktemp("big") / "log"
    log = Log.create(directory, "cvid.test/big")
    log.append([b"entry-%d" % i for i in range(70000)])
    since = log.checkpoint().encode()
    log.append([b"entry-%d" % i for i in range(70000, N)])
    out = directory.parent / "tiles"
    export_tiles(log, out)
    yield log, out, since
    log.close()


def test_verify_log_does_not_buffer_the_stored_tiles(big_log: tuple[Log, Path, bytes]) -> None:
    log, _, _ = big_log
    problems, used = peak(lambda: verify_log(log, chunk=1024))
    assert problems == []
    assert used < 2 * MiB, f"peak {used / MiB:.1f} MiB"


def test_audit_keeps_only_the_tiles_the_consistency_proof_needs(
    big_log: tuple[Log, Path, bytes],
) -> None:
    log, out, since = big_log
    for old in (None, since):
        report, used = peak(partial(audit, TileSource(str(out)), log.verifier, old))
        assert report.ok, report.problems
        assert report.consistent_with == (None if old is None else 70000)
        assert used < 5 * MiB, f"peak {used / MiB:.1f} MiB"
