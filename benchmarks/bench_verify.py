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

``--two-writers N`` measures instead what the ledger's catch-up costs: two processes submit N
records each, in batches of 1,000, to one new SQLite ledger at once; each re-checks the other's
batches as admission would before it writes. Reported: records/s overall, and the share of
each writer's time spent catching up.

Run: ``.venv/bin/python benchmarks/bench_verify.py [--records 1000000] [--repeat 1]
[--workers N] [--json]`` or ``... --two-writers 20000``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import PACKAGE, WORK, _rss_run, _sign_range, build_large

CVID = str(Path(sys.executable).with_name("cvid"))


def _writer(args: tuple[str, int, int, Any]) -> tuple[float, float, int]:
    """Submit records ``first..first+n-1`` in batches of 1,000; (seconds, catching up, count)."""
    where, first, n, start = args
    from cvid.evidence import Ledger
    from cvid.evidence.admission import Candidate

    batches = [_sign_range((k, min(first + n, k + 1000))) for k in range(first, first + n, 1000)]
    spent = [0.0]
    with Ledger.open(where) as ledger:
        catch_up = ledger._catch_up

        def timed(tx: Any, size: int) -> None:
            t = time.perf_counter()
            catch_up(tx, size)
            spent[0] += time.perf_counter() - t

        ledger._catch_up = timed  # type: ignore[method-assign]
        start.wait()
        t0 = time.perf_counter()
        for lines in batches:
            ledger.submit([Candidate("", text=line) for line in lines])
        return time.perf_counter() - t0, spent[0], ledger.size


def two_writers(n: int) -> dict[str, Any]:
    """Two processes writing ``n`` records each to one ledger (see the module's docstring)."""
    from cvid.evidence import Ledger

    with tempfile.TemporaryDirectory() as tmp:
        where = str(Path(tmp) / "ledger")
        Ledger.create(where, PACKAGE, clock_mode="reported").close()
        ctx = mp.get_context("spawn")
        with ctx.Manager() as manager:
            start = manager.Barrier(2)
            with ctx.Pool(2) as pool:
                got = pool.map(_writer, [(where, 0, n, start), (where, n, n, start)])
        with Ledger.open(where, readonly=True) as ledger:
            assert ledger.size == 2 * n
    wall = max(s for s, _, _ in got)
    return {
        "writers": 2,
        "records_per_writer": n,
        "seconds": round(wall, 1),
        "records_per_second": round(2 * n / wall),
        "catch_up_share": [round(c / s, 3) for s, c, _ in got],
    }


def _verify_many(items: list[tuple[bytes, bytes, bytes]]) -> int:
    from nacl.bindings import crypto_sign_open  # what cvid.tlog.note.verify_ed25519 calls

    for key, message, signature in items:
        crypto_sign_open(signature + message, key)
    return len(items)


def ed25519_bound(n: int = 40_000) -> float:
    """Signatures/s that bare libsodium verifies on every CPU here (one process each, 500-byte
    messages): the ceiling the issue names for a full re-derivation, measured in the same run."""
    from nacl.signing import SigningKey

    key = SigningKey.generate()
    public = bytes(key.verify_key)
    items = [
        (public, m, key.sign(m).signature) for m in (i.to_bytes(8, "big") * 63 for i in range(n))
    ]
    cpus = os.cpu_count() or 1
    parts = [items[i::cpus] for i in range(cpus)]
    with mp.get_context("forkserver").Pool(cpus) as pool:
        pool.map(_verify_many, [p[:100] for p in parts])  # workers started and warm
        t = time.perf_counter()
        assert sum(pool.map(_verify_many, parts)) == n
        return n / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    parser.add_argument("--workers", type=int, default=None, help="verifying threads")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--two-writers", type=int, default=None, metavar="N")
    args = parser.parse_args()
    if args.two_writers is not None:
        doc = two_writers(args.two_writers)
        print(json.dumps(doc, indent=2) if args.json else doc)
        return

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
    bound = ed25519_bound()
    result = {
        "records": args.records,
        "command": " ".join(argv[1:]),
        "cpus": os.cpu_count(),
        "seconds": round(wall, 1),
        "records_per_second": round(args.records / wall),
        "peak_rss_mib": round(rss),
        "runs": [round(w, 1) for w, _ in runs],
        "load_average_1min": round(os.getloadavg()[0], 2),
        "ed25519_bound_per_second": round(bound),
        "share_of_bound": round(args.records / wall / bound, 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"cvid ledger verify, {args.records:,} records: {wall:.1f} s, "
            f"{args.records / wall:,.0f} records/s, peak RSS {rss:,.0f} MiB "
            f"({os.cpu_count()} CPUs; runs {', '.join(f'{w:.1f}' for w, _ in runs)} s)"
        )
        print(
            f"  Ed25519 bound here (bare libsodium on every CPU): {bound:,.0f} signatures/s; "
            f"cvid reaches {args.records / wall / bound:.0%} of it "
            f"(load average {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
