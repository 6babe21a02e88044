"""Group commit: many concurrent appenders, one transaction and one fsync per batch.

Appenders call :meth:`Sequencer.submit` (threads) or :meth:`Sequencer.append` (asyncio) and get
the entry's index once it is durable. One writer thread takes everything queued, up to
``max_batch`` entries, and commits it with :meth:`cvid.store.log.Log.append`. A refused entry is
refused at submission and never joins a batch, so one bad entry cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

from cvid.store.log import Log, check_entry

_STOP = object()


class Sequencer:
    """Batches appends to ``log`` on a writer thread; use as a context manager."""

    def __init__(self, log: Log, max_batch: int = 16384) -> None:
        self.log = log
        self.max_batch = max_batch
        self.batches = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="cvid-sequencer", daemon=True)
        self._thread.start()

    def submit(self, entry: bytes) -> Future[int]:
        """Queue ``entry``; the future gives its index once durable (or the error)."""
        check_entry(entry, "submitted entry")
        fut: Future[int] = Future()
        self._queue.put((entry, fut))
        return fut

    async def append(self, entry: bytes) -> int:
        """Append ``entry`` and wait, without blocking the event loop, until it is durable."""
        return await asyncio.wrap_future(self.submit(entry))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[object]) -> None:
        pairs: list[tuple[bytes, Future[int]]] = batch  # type: ignore[assignment]
        try:
            first = self.log.append([e for e, _ in pairs])
        except Exception as exc:
            for _, fut in pairs:
                fut.set_exception(exc)
            return
        self.batches += 1
        for i, (_, fut) in enumerate(pairs):
            fut.set_result(first + i)

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> Sequencer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
