"""The time witnessing adds to publishing a checkpoint: three witnesses on loopback.

Starts three ``cvid witness serve`` processes on 127.0.0.1, makes a log, then for each of N
checkpoints: appends one entry and signs a checkpoint (publishing without witnesses), then has
it cosigned by the three witnesses (``cvid.witness.publish.witness_checkpoint``: three
concurrent add-checkpoint requests with consistency proofs, each cosignature verified, then
stored in the log's store). Reports the median and p99 of both, in milliseconds. Every
witnessed checkpoint must carry three verified cosignatures, or the run fails.

    .venv/bin/python benchmarks/bench_witness.py              # 100 checkpoints
    .venv/bin/python benchmarks/bench_witness.py --json --checkpoints 200
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cvid.store.log import Log
from cvid.witness.client import WitnessEndpoint
from cvid.witness.policy import parse_policy
from cvid.witness.publish import witness_checkpoint
from cvid.witness.witness import Witness

CVID = str(Path(sys.executable).with_name("cvid"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[bytes], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"witness on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"witness on port {port} did not start within {seconds} s")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run(n: int, work: Path) -> dict[str, object]:
    log = Log.create(work / "log", "bench.example/log")
    procs: list[subprocess.Popen[bytes]] = []
    ends: list[WitnessEndpoint] = []
    try:
        for i in (1, 2, 3):
            d = work / f"w{i}"
            w = Witness.create(d, f"w{i}.bench.example")
            w.state.add_log(log.origin, log.verifier.vkey)
            key = w.key
            w.close()
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [CVID, "witness", "serve", str(d), "--port", str(port)],
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_for(port, procs[-1])
            ends.append(WitnessEndpoint(f"http://127.0.0.1:{port}", key))
        policy = parse_policy(
            "".join(f"witness W{i} {e.key.vkey}\n" for i, e in enumerate(ends, 1))
            + "group all3 all W1 W2 W3\nquorum all3\n"
        )
        publish: list[float] = []
        witnessing: list[float] = []
        for i in range(n + 1):
            t0 = time.perf_counter()
            log.append([b"entry %d" % i])
            signed = log.checkpoint()
            t1 = time.perf_counter()
            out = witness_checkpoint(log, signed, ends, policy, timeout=5.0)
            t2 = time.perf_counter()
            if not out.quorum:
                raise SystemExit(f"checkpoint {i}: not cosigned by all three: {out.failures}")
            if i:  # the first warms up connections' code paths and imports
                publish.append((t1 - t0) * 1000)
                witnessing.append((t2 - t1) * 1000)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        log.close()
    return {
        "checkpoints": n,
        "witnesses": 3,
        "publish_ms": {"median": statistics.median(publish), "p99": pct(publish, 99)},
        "witnessing_ms": {"median": statistics.median(witnessing), "p99": pct(witnessing, 99)},
        "target_ms": 50,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", type=int, default=100)
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        result = run(args.checkpoints, Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    p, w = result["publish_ms"], result["witnessing_ms"]
    assert isinstance(p, dict) and isinstance(w, dict)
    print(f"{args.checkpoints} checkpoints, 3 witnesses on loopback (ms)")
    print(f"  append + sign (no witnesses)   median {p['median']:7.2f}   p99 {p['p99']:7.2f}")
    print(f"  witnessing added               median {w['median']:7.2f}   p99 {w['p99']:7.2f}")
    print("  target: witnessing <= 50 ms")


if __name__ == "__main__":
    main()
