"""Design of Page's test: ARL, thresholds and detection probabilities vs the reference figures."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from cvid.accountancy import (
    LossPattern,
    loss_pattern,
    page_alarm_probability,
    page_arl,
    page_arl_two_sided,
    page_run_length_cdf,
    page_threshold,
    simulate_page_alarm_probability,
    standardized_detection,
)
from cvid.errors import InputError


@pytest.mark.parametrize(
    ("h", "shift", "expected"),
    [(4.0, 0.0, 335.37), (5.0, 0.0, 930.89), (4.0, 1.0, 8.38), (5.0, 1.0, 10.38)],
)
def test_one_sided_arl_matches_reference(h: float, shift: float, expected: float) -> None:
    assert round(page_arl(0.5, h, shift), 2) == expected


@pytest.mark.parametrize(("h", "expected"), [(4.0, 167.68), (5.0, 465.44)])
def test_two_sided_arl_in_control_matches_reference(h: float, expected: float) -> None:
    assert round(page_arl_two_sided(0.5, h), 2) == expected


def _markov_chain_arl(k: float, h: float, shift: float, states: int) -> float:
    # Brook and Evans (1972): S discretized into `states` cells of width 2h/(2·states − 1);
    # an independent method to cross-check the Nyström solution.
    width = 2.0 * h / (2 * states - 1)
    centers = np.arange(states) * width
    upper = centers[None, :] + width / 2.0 - centers[:, None] + k - shift
    lower = upper - width
    transition = stats.norm.cdf(upper) - stats.norm.cdf(lower)
    transition[:, 0] = stats.norm.cdf(upper[:, 0])
    arl = np.linalg.solve(np.eye(states) - transition, np.ones(states))
    return float(arl[0])


@pytest.mark.parametrize(("h", "shift"), [(4.0, 0.0), (5.0, 1.0), (3.0, 0.5)])
def test_arl_agrees_with_richardson_extrapolated_markov_chain(h: float, shift: float) -> None:
    coarse = _markov_chain_arl(0.5, h, shift, 300)
    fine = _markov_chain_arl(0.5, h, shift, 600)
    extrapolated = (4.0 * fine - coarse) / 3.0  # the chain's error is O(1/states²)
    assert extrapolated == pytest.approx(page_arl(0.5, h, shift), rel=1e-6)


def test_arl_with_zero_h_is_geometric() -> None:
    # With h = 0 every x > k alarms at once, so the run length is geometric.
    assert page_arl(0.7, 0.0, 0.2) == pytest.approx(1.0 / stats.norm.sf(0.5), rel=1e-12)


@pytest.mark.parametrize(("periods", "expected"), [(12, 3.3745), (52, 4.9717)])
def test_threshold_matches_reference(periods: int, expected: float) -> None:
    h = page_threshold(0.5, periods, 0.05)
    assert round(h, 4) == expected
    assert page_alarm_probability(0.5, h, np.zeros(periods)) == pytest.approx(0.05, abs=1e-9)


def test_run_length_cdf_ends_at_the_alarm_probability() -> None:
    cdf = page_run_length_cdf(0.5, 3.0, 20, shift=0.3)
    assert np.all(np.diff(cdf) > 0.0)
    assert cdf[-1] == pytest.approx(page_alarm_probability(0.5, 3.0, np.full(20, 0.3)), abs=1e-12)


def test_detection_matches_reference() -> None:
    abrupt = standardized_detection(0.5, 12, 0.05, 3.0, LossPattern.ABRUPT)
    protracted = standardized_detection(0.5, 12, 0.05, 3.0, LossPattern.PROTRACTED)
    assert round(abrupt.h, 4) == 3.3745
    assert round(abrupt.page, 3) == 0.361
    assert round(protracted.page, 3) == 0.165
    assert round(abrupt.cumuf, 3) == 0.218
    assert round(protracted.cumuf, 3) == 0.218


def test_exact_detection_agrees_with_monte_carlo() -> None:
    h = page_threshold(0.5, 12, 0.05)
    for means in (loss_pattern(3.0, 12, LossPattern.ABRUPT, 5), np.full(12, 0.25)):
        exact = page_alarm_probability(0.5, h, means)
        simulated = simulate_page_alarm_probability(0.5, h, means, 100_000, seed=7)
        assert abs(simulated.probability - exact) < 4.0 * simulated.standard_error


def test_abrupt_loss_location_for_page_is_symmetric_but_not_constant() -> None:
    # Page's test alarms within N periods iff some window's sum of (x − k) exceeds h; reversing
    # time maps windows to windows, so periods j and N+1−j give the same probability. The
    # probability is lowest at the ends: a loss in the middle has windows on both sides.
    n = 12
    figures = [
        standardized_detection(0.5, n, 0.05, 3.0, LossPattern.ABRUPT, j).page
        for j in range(1, n + 1)
    ]
    for j in range(n):
        assert figures[j] == pytest.approx(figures[n - 1 - j], abs=1e-12)
    assert min(figures) == pytest.approx(figures[0], abs=1e-12)
    assert max(figures) - min(figures) > 0.05
    rising = figures[: n // 2]
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(rising))


def test_abrupt_loss_location_does_not_matter_for_cumuf_and_gemuf() -> None:
    runs = [standardized_detection(0.5, 12, 0.05, 3.0, LossPattern.ABRUPT, j) for j in (1, 6, 12)]
    assert {round(r.cumuf, 12) for r in runs} == {round(runs[0].cumuf, 12)}
    assert {round(r.gemuf, 12) for r in runs} == {round(runs[0].gemuf, 12)}


def test_protracted_pattern_spreads_the_total_evenly() -> None:
    pattern = loss_pattern(3.0, 12, LossPattern.PROTRACTED)
    assert pattern.sum() == pytest.approx(3.0)
    assert np.ptp(pattern) == 0.0


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: page_arl(-0.5, 4.0), "k = -0.5"),
        (lambda: page_arl(0.5, -1.0), "h = -1.0"),
        (lambda: page_threshold(0.5, 12, 1.5), "false-alarm probability = 1.5"),
        (lambda: page_threshold(0.5, 12, 0.0), "false-alarm probability = 0.0"),
        (lambda: page_threshold(0.5, 0, 0.05), "periods = 0"),
        (lambda: page_threshold(3.0, 1, 0.5), "even h = 0"),
        (lambda: loss_pattern(3.0, 12, LossPattern.ABRUPT, 13), "outside 1..12"),
        (lambda: page_alarm_probability(0.5, 4.0, np.array([np.nan])), "finite"),
    ],
)
def test_bad_design_input_is_an_input_error(call: object, words: str) -> None:
    with pytest.raises(InputError, match=words.replace(".", r"\.")):
        call()  # type: ignore[operator]


def _subtraction_free_markov_chain_arl(k: float, h: float, shift: float, states: int) -> float:
    # The Brook–Evans chain of _markov_chain_arl, with transition probabilities taken from the
    # upper tail where they are tiny and the chain's exit probabilities given exactly, solved by
    # a textbook GTH elimination (cancellation-free), so astronomically large ARLs stay exact.
    width = 2.0 * h / (2 * states - 1)
    centers = np.arange(states) * width
    upper = centers[None, :] + width / 2.0 - centers[:, None] + k - shift
    lower = upper - width
    stay = stats.norm.sf(lower) - stats.norm.sf(upper)
    stay[:, 0] = stats.norm.cdf(upper[:, 0])
    exit_probability = stats.norm.sf(upper[:, -1])
    a = -stay.copy()
    np.fill_diagonal(a, 0.0)
    excess = exit_probability.copy()
    rhs = np.ones(states)
    for i in range(states):
        a[i, i] = excess[i] - a[i, i + 1 :].sum()
        for r in range(i + 1, states):
            f = a[r, i] / a[i, i]
            a[r, i + 1 :] -= f * a[i, i + 1 :]
            excess[r] -= f * excess[i]
            rhs[r] -= f * rhs[i]
    arl = np.zeros(states)
    for i in range(states - 1, -1, -1):
        arl[i] = (rhs[i] - a[i, i + 1 :] @ arl[i + 1 :]) / a[i, i]
    return float(arl[0])


@pytest.mark.parametrize("shift", [-3.0, -6.0])
def test_astronomical_arl_is_computed_exactly(shift: float) -> None:
    # A plain solve of (I − K) g = 1 returned 2.809e13 here for shift −3 (true 2.810e13) and
    # −5.2e16 for shift −6 (true 2.3e25); the subtraction-free elimination is exact.
    value = page_arl(0.5, 4.0, shift)
    coarse = _subtraction_free_markov_chain_arl(0.5, 4.0, shift, 150)
    fine = _subtraction_free_markov_chain_arl(0.5, 4.0, shift, 300)
    assert value > 1e12
    assert value == pytest.approx((4.0 * fine - coarse) / 3.0, rel=1e-5)


def test_huge_geometric_arl_is_exact() -> None:
    # h = 0: the run length is geometric with P(x > k); 1 − Φ(8) cancels in a plain solve.
    assert page_arl(8.0, 0.0) == pytest.approx(1.0 / stats.norm.sf(8.0), rel=1e-12)


def test_arl_falls_smoothly_with_the_shift_across_the_solvers() -> None:
    shifts = np.linspace(-6.0, 1.0, 29)
    arls = [page_arl(0.5, 4.0, float(s)) for s in shifts]
    assert all(a > b for a, b in itertools.pairwise(arls))
    assert np.all(np.diff(np.log(arls)) < 0.0)


def test_both_arl_solvers_agree_where_the_plain_one_is_accurate() -> None:
    from cvid.accountancy.design import _PageKernel, _subtraction_free_arl

    for k, h, shift, expected in [(0.5, 4.0, 0.0, 335.37), (0.5, 5.0, 1.0, 10.38)]:
        kernel = _PageKernel(k, h)
        value = _subtraction_free_arl(kernel.matrix(shift), kernel.leak(shift))
        assert value == pytest.approx(page_arl(k, h, shift), rel=1e-12)
        assert round(value, 2) == expected


@pytest.mark.parametrize(("k", "h", "shift"), [(0.5, 4.0, -50.0), (40.0, 4.0, 0.0)])
def test_arl_beyond_1e300_is_refused(k: float, h: float, shift: float) -> None:
    with pytest.raises(InputError, match="beyond 1e300 periods"):
        page_arl(k, h, shift)


def test_two_sided_arl_beyond_1e300_on_both_sides_is_refused() -> None:
    with pytest.raises(InputError, match="beyond 1e300 periods"):
        page_arl_two_sided(40.0, 4.0)


def test_two_sided_arl_with_one_astronomical_side() -> None:
    # ARL₋ is beyond 1e300 for shift 50: the two-sided ARL is the upper side's.
    assert page_arl_two_sided(0.5, 4.0, 50.0) == pytest.approx(page_arl(0.5, 4.0, 50.0))
    assert page_arl_two_sided(0.5, 4.0, 6.0) == pytest.approx(page_arl(0.5, 4.0, 6.0), rel=1e-12)


def test_long_constant_sequences_use_matrix_powers_exactly() -> None:
    # With h = 0 no alarm in N periods has probability Φ(k)^N exactly.
    n = 1_000_000
    assert page_alarm_probability(5.0, 0.0, np.zeros(n)) == pytest.approx(
        -np.expm1(n * np.log(stats.norm.cdf(5.0))), rel=1e-9
    )
    # Powers agree with period-by-period steps, also around an abrupt loss.
    steps = page_run_length_cdf(0.5, 3.0, 500)
    assert page_alarm_probability(0.5, 3.0, np.zeros(500)) == pytest.approx(steps[-1], rel=1e-12)
    from cvid.accountancy.design import _PageKernel

    means = loss_pattern(3.0, 500, LossPattern.ABRUPT, 200)
    kernel = _PageKernel(0.5, 3.0)
    survive = np.ones(kernel.points.size)
    for mean in means[::-1]:
        survive = kernel.matrix(float(mean)) @ survive
    assert page_alarm_probability(0.5, 3.0, means) == pytest.approx(1.0 - survive[0], rel=1e-12)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: page_threshold(0.5, 1_000_001, 0.05), "exceeds 1,000,000"),
        (lambda: loss_pattern(-3.0, 12, LossPattern.ABRUPT), "loss = -3.0 must be finite and >= 0"),
        (lambda: page_run_length_cdf(0.5, 4.0, 2_000_000), "exceeds 1,000,000"),
    ],
)
def test_design_limits_are_input_errors(call: object, words: str) -> None:
    with pytest.raises(InputError, match=words.replace(".", r"\.")):
        call()  # type: ignore[operator]
