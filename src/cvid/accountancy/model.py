"""Balance reports and the measurement model: what was measured, how, and how well.

A :class:`MaterialBalanceArea` is a sequence of :class:`BalancePeriod` reports. Each period lists
receipts, shipments and the ending physical inventory as :class:`MeasuredItem` values; the
beginning inventory of a period is, by construction, the ending inventory of the one before
(the same items, the same measurement), and only the first period's beginning inventory is
stored separately. A :class:`MethodTable` gives each measurement method its relative random and
systematic standard uncertainties.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from cvid.errors import InputError

DEFAULT_METHODS_SOURCE = (
    "illustrative defaults in the range of the International Target Values 2010 "
    "(IAEA STR-368, K. Zhao et al., Vienna 2010); not transcribed from its tables. "
    "Replace them with the facility's own performance values or the ITV entry for "
    "each material and method."
)


@dataclass(frozen=True)
class MeasurementMethod:
    """A measurement method and its relative standard uncertainties (fractions, 0.001 = 0.1%).

    ``random_rel`` is independent from one measured item to the next; ``systematic_rel`` is one
    error shared by every item measured with the method, over the whole balance sequence.
    """

    name: str
    random_rel: float
    systematic_rel: float
    note: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InputError("a measurement method needs a non-empty name")
        for what, value in (
            ("random_rel", self.random_rel),
            ("systematic_rel", self.systematic_rel),
        ):
            if not math.isfinite(value) or not 0.0 <= value < 1.0:
                raise InputError(
                    f"method {self.name!r}: {what} = {value!r} must be a fraction in [0, 1) "
                    "(0.001 means 0.1%)"
                )


def _default_methods() -> tuple[MeasurementMethod, ...]:
    # Combined (bulk x concentration) relative uncertainties of the kind ITV 2010 lists for
    # routine accountancy measurements; see DEFAULT_METHODS_SOURCE for how far to trust them.
    return (
        MeasurementMethod("weighing", 0.0005, 0.0005, "bulk mass on a calibrated balance"),
        MeasurementMethod("volume", 0.003, 0.002, "bulk volume, calibrated tank"),
        MeasurementMethod("titration", 0.001, 0.001, "element assay, Davies-Gray type"),
        MeasurementMethod("idms", 0.002, 0.002, "isotope dilution mass spectrometry"),
        MeasurementMethod("kedge", 0.003, 0.003, "hybrid K-edge densitometry"),
        MeasurementMethod("gamma", 0.01, 0.01, "gamma spectrometry (NDA)"),
        MeasurementMethod("neutron", 0.03, 0.02, "neutron coincidence counting (NDA)"),
        MeasurementMethod("estimate", 0.1, 0.05, "engineering estimate (holdup, waste)"),
    )


@dataclass(frozen=True)
class MethodTable:
    """The measurement methods a balance may use, by name, with the source of their values."""

    methods: Mapping[str, MeasurementMethod]
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", MappingProxyType(dict(self.methods)))
        for name, method in self.methods.items():
            if name != method.name:
                raise InputError(f"method table: key {name!r} names method {method.name!r}")

    @classmethod
    def of(
        cls, methods: list[MeasurementMethod] | tuple[MeasurementMethod, ...], source: str
    ) -> MethodTable:
        """Build a table from a list of methods; a name given twice is an :class:`InputError`."""
        table: dict[str, MeasurementMethod] = {}
        for method in methods:
            if method.name in table:
                raise InputError(f"method table: method {method.name!r} is given twice")
            table[method.name] = method
        if not table:
            raise InputError("method table: no methods given")
        return cls(table, source)

    @classmethod
    def default(cls) -> MethodTable:
        """The built-in table (illustrative values, see :data:`DEFAULT_METHODS_SOURCE`)."""
        return cls.of(_default_methods(), DEFAULT_METHODS_SOURCE)

    def get(self, name: str, where: str = "") -> MeasurementMethod:
        """Return the method called ``name``; an unknown name is an :class:`InputError`."""
        try:
            return self.methods[name]
        except KeyError:
            place = f"{where}: " if where else ""
            known = ", ".join(sorted(self.methods))
            raise InputError(
                f"{place}unknown measurement method {name!r} (known: {known})"
            ) from None

    def __iter__(self) -> Iterator[MeasurementMethod]:
        return iter(self.methods.values())

    def __len__(self) -> int:
        return len(self.methods)


class Component(StrEnum):
    """The four parts of a material balance, with the sign each takes in MUF."""

    BEGINNING = "beginning"
    RECEIPT = "receipt"
    SHIPMENT = "shipment"
    ENDING = "ending"

    @property
    def sign(self) -> int:
        """+1 for what adds to the book (beginning inventory, receipts), -1 otherwise."""
        return 1 if self in (Component.BEGINNING, Component.RECEIPT) else -1


@dataclass(frozen=True)
class MeasuredItem:
    """One measured batch or inventory item: its declared amount (kg) and measurement method."""

    amount_kg: float
    method: str
    label: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.amount_kg) or self.amount_kg < 0.0:
            name = f"item {self.label!r}" if self.label else "an item"
            raise InputError(f"{name}: amount_kg = {self.amount_kg!r} must be finite and >= 0")


def total_kg(items: tuple[MeasuredItem, ...]) -> float:
    """The declared total of ``items`` in kg."""
    return math.fsum(item.amount_kg for item in items)


@dataclass(frozen=True)
class BalancePeriod:
    """One balance period's report: receipts, shipments and the ending physical inventory."""

    label: str
    receipts: tuple[MeasuredItem, ...] = ()
    shipments: tuple[MeasuredItem, ...] = ()
    ending_inventory: tuple[MeasuredItem, ...] = ()


@dataclass(frozen=True)
class MaterialBalanceArea:
    """A material balance area's sequence of balance periods, oldest first.

    ``beginning_inventory`` is the physical inventory at the start of the first period; each
    later period begins with the previous period's ``ending_inventory``.
    """

    name: str
    beginning_inventory: tuple[MeasuredItem, ...]
    periods: tuple[BalancePeriod, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.periods:
            raise InputError(f"balance area {self.name!r}: no balance periods")
        seen: set[str] = set()
        for period in self.periods:
            if period.label in seen:
                raise InputError(f"balance area {self.name!r}: period {period.label!r} given twice")
            seen.add(period.label)

    def beginning_of(self, index: int) -> tuple[MeasuredItem, ...]:
        """The beginning inventory of period ``index`` (0-based): the previous ending inventory."""
        return self.beginning_inventory if index == 0 else self.periods[index - 1].ending_inventory

    def check_methods(self, methods: MethodTable) -> None:
        """Raise :class:`InputError` naming the period and item of any unknown method."""
        for item in self.beginning_inventory:
            methods.get(
                item.method, f"area {self.name!r}, beginning inventory, item {item.label!r}"
            )
        for period in self.periods:
            for part, items in (
                ("receipts", period.receipts),
                ("shipments", period.shipments),
                ("ending inventory", period.ending_inventory),
            ):
                for item in items:
                    where = (
                        f"area {self.name!r}, period {period.label!r}, {part}, item {item.label!r}"
                    )
                    methods.get(item.method, where)
