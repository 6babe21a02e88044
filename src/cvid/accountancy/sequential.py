"""Sequential tests on a MUF sequence: Page's CUSUM, CUMUF, GEMUF and the per-period Shewhart test.

All tests look for losses, so they are one-sided: a positive MUF (book above physical) is
material missing. Page's test and GEMUF take SITMUF (independent N(0, 1) without loss); CUMUF
and Shewhart take MUF in kg with its standard deviation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from cvid.errors import InputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def check_k(k: float) -> None:
    """Raise :class:`InputError` unless the reference value ``k`` is finite and >= 0."""
    if not math.isfinite(k) or k < 0.0:
        raise InputError(f"reference value k = {k!r} must be finite and >= 0")


def check_h(h: float) -> None:
    """Raise :class:`InputError` unless the decision interval ``h`` is finite and >= 0."""
    if not math.isfinite(h) or h < 0.0:
        raise InputError(f"decision interval h = {h!r} must be finite and >= 0")


def check_alpha(alpha: float, what: str = "false-alarm probability") -> None:
    """Raise :class:`InputError` unless ``alpha`` lies strictly between 0 and 1."""
    if not math.isfinite(alpha) or not 0.0 < alpha < 1.0:
        raise InputError(f"{what} = {alpha!r} must lie strictly between 0 and 1")


def page_statistic(x: FloatArray, k: float) -> FloatArray:
    """Page's one-sided CUSUM S_i = max(0, S_{i-1} + x_i − k) with S_0 = 0, for every i.

    ``x`` is one sequence (n,) or r sequences as the columns of an (n, r) array. Computed in
    O(n) without a Python loop: with C_i = Σ_{j≤i} (x_j − k) and C_0 = 0, the recursion's
    solution is S_i = C_i − min_{0≤j≤i} C_j (Lindley).
    """
    check_k(k)
    values = np.asarray(x, dtype=np.float64)
    walk = np.concatenate((np.zeros((1, *values.shape[1:])), np.cumsum(values - k, axis=0)))
    return np.asarray(walk[1:] - np.minimum.accumulate(walk, axis=0)[1:], dtype=np.float64)


@dataclass(frozen=True)
class PageResult:
    """Page's test over a sequence: the statistic, the periods where S_i > h, the first alarm.

    The statistic is not reset after an alarm, so ``alarms`` marks every period in which the
    evidence of a loss exceeds ``h``; ``first_alarm`` is the 0-based index of the first one.
    """

    k: float
    h: float
    statistic: FloatArray
    alarms: BoolArray

    @property
    def first_alarm(self) -> int | None:
        """The 0-based index of the first period with S_i > h, or None."""
        hits = np.flatnonzero(self.alarms)
        return int(hits[0]) if hits.size else None


def page_test(sitmuf: FloatArray, k: float, h: float) -> PageResult:
    """Page's one-sided test on ``sitmuf``: alarm in period i when S_i > h (S_0 = 0)."""
    check_h(h)
    statistic = page_statistic(sitmuf, k)
    return PageResult(k, h, statistic, statistic > h)


@dataclass(frozen=True)
class CumufResult:
    """The CUMUF test: CUMUF_i / σ(CUMUF_i) against the one-sided normal quantile z_{1−α}."""

    alpha: float
    threshold: float
    standardized: FloatArray
    alarms: BoolArray

    @property
    def final_alarm(self) -> bool:
        """The test at the end of the sequence (the usual end-of-year CUMUF test)."""
        return bool(self.alarms[-1])


def cumuf_test(cumuf: FloatArray, sigma_cumuf: FloatArray, alpha: float) -> CumufResult:
    """Test every CUMUF_i at level ``alpha``; each period's test alone has false-alarm ``alpha``."""
    check_alpha(alpha)
    threshold = float(stats.norm.isf(alpha))
    z = np.asarray(cumuf, dtype=np.float64) / np.asarray(sigma_cumuf, dtype=np.float64)
    return CumufResult(alpha, threshold, z, z > threshold)


@dataclass(frozen=True)
class GemufResult:
    """GEMUF: Σ SITMUF² = MUFᵀ Σ⁻¹ MUF against the χ² quantile with n degrees of freedom."""

    alpha: float
    statistic: float
    threshold: float
    p_value: float

    @property
    def alarm(self) -> bool:
        """True when the statistic exceeds the (1 − alpha) χ² quantile."""
        return self.statistic > self.threshold


def gemuf_test(sitmuf: FloatArray, alpha: float) -> GemufResult:
    """The GEMUF (χ²) test of the whole sequence ``sitmuf`` at level ``alpha``."""
    check_alpha(alpha)
    x = np.asarray(sitmuf, dtype=np.float64)
    dof = x.shape[0]
    statistic = float(np.dot(x, x))
    return GemufResult(
        alpha, statistic, float(stats.chi2.isf(alpha, dof)), float(stats.chi2.sf(statistic, dof))
    )


@dataclass(frozen=True)
class ShewhartResult:
    """The per-period test MUF_i / σMUF_i > z_{1−α}, each period on its own."""

    alpha: float
    threshold: float
    standardized: FloatArray
    alarms: BoolArray


def shewhart_test(muf: FloatArray, sigma: FloatArray, alpha: float) -> ShewhartResult:
    """Test each MUF_i against z_{1−α}·σMUF_i (one-sided: losses only)."""
    check_alpha(alpha)
    threshold = float(stats.norm.isf(alpha))
    z = np.asarray(muf, dtype=np.float64) / np.asarray(sigma, dtype=np.float64)
    return ShewhartResult(alpha, threshold, z, z > threshold)
