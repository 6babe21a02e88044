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


class _PageKernel:
    # The Nyström discretization of the CUSUM kernel for one (k, h): points are 0 and the
    # Gauss–Legendre nodes in (0, h); a function g is carried as its values at those points.

    def __init__(self, k: float, h: float) -> None:
        check_k(k)
        check_h(h)
        if h > _MAX_H:
            raise InputError(f"decision interval h = {h!r} exceeds {_MAX_H:g} (ARL beyond any use)")
        self.k = k
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


def _check_means(means: FloatArray) -> FloatArray:
    values = np.asarray(means, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise InputError("the per-period means must be a non-empty sequence")
    if not np.all(np.isfinite(values)):
        raise InputError("the per-period means must be finite")
    return values


def page_arl(k: float, h: float, shift: float = 0.0) -> float:
    """The average run length of Page's one-sided test on N(shift, 1) data, from S_0 = 0."""
    if not math.isfinite(shift):
        raise InputError(f"shift = {shift!r} must be finite")
    kernel = _PageKernel(k, h)
    system = np.eye(kernel.points.size) - kernel.matrix(shift)
    return float(np.linalg.solve(system, np.ones(kernel.points.size))[0])


def page_arl_two_sided(k: float, h: float, shift: float = 0.0) -> float:
    """The ARL of the two-sided CUSUM with symmetric k and h: 1/ARL = 1/ARL₊ + 1/ARL₋.

    The formula (Van Dobben de Bruyn 1968; the basis of the standard tables) is exact when the
    upper and lower statistics are never positive together, which holds for h ≤ 2k, and a
    close approximation otherwise, best in control.
    """
    upper = page_arl(k, h, shift)
    lower = page_arl(k, h, -shift)
    return 1.0 / (1.0 / upper + 1.0 / lower)


def page_run_length_cdf(k: float, h: float, periods: int, shift: float = 0.0) -> FloatArray:
    """P(run length ≤ n) for n = 1..``periods`` on N(shift, 1) data, exactly (Nyström)."""
    if periods < 1:
        raise InputError(f"periods = {periods!r} must be at least 1")
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
    # Backward in time: g_i(z) = P(no alarm in periods i+1..N | S_i = z).
    survive = np.ones(kernel.points.size)
    for mean in values[::-1]:
        survive = kernel.matrix(float(mean)) @ survive
    return float(1.0 - survive[0])


def page_threshold(k: float, periods: int, false_alarm: float) -> float:
    """The h with P(Page's test alarms within ``periods`` loss-free periods) = ``false_alarm``.

    Solved with Brent's method to 1e-10. Raises :class:`InputError` when even h = 0 keeps the
    false-alarm probability at or below the goal (k too large for that goal).
    """
    check_k(k)
    check_alpha(false_alarm)
    if periods < 1:
        raise InputError(f"periods = {periods!r} must be at least 1")
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
    evenly over all ``periods``."""
    if periods < 1:
        raise InputError(f"periods = {periods!r} must be at least 1")
    if not math.isfinite(total):
        raise InputError(f"loss = {total!r} must be finite")
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
