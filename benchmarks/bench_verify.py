"""Full re-derivation of a large ledger: ``cvid ledger verify`` end to end, in records/s.

``cvid ledger verify`` replays admission over every entry from index 0 (parse, strict schema,
canonical bytes, Ed25519 signature, keys, replays, references, times), recomputes the root at
every checkpoint, verifies every checkpoint's log signature and clock cosignature, and compares
every index row with its entry. The ledger is the one ``bench_scale.py`` builds (the shipped New
START package, the published aggregates plus site-level declarations, every record admitted
through ``Ledger.submit``), kept under ``benchmarks/.work/ledger-<records>``.

Measured: the command in a fresh process, timed from start to exit (``os.wait4`` gives its peak
RSS); the figure is records (entries) per second of wall time. The issue's target is 10,000
records/s on the 2-core machine the figures in ``benchmarks/README.md`` come from.

Run: ``.venv/bin/python benchmarks/bench_verify.py [--records 1000000] [--repeat 1]
[--workers N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import WORK, _rss_run, build_large

CVID = str(Path(sys.executable).with_name("cvid"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    parser.add_argument("--workers", type=int, default=None, help="verifying threads")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    where = WORK / f"ledger-{args.records}"
    build_large(where, args.records)
    argv = [CVID, "ledger", "verify", str(where), "--json"]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    runs = []
    for _ in range(args.repeat):
        wall, rss, out = _rss_run(argv)
        doc = json.loads(out)
        if not doc["ok"] or doc["size"] != args.records:
            raise SystemExit(
                f"cvid ledger verify found {len(doc['findings'])} findings: {out[:500]}"
            )
        runs.append((wall, rss))
    wall = statistics.median(w for w, _ in runs)
    rss = max(r for _, r in runs)
    result = {
        "records": args.records,
        "command": " ".join(argv[1:]),
        "cpus": os.cpu_count(),
        "seconds": round(wall, 1),
        "records_per_second": round(args.records / wall),
        "peak_rss_mib": round(rss),
        "runs": [round(w, 1) for w, _ in runs],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"cvid ledger verify, {args.records:,} records: {wall:.1f} s, "
            f"{args.records / wall:,.0f} records/s, peak RSS {rss:,.0f} MiB "
            f"({os.cpu_count()} CPUs; runs {', '.join(f'{w:.1f}' for w, _ in runs)} s)"
        )


if __name__ == "__main__":
    main()
