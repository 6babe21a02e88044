"""Fixtures for the accountancy tests: the shipped examples and a strategy for balance areas."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import strategies as st

from cvid.accountancy import (
    BalancePeriod,
    MaterialBalanceArea,
    MeasuredItem,
    MethodTable,
    parse_balances,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accountancy"
METHOD_NAMES = tuple(MethodTable.default().methods)


def _items(min_size: int) -> st.SearchStrategy[tuple[MeasuredItem, ...]]:
    item = st.builds(
        MeasuredItem,
        amount_kg=st.floats(0.1, 100.0, allow_nan=False, allow_infinity=False),
        method=st.sampled_from(METHOD_NAMES),
    )
    return st.lists(item, min_size=min_size, max_size=3).map(tuple)


@st.composite
def _areas(draw: st.DrawFn, max_periods: int) -> MaterialBalanceArea:
    n = draw(st.integers(1, max_periods))
    # Every period has an ending inventory, so each period has random uncertainty of its own
    # and the random (tridiagonal) part of the covariance is positive definite.
    periods = tuple(
        BalancePeriod(f"P{i + 1}", draw(_items(0)), draw(_items(0)), draw(_items(1)))
        for i in range(n)
    )
    return MaterialBalanceArea("MBA", draw(_items(0)), periods)


@pytest.fixture(scope="session")
def balance_areas() -> st.SearchStrategy[MaterialBalanceArea]:
    """Random balance areas of 1-8 periods measured with the default methods."""
    return _areas(8)


@pytest.fixture(scope="session")
def methods() -> MethodTable:
    """The built-in method table."""
    return MethodTable.default()


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """``examples/accountancy``: the shipped balance reports and method table."""
    return EXAMPLES


@pytest.fixture(scope="session")
def pu_area(methods: MethodTable) -> MaterialBalanceArea:
    """The 12-month plutonium example (a protracted loss from July)."""
    text = (EXAMPLES / "balances.csv").read_text(encoding="utf-8")
    return parse_balances(text, "balances.csv", methods)[0]
