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

The recursion needs T positive definite (every period with some random uncertainty). When it
is not, :class:`Innovations` falls back to dense Cholesky of the whole Σ by itself, which works
whenever Σ is positive definite (e.g. systematic errors alone make each MUF uncertain); only
when Σ itself is singular is it an error, naming the period.
"""

from __future__ import annotations

from collections.abc import Sequence

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


# A period whose innovation variance is below this fraction of its MUF variance is, to
# rounding, a linear combination of the earlier periods: its SITMUF would be rounding noise.
_SINGULAR_FRACTION = 1e-12


def _dense_factor(matrix: FloatArray) -> tuple[FloatArray, int | None]:
    # The lower Cholesky factor of ``matrix`` and the 0-based index of the first period where it
    # is singular (LAPACK's refusal, or a pivot that is rounding noise), or None.
    factor, info = scipy.linalg.lapack.dpotrf(matrix, lower=1, clean=1)
    if info != 0:
        return np.asarray(factor, dtype=np.float64), max(int(info), 1) - 1
    lower = np.asarray(factor, dtype=np.float64)
    tiny = np.flatnonzero(np.diag(lower) ** 2 <= _SINGULAR_FRACTION * np.diag(matrix))
    return lower, int(tiny[0]) if tiny.size else None


class Innovations:
    """The Cholesky factor of a :class:`MufCovariance`, in O(n) for its structure.

    Build it once per covariance; :meth:`standardize` then maps any MUF vector (or loss pattern,
    or batch of columns) to SITMUF in O(n·m) each. When the random part of the covariance is not
    positive definite (a period with no random measurement uncertainty), the factor is computed
    by dense Cholesky of the whole covariance instead, O(n³); when that is not positive definite
    either, :class:`InputError` names the period — by its label from ``labels`` (and ``area``)
    when given, else by its position counted from 1.
    """

    def __init__(
        self,
        covariance: MufCovariance,
        *,
        area: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        n = covariance.periods
        self._periods = n
        self._dense: FloatArray | None = None
        self._b: FloatArray = np.zeros((n, 0))
        self._gain: FloatArray = np.zeros((n, 0))
        self._scale: FloatArray = np.ones(n)
        banded = np.zeros((2, n))
        banded[0] = covariance.random_diag
        banded[1, : n - 1] = covariance.random_off
        try:
            self._lower = scipy.linalg.cholesky_banded(banded, lower=True, check_finite=True)
        except np.linalg.LinAlgError:
            self._lower = np.zeros((2, n))
            factor, bad = _dense_factor(covariance.dense())
            if bad is not None:
                if labels is not None and len(labels) == n:
                    where = f"period {labels[bad]!r}"
                else:
                    where = f"period number {bad + 1} (counting from 1)"
                if area is not None:
                    where = f"area {area!r}, {where}"
                raise InputError(
                    f"{where}: the covariance of the MUF sequence is singular there: this "
                    "period's MUF has no measurement uncertainty independent of the earlier "
                    "periods' (methods with random_rel = 0, too few systematic errors); give "
                    "a method used in it a non-zero random_rel"
                ) from None
            self._dense = factor
            return
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
        self._gain = np.asarray(
            np.linalg.solve(precision, self._b[:, :, None])[:, :, 0], dtype=np.float64
        )
        self._scale = np.sqrt(1.0 + np.einsum("im,im->i", self._b, self._gain))

    @property
    def dense(self) -> bool:
        """True when the factor came from dense Cholesky (the random part was singular)."""
        return self._dense is not None

    def _solve_lower(self, rhs: FloatArray) -> FloatArray:
        out = scipy.linalg.solve_banded((1, 0), self._lower, rhs, check_finite=False)
        return np.asarray(out, dtype=np.float64)

    @property
    def periods(self) -> int:
        """The number of periods n."""
        return self._periods

    def innovation_sd(self) -> FloatArray:
        """The diagonal of L: the standard deviation of each period's MUF innovation (kg)."""
        if self._dense is not None:
            return np.asarray(np.diag(self._dense), dtype=np.float64)
        return np.asarray(self._lower[0] * self._scale, dtype=np.float64)

    def standardize(self, muf: FloatArray) -> FloatArray:
        """L⁻¹ ``muf`` for ``muf`` of shape (n,) or (n, r): SITMUF, or the SITMUF mean of a loss.

        Linear in ``muf``, so a loss pattern of kg per period maps to the per-period means of
        SITMUF under that loss.
        """
        x = np.asarray(muf, dtype=np.float64)
        if x.shape[0] != self.periods:
            raise InputError(f"MUF has {x.shape[0]} periods, the covariance {self.periods}")
        if self._dense is not None:
            out = scipy.linalg.solve_triangular(self._dense, x, lower=True, check_finite=False)
            return np.asarray(out, dtype=np.float64)
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
