"""A large ledger at interactive speed: open, ``cvid status`` end to end, memory; beside the
ledger of cvid 0.1 (a directory replayed on every open) at 100,000 records as the baseline.

The large ledger is the shipped New START package with the published aggregates (the records
its terms read) plus site-level declarations — one per site per day, figures the agreement's
terms do not read, as a regime's notifications and site data outnumber its headline figures —
up to ``--records`` in all, every one admitted through ``Ledger.submit`` (signed, checked,
indexed, durable). It is built once and kept under ``benchmarks/.work/`` (``--rebuild`` makes
it again).

Measured, each a fresh process timed from start to exit (``os.wait4`` gives its peak RSS):

- ``open``: ``Ledger.open`` of the large ledger, timed inside a process;
- ``status``: ``cvid status LEDGER --as-of 2018-02-05 --json``, end to end;
- the same ``cvid status`` with cvid 0.1 (commit ``d753e62``, checked out into a git worktree)
  on a 100,000-record ledger of the same records built by that version.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--records 1000000] [--baseline 100000]
[--repeat 3] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
PACKAGE = ROOT / "examples" / "new-start"
BASELINE_COMMIT = "d753e62"
AS_OF = "2018-02-05"
BATCH = 10_000
PY = sys.executable


def _site_record(i: int) -> dict[str, Any]:
    party = ("US", "RU")[i % 2]
    day = datetime(2011, 2, 5, tzinfo=UTC) + timedelta(days=(i // 1000) % 3650)
    return {
        "agreement": "new-start",
        "kind": "declaration",
        "subject": f"site/{party}-{(i // 2) % 500:03d}",
        "party": party,
        "observed_at": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reported_at": (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "values": {
            "warheads_at_site": {"value": (i * 7919) % 90, "unit": "warhead"},
            "launchers_at_site": {"value": (i * 104729) % 30, "unit": "launcher"},
        },
        "source": {"title": f"site data exchange {i}"},
        "submitter": party,
    }


def _sign_range(bounds: tuple[int, int]) -> list[bytes]:
    from cvid.evidence import sign_record
    from cvid.sources import example_signer

    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    out = []
    for i in range(*bounds):
        obj = _site_record(i)
        out.append(json.dumps(sign_record(obj, keys[obj["party"]])).encode())
    return out


def _signed_batches(first: int, n: int) -> Any:
    """Signed site records ``first..first+n-1`` in batches, signed on two processes."""
    bounds = [(k, min(first + n, k + BATCH)) for k in range(first, first + n, BATCH)]
    with mp.get_context("spawn").Pool(2) as pool:
        yield from pool.imap(_sign_range, bounds)


def build_large(where: Path, n: int, progress: bool = True) -> None:
    """The large ledger at ``where`` (reused when it already holds ``n`` records)."""
    from cvid.evidence import Ledger
    from cvid.evidence.admission import Candidate
    from cvid.sources import example_signer, import_declarations

    if (where / "ledger.db").exists():
        with Ledger.open(where, readonly=True) as ledger:
            if ledger.size == n:
                return
        raise SystemExit(f"{where} holds another ledger; remove it or use --rebuild")
    keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
    with Ledger.create(where, PACKAGE, clock_mode="reported") as ledger:
        import_declarations(
            ledger, PACKAGE / "data" / "aggregates.csv", PACKAGE / "mapping.yaml", keys
        )
        have = ledger.size
        t0 = time.perf_counter()
        for lines in _signed_batches(have, n - have):
            ledger.submit([Candidate("", text=line) for line in lines])
            if progress:
                rate = (ledger.size - have) / (time.perf_counter() - t0)
                print(f"\r  built {ledger.size:,}/{n:,} ({rate:,.0f}/s)", end="", file=sys.stderr)
        if progress:
            print(file=sys.stderr)


def _rss_run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``argv`` and reap it with ``wait4`` for its own peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, out


def _baseline_tree() -> Path:
    tree = WORK / "baseline-src"
    if not (tree / "src" / "cvid").is_dir():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BASELINE_COMMIT],
            check=True,
            capture_output=True,
        )
    return tree


BASELINE_BUILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from cvid.evidence import Ledger
    from cvid.evidence.admission import Candidate
    from cvid.agreements.sources import example_signer
    where, package, csv, mapping, lines = sys.argv[1:6]
    with Ledger.create(Path(where), Path(package), clock_mode="reported") as ledger:
        from cvid.agreements.sources import import_declarations
        keys = {p: example_signer("new-start", p) for p in ("US", "RU")}
        import_declarations(ledger, Path(csv), Path(mapping), keys)
        data = Path(lines).read_bytes().splitlines()
        for k in range(0, len(data), 10000):
            ledger.submit([Candidate("", text=line) for line in data[k:k + 10000]])
        print(ledger.size)
    """
)


def build_baseline(n: int) -> tuple[Path, dict[str, str]]:
    """A ``n``-record ledger built by cvid 0.1, and the environment that runs that version."""
    tree = _baseline_tree()
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    where = WORK / f"baseline-ledger-{n}"
    if (where / "ledger.json").exists():
        return where, env
    lines = WORK / f"baseline-records-{n}.jsonl"
    if not lines.exists():
        with lines.open("wb") as f:
            for batch in _signed_batches(26, n - 26):
                f.write(b"\n".join(batch) + b"\n")
    # cvid 0.1's own package and mapping; the aggregates as shipped now.
    subprocess.run(
        [
            PY,
            "-c",
            BASELINE_BUILD,
            str(where),
            str(tree / "examples" / "new-start"),
            str(PACKAGE / "data" / "aggregates.csv"),
            str(tree / "examples" / "new-start" / "mapping.yaml"),
            str(lines),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return where, env


OPEN = (
    "import sys, time\n"
    "from cvid.evidence import Ledger\n"
    "t = time.perf_counter()\n"
    "ledger = Ledger.open(sys.argv[1], readonly=True)\n"
    "print(ledger.size, time.perf_counter() - t)\n"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=100_000, help="records of the 0.1 ledger")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    large = WORK / f"ledger-{args.records}"
    if args.rebuild and large.exists():
        import shutil

        shutil.rmtree(large)
    print(f"building the {args.records:,}-record ledger (once)...", file=sys.stderr)
    t0 = time.perf_counter()
    build_large(large, args.records)
    built_s = time.perf_counter() - t0
    cvid = str(ROOT / ".venv" / "bin" / "cvid")
    status_argv = [cvid, "status", str(large), "--as-of", AS_OF, "--json"]
    opens, statuses, rss = [], [], []
    for _ in range(args.repeat):
        _, _, out = _rss_run([PY, "-c", OPEN, str(large)])
        opens.append(float(out.split()[1]))
        wall, peak, out = _rss_run(status_argv)
        statuses.append(wall)
        rss.append(peak)
    doc = json.loads(out)
    result: dict[str, Any] = {
        "records": args.records,
        "read_by_terms": None,
        "open_s": statistics.median(opens),
        "status_s": statistics.median(statuses),
        "status_peak_rss_mb": max(rss),
        "status_counts": doc.get("counts"),
        "built_or_reused_s": built_s,
    }
    if not args.no_baseline:
        print(
            f"building the {args.baseline:,}-record ledger with cvid 0.1 (once)...", file=sys.stderr
        )
        where, env = build_baseline(args.baseline)
        argv = [
            PY,
            "-c",
            "import sys; from cvid.cli.main import main; sys.argv[0]='cvid'; main()",
            "status",
            str(where),
            "--as-of",
            AS_OF,
            "--json",
        ]
        walls, peaks = [], []
        for _ in range(args.repeat):
            wall, peak, out = _rss_run(argv, env)
            walls.append(wall)
            peaks.append(peak)
        old = json.loads(out)
        result["baseline"] = {
            "version": f"cvid 0.1 ({BASELINE_COMMIT})",
            "records": args.baseline,
            "status_s": statistics.median(walls),
            "status_peak_rss_mb": max(peaks),
            "same_statuses": [t["status"] for t in old["terms"]]
            == [t["status"] for t in doc["terms"]],
        }
    from cvid.evidence import Ledger
    from cvid.sources import _needed

    with Ledger.open(large, readonly=True) as ledger:
        from cvid.agreements.package import package_from_files

        pkg = package_from_files(ledger.package_files, "ledger")
        result["read_by_terms"] = len(_needed(ledger, pkg, ledger.size, None))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"large ledger: {args.records:,} records ({result['read_by_terms']:,} read by the terms)")
    print(f"  open (in process): {result['open_s'] * 1000:.1f} ms (median of {args.repeat})")
    print(
        f"  cvid status end to end: {result['status_s']:.2f} s, peak RSS "
        f"{result['status_peak_rss_mb']:.0f} MB"
    )
    if "baseline" in result:
        b = result["baseline"]
        print(f"baseline {b['version']}: {b['records']:,} records")
        print(
            f"  cvid status end to end: {b['status_s']:.2f} s, peak RSS "
            f"{b['status_peak_rss_mb']:.0f} MB (same statuses: {b['same_statuses']})"
        )
        print(
            f"  ratio (baseline at {b['records']:,} / now at {args.records:,}): "
            f"{b['status_s'] / result['status_s']:.1f}x faster"
        )


if __name__ == "__main__":
    main()
