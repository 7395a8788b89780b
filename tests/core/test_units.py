"""Units: legacy i and Rebased nanos, converted exactly (docs/rebased.md)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, strategies as st
import pytest

from custom_components.iota_energy.core.pricing import TUTORIAL_PRICE_IOTA_PER_KWH
from custom_components.iota_energy.core.units import (
    NANOS_PER_IOTA,
    NANOS_PER_LEGACY_I,
    Amount,
    Denomination,
    InexactConversionError,
    convert_rate,
)

LEGACY = Denomination.LEGACY_I
NANOS = Denomination.NANOS


def test_the_migration_mapping() -> None:
    """Stardust's 1.234567 IOTA (1 234 567 base units) became 1 234 567 000 nanos."""
    assert NANOS_PER_IOTA == 10**9
    assert NANOS_PER_LEGACY_I == 1000
    assert Amount(1_234_567, LEGACY).to(NANOS) == Amount(1_234_567_000, NANOS)
    # 1 Mi of legacy IOTA is one of today's IOTA.
    assert Amount(1_000_000, LEGACY).iota == Decimal(1)
    assert Amount(NANOS_PER_IOTA, NANOS).iota == Decimal(1)


def test_nanos_back_to_i_only_when_whole() -> None:
    assert Amount(5_000, NANOS).to(LEGACY) == Amount(5, LEGACY)
    with pytest.raises(InexactConversionError):
        Amount(5_001, NANOS).to(LEGACY)
    whole, rest = Amount(5_001, NANOS).to_floor(LEGACY)
    assert (whole, rest) == (Amount(5, LEGACY), Fraction(1, 1000))


@given(st.integers(min_value=0, max_value=2_779_530_283_277_761))
def test_round_trip_is_exact(value: int) -> None:
    legacy = Amount(value, LEGACY)
    assert legacy.to(NANOS).to(LEGACY) == legacy
    assert legacy.to(NANOS).iota == legacy.iota


def test_a_price_keeps_its_meaning_across_rails() -> None:
    """The tutorial's 0.2 i per mW·s is 720 IOTA per kWh on either rail."""
    in_nanos = convert_rate(TUTORIAL_PRICE_IOTA_PER_KWH, LEGACY, NANOS)
    assert in_nanos == 720 * NANOS_PER_IOTA
    assert convert_rate(in_nanos, NANOS, LEGACY) == TUTORIAL_PRICE_IOTA_PER_KWH
    assert convert_rate(Fraction(1, 3), LEGACY, NANOS) == Fraction(1000, 3)


def test_label_names_the_unit() -> None:
    assert Amount(1500, NANOS).label() == "1500 nanos (0.0000015 IOTA)"
    assert Amount(240, LEGACY).label() == "240 i (0.00024 IOTA)"
    assert Amount(2 * NANOS_PER_IOTA, NANOS).label() == "2000000000 nanos (2 IOTA)"


def test_stored_form_round_trips_and_is_checked() -> None:
    amount = Amount(7, NANOS)
    assert amount.to_dict() == {"value": 7, "unit": "nanos"}
    assert Amount.from_dict(amount.to_dict()) == amount
    for bad in (
        {"value": 7},
        {"value": 7, "unit": "IOTA"},
        {"value": -1, "unit": "i"},
        {"value": True, "unit": "i"},
        {"value": 1.0, "unit": "i"},
        [7, "i"],
    ):
        with pytest.raises(ValueError, match=r"amount|unit"):
            Amount.from_dict(bad)


def test_amounts_are_whole_and_not_negative() -> None:
    with pytest.raises(TypeError):
        Amount(1.5, LEGACY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Amount(True, LEGACY)
    with pytest.raises(ValueError, match="never negative"):
        Amount(-1, NANOS)
    with pytest.raises(TypeError):
        Amount(1, "i")  # type: ignore[arg-type]


def test_errors_say_what_is_wrong() -> None:
    with pytest.raises(TypeError, match=r"^an amount is an int, not 1\.5$"):
        Amount(1.5, LEGACY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^unknown unit 'i'$"):
        Amount(1, "i")  # type: ignore[arg-type]
    with pytest.raises(
        InexactConversionError, match=r"^5001 nanos is not a whole number of i$"
    ):
        Amount(5_001, NANOS).to(LEGACY)
    with pytest.raises(
        ValueError, match=r"^an amount is an object with value and unit$"
    ):
        Amount.from_dict([7, "i"])
    with pytest.raises(ValueError, match=r"^an amount's value is an int >= 0$"):
        Amount.from_dict({"value": -1, "unit": "i"})


@pytest.mark.parametrize("unit", [LEGACY, NANOS])
def test_zero_is_an_amount(unit: Denomination) -> None:
    zero = Amount.from_dict({"value": 0, "unit": unit.value})
    assert zero == Amount(0, unit)
    assert zero.label() == f"0 {unit} (0 IOTA)"


def test_the_smallest_amounts_show_every_decimal_without_an_exponent() -> None:
    assert Amount(1, NANOS).label() == "1 nanos (0.000000001 IOTA)"
    assert Amount(1, LEGACY).label() == "1 i (0.000001 IOTA)"
    assert Amount(10, NANOS).label() == "10 nanos (0.00000001 IOTA)"


@given(st.integers(min_value=0, max_value=10**60), st.sampled_from([LEGACY, NANOS]))
def test_the_iota_value_is_exact_for_any_amount(value: int, unit: Denomination) -> None:
    amount = Amount(value, unit)
    assert Fraction(amount.iota) == Fraction(value, unit.per_iota)
    whole, _, decimals = _plain_text(amount.label()).partition(".")
    assert Fraction(int(whole)) + (
        Fraction(int(decimals), 10 ** len(decimals)) if decimals else 0
    ) == Fraction(value, unit.per_iota)


def _plain_text(label: str) -> str:
    """The IOTA figure of a label: ``"... (0.5 IOTA)"`` -> ``"0.5"``."""
    figure = label.rpartition("(")[2].removesuffix(" IOTA)")
    assert figure.replace(".", "", 1).isdigit(), figure
    assert not figure.endswith(("0", ".")) or "." not in figure, figure
    return figure
