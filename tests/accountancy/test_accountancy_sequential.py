"""Page's CUSUM, CUMUF, GEMUF and Shewhart tests, and the evaluation of a balance area."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from cvid.accountancy import (
    BalancePeriod,
    LossPattern,
    MaterialBalanceArea,
    MeasuredItem,
    MeasurementMethod,
    MethodTable,
    MufCovariance,
    cumuf_test,
    evaluate_balance,
    gemuf_test,
    material_balance,
    page_statistic,
    page_test,
    shewhart_test,
    sitmuf,
    sitmuf_dense,
)
from cvid.errors import InputError

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=1, max_size=60), st.floats(0, 3))
def test_page_statistic_follows_its_recursion(xs: list[float], k: float) -> None:
    s, expected = 0.0, []
    for x in xs:
        s = max(0.0, s + x - k)
        expected.append(s)
    assert page_statistic(np.asarray(xs), k) == pytest.approx(expected, abs=1e-9)


def test_page_alarms_only_when_the_statistic_exceeds_h() -> None:
    # S_1 = 3 − 0.5 = 2.5 equals h: no alarm (the rule is S > h); S_2 = 2.5 + 0.6 − 0.5 does.
    result = page_test(np.array([3.0, 0.6, -10.0]), k=0.5, h=2.5)
    assert result.alarms.tolist() == [False, True, False]
    assert result.first_alarm == 1


def test_page_runs_column_wise_on_a_batch() -> None:
    x = np.random.default_rng(3).normal(size=(30, 4))
    batch = page_statistic(x, 0.5)
    for j in range(4):
        assert batch[:, j] == pytest.approx(page_statistic(x[:, j], 0.5))


def test_gemuf_is_the_mahalanobis_form(pu_area: MaterialBalanceArea, methods: MethodTable) -> None:
    sequence = material_balance(pu_area, methods)
    z = sitmuf(sequence.muf, sequence.covariance)
    expected = sequence.muf @ np.linalg.solve(sequence.covariance.dense(), sequence.muf)
    result = gemuf_test(z, 0.05)
    assert result.statistic == pytest.approx(expected, rel=1e-9)
    assert result.threshold == pytest.approx(stats.chi2.ppf(0.95, 12))
    assert result.alarm == (expected > stats.chi2.ppf(0.95, 12))


def test_cumuf_and_shewhart_compare_with_the_normal_quantile() -> None:
    values = np.array([1.0, 2.0, 4.0])
    sigma = np.array([1.0, 1.0, 2.0])
    cumuf = cumuf_test(values, sigma, 0.05)
    assert cumuf.alarms.tolist() == [False, True, True]
    assert cumuf.final_alarm
    shewhart = shewhart_test(values, sigma, 0.01)
    assert shewhart.threshold == pytest.approx(2.3263478740408408)
    assert shewhart.alarms.tolist() == [False, False, False]


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, float("nan")])
def test_bad_levels_are_input_errors(alpha: float) -> None:
    with pytest.raises(InputError, match="between 0 and 1"):
        gemuf_test(np.zeros(3), alpha)


def test_evaluation_of_the_example_finds_the_protracted_loss(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    evaluation = evaluate_balance(pu_area, methods, k=0.5, false_alarm=0.05)
    summary = evaluation.summary()
    json.dumps(summary)  # JSON-able, for the agreements engine
    assert summary["page"]["h"] == pytest.approx(3.3745, abs=5e-5)
    assert summary["page"]["alarm"] is True
    # The loss starts in July; the alarm must come after it, not before.
    assert summary["page"]["first_alarm"] > "2024-07"
    assert summary["page"]["alarm_periods"][0] == summary["page"]["first_alarm"]
    # Every single balance closes within 3σ, yet the sequence shows the loss.
    assert summary["closes"] is True
    assert summary["cumuf"]["alarm"] is True
    rows = evaluation.rows()
    assert [r["period"] for r in rows] == [p.label for p in pu_area.periods]
    assert rows[-1]["cumuf_kg"] == pytest.approx(summary["muf_total_kg"])


def test_balance_detection_of_an_abrupt_loss_cumuf_ignores_the_period(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    evaluation = evaluate_balance(pu_area, methods)
    figures = [evaluation.detection(0.5, LossPattern.ABRUPT, j) for j in (1, 4, 8, 12)]
    assert len({round(f.cumuf, 12) for f in figures}) == 1
    # With correlated MUF, SITMUF means and hence Page's figure depend on the period.
    assert len({round(f.page, 6) for f in figures}) > 1


def test_evaluation_with_a_bad_close_z_is_an_input_error(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    with pytest.raises(InputError, match="close_z"):
        evaluate_balance(pu_area, methods, close_z=-1.0)


def test_evaluation_without_random_uncertainty_uses_dense_cholesky() -> None:
    # Period Q2 is measured only with methods that have random_rel = 0, so the random part of
    # the covariance is singular; the systematic errors keep the whole covariance positive
    # definite. This used to fail with "period 2 … use sitmuf_dense".
    table = MethodTable.of(
        [
            MeasurementMethod("scale", 0.0005, 0.0005),
            MeasurementMethod("calibrated", 0.0, 0.001),
            MeasurementMethod("nda", 0.0, 0.01),
        ],
        "test",
    )
    area = MaterialBalanceArea(
        "MBA-Z",
        (MeasuredItem(10.0, "scale"),),
        (
            BalancePeriod("Q1", (), (), (MeasuredItem(10.2, "calibrated"),)),
            BalancePeriod(
                "Q2", (MeasuredItem(5.0, "nda"),), (), (MeasuredItem(15.0, "calibrated"),)
            ),
        ),
    )
    evaluation = evaluate_balance(area, table, h=4.0)
    sequence = evaluation.sequence
    assert evaluation.innovations.dense is True
    assert evaluation.sitmuf == pytest.approx(
        sitmuf_dense(sequence.muf, sequence.covariance.dense()), abs=1e-12
    )
    assert [r["period"] for r in evaluation.rows()] == ["Q1", "Q2"]


def test_evaluation_with_a_singular_covariance_names_area_and_period() -> None:
    table = MethodTable.of(
        [MeasurementMethod("scale", 0.0005, 0.0005), MeasurementMethod("exact", 0.0, 0.001)],
        "test",
    )
    area = MaterialBalanceArea(
        "MBA-Z",
        (),
        (
            BalancePeriod("Q1", (MeasuredItem(5.0, "exact"),), (), (MeasuredItem(0.0, "exact"),)),
            BalancePeriod("Q2", (MeasuredItem(7.0, "exact"),), (), (MeasuredItem(0.0, "exact"),)),
        ),
    )
    with pytest.raises(InputError, match=r"^area 'MBA-Z', period 'Q2': .*singular"):
        evaluate_balance(area, table, h=4.0)


def test_shewhart_alarms_are_in_the_summary_and_rows(
    pu_area: MaterialBalanceArea, methods: MethodTable
) -> None:
    evaluation = evaluate_balance(pu_area, methods, false_alarm=0.05)
    sequence = evaluation.sequence
    z = sequence.muf / sequence.sigma()
    threshold = stats.norm.isf(0.05)
    expected = [label for label, value in zip(sequence.labels, z, strict=True) if value > threshold]
    summary = evaluation.summary()["shewhart"]
    assert summary["threshold"] == pytest.approx(threshold)
    assert summary["alarm_periods"] == expected
    assert summary["alarm"] is bool(expected)
    rows = evaluation.rows()
    assert [r["shewhart_z"] for r in rows] == pytest.approx(z.tolist())
    assert [r["period"] for r in rows if r["shewhart_alarm"]] == expected


def test_rows_compute_the_systematic_variance_once(
    pu_area: MaterialBalanceArea, methods: MethodTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluation = evaluate_balance(pu_area, methods)
    calls = []
    original = MufCovariance.variance_systematic

    def counted(self: MufCovariance) -> np.ndarray:  # type: ignore[type-arg]
        calls.append(1)
        return original(self)

    monkeypatch.setattr(MufCovariance, "variance_systematic", counted)
    rows = evaluation.rows()
    assert len(calls) == 1  # was two calls a period: quadratic in the number of periods
    sigma = evaluation.sequence.sigma()
    assert [r["sigma_muf_kg"] for r in rows] == pytest.approx(sigma.tolist(), rel=1e-14)
