"""Significant quantities: the amounts of nuclear material a detection goal is stated in.

A significant quantity (SQ) is "the approximate amount of nuclear material for which the
possibility of manufacturing a nuclear explosive device cannot be excluded". The values are
those of the IAEA Safeguards Glossary, 2001 Edition (International Nuclear Verification Series
No. 3), §3.14, Table II.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cvid.errors import InputError

SQ_SOURCE = (
    "IAEA Safeguards Glossary, 2001 Edition (International Nuclear Verification Series No. 3), "
    "§3.14, Table II"
)


@dataclass(frozen=True)
class SignificantQuantity:
    """One row of the SQ table: ``amount_kg`` of ``basis`` (total element or isotope)."""

    key: str
    material: str
    amount_kg: float
    basis: str
    direct_use: bool
    note: str = ""


SIGNIFICANT_QUANTITIES: Mapping[str, SignificantQuantity] = MappingProxyType(
    {
        sq.key: sq
        for sq in (
            SignificantQuantity(
                "pu", "plutonium", 8.0, "total element Pu", True, "Pu with less than 80% Pu-238"
            ),
            SignificantQuantity("u233", "uranium-233", 8.0, "total isotope U-233", True),
            SignificantQuantity(
                "heu", "high enriched uranium (U-235 >= 20%)", 25.0, "U-235 isotope", True
            ),
            SignificantQuantity(
                "leu",
                "uranium with U-235 < 20% (low enriched, natural, depleted)",
                75.0,
                "U-235 isotope",
                False,
                "or 10 t natural U or 20 t depleted U",
            ),
            SignificantQuantity("natural-u", "natural uranium", 10_000.0, "total element U", False),
            SignificantQuantity(
                "depleted-u", "depleted uranium", 20_000.0, "total element U", False
            ),
            SignificantQuantity("th", "thorium", 20_000.0, "total element Th", False),
        )
    }
)


def significant_quantity(key: str) -> SignificantQuantity:
    """The SQ for ``key`` (one of :data:`SIGNIFICANT_QUANTITIES`); unknown keys are InputErrors."""
    try:
        return SIGNIFICANT_QUANTITIES[key.lower()]
    except KeyError:
        known = ", ".join(SIGNIFICANT_QUANTITIES)
        raise InputError(
            f"unknown material {key!r} for a significant quantity (known: {known})"
        ) from None


def sq_to_kg(amount_sq: float, key: str) -> float:
    """``amount_sq`` significant quantities of material ``key`` in kg of its basis."""
    if not math.isfinite(amount_sq):
        raise InputError(f"amount {amount_sq!r} SQ must be finite")
    return amount_sq * significant_quantity(key).amount_kg


def kg_to_sq(amount_kg: float, key: str) -> float:
    """``amount_kg`` kg of material ``key`` as a number of significant quantities."""
    return amount_kg / significant_quantity(key).amount_kg
