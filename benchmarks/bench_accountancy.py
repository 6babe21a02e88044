"""SITMUF and Page's test over a long balance sequence: O(n) recursion against dense Cholesky.

Builds a material balance area of N periods (default 10,000) with the built-in method table —
each period two receipts, two shipments and a three-item ending inventory shared with the next
period — and times, in the same run:

- recursion: ``Innovations(covariance)`` (banded Cholesky + information-form filter),
  ``standardize(muf)`` and ``page_test``;
- dense: ``scipy.linalg.cholesky`` of the N×N covariance, ``solve_triangular`` and
  ``page_test`` (the dense matrix is formed before the clock starts).

Each is repeated and the median reported, with the largest difference between the two SITMUF.

Usage: ``.venv/bin/python benchmarks/bench_accountancy.py [--periods N] [--repeats R]
[--dense-repeats D] [--json]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
import scipy.linalg

from cvid.accountancy import (
    BalancePeriod,
    Innovations,
    MaterialBalanceArea,
    MeasuredItem,
    MethodTable,
    material_balance,
    page_test,
)


def build_area(periods: int, seed: int = 1) -> MaterialBalanceArea:
    """A plausible plutonium process area of ``periods`` balance periods (kg)."""
    rng = np.random.default_rng(seed)

    def inventory() -> tuple[MeasuredItem, ...]:
        return (
            MeasuredItem(float(rng.uniform(35, 45)), "volume", "tank"),
            MeasuredItem(float(rng.uniform(55, 65)), "titration", "cans"),
            MeasuredItem(float(rng.uniform(1.5, 2.5)), "neutron", "holdup"),
        )

    reports = []
    for i in range(periods):
        receipts = tuple(MeasuredItem(float(rng.uniform(22, 28)), "idms") for _ in range(2))
        shipments = (
            MeasuredItem(float(rng.uniform(45, 55)), "titration"),
            MeasuredItem(float(rng.uniform(0.3, 0.5)), "neutron"),
        )
        reports.append(BalancePeriod(f"P{i + 1}", receipts, shipments, inventory()))
    return MaterialBalanceArea("BENCH", inventory(), tuple(reports))


def _time(func: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    """Run the benchmark and print a table, or JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7, help="repeats of the recursion")
    parser.add_argument("--dense-repeats", type=int, default=3, help="repeats of dense Cholesky")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    start = time.perf_counter()
    sequence = material_balance(build_area(args.periods), MethodTable.default())
    build_s = time.perf_counter() - start
    covariance = sequence.covariance
    # Loss-free MUF drawn from the model, so that Page's test sees realistic data.
    rng = np.random.default_rng(2)
    dense_cov = covariance.dense()
    muf = np.linalg.cholesky(dense_cov) @ rng.standard_normal(args.periods)
    k, h = 0.5, 4.0

    def recursion() -> np.ndarray[Any, np.dtype[np.float64]]:
        z = Innovations(covariance).standardize(muf)
        page_test(z, k, h)
        return z

    def dense() -> np.ndarray[Any, np.dtype[np.float64]]:
        factor = scipy.linalg.cholesky(dense_cov, lower=True, check_finite=False)
        z = scipy.linalg.solve_triangular(factor, muf, lower=True, check_finite=False)
        page_test(z, k, h)
        return np.asarray(z, dtype=np.float64)

    rec_times, z_rec = _time(recursion, args.repeats)
    dense_times, z_dense = _time(dense, args.dense_repeats)
    rec_median = statistics.median(rec_times)
    dense_median = statistics.median(dense_times)
    result = {
        "periods": args.periods,
        "methods": int(covariance.loadings.shape[1]),
        "recursion_median_s": rec_median,
        "recursion_repeats": args.repeats,
        "dense_median_s": dense_median,
        "dense_repeats": args.dense_repeats,
        "ratio_dense_over_recursion": dense_median / rec_median,
        "max_abs_difference": float(np.max(np.abs(z_rec - z_dense))),
        "covariance_build_s": build_s,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "machine": f"{platform.machine()}, {platform.system()}",
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"SITMUF + Page's test over {args.periods:,} balance periods ({result['methods']} methods)"
    )
    print(f"{'method':<38}{'median s':>12}{'min s':>12}{'repeats':>9}")
    rows = (
        ("O(n) recursion (Innovations)", rec_times),
        ("dense Cholesky + solve_triangular", dense_times),
    )
    for name, times in rows:
        print(f"{name:<38}{statistics.median(times):>12.4f}{min(times):>12.4f}{len(times):>9}")
    print(f"ratio dense / recursion: {result['ratio_dense_over_recursion']:.0f}x")
    print(f"max |SITMUF difference|: {result['max_abs_difference']:.2e}")
    print(f"(building the balance and its covariance took {build_s:.2f} s, not timed above)")


if __name__ == "__main__":
    main()
