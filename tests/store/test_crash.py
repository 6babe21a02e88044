"""Crash safety: a writer killed with SIGKILL at random moments loses no acknowledged entry.

The child (crash_child.py) appends through a Sequencer and acknowledges each index only after its
future resolved, that is after the commit. After each kill the parent reopens the log and checks
that every acknowledged entry is there with its content, that the stored log verifies, that a
new checkpoint can be signed and extends the previous one, and that appending continues.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cvid.store import Log, verify_log
from cvid.tlog.checkpoint import SignedCheckpoint
from cvid.tlog.merkle import verify_consistency

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 12
SEED = 20180612


def entry(i: int) -> bytes:
    return b"entry-%d" % i


class Child:
    """The child process, its output collected by a thread as it comes."""

    def __init__(self, directory: Path, seed: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(directory), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith("ready"):
                self.ready.set()
        self.ready.set()

    def kill(self) -> str:
        """SIGKILL the child; return its standard error."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err


def check_extends(old: SignedCheckpoint | None, new: SignedCheckpoint, log: Log) -> None:
    if old is None or old.checkpoint.size == 0:
        return
    a, b = old.checkpoint, new.checkpoint
    assert a.size <= b.size
    verify_consistency(a.size, b.size, a.root, b.root, log.consistency_proof(a.size, b.size))


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    directory = tmp_path / "log"
    Log.create(directory, "cvid.test/crash").close()
    previous: SignedCheckpoint | None = None
    acked_total = 0
    rounds_with_acks = 0
    for round_no in range(ROUNDS):
        child = Child(directory, rng.randrange(2**32))
        assert child.ready.wait(30), "child did not start"
        time.sleep(rng.uniform(0.0, 0.5))
        stderr = child.kill()
        assert child.proc.returncode == -signal.SIGKILL, f"child died by itself:\n{stderr}"
        assert not [line for line in child.lines if line.startswith("mismatch")], child.lines
        acked = [int(line.split()[1]) for line in child.lines if line.startswith("ack ")]
        acked_total += len(acked)
        rounds_with_acks += bool(acked)

        with Log.open(directory) as log:
            size = log.size
            assert not acked or max(acked) < size, f"round {round_no}: acknowledged entry lost"
            # Every entry, acknowledged or merely committed before the kill, is intact.
            assert log.read_entries(0, size) == [entry(i) for i in range(size)]
            assert verify_log(log) == []
            before = log.latest_checkpoint()
            signed = log.checkpoint()
            assert signed.checkpoint.size == size
            check_extends(before, signed, log)
            check_extends(previous, signed, log)
            assert log.append([entry(size)]) == size
            previous = signed
    assert rounds_with_acks >= ROUNDS // 2, "the child was rarely killed while appending"
    assert acked_total > 0
