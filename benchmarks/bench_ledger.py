"""Benchmark the ledger: signed evidence records admitted per second, end to end, one process.

The records are New START-like declarations (about 600 bytes canonical), signed beforehand by
three keys of the agreement and written as JSON Lines. What is timed is what a server does
with them: split the lines, parse each (strict JSON), validate it against the model, check its
units, canonicalise it (RFC 8785), verify its Ed25519 signature (on a thread pool: the
``cryptography`` verifier releases the GIL), run the stateful checks (agreement, key
registry, replay index, times, references), and append the batch to the log in one durable
commit (SQLite, synchronous=FULL, tiles included). A batch is acknowledged only once durable.

Before any figure is reported the log is checked: its size equals the records admitted and a
sample of entries re-verifies with :func:`cvid.evidence.verify_record`.

Run: ``.venv/bin/python benchmarks/bench_ledger.py [--records N] [--batch B] [--workers W]
[--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cvid.evidence import Ledger, read_records, sign_record, verify_record
from cvid.tlog.note import Signer

SEED = 20180612
PARTIES = ("US", "RU")


def make_package(directory: Path, keys: dict[str, Signer]) -> Path:
    directory.mkdir(parents=True)
    doc = {
        "id": "new-start",
        "title": "New START (benchmark)",
        "parties": [
            {"id": "US", "name": "United States", "roles": ["inspected_party"]},
            {"id": "RU", "name": "Russian Federation", "roles": ["inspected_party"]},
        ],
        "keys": [
            {"party": k.split("-")[0].upper(), "vkey": s.verifier.vkey, "kinds": ["declaration"]}
            for k, s in keys.items()
        ],
    }
    (directory / "agreement.yaml").write_text(yaml.safe_dump(doc))
    return directory


def make_records(n: int, keys: dict[str, Signer]) -> bytes:
    """``n`` distinct signed records as JSON Lines."""
    rng = random.Random(SEED)
    start = datetime(2011, 2, 5, tzinfo=UTC)
    names = sorted(keys)
    lines = []
    for i in range(n):
        name = names[i % len(names)]
        party = name.split("-")[0].upper()
        observed = start + timedelta(hours=i)
        obj = {
            "agreement": "new-start",
            "kind": "declaration",
            "subject": f"central-limits/{i % 97}",
            "party": party,
            "observed_at": observed.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reported_at": (observed + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "values": {
                "deployed_warheads": {"value": rng.randint(1300, 1800), "unit": "warhead"},
                "deployed_delivery_vehicles": {"value": rng.randint(480, 900), "unit": "vehicle"},
                "launchers": {"value": rng.randint(700, 1130), "unit": "launcher"},
            },
            "source": {"title": f"Data exchange {i}, State Department fact sheet"},
            "submitter": party,
        }
        lines.append(json.dumps(sign_record(obj, keys[name])))
    return ("\n".join(lines) + "\n").encode()


def run_once(data: bytes, package: Path, where: Path, batch: int, workers: int) -> dict[str, Any]:
    ledger = Ledger.create(where, package, workers=workers)
    try:
        load = os.getloadavg()[0]
        t0, cpu0 = time.perf_counter(), time.process_time()
        candidates = read_records(data, "bench.jsonl")
        admitted = 0
        for lo in range(0, len(candidates), batch):
            admitted += len(ledger.submit(candidates[lo : lo + batch]))
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        assert ledger.log.driver.size() == admitted == len(candidates)
        rng = random.Random(SEED)
        for i in rng.sample(range(admitted), min(200, admitted)):
            entry = ledger.log.read_entries(i, i + 1)[0]
            verify_record(json.loads(entry))
        return {
            "records": admitted,
            "seconds": elapsed,
            "per_second": admitted / elapsed,
            "cpu_per_wall": cpu / elapsed,
            "load_before": load,
        }
    finally:
        ledger.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=5_000, help="records per submit (one commit)")
    ap.add_argument("--workers", type=int, default=2, help="signature-verification threads")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    keys = {n: Signer.generate(n) for n in ("us-decl", "ru-decl", "us-decl2")}
    with tempfile.TemporaryDirectory(prefix="cvid-bench-ledger-") as tmp:
        root = Path(tmp)
        package = make_package(root / "package", keys)
        t = time.perf_counter()
        data = make_records(args.records, keys)
        sign_s = time.perf_counter() - t
        runs = [
            run_once(data, package, root / f"ledger{i}", args.batch, args.workers)
            for i in range(args.repeat)
        ]
    rates = [r["per_second"] for r in runs]
    result = {
        "records": args.records,
        "batch": args.batch,
        "workers": args.workers,
        "bytes_per_record": len(data) // args.records,
        "admitted_per_second_median": statistics.median(rates),
        "admitted_per_second_runs": rates,
        "cpu_per_wall_runs": [round(r["cpu_per_wall"], 2) for r in runs],
        "load_average_before_runs": [round(r["load_before"], 2) for r in runs],
        "signing_per_second": args.records / sign_s,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"records: {args.records:,} in batches of {args.batch:,}; {args.workers} verify threads")
    print(f"record size: ~{result['bytes_per_record']} bytes JSON")
    print(f"admitted end to end: {result['admitted_per_second_median']:,.0f} records/s (median)")
    print("runs: " + ", ".join(f"{r:,.0f}/s" for r in rates))
    print(
        "process CPU / wall clock: "
        + ", ".join(f"{r['cpu_per_wall']:.2f}" for r in runs)
        + "; 1-minute load average before each run: "
        + ", ".join(f"{r['load_before']:.2f}" for r in runs)
    )
    print(f"(signing, not timed above: {result['signing_per_second']:,.0f} records/s)")


if __name__ == "__main__":
    main()
