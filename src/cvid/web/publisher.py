"""The service's publisher: a thread that has the package's witnesses cosign the latest
checkpoint after each commit, off the write path.

The writer calls :meth:`Publisher.poke` once its commit returned. The publisher thread wakes,
reads the latest checkpoint and asks every witness the agreement package names
(:meth:`cvid.evidence.ledger.Ledger.publish`); pokes that arrive while it is asking coalesce
into one more round, for whatever is latest then. A witness that is down or slow costs this
thread at most its timeout, never a commit: commits neither wait for it nor see it. The
cosignatures go into the store, where ``GET /v1/log/checkpoint`` and receipts read them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from cvid.evidence import Ledger
from cvid.witness import WitnessOutcome

log = logging.getLogger("cvid.web")


class Publisher:
    """Witnesses the ledger at ``location`` (its own read-write handle) after each poke.

    ``timeout`` bounds one round with the witnesses (seconds). :attr:`rounds` counts the
    rounds done and :attr:`last` is the outcome of the latest one (tests and status read them).
    """

    def __init__(self, location: str | Path, timeout: float = 2.0) -> None:
        self.ledger = Ledger.open(location)
        self.timeout = timeout
        self.rounds = 0
        self.last: WitnessOutcome | None = None
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="cvid-publisher", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Ask for a round for the latest checkpoint (returns at once; rounds coalesce)."""
        with self._idle:
            self._busy = True
            self._wake.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no round is asked for or running; whether it was so in ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def close(self) -> None:
        """Stop after the round under way (at most about :attr:`timeout`), close the ledger."""
        self._stop = True
        self._wake.set()
        self._thread.join(self.timeout + 5)
        self.ledger.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop:
                return
            self._wake.clear()
            try:
                outcome = self.ledger.publish(self.timeout)
            except Exception as exc:  # the store could not keep the cosignatures
                log.warning("witnessing the latest checkpoint failed: %s", exc)
                outcome = None
            self.rounds += 1
            if outcome is not None:
                self.last = outcome
                if outcome.failures:
                    log.info("witnesses that did not cosign: %s", outcome.failures)
            with self._idle:
                if not self._wake.is_set():
                    self._busy = False
                    self._idle.notify_all()
