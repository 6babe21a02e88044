"""Simulating measurement campaigns of a balance area, for design studies and checks.

The simulation works item by item, independently of :mod:`cvid.accountancy.balance`'s
covariance algebra, so that each can check the other.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cvid.accountancy.model import MaterialBalanceArea, MethodTable
from cvid.errors import InputError

FloatArray = NDArray[np.float64]


def simulate_muf(
    area: MaterialBalanceArea,
    methods: MethodTable,
    replicates: int,
    rng: np.random.Generator,
    loss_kg: FloatArray | None = None,
) -> FloatArray:
    """MUF of ``replicates`` simulated campaigns of ``area``, shape (replicates, periods).

    Each item's declared amount is taken as its true amount and the true balance as closed
    (true MUF zero), so a simulated MUF is pure measurement error, plus ``loss_kg`` per period
    when given. Every item gets a fresh random error per replicate; every method one systematic
    error per replicate, shared by all its items in all periods. An ending inventory is
    measured once and enters two balances.
    """
    if replicates < 1:
        raise InputError(f"replicates = {replicates!r} must be at least 1")
    area.check_methods(methods)
    n = len(area.periods)
    names = list(methods.methods)
    amounts: list[float] = []
    kinds: list[int] = []
    rows: list[list[tuple[int, float]]] = []  # per item: (period, sign) pairs

    def add(item_amount: float, method: str, uses: list[tuple[int, float]]) -> None:
        amounts.append(item_amount)
        kinds.append(names.index(method))
        rows.append(uses)

    for item in area.beginning_inventory:
        add(item.amount_kg, item.method, [(0, 1.0)])
    for i, period in enumerate(area.periods):
        for item in period.receipts:
            add(item.amount_kg, item.method, [(i, 1.0)])
        for item in period.shipments:
            add(item.amount_kg, item.method, [(i, -1.0)])
        for item in period.ending_inventory:
            uses = [(i, -1.0)] + ([(i + 1, 1.0)] if i + 1 < n else [])
            add(item.amount_kg, item.method, uses)
    coefficients = np.zeros((len(amounts), n))
    for j, uses in enumerate(rows):
        for period_index, sign in uses:
            coefficients[j, period_index] = sign
    a = np.asarray(amounts)
    kind = np.asarray(kinds, dtype=np.intp)
    random_rel = np.array([methods.get(name).random_rel for name in names])
    systematic_rel = np.array([methods.get(name).systematic_rel for name in names])
    random_errors = rng.standard_normal((replicates, a.size)) * random_rel[kind]
    systematic = rng.standard_normal((replicates, len(names))) * systematic_rel
    errors = a * (random_errors + systematic[:, kind])
    muf = errors @ coefficients
    if loss_kg is not None:
        loss = np.asarray(loss_kg, dtype=np.float64)
        if loss.shape != (n,):
            raise InputError(f"loss_kg must give one value for each of the {n} periods")
        muf = muf + loss
    return np.asarray(muf, dtype=np.float64)
