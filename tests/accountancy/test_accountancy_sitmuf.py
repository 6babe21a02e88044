"""SITMUF: the O(n) recursion equals dense Cholesky; loss-free SITMUF are independent N(0, 1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from cvid.accountancy import (
    Innovations,
    MaterialBalanceArea,
    MethodTable,
    MufCovariance,
    material_balance,
    muf_covariance,
    simulate_muf,
    sitmuf,
    sitmuf_dense,
)
from cvid.errors import InputError


def _random_structure(n: int, methods: int, rng: np.random.Generator) -> MufCovariance:
    # Tridiagonal part of the shape a balance gives: shared inventory variances q_i.
    inventory = rng.uniform(0.5, 2.0, n)
    flows = rng.uniform(0.5, 2.0, n)
    diag = flows + inventory + np.concatenate(([rng.uniform(0.5, 2.0)], inventory[:-1]))
    return MufCovariance(
        diag,
        -inventory[:-1],
        rng.normal(0.0, 20.0, (n, methods)),
        rng.uniform(0.001, 0.01, methods) ** 2,
    )


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=st.data())
def test_recursion_equals_dense_cholesky_on_balances(
    data: st.DataObject, balance_areas: st.SearchStrategy[MaterialBalanceArea], methods: MethodTable
) -> None:
    sequence = material_balance(data.draw(balance_areas), methods)
    dense = sequence.covariance.dense()
    scale = np.sqrt(np.diag(dense))
    muf = data.draw(st.lists(st.floats(-5, 5), min_size=scale.size, max_size=scale.size))
    x = np.asarray(muf) * scale
    # Two float64 factorizations of the same matrix agree to about eps·cond, not better: scale
    # the tolerance with the condition number (a real difference in the recursion is O(1)).
    tol = max(1e-9, 1e-12 * float(np.linalg.cond(dense)))
    assert np.max(np.abs(sitmuf(x, sequence.covariance) - sitmuf_dense(x, dense))) < tol
    factor = np.linalg.cholesky(dense)
    innovations = Innovations(sequence.covariance)
    assert innovations.innovation_sd() == pytest.approx(np.diag(factor), rel=tol)


@pytest.mark.parametrize(("n", "methods"), [(1, 1), (2, 0), (50, 1), (2000, 4)])
def test_recursion_equals_dense_cholesky_on_long_sequences(n: int, methods: int) -> None:
    rng = np.random.default_rng(n)
    cov = _random_structure(n, methods, rng)
    x = rng.normal(size=(n, 3)) * np.sqrt(cov.random_diag)[:, None]
    factor = scipy.linalg.cholesky(cov.dense(), lower=True)
    dense = scipy.linalg.solve_triangular(factor, x, lower=True)
    recursive = Innovations(cov).standardize(x)
    assert np.max(np.abs(recursive - dense)) < 1e-9
    assert np.max(np.abs(Innovations(cov).standardize(x[:, 0]) - dense[:, 0])) < 1e-9


@settings(max_examples=12, deadline=None, derandomize=True)
@given(data=st.data())
def test_loss_free_sitmuf_is_standard_normal_and_uncorrelated(
    data: st.DataObject, balance_areas: st.SearchStrategy[MaterialBalanceArea], methods: MethodTable
) -> None:
    area = data.draw(balance_areas)
    replicates = 4000
    simulated = simulate_muf(area, methods, replicates, np.random.default_rng(2024))
    z = Innovations(muf_covariance(area, methods)).standardize(simulated.T).T
    # Six standard errors: a mean's is 1/sqrt(R), a variance's sqrt(2/R), a correlation's 1/sqrt(R).
    assert np.max(np.abs(z.mean(axis=0))) < 6.0 / np.sqrt(replicates)
    sample = np.atleast_2d(np.cov(z, rowvar=False))
    assert np.max(np.abs(np.diag(sample) - 1.0)) < 6.0 * np.sqrt(2.0 / replicates)
    off = sample[~np.eye(sample.shape[0], dtype=bool)]
    assert off.size == 0 or np.max(np.abs(off)) < 6.0 / np.sqrt(replicates)
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-6


def test_without_the_transformation_the_example_muf_is_correlated(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    # The check above could fail: raw standardized MUF of the example are clearly correlated.
    simulated = simulate_muf(pu_area, methods, 20_000, np.random.default_rng(5))
    raw = simulated / material_balance(pu_area, methods).sigma()
    z = sitmuf(simulated.T, muf_covariance(pu_area, methods)).T
    raw_corr = np.asarray(np.corrcoef(raw, rowvar=False), dtype=np.float64)
    z_corr = np.asarray(np.corrcoef(z, rowvar=False), dtype=np.float64)
    mask = ~np.eye(raw_corr.shape[0], dtype=bool)
    assert np.max(np.abs(raw_corr[mask])) > 0.2
    assert np.max(np.abs(z_corr[mask])) < 6.0 / np.sqrt(20_000)


def test_a_loss_leaves_earlier_sitmuf_untouched(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    # L is lower triangular: a loss in period j moves SITMUF from period j on, not before.
    innovations = Innovations(muf_covariance(pu_area, methods))
    loss = np.zeros(12)
    loss[6] = 1.0
    means = innovations.standardize(loss)
    assert np.all(means[:6] == 0.0)
    assert means[6] > 0.0
    # Consecutive MUF are negatively correlated (a shared inventory), so a high MUF_7 predicts a
    # low MUF_8; an ordinary MUF_8 then stands out: the loss echoes into the next SITMUF.
    assert means[7] > 0.0


def test_singular_random_part_falls_back_to_dense_cholesky() -> None:
    # Period 2 has no random uncertainty, but its systematic error makes Σ positive definite:
    # this used to be an error ("period 2 … use sitmuf_dense"); now the factor is dense.
    cov = MufCovariance(np.array([1.0, 0.0]), np.array([0.0]), np.ones((2, 1)), np.array([1e-4]))
    innovations = Innovations(cov)
    assert innovations.dense
    x = np.array([[0.3, -1.0], [0.02, 0.5]])
    assert innovations.standardize(x) == pytest.approx(sitmuf_dense(x, cov.dense()), abs=1e-12)
    assert sitmuf(x[:, 0], cov) == pytest.approx(sitmuf_dense(x[:, 0], cov.dense()), abs=1e-12)
    assert innovations.innovation_sd() == pytest.approx(np.diag(np.linalg.cholesky(cov.dense())))


def test_singular_covariance_names_the_area_and_period_label() -> None:
    # Periods 2 and 3 are measured only through one systematic error: MUF_3 = 2·MUF_2 exactly.
    cov = MufCovariance(
        np.array([1.0, 0.0, 0.0]), np.zeros(2), np.array([[0.0], [1.0], [2.0]]), np.array([1e-4])
    )
    with pytest.raises(InputError, match=r"^area 'MBA', period 'Mar': .*singular"):
        Innovations(cov, area="MBA", labels=("Jan", "Feb", "Mar"))
    with pytest.raises(InputError, match=r"^period number 3 \(counting from 1\)"):
        Innovations(cov)


def test_dense_refuses_a_covariance_that_is_not_positive_definite() -> None:
    with pytest.raises(InputError, match="not positive definite"):
        sitmuf_dense(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
