"""Group commit: many concurrent appenders, one transaction and one fsync per batch.

Appenders call :meth:`Sequencer.submit` (threads) or :meth:`Sequencer.append` (asyncio) and get
the entry's index once it is durable. One writer thread takes everything queued, up to
``max_batch`` entries, and commits it with :meth:`cvid.store.log.Log.append`. A refused entry is
refused at submission and never joins a batch, so one bad entry cannot fail its neighbours.

An append cancelled before its batch starts (a cancelled task, an ``asyncio.wait_for`` timeout)
is withdrawn and not written; once its batch has started it is committed anyway. Nothing ends the
writer thread but :meth:`Sequencer.close`: a batch whose commit fails fails its own futures and
the next batch goes on. After ``close`` every accepted future is resolved (committed or failed)
and :meth:`Sequencer.submit` raises :class:`StoreError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from concurrent.futures import Future, InvalidStateError

from cvid.errors import StoreError
from cvid.store.log import Log, check_entry


class _AsyncWaiter:
    """An asyncio appender: its future and the loop it lives on."""

    __slots__ = ("fut", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fut: asyncio.Future[int] = loop.create_future()


_Waiter = Future[int] | _AsyncWaiter
_Item = tuple[bytes, _Waiter]


class Sequencer:
    """Batches appends to ``log`` on a writer thread; use as a context manager."""

    def __init__(self, log: Log, max_batch: int = 16384) -> None:
        self.log = log
        self.max_batch = max_batch
        self.batches = 0
        # None is the stop marker; it is queued once, by close(), after every accepted item.
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._closed = False
        self._state = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="cvid-sequencer", daemon=True)
        self._thread.start()

    def submit(self, entry: bytes) -> Future[int]:
        """Queue ``entry``; the future gives its index once durable (or the error).

        Raises :class:`StoreError` once the sequencer is closed.
        """
        fut: Future[int] = Future()
        self._put(entry, fut)
        return fut

    async def append(self, entry: bytes) -> int:
        """Append ``entry`` and wait, without blocking the event loop, until it is durable.

        The writer wakes each event loop once per batch, not once per entry.
        """
        waiter = _AsyncWaiter(asyncio.get_running_loop())
        self._put(entry, waiter)
        return await waiter.fut

    def _put(self, entry: bytes, waiter: _Waiter) -> None:
        check_entry(entry, "submitted entry")
        with self._state:
            if self._closed:
                raise StoreError("the sequencer is closed: it accepts no more appends")
            self._queue.put((entry, waiter))

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        """Commit ``batch``; whatever happens, every future in it ends resolved."""
        # A future cancelled while queued is withdrawn; the others can no longer be cancelled.
        live = [(e, w) for e, w in batch if _start(w)]
        if not live:
            return
        try:
            first = self.log.append([e for e, _ in live])
        except BaseException as exc:  # reported to every submitter, never lost
            _deliver_all([(w, -1, exc) for _, w in live])
            return
        self.batches += 1
        _deliver_all([(w, first + i, None) for i, (_, w) in enumerate(live)])

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread (a second call does nothing)."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        # Only if the writer thread was killed could anything remain: fail it, never leave it.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None and _start(item[1]):
                _deliver_all(
                    [(item[1], -1, StoreError("the sequencer closed before committing it"))]
                )

    def __enter__(self) -> Sequencer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _start(waiter: _Waiter) -> bool:
    """Mark a waiter's future running; False if it was cancelled (or is already resolved)."""
    if isinstance(waiter, _AsyncWaiter):
        # Racy by nature (the loop may cancel it a moment later); then it is committed anyway.
        return not waiter.fut.done()
    try:
        return waiter.set_running_or_notify_cancel()
    except RuntimeError:
        return False


_Outcome = tuple[_Waiter, int, BaseException | None]


def _deliver_all(outcomes: list[_Outcome]) -> None:
    """Resolve every waiter: thread futures at once, asyncio ones with one wake-up per loop."""
    per_loop: dict[
        asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int, BaseException | None]]
    ] = {}
    for waiter, result, exc in outcomes:
        if isinstance(waiter, _AsyncWaiter):
            per_loop.setdefault(waiter.loop, []).append((waiter.fut, result, exc))
        else:
            _resolve(waiter, result, exc)
    for loop, items in per_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(_resolve_async, items)


def _resolve_async(items: list[tuple[asyncio.Future[int], int, BaseException | None]]) -> None:
    for fut, result, exc in items:
        if fut.done():  # cancelled meanwhile: the entry is committed all the same
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)


def _resolve(fut: Future[int], result: int = -1, exc: BaseException | None = None) -> None:
    """Set ``fut``'s outcome unless something else already did."""
    with contextlib.suppress(InvalidStateError):  # already resolved: nothing to do
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)
