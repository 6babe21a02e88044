"""The public surface of ``cvid.accountancy`` and its significant-quantity table."""

from __future__ import annotations

import types

import pytest

import cvid.accountancy as acc
from cvid.errors import InputError


def _ruff_order(name: str) -> tuple[int, str]:
    # Ruff's RUF022 (isort-style) order: CONSTANTS, then Classes, then functions.
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_and_is_exactly_the_public_surface() -> None:
    assert acc.__all__ == sorted(acc.__all__, key=_ruff_order)
    public = set()
    for name in dir(acc):  # a lazy face lists its names before they are imported
        value = getattr(acc, name)
        if (
            not name.startswith("_")
            and name != "TYPE_CHECKING"
            and getattr(value, "__module__", "cvid.accountancy.x") != "builtins"
            and not isinstance(value, types.ModuleType)
        ):
            public.add(name)
    assert set(acc.__all__) == public


def test_every_public_name_has_a_docstring() -> None:
    for name in acc.__all__:
        value = getattr(acc, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), name


@pytest.mark.parametrize(
    ("key", "kg"),
    [("pu", 8.0), ("u233", 8.0), ("heu", 25.0), ("leu", 75.0), ("th", 20_000.0)],
)
def test_significant_quantities_follow_the_glossary(key: str, kg: float) -> None:
    assert acc.significant_quantity(key).amount_kg == kg
    assert acc.sq_to_kg(2.0, key) == 2.0 * kg
    assert acc.kg_to_sq(kg, key) == 1.0
    assert "2001" in acc.SQ_SOURCE


def test_unknown_material_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown material 'gold'"):
        acc.significant_quantity("gold")


def test_default_methods_state_their_source() -> None:
    table = acc.MethodTable.default()
    assert "ITV" in table.source and "illustrative" in table.source
    with pytest.raises(InputError, match="unknown measurement method 'scale'"):
        table.get("scale")
