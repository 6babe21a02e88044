"""SITMUF: the MUF sequence transformed into independent standardized residuals.

With Σ = L Lᵀ the Cholesky factorization of the covariance of MUF_1..MUF_n, SITMUF = L⁻¹ MUF;
its i-th element is the innovation of MUF_i (MUF_i minus its best linear prediction from
MUF_1..MUF_{i-1}) divided by the innovation's standard deviation. Loss-free SITMUF are
independent N(0, 1).

Two ways to compute it, which agree to rounding:

- :func:`sitmuf_dense`: dense Cholesky, O(n³) time and O(n²) memory, any covariance.
- :class:`Innovations`: O(n·m³) for the structure of a balance sequence, Σ = T + A D Aᵀ with
  T tridiagonal (shared inventories) and A an n×m matrix (m methods, D their systematic
  variances). Factor T = L_T L_Tᵀ (banded Cholesky, O(n)); then B = L_T⁻¹ A and y = L_T⁻¹ x
  have ``Cov(y) = I + B D Bᵀ``: y is a linear regression on the systematic errors with unit
  noise, whose innovations come from the Kalman filter in information form — the precision of
  the systematic errors after i-1 periods is D⁻¹ + Σ_{j<i} b_j b_jᵀ, a prefix sum. L_T times the
  Cholesky factor of I + B D Bᵀ is lower triangular with positive diagonal and squares to Σ, so
  it is *the* Cholesky factor of Σ and both ways give the same numbers.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

from cvid.accountancy.balance import MufCovariance
from cvid.errors import InputError

FloatArray = NDArray[np.float64]


def sitmuf_dense(muf: FloatArray, covariance: FloatArray) -> FloatArray:
    """SITMUF = L⁻¹ ``muf`` by dense Cholesky of ``covariance`` (n×n); ``muf`` is (n,) or (n, r).

    A covariance that is not positive definite is an :class:`InputError`.
    """
    try:
        factor = scipy.linalg.cholesky(covariance, lower=True, check_finite=True)
    except np.linalg.LinAlgError as exc:
        raise InputError(f"the MUF covariance matrix is not positive definite ({exc})") from None
    out = scipy.linalg.solve_triangular(factor, muf, lower=True, check_finite=False)
    return np.asarray(out, dtype=np.float64)


def _first_nonpositive_pivot(diag: FloatArray, off: FloatArray) -> int:
    # Only called after LAPACK refused the factorization, to name the period for the user.
    pivot = float(diag[0])
    for i in range(len(diag)):
        if i > 0:
            pivot = float(diag[i]) - float(off[i - 1]) ** 2 / pivot
        if not pivot > 0.0:
            return i
    return len(diag) - 1


class Innovations:
    """The Cholesky factor of a :class:`MufCovariance`, in O(n) for its structure.

    Build it once per covariance; :meth:`standardize` then maps any MUF vector (or loss pattern,
    or batch of columns) to SITMUF in O(n·m) each. Raises :class:`InputError` when the random
    part of the covariance is not positive definite (a period with no random uncertainty),
    naming the period (1-based).
    """

    def __init__(self, covariance: MufCovariance) -> None:
        n = covariance.periods
        banded = np.zeros((2, n))
        banded[0] = covariance.random_diag
        banded[1, : n - 1] = covariance.random_off
        try:
            self._lower = scipy.linalg.cholesky_banded(banded, lower=True, check_finite=True)
        except np.linalg.LinAlgError:
            bad = _first_nonpositive_pivot(covariance.random_diag, covariance.random_off)
            raise InputError(
                f"period {bad + 1}: the random part of the MUF covariance is not positive "
                "definite there (no random measurement uncertainty?); use sitmuf_dense"
            ) from None
        keep = covariance.systematic_var > 0.0
        loadings = covariance.loadings[:, keep]
        self._b = self._solve_lower(loadings)  # B = L_T⁻¹ A, (n, m)
        m = self._b.shape[1]
        # Precision of the systematic errors before period i: D⁻¹ + Σ_{j<i} b_j b_jᵀ.
        outer = self._b[:, :, None] * self._b[:, None, :]
        precision = np.empty((n, m, m))
        precision[0] = np.diag(1.0 / covariance.systematic_var[keep])
        if n > 1:
            precision[1:] = precision[0] + np.cumsum(outer[:-1], axis=0)
        # P_{i-1} b_i, the gain that predicts y_i from the earlier periods.
        self._gain = np.linalg.solve(precision, self._b[:, :, None])[:, :, 0]
        self._scale = np.sqrt(1.0 + np.einsum("im,im->i", self._b, self._gain))

    def _solve_lower(self, rhs: FloatArray) -> FloatArray:
        out = scipy.linalg.solve_banded((1, 0), self._lower, rhs, check_finite=False)
        return np.asarray(out, dtype=np.float64)

    @property
    def periods(self) -> int:
        """The number of periods n."""
        return int(self._lower.shape[1])

    def innovation_sd(self) -> FloatArray:
        """The diagonal of L: the standard deviation of each period's MUF innovation (kg)."""
        return np.asarray(self._lower[0] * self._scale, dtype=np.float64)

    def standardize(self, muf: FloatArray) -> FloatArray:
        """L⁻¹ ``muf`` for ``muf`` of shape (n,) or (n, r): SITMUF, or the SITMUF mean of a loss.

        Linear in ``muf``, so a loss pattern of kg per period maps to the per-period means of
        SITMUF under that loss.
        """
        x = np.asarray(muf, dtype=np.float64)
        if x.shape[0] != self.periods:
            raise InputError(f"MUF has {x.shape[0]} periods, the covariance {self.periods}")
        y = self._solve_lower(x)
        if self._b.shape[1] == 0:
            return y
        if y.ndim == 1:
            info = np.cumsum(self._b * y[:, None], axis=0)
            predicted = np.zeros_like(y)
            predicted[1:] = np.einsum("im,im->i", self._gain[1:], info[:-1])
            return np.asarray((y - predicted) / self._scale, dtype=np.float64)
        info2 = np.cumsum(self._b[:, :, None] * y[:, None, :], axis=0)
        predicted2 = np.zeros_like(y)
        predicted2[1:] = np.einsum("im,imr->ir", self._gain[1:], info2[:-1])
        return np.asarray((y - predicted2) / self._scale[:, None], dtype=np.float64)


def sitmuf(muf: FloatArray, covariance: MufCovariance) -> FloatArray:
    """SITMUF of ``muf`` under ``covariance`` by the O(n) recursion (see :class:`Innovations`)."""
    return Innovations(covariance).standardize(muf)
