"""Units: explicit conversions, the element-in-compound rule, and refusals naming both units."""

from __future__ import annotations

import pytest

from cvid.errors import InputError
from cvid.evidence import Quantity, convert, mass_fraction, parse_unit
from cvid.evidence.units import ATOMIC_WEIGHTS, ATOMIC_WEIGHTS_SOURCE, UNITS, uranium_molar_mass


def test_uranium_in_uf6() -> None:
    # Natural uranium: 238.02891 / (238.02891 + 6 × 18.998403) = 238.02891 / 352.019328.
    assert mass_fraction("U", "UF6") == pytest.approx(0.676181, abs=5e-7)
    got = convert(Quantity(value=300, unit="kg UF6"), "kg U")
    assert got.unit == "kg U"
    assert got.value == pytest.approx(202.854, abs=0.0005)


def test_uranium_in_uf6_enriched_to_the_jcpoa_limit() -> None:
    # At 3.67 % U-235, uranium weighs 237.939 g/mol: 300 kg UF6 hold the JCPOA's 202.8 kg U.
    assert uranium_molar_mass(3.67) == pytest.approx(237.939, abs=0.0005)
    assert uranium_molar_mass(0.711) == pytest.approx(ATOMIC_WEIGHTS["U"], abs=0.002)
    got = convert(Quantity(value=300, unit="kg UF6"), "kg U", enrichment=3.67)
    assert got.value == pytest.approx(202.830, abs=0.0005)
    assert round(got.value, 1) == 202.8
    with pytest.raises(InputError, match="mass percent"):
        convert(Quantity(value=300, unit="kg UF6"), "kg U", enrichment=367)


def test_a_bare_mass_with_its_material() -> None:
    got = convert(Quantity(value=300, unit="kg"), "kg U", material="UF6")
    assert got.value == pytest.approx(202.854, abs=0.0005)
    with pytest.raises(InputError, match="say which substance"):
        convert(Quantity(value=300, unit="kg"), "kg U")
    # A quantity that names its own substance keeps it: material speaks for bare masses only.
    own = convert(Quantity(value=300, unit="kg UF6"), "kg U", material="UO2")
    assert own.value == pytest.approx(202.854, abs=0.0005)


def test_a_record_in_kg_u_against_a_cap_in_bare_kg_of_uf6() -> None:
    # material: UF6 on a limit in "kg" accepts records in kg U (converted to kg UF6).
    got = convert(Quantity(value=202.8, unit="kg U"), "kg", material="UF6", enrichment=3.67)
    assert got.unit == "kg UF6"
    assert got.value == pytest.approx(299.956, abs=0.001)  # 202.8 / 0.676094
    assert convert(Quantity(value=300, unit="kg UF6"), "kg", material="UF6").value == 300


def test_lengths_and_bounds_convert() -> None:
    km = convert(Quantity(value=5500, unit="km", bound="<="), "mi")
    assert km.value == pytest.approx(3417.5, abs=0.1)
    assert km.bound == "<="
    assert convert(Quantity(value=1, unit="nmi"), "m").value == pytest.approx(1852)
    with pytest.raises(InputError, match="length"):
        convert(Quantity(value=1, unit="km"), "kg")


def test_element_back_to_compound_and_other_compounds() -> None:
    back = convert(Quantity(value=202.854, unit="kg U"), "kg UF6")
    assert back.value == pytest.approx(300.0, abs=0.001)
    u3o8 = convert(Quantity(value=1, unit="t U3O8"), "kg U")
    assert u3o8.value == pytest.approx(848.0, abs=0.5)  # yellowcake is ~84.8 % uranium
    with pytest.raises(InputError, match="neither is an element of the other"):
        convert(Quantity(value=1, unit="kg UF6"), "kg UO2")
    with pytest.raises(InputError, match="UO2 contains no F"):
        mass_fraction("F", "UO2")


def test_mass_units_scale_and_keep_the_substance() -> None:
    assert convert(Quantity(value=2.5, unit="t"), "kg").value == pytest.approx(2500)
    assert convert(Quantity(value=1500, unit="g"), "kg").value == pytest.approx(1.5)
    got = convert(Quantity(value=300, unit="kg UF6", uncertainty=3), "t")
    assert got.unit == "t UF6"
    assert got.value == pytest.approx(0.3) and got.uncertainty == pytest.approx(0.003)


def test_counts_convert_to_themselves_only() -> None:
    same = convert(Quantity(value=1550, unit="warhead"), "warhead")
    assert same.value == 1550 and isinstance(same.value, int)
    with pytest.raises(InputError) as info:
        convert(Quantity(value=1550, unit="warhead"), "launcher")
    assert "'warhead'" in str(info.value) and "'launcher'" in str(info.value)


def test_mismatched_dimensions_name_both_units() -> None:
    with pytest.raises(InputError) as info:
        convert(Quantity(value=300, unit="kg UF6"), "centrifuge")
    message = str(info.value)
    assert "'kg UF6' (mass)" in message and "'centrifuge' (count of centrifuges)" in message


def test_percent_and_fraction() -> None:
    assert convert(Quantity(value=3.67, unit="percent"), "fraction").value == pytest.approx(0.0367)


def test_unknown_units_and_substances() -> None:
    with pytest.raises(InputError, match="unknown unit 'kgs'"):
        parse_unit("kgs")
    with pytest.raises(InputError, match="unknown substance 'Pu'"):
        parse_unit("kg Pu")
    with pytest.raises(InputError, match="only a mass can be of a substance"):
        parse_unit("warhead U")


def test_the_tables_state_their_source() -> None:
    assert ATOMIC_WEIGHTS["U"] == 238.02891 and ATOMIC_WEIGHTS["F"] == 18.998403
    assert "CIAAW" in ATOMIC_WEIGHTS_SOURCE
    assert {"g", "kg", "t", "warhead", "launcher", "vehicle", "item", "centrifuge"} <= set(UNITS)
