"""The child of test_crash: appends ``entry-<index>`` entries until it is killed.

Run as ``python crash_child.py <log dir> <seed>``. It prints ``ready <size>`` once the log is
open, then submits batches of random size through a :class:`Sequencer` and, as each future
resolves (the entry is durable), prints ``ack <index>`` and flushes. Every few batches it signs a
checkpoint and prints ``checkpoint <size>``. Entry ``i`` is always ``b"entry-%d" % i``, so the
parent can check every entry's content whatever moment the kill came at.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from cvid.store import Log, Sequencer


def main(directory: Path, seed: int) -> None:
    rng = random.Random(seed)
    log = Log.open(directory)
    with Sequencer(log) as seq:
        nxt = log.size
        print(f"ready {nxt}", flush=True)
        batches = 0
        while True:
            futures = [
                (nxt + k, seq.submit(b"entry-%d" % (nxt + k))) for k in range(rng.randint(1, 40))
            ]
            for want, fut in futures:
                got = fut.result()
                if got != want:
                    print(f"mismatch {want} {got}", flush=True)
                    sys.exit(3)
                print(f"ack {got}", flush=True)
            nxt += len(futures)
            batches += 1
            if batches % 7 == 0:
                print(f"checkpoint {log.checkpoint().checkpoint.size}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
