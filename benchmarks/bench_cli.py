"""How fast the cvid command answers: start-up and ``cvid status`` on a demo ledger, beside cvid
0.1, with the import profile.

Each figure is the median wall time of N runs of a new process (``python -c 'from
cvid.cli.main import main; main()' ARGS``, the same form for both versions, so the launcher
script is not measured). Now: ``cvid --version`` and ``cvid status`` on the New START ledger
``cvid demo`` builds. cvid 0.1 (commit d753e62, a git worktree in
benchmarks/.work/baseline-src, as in bench_scale.py): ``--version`` and ``status`` on a ledger
of the same 26 published aggregates built by that version. Targets (issue 11): --version
≤ 0.2 s, status ≤ 0.5 s.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--runs 9] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import BASELINE_BUILD, PACKAGE, WORK, _baseline_tree

PY = sys.executable
RUN = "import sys; sys.argv[0] = 'cvid'; from cvid.cli.main import main; main()"
AS_OF = "2018-02-05"


def median_wall(args: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([PY, "-c", RUN, *args], env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if done.returncode not in (0, 1):
            raise SystemExit(f"cvid {' '.join(args)} exited {done.returncode}: {done.stderr!r}")
    return statistics.median(times)


def import_profile(args: list[str], env: dict[str, str], top: int = 8) -> dict[str, Any]:
    """``python -X importtime``: the total and the top-level imports that cost most."""
    done = subprocess.run(
        [PY, "-X", "importtime", "-c", RUN, *args], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m[2]), len(m[3]), m[4]))
    first = [(us, name) for us, depth, name in rows if depth == 1]
    first.sort(reverse=True)
    return {
        "total_ms": round(sum(us for us, _ in first) / 1000, 1),
        "modules": len(rows),
        "top": [{"module": n, "cumulative_ms": round(us / 1000, 1)} for us, n in first[:top]],
    }


def demo_ledger(env: dict[str, str]) -> Path:
    where = WORK / "cli-demo"
    if not (where / "new-start" / "ledger" / "ledger.db").exists():
        shutil.rmtree(where, ignore_errors=True)
        subprocess.run(
            [PY, "-c", RUN, "demo", str(where), "--json"], env=env, check=True, capture_output=True
        )
    return where / "new-start" / "ledger"


def baseline_ledger() -> tuple[Path, dict[str, str]]:
    tree = _baseline_tree()
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    where = WORK / "baseline-cli-ledger"
    if not (where / "ledger.json").exists():
        empty = WORK / "baseline-cli-empty.jsonl"
        empty.write_bytes(b"")
        subprocess.run(
            [
                PY,
                "-c",
                BASELINE_BUILD,
                str(where),
                str(tree / "examples" / "new-start"),
                str(PACKAGE / "data" / "aggregates.csv"),
                str(tree / "examples" / "new-start" / "mapping.yaml"),
                str(empty),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    return where, env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    now_env = dict(os.environ)
    ledger = demo_ledger(now_env)
    old_ledger, old_env = baseline_ledger()
    status = ["status", "--as-of", AS_OF]
    result: dict[str, Any] = {
        "runs": args.runs,
        "now": {
            "version_s": median_wall(["--version"], now_env, args.runs),
            "status_s": median_wall([status[0], str(ledger), *status[1:]], now_env, args.runs),
            "import_version": import_profile(["--version"], now_env),
            "import_status": import_profile([status[0], str(ledger), *status[1:]], now_env),
        },
        "baseline": {
            "commit": "d753e62",
            "version_s": median_wall(["--version"], old_env, args.runs),
            "status_s": median_wall([status[0], str(old_ledger), *status[1:]], old_env, args.runs),
            "import_version": import_profile(["--version"], old_env),
        },
    }
    now, old = result["now"], result["baseline"]
    result["ratio"] = {
        "version": round(now["version_s"] / old["version_s"], 3),
        "status": round(now["status_s"] / old["status_s"], 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"median of {args.runs} runs, wall")
    print(
        f"  cvid --version   now {now['version_s']:.3f} s  0.1 {old['version_s']:.3f} s  "
        f"ratio {result['ratio']['version']}"
    )
    print(
        f"  cvid status      now {now['status_s']:.3f} s  0.1 {old['status_s']:.3f} s  "
        f"ratio {result['ratio']['status']}"
    )
    for label, prof in (
        ("--version now", now["import_version"]),
        ("--version 0.1", old["import_version"]),
        ("status now", now["import_status"]),
    ):
        tops = ", ".join(f"{t['module']} {t['cumulative_ms']}" for t in prof["top"][:5])
        print(f"  imports {label}: {prof['total_ms']} ms, {prof['modules']} modules; {tops}")


if __name__ == "__main__":
    main()
