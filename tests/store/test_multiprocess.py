"""Several processes appending to and checkpointing one SQLite log at once lose nothing.

Each process opens the log itself, as separate ``cvid log append`` / ``cvid log checkpoint`` runs
(or separate services) would; every append must land exactly once, every checkpoint call must
return a checkpoint covering what that process appended, and the log must verify afterwards.
"""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.synchronize import Barrier
from pathlib import Path

from cvid.store import Log, verify_log
from cvid.tlog.checkpoint import open_checkpoint

PROCESSES = 4
APPENDS = 150


def worker(directory: Path, k: int, barrier: Barrier, results: multiprocessing.Queue[str]) -> None:
    try:
        with Log.open(directory) as log:
            barrier.wait(30)
            mine = 0
            for i in range(APPENDS):
                mine = log.append([b"p%d-%d" % (k, i)])
                if i % 10 == 0:
                    assert log.checkpoint().checkpoint.size > mine
            barrier.wait(30)
            # Everyone signs at once: all but one find a checkpoint as large stored first.
            assert log.checkpoint().checkpoint.size > mine
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc())


def test_processes_appending_and_checkpointing_at_once_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "log"
    Log.create(directory, "cvid.test/multi").close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    results: multiprocessing.Queue[str] = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(directory, k, barrier, results)) for k in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == ["ok"] * PROCESSES, "\n".join(o for o in outcomes if o != "ok")
    with Log.open(directory) as log:
        assert log.size == PROCESSES * APPENDS
        stored = log.read_entries(0, log.size)
        assert sorted(stored) == sorted(
            b"p%d-%d" % (k, i) for k in range(PROCESSES) for i in range(APPENDS)
        )
        for k in range(PROCESSES):  # each process's entries in the order it appended them
            own = [e for e in stored if e.startswith(b"p%d-" % k)]
            assert own == [b"p%d-%d" % (k, i) for i in range(APPENDS)]
        assert verify_log(log) == []
        latest = log.driver.latest_checkpoint()
        assert latest is not None
        assert open_checkpoint(latest[1], log.verifier).checkpoint.size == log.size
