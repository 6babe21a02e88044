"""Designing Page's test: average run length, the threshold for a false-alarm goal, detection.

Everything is computed for Page's one-sided CUSUM S_i = max(0, S_{i-1} + x_i − k), S_0 = 0,
alarm when S_i > h, on independent x_i ~ N(μ_i, 1) — SITMUF, whose means μ_i are the
standardized loss (zero without loss). The run-length distribution follows from the integral
equation of the CUSUM (Page 1954; Brook and Evans 1972), solved by the Nyström method:

    g(z) = Φ(k − z − μ)·g(0) + ∫₀ʰ φ(y + k − z − μ)·g(y) dy

with Gauss–Legendre quadrature on panels of width at most one (the kernel is a unit normal
density, so each panel needs few nodes; 16 a panel give the ARL to ~1e-10 relative). The
atom of S at zero is the first term. Iterating the equation from g ≡ 1 gives P(no alarm in n
periods); solving g = 1 + (the right side) gives the ARL. For a continuous distribution the
alarm rule S > h or S ≥ h makes no difference.

The ARL solves (I − K) g = 1, whose condition number grows like the ARL itself: a plain LU
solve is accurate to ~1e-16·ARL relative, and beyond ~1e13 returns garbage (even negative
numbers). Beyond 1e6 the ARL is therefore computed subtraction-free (Grassmann–Taksar–Heyman
style Gaussian elimination of the M-matrix I − K, with each row's excess — the exact one-step
alarm probability Φ̄(h + k − z − μ) — carried separately), which keeps high relative accuracy
however large the ARL; only an ARL beyond 1e300 periods, or a test that can never alarm in
double precision, is refused.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from cvid.accountancy.sequential import check_alpha, check_h, check_k, page_statistic
from cvid.errors import InputError

FloatArray = NDArray[np.float64]

_NODES_PER_PANEL = 16
_MAX_H = 100.0
# A plain LU solve of (I − K) g = 1 is accurate to ~1e-16·ARL relative; above this ARL the
# subtraction-free elimination is used instead.
_PLAIN_ARL_LIMIT = 1e6
# ARLs beyond this are refused: near the double-precision range they cannot be trusted.
_MAX_ARL = 1e300
# Longest sequence the design functions accept (a loss pattern is an array of this length).
MAX_PERIODS = 1_000_000
# Up to this many equal periods are stepped one by one; longer runs use repeated squaring.
_DIRECT_STEPS = 64


class _PageKernel:
    # The Nyström discretization of the CUSUM kernel for one (k, h): points are 0 and the
    # Gauss–Legendre nodes in (0, h); a function g is carried as its values at those points.

    def __init__(self, k: float, h: float) -> None:
        check_k(k)
        check_h(h)
        if h > _MAX_H:
            raise InputError(f"decision interval h = {h!r} exceeds {_MAX_H:g} (ARL beyond any use)")
        self.k = k
        self.h = h
        panels = math.ceil(h) if h > 0.0 else 0
        base, base_w = np.polynomial.legendre.leggauss(_NODES_PER_PANEL)
        edges = np.linspace(0.0, h, panels + 1)
        nodes = [(b - a) / 2.0 * base + (a + b) / 2.0 for a, b in itertools.pairwise(edges)]
        weights = [(b - a) / 2.0 * base_w for a, b in itertools.pairwise(edges)]
        self.nodes = np.concatenate([np.empty(0), *nodes])
        self.weights = np.concatenate([np.empty(0), *weights])
        self.points = np.concatenate(([0.0], self.nodes))
        self._cache: dict[float, FloatArray] = {}

    def matrix(self, mean: float) -> FloatArray:
        """K with (K g)(z) = Φ(k − z − μ) g(0) + Σ_j w_j φ(y_j + k − z − μ) g(y_j)."""
        cached = self._cache.get(mean)
        if cached is not None:
            return cached
        z = self.points[:, None]
        out = np.empty((self.points.size, self.points.size))
        out[:, 0] = stats.norm.cdf(self.k - self.points - mean)
        out[:, 1:] = self.weights * stats.norm.pdf(self.nodes[None, :] + self.k - z - mean)
        self._cache[mean] = out
        return out

    def leak(self, mean: float) -> FloatArray:
        """P(alarm at the next step | S = z) = Φ̄(h + k − z − μ) at every point, exactly."""
        return np.asarray(stats.norm.sf(self.h + self.k - self.points - mean), dtype=np.float64)


def check_periods(periods: int) -> None:
    """Raise :class:`InputError` unless 1 <= ``periods`` <= :data:`MAX_PERIODS`."""
    if periods < 1:
        raise InputError(f"periods = {periods!r} must be at least 1")
    if periods > MAX_PERIODS:
        raise InputError(
            f"periods = {periods!r} exceeds {MAX_PERIODS:,} (the design functions are limited "
            "to that many balance periods)"
        )


def _check_means(means: FloatArray) -> FloatArray:
    values = np.asarray(means, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise InputError("the per-period means must be a non-empty sequence")
    check_periods(values.size)
    if not np.all(np.isfinite(values)):
        raise InputError("the per-period means must be finite")
    return values


def _subtraction_free_arl(matrix: FloatArray, leak: FloatArray) -> float:
    # Solves (I − K) g = 1 for g[0] by Gaussian elimination without pivoting, GTH style: the
    # off-diagonal entries −K_ij ≤ 0 and each row's excess s_i = Σ_j (I − K)_ij (the one-step
    # alarm probability, given exactly) are updated separately, and each pivot is recomputed as
    # s_i + Σ_{j>i} K_ij. Every operation adds nonnegative numbers, so there is no cancellation
    # and the result keeps high relative accuracy even when 1/ARL is far below rounding.
    off = matrix.copy()
    excess = leak.copy()
    rhs = np.ones(excess.size)
    pivots = np.empty(excess.size)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(excess.size):
            pivot = excess[i] + off[i, i + 1 :].sum()
            if not pivot > 0.0:
                return math.inf  # no alarm is possible from here: the test never alarms
            pivots[i] = pivot
            factor = off[i + 1 :, i] / pivot
            off[i + 1 :, i + 1 :] += np.outer(factor, off[i, i + 1 :])
            excess[i + 1 :] += factor * excess[i]
            rhs[i + 1 :] += factor * rhs[i]
        arl = np.empty(excess.size)
        for i in range(excess.size - 1, -1, -1):
            arl[i] = (rhs[i] + off[i, i + 1 :] @ arl[i + 1 :]) / pivots[i]
    value = float(arl[0])
    return value if math.isfinite(value) else math.inf


def _arl(k: float, h: float, shift: float) -> float:
    # The one-sided ARL, or math.inf when it is beyond _MAX_ARL (no reliable figure).
    if not math.isfinite(shift):
        raise InputError(f"shift = {shift!r} must be finite")
    kernel = _PageKernel(k, h)
    matrix = kernel.matrix(shift)
    try:
        system = np.eye(kernel.points.size) - matrix
        value = float(np.linalg.solve(system, np.ones(kernel.points.size))[0])
    except np.linalg.LinAlgError:
        value = math.nan
    if not (math.isfinite(value) and 1.0 <= value <= _PLAIN_ARL_LIMIT):
        value = _subtraction_free_arl(matrix, kernel.leak(shift))
    return value if value <= _MAX_ARL else math.inf


def _too_large(k: float, h: float, shift: float) -> InputError:
    return InputError(
        f"the ARL for k = {k:g}, h = {h:g}, shift = {shift:g} is beyond 1e300 periods "
        "(Page's test practically never alarms) and cannot be computed reliably"
    )


def page_arl(k: float, h: float, shift: float = 0.0) -> float:
    """The average run length of Page's one-sided test on N(shift, 1) data, from S_0 = 0.

    Accurate to ~1e-10 relative at any size; an ARL beyond 1e300 periods (or one so large that
    an alarm has probability zero in double precision) is an :class:`InputError`.
    """
    value = _arl(k, h, shift)
    if not math.isfinite(value):
        raise _too_large(k, h, shift)
    return value


def page_arl_two_sided(k: float, h: float, shift: float = 0.0) -> float:
    """The ARL of the two-sided CUSUM with symmetric k and h: 1/ARL = 1/ARL₊ + 1/ARL₋.

    The formula (Van Dobben de Bruyn 1968; the basis of the standard tables) is exact when the
    upper and lower statistics are never positive together, which holds for h ≤ 2k, and a
    close approximation otherwise, best in control. A side whose ARL is beyond 1e300 adds
    nothing; both beyond is an :class:`InputError`.
    """
    upper = _arl(k, h, shift)
    lower = _arl(k, h, -shift)
    if not (math.isfinite(upper) or math.isfinite(lower)):
        raise _too_large(k, h, shift)
    return 1.0 / (1.0 / upper + 1.0 / lower)


def page_run_length_cdf(k: float, h: float, periods: int, shift: float = 0.0) -> FloatArray:
    """P(run length ≤ n) for n = 1..``periods`` on N(shift, 1) data, exactly (Nyström)."""
    check_periods(periods)
    kernel = _PageKernel(k, h)
    step = kernel.matrix(shift)
    survive = np.ones(kernel.points.size)
    out = np.empty(periods)
    for n in range(periods):
        survive = step @ survive
        out[n] = 1.0 - survive[0]
    return out


def page_alarm_probability(k: float, h: float, means: FloatArray) -> float:
    """P(Page's test alarms within len(``means``) periods) when x_i ~ N(means[i], 1).

    With all means zero this is the false-alarm probability; with a loss it is the detection
    probability (counting, as is usual, an alarm before the loss as a detection).
    """
    values = _check_means(means)
    kernel = _PageKernel(k, h)
    # Backward in time: g_i(z) = P(no alarm in periods i+1..N | S_i = z). A run of equal means
    # (a constant or protracted pattern, the zeros around an abrupt loss) is applied as a matrix
    # power, so a long sequence costs O(log N) matrix products.
    backward = values[::-1]
    starts = np.concatenate(([0], np.flatnonzero(backward[1:] != backward[:-1]) + 1))
    counts = np.diff(np.append(starts, backward.size))
    survive = np.ones(kernel.points.size)
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        survive = _apply_power(kernel.matrix(float(backward[start])), count, survive)
    return float(1.0 - survive[0])


def _apply_power(matrix: FloatArray, count: int, vector: FloatArray) -> FloatArray:
    # matrix**count @ vector: step by step for short runs, by repeated squaring for long ones.
    if count <= _DIRECT_STEPS:
        for _ in range(count):
            vector = matrix @ vector
        return vector
    power = matrix
    while True:
        if count & 1:
            vector = power @ vector
        count >>= 1
        if not count:
            return vector
        power = power @ power


def page_threshold(k: float, periods: int, false_alarm: float) -> float:
    """The h with P(Page's test alarms within ``periods`` loss-free periods) = ``false_alarm``.

    Solved with Brent's method to 1e-10. Raises :class:`InputError` when even h = 0 keeps the
    false-alarm probability at or below the goal (k too large for that goal).
    """
    check_k(k)
    check_alpha(false_alarm)
    check_periods(periods)
    zeros = np.zeros(periods)

    def excess(h: float) -> float:
        return page_alarm_probability(k, h, zeros) - false_alarm

    at_zero = excess(0.0) + false_alarm
    if at_zero <= false_alarm:
        raise InputError(
            f"with k = {k:g} over {periods} periods even h = 0 gives false-alarm probability "
            f"{at_zero:.4g} <= {false_alarm:g}; choose a smaller k"
        )
    high = 1.0
    while excess(high) > 0.0:
        high *= 2.0
        if high > _MAX_H:
            raise InputError(f"no h <= {_MAX_H:g} reaches false-alarm probability {false_alarm:g}")
    return float(optimize.brentq(excess, 0.0, high, xtol=1e-10))


class LossPattern(StrEnum):
    """How a total loss is spread over the periods."""

    ABRUPT = "abrupt"
    PROTRACTED = "protracted"


def loss_pattern(
    total: float, periods: int, pattern: LossPattern, period: int | None = None
) -> FloatArray:
    """The loss per period: all of ``total`` in ``period`` (1-based, default the last) or spread
    evenly over all ``periods``. A loss is material missing: ``total`` must be >= 0."""
    check_periods(periods)
    if not math.isfinite(total) or total < 0.0:
        raise InputError(f"loss = {total!r} must be finite and >= 0 (material missing)")
    if pattern is LossPattern.PROTRACTED:
        if period is not None:
            raise InputError("a period can only be chosen for an abrupt loss")
        return np.full(periods, total / periods)
    where = periods if period is None else period
    if not 1 <= where <= periods:
        raise InputError(f"loss period {where} is outside 1..{periods}")
    out = np.zeros(periods)
    out[where - 1] = total
    return out


def cumuf_detection_probability(shift_sd: float, alpha: float) -> float:
    """P(CUMUF_N / σ > z_{1−α}) when E[CUMUF_N] = ``shift_sd`` standard deviations of CUMUF_N."""
    check_alpha(alpha)
    return float(stats.norm.sf(stats.norm.isf(alpha) - shift_sd))


def gemuf_detection_probability(means: FloatArray, alpha: float) -> float:
    """P(Σ x_i² > χ²_{1−α}(N)) for x_i ~ N(means[i], 1): a noncentral χ² tail."""
    check_alpha(alpha)
    values = _check_means(means)
    threshold = stats.chi2.isf(alpha, values.size)
    noncentrality = float(np.dot(values, values))
    if noncentrality == 0.0:
        return float(stats.chi2.sf(threshold, values.size))
    return float(stats.ncx2.sf(threshold, values.size, noncentrality))


@dataclass(frozen=True)
class DetectionFigures:
    """Detection probabilities of one loss pattern by Page's, the CUMUF and the GEMUF test."""

    k: float
    h: float
    alpha: float
    means: FloatArray
    page: float
    cumuf: float
    gemuf: float


def detection_probabilities(
    means: FloatArray, cumuf_shift_sd: float, k: float, h: float, alpha: float
) -> DetectionFigures:
    """Exact detection probabilities for SITMUF means ``means`` and a CUMUF shift in its σ."""
    values = _check_means(means)
    return DetectionFigures(
        k,
        h,
        alpha,
        values,
        page_alarm_probability(k, h, values),
        cumuf_detection_probability(cumuf_shift_sd, alpha),
        gemuf_detection_probability(values, alpha),
    )


def standardized_detection(
    k: float,
    periods: int,
    false_alarm: float,
    loss_sd: float,
    pattern: LossPattern,
    period: int | None = None,
) -> DetectionFigures:
    """Detection of a total loss of ``loss_sd`` (in σ of one period's MUF) over ``periods``
    independent periods, with h set for ``false_alarm`` over those periods and the CUMUF and
    GEMUF tests at the same level."""
    h = page_threshold(k, periods, false_alarm)
    means = loss_pattern(loss_sd, periods, pattern, period)
    return detection_probabilities(means, loss_sd / math.sqrt(periods), k, h, false_alarm)


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A simulated probability with its binomial standard error."""

    probability: float
    standard_error: float
    samples: int


def simulate_page_alarm_probability(
    k: float, h: float, means: FloatArray, samples: int, seed: int
) -> MonteCarloEstimate:
    """Monte Carlo estimate of :func:`page_alarm_probability`, to cross-check it."""
    check_h(h)
    values = _check_means(means)
    if samples < 1:
        raise InputError(f"samples = {samples!r} must be at least 1")
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((values.size, samples)) + values[:, None]
    statistic = page_statistic(data, k)
    p = float(np.mean(np.any(statistic > h, axis=0)))
    return MonteCarloEstimate(p, math.sqrt(p * (1.0 - p) / samples), samples)
