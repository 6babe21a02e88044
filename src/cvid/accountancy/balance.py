"""MUF, σMUF and the covariance of the MUF sequence of a material balance area.

Every measured value is modelled as ``a (1 + e + d)``: ``a`` the declared amount, ``e`` the
item's own random error (standard deviation ``random_rel``) and ``d`` its method's systematic
error (standard deviation ``systematic_rel``), one ``d`` per method for the whole sequence.
MUF_i = beginning inventory + receipts − shipments − ending inventory (book minus physical, the
IAEA sign), so its error is linear in the ``e`` and ``d``. Because an ending inventory is the
next period's beginning inventory, the random part of the covariance is tridiagonal; the
systematic part is ``A diag(s²) Aᵀ`` with ``A[i, m]`` the signed kg measured by method ``m`` in
period ``i`` — a matrix of rank at most the number of methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cvid.accountancy.model import MaterialBalanceArea, MeasuredItem, MethodTable, total_kg

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MufCovariance:
    """The covariance of a MUF sequence as tridiagonal random part plus low-rank systematic part.

    ``random_diag[i]`` is the random variance of MUF_i, ``random_off[i]`` the random covariance
    of MUF_i and MUF_{i+1} (minus the random variance of the inventory they share),
    ``loadings[i, m]`` the signed kg measured by method ``m`` in MUF_i and ``systematic_var[m]``
    the squared relative systematic uncertainty of method ``m`` (named in ``method_names``).
    """

    random_diag: FloatArray
    random_off: FloatArray
    loadings: FloatArray
    systematic_var: FloatArray
    method_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = self.random_diag.shape[0]
        if self.random_off.shape != (max(n - 1, 0),):
            raise ValueError("random_off must have one element fewer than random_diag")
        if self.loadings.ndim != 2 or self.loadings.shape[0] != n:
            raise ValueError("loadings must be an (n, methods) matrix")
        if self.systematic_var.shape != (self.loadings.shape[1],):
            raise ValueError("systematic_var must have one element per loadings column")

    @property
    def periods(self) -> int:
        """The number of periods n."""
        return int(self.random_diag.shape[0])

    def random_dense(self) -> FloatArray:
        """The random part as a dense n×n matrix."""
        out = np.diag(self.random_diag)
        idx = np.arange(self.periods - 1)
        out[idx, idx + 1] = self.random_off
        out[idx + 1, idx] = self.random_off
        return out

    def systematic_dense(self) -> FloatArray:
        """The systematic part ``A diag(s²) Aᵀ`` as a dense n×n matrix."""
        return np.asarray((self.loadings * self.systematic_var) @ self.loadings.T, dtype=np.float64)

    def dense(self) -> FloatArray:
        """The whole covariance matrix of the MUF sequence (n×n)."""
        return self.random_dense() + self.systematic_dense()

    def variance_random(self) -> FloatArray:
        """The random part of Var(MUF_i), per period."""
        return self.random_diag.copy()

    def variance_systematic(self) -> FloatArray:
        """The systematic part of Var(MUF_i), per period."""
        return np.asarray((self.loadings**2) @ self.systematic_var, dtype=np.float64)

    def sigma(self) -> FloatArray:
        """σMUF per period: the square root of the diagonal of :meth:`dense`."""
        return np.sqrt(self.variance_random() + self.variance_systematic())

    def cumulative_variance(self) -> FloatArray:
        """Var(CUMUF_i), CUMUF_i = MUF_1 + … + MUF_i, for every i, in O(n·methods)."""
        rand = np.cumsum(self.random_diag)
        rand[1:] += 2.0 * np.cumsum(self.random_off)
        sys = (np.cumsum(self.loadings, axis=0) ** 2) @ self.systematic_var
        return np.asarray(rand + sys, dtype=np.float64)

    def subset(self, stop: int) -> MufCovariance:
        """The covariance of the first ``stop`` periods."""
        return MufCovariance(
            self.random_diag[:stop],
            self.random_off[: max(stop - 1, 0)],
            self.loadings[:stop],
            self.systematic_var,
            self.method_names,
        )


@dataclass(frozen=True)
class MufSequence:
    """A balance area's MUF per period (kg) with the covariance of its measurement errors."""

    area: str
    labels: tuple[str, ...]
    muf: FloatArray
    covariance: MufCovariance

    def sigma(self) -> FloatArray:
        """σMUF per period (kg)."""
        return self.covariance.sigma()

    def cumuf(self) -> FloatArray:
        """CUMUF_i = MUF_1 + … + MUF_i (kg)."""
        return np.cumsum(self.muf)

    def sigma_cumuf(self) -> FloatArray:
        """The standard deviation of CUMUF_i (kg); intermediate inventories cancel in it."""
        return np.sqrt(self.covariance.cumulative_variance())


def _add_items(
    items: tuple[MeasuredItem, ...],
    sign: float,
    period: int,
    loadings: FloatArray,
    column: dict[str, int],
    methods: MethodTable,
) -> float:
    # Adds the systematic loadings of ``items`` to ``period``; returns their random variance.
    variance = 0.0
    for item in items:
        method = methods.get(item.method)
        variance += (item.amount_kg * method.random_rel) ** 2
        loadings[period, column[item.method]] += sign * item.amount_kg
    return variance


def muf_covariance(area: MaterialBalanceArea, methods: MethodTable) -> MufCovariance:
    """The covariance of ``area``'s MUF sequence under ``methods``.

    Raises :class:`cvid.errors.InputError` naming the period and item of an unknown method.
    """
    area.check_methods(methods)
    n = len(area.periods)
    names = tuple(methods.methods)
    column = {name: j for j, name in enumerate(names)}
    diag = np.zeros(n)
    off = np.zeros(max(n - 1, 0))
    loadings = np.zeros((n, len(names)))
    diag[0] += _add_items(area.beginning_inventory, 1.0, 0, loadings, column, methods)
    for i, period in enumerate(area.periods):
        diag[i] += _add_items(period.receipts, 1.0, i, loadings, column, methods)
        diag[i] += _add_items(period.shipments, -1.0, i, loadings, column, methods)
        shared = _add_items(period.ending_inventory, -1.0, i, loadings, column, methods)
        diag[i] += shared
        if i + 1 < n:
            # The same measured inventory opens period i+1 with the opposite sign.
            diag[i + 1] += _add_items(
                period.ending_inventory, 1.0, i + 1, loadings, column, methods
            )
            off[i] = -shared
    used = np.any(loadings != 0.0, axis=0)
    sys_var = np.array([methods.get(name).systematic_rel ** 2 for name in names])
    keep = used & (sys_var > 0.0)
    return MufCovariance(
        diag, off, loadings[:, keep], sys_var[keep], tuple(np.array(names)[keep].tolist())
    )


def material_balance(area: MaterialBalanceArea, methods: MethodTable) -> MufSequence:
    """MUF per period of ``area`` (book minus physical, kg) and its covariance under ``methods``."""
    muf = np.array(
        [
            total_kg(area.beginning_of(i))
            + total_kg(p.receipts)
            - total_kg(p.shipments)
            - total_kg(p.ending_inventory)
            for i, p in enumerate(area.periods)
        ]
    )
    return MufSequence(
        area.name, tuple(p.label for p in area.periods), muf, muf_covariance(area, methods)
    )
