"""MUF, σMUF and the MUF covariance, cross-checked with the ``uncertainties`` package."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uncertainties import covariance_matrix, ufloat

from cvid.accountancy import (
    BalancePeriod,
    MaterialBalanceArea,
    MeasuredItem,
    MethodTable,
    material_balance,
    muf_covariance,
    simulate_muf,
)
from cvid.errors import InputError


def _muf_with_uncertainties(area: MaterialBalanceArea, methods: MethodTable) -> list[Any]:
    # Each method's systematic error is one shared ufloat; each item's random error its own.
    # An ending inventory is one set of ufloats used in two balances.
    shared = {m.name: ufloat(0.0, m.systematic_rel, tag=m.name) for m in methods}

    def measured(items: tuple[MeasuredItem, ...]) -> list[Any]:
        return [
            it.amount_kg
            * (1.0 + ufloat(0.0, methods.get(it.method).random_rel) + shared[it.method])
            for it in items
        ]

    begin = measured(area.beginning_inventory)
    mufs: list[Any] = []
    for period in area.periods:
        end = measured(period.ending_inventory)
        muf = (
            sum(begin) + sum(measured(period.receipts)) - sum(measured(period.shipments)) - sum(end)
        )
        mufs.append(muf)
        begin = end
    return mufs


@pytest.fixture
def worked_example() -> MaterialBalanceArea:
    """Three periods; tank measured by volume, cans by titration, receipts by IDMS."""
    return MaterialBalanceArea(
        "worked",
        (MeasuredItem(40.0, "volume", "tank"), MeasuredItem(60.0, "titration", "cans")),
        (
            BalancePeriod(
                "P1",
                (MeasuredItem(25.0, "idms"),),
                (MeasuredItem(24.0, "titration"),),
                (MeasuredItem(41.0, "volume"), MeasuredItem(59.5, "titration")),
            ),
            BalancePeriod(
                "P2",
                (MeasuredItem(26.0, "idms"),),
                (MeasuredItem(25.0, "titration"), MeasuredItem(0.4, "neutron")),
                (MeasuredItem(39.0, "volume"), MeasuredItem(62.0, "titration")),
            ),
            BalancePeriod(
                "P3",
                (),
                (MeasuredItem(20.0, "titration"),),
                (MeasuredItem(30.0, "volume"), MeasuredItem(50.8, "titration")),
            ),
        ),
    )


def test_muf_is_book_minus_physical(
    worked_example: MaterialBalanceArea, methods: MethodTable
) -> None:
    muf = material_balance(worked_example, methods).muf
    expected = [40 + 60 + 25 - 24 - 41 - 59.5, 41 + 59.5 + 26 - 25.4 - 39 - 62, 39 + 62 - 20 - 80.8]
    assert muf == pytest.approx(expected, abs=1e-12)


def test_sigma_muf_of_worked_example_matches_uncertainties(
    worked_example: MaterialBalanceArea, methods: MethodTable
) -> None:
    sequence = material_balance(worked_example, methods)
    reference = _muf_with_uncertainties(worked_example, methods)
    assert sequence.sigma() == pytest.approx([m.std_dev for m in reference], rel=1e-12)
    assert sequence.covariance.dense() == pytest.approx(
        np.array(covariance_matrix(reference)), rel=1e-12, abs=1e-15
    )


def test_random_and_systematic_parts_add_up(
    worked_example: MaterialBalanceArea, methods: MethodTable
) -> None:
    cov = material_balance(worked_example, methods).covariance
    total = cov.variance_random() + cov.variance_systematic()
    assert total == pytest.approx(np.diag(cov.dense()), rel=1e-12)
    # The shared inventory enters periods i and i+1 with opposite signs: negative covariance.
    assert np.all(cov.random_off < 0.0)
    # Periods 1 and 3 share no item, only systematic errors.
    assert cov.random_dense()[0, 2] == 0.0
    assert cov.systematic_dense()[0, 2] != 0.0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_covariance_matches_uncertainties_for_random_areas(
    data: st.DataObject, balance_areas: st.SearchStrategy[MaterialBalanceArea], methods: MethodTable
) -> None:
    area = data.draw(balance_areas)
    reference = np.array(covariance_matrix(_muf_with_uncertainties(area, methods)))
    dense = muf_covariance(area, methods).dense()
    scale = max(float(np.max(np.abs(reference))), 1e-300)
    assert np.max(np.abs(dense - reference)) <= 1e-10 * scale


def test_cumulative_variance_is_that_of_the_opening_and_closing_balance(
    worked_example: MaterialBalanceArea, methods: MethodTable
) -> None:
    # Intermediate inventories cancel in CUMUF: CUMUF_n = BI_1 + receipts − shipments − EI_n.
    cov = muf_covariance(worked_example, methods)
    dense = cov.dense()
    brute = [dense[: i + 1, : i + 1].sum() for i in range(cov.periods)]
    assert cov.cumulative_variance() == pytest.approx(brute, rel=1e-12)
    reference = _muf_with_uncertainties(worked_example, methods)
    cumulative = reference[0] + reference[1] + reference[2]
    assert np.sqrt(cov.cumulative_variance()[-1]) == pytest.approx(cumulative.std_dev, rel=1e-12)


def test_simulated_muf_has_the_model_covariance(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    rng = np.random.default_rng(20240601)
    simulated = simulate_muf(pu_area, methods, 40_000, rng)
    model = muf_covariance(pu_area, methods).dense()
    sd = np.sqrt(np.diag(model))
    empirical = np.cov(simulated, rowvar=False)
    # Standard error of a sample covariance of unit-scaled variables is about 1/sqrt(R) ≤ 0.005.
    assert np.max(np.abs((empirical - model) / np.outer(sd, sd))) < 0.03
    assert np.max(np.abs(simulated.mean(axis=0) / sd)) < 0.03


def test_unknown_method_names_period_and_item(methods: MethodTable) -> None:
    area = MaterialBalanceArea(
        "X", (), (BalancePeriod("Jan", (MeasuredItem(1.0, "scale", "drum-7"),)),)
    )
    with pytest.raises(InputError, match=r"period 'Jan', receipts, item 'drum-7'.*'scale'"):
        material_balance(area, methods)


def test_negative_amount_is_an_input_error() -> None:
    with pytest.raises(InputError, match="drum-1"):
        MeasuredItem(-1.0, "weighing", "drum-1")
