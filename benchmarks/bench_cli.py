"""How fast the cvid command answers: start-up and ``cvid status`` on a demo ledger, beside cvid
0.1, with the import profile.

Each figure is the median wall time of N runs of a new process (``python -c 'from
cvid.cli.main import main; main()' ARGS``, the same form for both versions, so the launcher
script is not measured), in two conditions, both versions alike:

- **warm** (what a user feels from the second run on): Python's bytecode caches in place, as
  CPython writes them on the first run (and ``scripts/setup.sh`` writes them at install);
  one unmeasured run first.
- **cold** (the first run after an install or a change): each version's own ``__pycache__``
  folders removed before every run and none written, so its modules are compiled from source
  each time (the standard library and site-packages keep theirs).

``PYTHONDONTWRITEBYTECODE`` (which this project's machines set) is taken out of the warm
runs' environment and set for the cold ones.

Now: ``cvid --version`` and ``cvid status`` on the New START ledger ``cvid demo`` builds.
cvid 0.1 (commit d753e62, a git worktree in benchmarks/.work/baseline-src, as in
bench_scale.py): ``--version`` and ``status`` on a ledger of the same 26 published aggregates
built by that version. Targets (issue 11): --version
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


def _drop_caches(tree: Path) -> None:
    for cache in tree.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def median_wall(args: list[str], env: dict[str, str], runs: int, cold: Path | None = None) -> float:
    """Median wall time of ``runs`` new processes; ``cold``: the tree whose bytecode caches are
    removed before each run (none written), else warm (caches written by a first run)."""
    env = dict(env)
    if cold is None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([PY, "-c", RUN, *args], env=env, capture_output=True, check=False)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    times = []
    for _ in range(runs):
        if cold is not None:
            _drop_caches(cold)
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
    now_args = [status[0], str(ledger), *status[1:]]
    old_args = [status[0], str(old_ledger), *status[1:]]
    now_tree = Path(__file__).resolve().parent.parent / "src"
    old_tree = _baseline_tree() / "src"
    result: dict[str, Any] = {"runs": args.runs, "load_average": os.getloadavg()[0]}
    for label, cold in (("warm", False), ("cold", True)):
        result[label] = {
            "now": {
                "version_s": median_wall(
                    ["--version"], now_env, args.runs, now_tree if cold else None
                ),
                "status_s": median_wall(now_args, now_env, args.runs, now_tree if cold else None),
            },
            "baseline": {
                "commit": "d753e62",
                "version_s": median_wall(
                    ["--version"], old_env, args.runs, old_tree if cold else None
                ),
                "status_s": median_wall(old_args, old_env, args.runs, old_tree if cold else None),
            },
        }
        now, old = result[label]["now"], result[label]["baseline"]
        result[label]["ratio"] = {
            "version": round(now["version_s"] / old["version_s"], 3),
            "status": round(now["status_s"] / old["status_s"], 3),
        }
    # Leave warm caches behind (the state a user's tree is in), then profile the imports.
    median_wall(["--version"], now_env, 1)
    median_wall(now_args, now_env, 1)
    median_wall(["--version"], old_env, 1)
    result["import_version"] = import_profile(["--version"], now_env)
    result["import_status"] = import_profile(now_args, now_env)
    result["import_version_baseline"] = import_profile(["--version"], old_env)
    result["load_average_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"median of {args.runs} runs, wall; load average {result['load_average']:.2f} at the "
        f"start, {result['load_average_end']:.2f} at the end"
    )
    for label in ("warm", "cold"):
        now, old, ratio = result[label]["now"], result[label]["baseline"], result[label]["ratio"]
        print(f"  {label} (bytecode caches {'in place' if label == 'warm' else 'removed'})")
        print(
            f"    cvid --version   now {now['version_s']:.3f} s  0.1 {old['version_s']:.3f} s  "
            f"ratio {ratio['version']}"
        )
        print(
            f"    cvid status      now {now['status_s']:.3f} s  0.1 {old['status_s']:.3f} s  "
            f"ratio {ratio['status']}"
        )
    for label, prof in (
        ("--version now", result["import_version"]),
        ("--version 0.1", result["import_version_baseline"]),
        ("status now", result["import_status"]),
    ):
        tops = ", ".join(f"{t['module']} {t['cumulative_ms']}" for t in prof["top"][:5])
        print(f"  imports {label}: {prof['total_ms']} ms, {prof['modules']} modules; {tops}")


if __name__ == "__main__":
    main()
