"""Group commit: many concurrent appenders share batches, each gets its own durable index."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from store_kits import DriverKit

from cvid.errors import InputError, StoreError
from cvid.store import Log, Sequencer, verify_log
from cvid.tlog.note import Signer
from cvid.tlog.tiles import MAX_ENTRY_SIZE

N = 1000


def test_concurrent_asyncio_appenders_get_distinct_indices(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    log.append([b"already here"])
    entries = [b"appender-%d" % i for i in range(N)]

    async def run(seq: Sequencer) -> list[int]:
        return await asyncio.gather(*(seq.append(e) for e in entries))

    with Sequencer(log) as seq:
        indices = asyncio.run(run(seq))
    assert sorted(indices) == list(range(1, N + 1))
    stored = log.read_entries(0, N + 1)
    assert [stored[i] for i in indices] == entries
    assert 1 <= seq.batches < N
    assert log.size == N + 1
    assert verify_log(log) == []
    log.close()


def test_oversized_entry_is_refused_at_submit_and_others_commit(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    big = b"x" * (MAX_ENTRY_SIZE + 1)
    entries = [b"e-%d" % i for i in range(200)]

    async def run(seq: Sequencer) -> list[int | BaseException]:
        coros = [seq.append(e) for e in entries[:100]]
        coros.append(seq.append(big))
        coros += [seq.append(e) for e in entries[100:]]
        return await asyncio.gather(*coros, return_exceptions=True)

    with Sequencer(log) as seq:
        with pytest.raises(InputError, match="65,535"):
            seq.submit(big)
        results = asyncio.run(run(seq))
    refused = results.pop(100)
    assert isinstance(refused, InputError)
    indices = [r for r in results if isinstance(r, int)]
    assert sorted(indices) == list(range(200))
    stored = log.read_entries(0, 200)
    assert [stored[i] for i in indices] == entries
    assert log.size == 200
    log.close()


def test_batches_respect_max_batch(driver_kit: DriverKit, signer: Signer) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    with Sequencer(log, max_batch=7) as seq:
        futures = [seq.submit(b"%d" % i) for i in range(100)]
        assert [f.result(timeout=30) for f in futures] == list(range(100))
    assert seq.batches >= 100 // 7 + 1
    log.close()


class FailingLog:
    """A log whose append fails once, to see a failed batch reach every submitter in it."""

    def __init__(self, log: Log) -> None:
        self._log = log
        self.entered = threading.Event()
        self.release = threading.Event()
        self.failed = False

    def append(self, entries: Sequence[bytes]) -> int:
        if not self.failed:
            self.entered.set()
            self.release.wait(10)
            self.failed = True
            raise StoreError("disk full")
        return self._log.append(entries)


def test_a_failed_commit_fails_its_batch_and_the_next_batch_commits(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    failing = FailingLog(log)
    with Sequencer(failing) as seq:  # type: ignore[arg-type]
        first = seq.submit(b"first")
        assert failing.entered.wait(10)
        # The writer is inside the failing commit; these queue behind it, in the next batch.
        later = [seq.submit(b"later-%d" % i) for i in range(5)]
        failing.release.set()
        with pytest.raises(StoreError, match="disk full"):
            first.result(timeout=10)
        assert [f.result(timeout=10) for f in later] == list(range(5))
    assert log.read_entries(0, 10) == [b"later-%d" % i for i in range(5)]
    log.close()


class GatedLog:
    """A log whose first append waits for ``release``, so later submissions queue behind it."""

    def __init__(self, log: Log) -> None:
        self._log = log
        self.entered = threading.Event()
        self.release = threading.Event()

    def append(self, entries: Sequence[bytes]) -> int:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)
        return self._log.append(entries)


def test_a_cancelled_append_is_withdrawn_and_the_writer_goes_on(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    gated = GatedLog(log)

    async def run(seq: Sequencer) -> tuple[int, int]:
        first = asyncio.ensure_future(seq.append(b"first"))
        while not gated.entered.is_set():
            await asyncio.sleep(0.005)
        # Queued behind the blocked batch, then given up on, as asyncio.wait_for does.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(seq.append(b"given up"), 0.05)
        gated.release.set()
        return await first, await asyncio.wait_for(seq.append(b"next"), 10)

    with Sequencer(gated) as seq:  # type: ignore[arg-type]
        assert asyncio.run(run(seq)) == (0, 1)
        assert seq._thread.is_alive()
    assert log.read_entries(0, 10) == [b"first", b"next"]
    log.close()


class ExplodingLog:
    """A log whose first append raises something that is not an Exception at all."""

    def __init__(self, log: Log) -> None:
        self._log = log
        self.exploded = False

    def append(self, entries: Sequence[bytes]) -> int:
        if not self.exploded:
            self.exploded = True
            raise SystemExit("boom")
        return self._log.append(entries)


def test_no_exception_ends_the_writer_thread(driver_kit: DriverKit, signer: Signer) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    with Sequencer(ExplodingLog(log)) as seq:  # type: ignore[arg-type]
        with pytest.raises(SystemExit):
            seq.submit(b"first").result(timeout=10)
        assert seq.submit(b"second").result(timeout=10) == 0
    log.close()


def test_close_commits_what_is_queued_then_refuses_new_appends(
    driver_kit: DriverKit, signer: Signer
) -> None:
    log = Log.create_in(driver_kit.open(), signer)
    gated = GatedLog(log)
    seq = Sequencer(gated, max_batch=3)  # type: ignore[arg-type]
    futures = [seq.submit(b"%d" % i) for i in range(10)]
    assert gated.entered.wait(10)
    closing = threading.Thread(target=seq.close)
    closing.start()
    gated.release.set()
    closing.join(10)
    assert not closing.is_alive()
    assert [f.result(timeout=0) for f in futures] == list(range(10))
    with pytest.raises(StoreError, match="closed"):
        seq.submit(b"too late")

    async def too_late() -> int:
        return await seq.append(b"too late")

    with pytest.raises(StoreError, match="closed"):
        asyncio.run(too_late())
    seq.close()  # a second close does nothing
    assert log.size == 10
    log.close()
