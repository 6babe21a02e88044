"""Units of the quantities in evidence records, and the only conversions cvid makes.

A unit is written ``<unit>`` or ``<unit> <substance>``: ``warhead``, ``kg``, ``kg UF6``,
``kg U``, ``km``. Every unit belongs to one dimension (mass, length, a count of one kind of
thing, a fraction, time); conversion is only within a dimension, by the factors in
:data:`UNITS`. Counts of different things never convert into each other (a warhead is not a
launcher).

A mass of a compound converts to the mass of an element in it (and back) by the element's mass
fraction, computed from standard atomic weights (:data:`ATOMIC_WEIGHTS`, with their source):
300 kg UF6 of natural isotopic composition holds 300 × 238.02891 / (238.02891 + 6 × 18.998403)
= 300 × 0.676181 = 202.854 kg U. Enriched uranium is lighter: give ``enrichment`` (U-235 mass
percent) and uranium's molar mass is computed from the U-235 and U-238 isotope masses instead;
at the JCPOA's 3.67 % the same 300 kg UF6 hold 202.830 kg U, the "202.8 kg" of IAEA reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from cvid.errors import InputError
from cvid.evidence.record import Quantity


@dataclass(frozen=True)
class Unit:
    """A unit: its dimension and how many of the dimension's base unit one of it is."""

    name: str
    dimension: str
    factor: float
    description: str


def _units(*units: Unit) -> Mapping[str, Unit]:
    return MappingProxyType({u.name: u for u in units})


_COUNTED = {
    "warhead": "nuclear warheads",
    "launcher": "launchers (ICBM and SLBM launchers, heavy bombers)",
    "vehicle": "delivery vehicles (ICBMs, SLBMs, heavy bombers)",
    "missile": "missiles",
    "bomber": "heavy bombers",
    "centrifuge": "centrifuges",
    "cascade": "centrifuge cascades",
    "site": "sites",
    "facility": "facilities",
    "reactor": "reactors",
    "test": "tests (nuclear or missile)",
    "inspection": "inspections",
    "item": "items (any other counted thing)",
}

#: Every unit cvid knows. Mass in kg; length in km; counts in themselves; fractions in 1; time
#: in days.
UNITS: Mapping[str, Unit] = _units(
    Unit("mg", "mass", 1e-6, "milligram"),
    Unit("g", "mass", 1e-3, "gram"),
    Unit("kg", "mass", 1.0, "kilogram"),
    Unit("t", "mass", 1e3, "tonne (metric ton, 1000 kg)"),
    Unit("m", "length", 1e-3, "metre"),
    Unit("km", "length", 1.0, "kilometre (missile ranges)"),
    Unit("mi", "length", 1.609344, "statute mile (1,609.344 m)"),
    Unit("nmi", "length", 1.852, "nautical mile (1,852 m)"),
    Unit("fraction", "fraction", 1.0, "a ratio as a number, 0.0367 for 3.67%"),
    Unit("percent", "fraction", 0.01, "a ratio in percent (U-235 enrichment: 3.67)"),
    Unit("day", "time", 1.0, "day"),
    Unit("year", "time", 365.25, "Julian year of 365.25 days"),
    *(Unit(name, f"count of {what}", 1.0, f"one of {what}") for name, what in _COUNTED.items()),
)

ATOMIC_WEIGHTS_SOURCE = (
    "CIAAW/IUPAC standard atomic weights (Pure Appl. Chem. 88 (2016) 265-291, Table 2): "
    "U 238.02891(3), F 18.998403163(6) (rounded to 18.998403), O conventional value 15.999"
)
#: Standard atomic weights (g/mol) of the elements in :data:`COMPOUNDS`.
ATOMIC_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"U": 238.02891, "F": 18.998403, "O": 15.999}
)

ISOTOPE_MASSES_SOURCE = "AME2020 atomic masses (Chinese Phys. C 45 (2021) 030003), rounded"
#: Atomic masses (g/mol) of the uranium isotopes used for enriched uranium; U-234 is ignored.
U235_MASS = 235.04393
U238_MASS = 238.05079


def uranium_molar_mass(enrichment: float) -> float:
    """The molar mass of uranium with ``enrichment`` mass percent U-235, the rest U-238."""
    if not 0.0 <= enrichment <= 100.0:
        raise InputError(f"enrichment {enrichment!r} must be a U-235 mass percent in [0, 100]")
    w = enrichment / 100.0
    return 1.0 / (w / U235_MASS + (1.0 - w) / U238_MASS)


#: Compounds by formula: how many atoms of each element one formula unit holds.
COMPOUNDS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {
        "UF6": MappingProxyType({"U": 1, "F": 6}),
        "UF4": MappingProxyType({"U": 1, "F": 4}),
        "UO2": MappingProxyType({"U": 1, "O": 2}),
        "UO3": MappingProxyType({"U": 1, "O": 3}),
        "U3O8": MappingProxyType({"U": 3, "O": 8}),
    }
)


@dataclass(frozen=True)
class ParsedUnit:
    """A unit text split into its :class:`Unit` and the substance it measures, if any."""

    unit: Unit
    substance: str | None

    @property
    def text(self) -> str:
        """The unit text, ``kg`` or ``kg UF6``."""
        return self.unit.name if self.substance is None else f"{self.unit.name} {self.substance}"


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> ParsedUnit:
    """Parse ``<unit>`` or ``<unit> <substance>``; raise :class:`InputError` if unknown.

    Only mass units take a substance, and the substance must be an element of
    :data:`ATOMIC_WEIGHTS` or a compound of :data:`COMPOUNDS`.
    """
    name, _, substance = text.strip().partition(" ")
    unit = UNITS.get(name)
    if unit is None:
        raise InputError(f"unknown unit {text!r} (known: {', '.join(UNITS)})")
    substance = substance.strip()
    if not substance:
        return ParsedUnit(unit, None)
    if unit.dimension != "mass":
        raise InputError(f"unit {text!r}: only a mass can be of a substance")
    if substance not in ATOMIC_WEIGHTS and substance not in COMPOUNDS:
        known = ", ".join([*ATOMIC_WEIGHTS, *COMPOUNDS])
        raise InputError(f"unit {text!r}: unknown substance {substance!r} (known: {known})")
    return ParsedUnit(unit, substance)


def _weight(element: str, enrichment: float | None) -> float:
    if element == "U" and enrichment is not None:
        return uranium_molar_mass(enrichment)
    return ATOMIC_WEIGHTS[element]


def molar_mass(substance: str, enrichment: float | None = None) -> float:
    """The molar mass (g/mol) of an element or compound; ``enrichment`` as in :func:`convert`."""
    if substance in ATOMIC_WEIGHTS:
        return _weight(substance, enrichment)
    if substance not in COMPOUNDS:
        raise InputError(f"unknown substance {substance!r}")
    return sum(_weight(el, enrichment) * n for el, n in COMPOUNDS[substance].items())


def mass_fraction(element: str, compound: str, enrichment: float | None = None) -> float:
    """The mass fraction of ``element`` in ``compound`` (U in natural UF6: 0.676181)."""
    atoms = COMPOUNDS.get(compound, {}).get(element)
    if atoms is None:
        raise InputError(f"{compound} contains no {element} (or is not a known compound)")
    return atoms * _weight(element, enrichment) / molar_mass(compound, enrichment)


def _substance_factor(
    source: str | None, target: str | None, src: str, dst: str, enrichment: float | None
) -> float:
    """How many kg of ``target`` one kg of ``source`` is (1 when both are the same)."""
    if source == target:
        return 1.0
    if source is None or target is None:
        raise InputError(
            f"cannot convert {src!r} to {dst!r}: say which substance both are "
            "(for example 'kg UF6' to 'kg U', or material='UF6')"
        )
    if source in COMPOUNDS and target in ATOMIC_WEIGHTS:
        return mass_fraction(target, source, enrichment)
    if source in ATOMIC_WEIGHTS and target in COMPOUNDS:
        return 1.0 / mass_fraction(source, target, enrichment)
    raise InputError(f"cannot convert {src!r} to {dst!r}: neither is an element of the other")


def convert(
    quantity: Quantity,
    to_unit: str,
    material: str | None = None,
    enrichment: float | None = None,
) -> Quantity:
    """Express ``quantity`` in ``to_unit``, explicitly and only by the tables above.

    ``material`` names the substance of a bare mass on either side (``Quantity(300, "kg")``
    with ``material="UF6"`` is 300 kg UF6, and so is ``to_unit="kg"``); a quantity that names
    its own substance keeps it (``kg U`` converts to ``kg`` of ``UF6`` by uranium's mass
    fraction). ``enrichment`` (U-235 mass percent) replaces uranium's standard atomic weight in
    compound conversions. The uncertainty, if any, scales with the value, and a bound stays the
    same bound. Raises
    :class:`InputError` naming both units when the dimensions or substances do not match.
    """
    src = parse_unit(quantity.unit)
    dst = parse_unit(to_unit)
    source = src.substance
    target = dst.substance
    if material is not None:
        parse_unit(f"kg {material}")
        source = material if source is None else source
        target = material if target is None else target
    if target is None:
        target = source
    if src.unit.dimension != dst.unit.dimension:
        raise InputError(
            f"cannot convert {quantity.unit!r} ({src.unit.dimension}) to {to_unit!r} "
            f"({dst.unit.dimension})"
        )
    factor = src.unit.factor / dst.unit.factor
    if src.unit.dimension == "mass":
        factor *= _substance_factor(source, target, quantity.unit, to_unit, enrichment)
    value = quantity.value * factor
    if isinstance(quantity.value, int) and factor == 1.0:
        value = quantity.value
    unc = None if quantity.uncertainty is None else quantity.uncertainty * abs(factor)
    out_unit = dst.unit.name if target is None else f"{dst.unit.name} {target}"
    return Quantity(value=value, unit=out_unit, uncertainty=unc, bound=quantity.bound)
