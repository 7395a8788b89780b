"""Exact prices: parsing entity states, the price policy, decimal display."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.numbers import parse_fraction
from custom_components.iota_energy.core.pricing import (
    TUTORIAL_PRICE_IOTA_PER_KWH,
    PriceQuote,
    PriceTracker,
    format_decimal,
    parse_price_state,
    parse_price_text,
)


def test_tutorial_price_in_iota_per_kwh() -> None:
    iota_per_mws = Fraction("0.2")
    mws_per_kwh = 1000 * 1000 * 3600  # mW per W, W per kW, s per h
    assert iota_per_mws * mws_per_kwh == TUTORIAL_PRICE_IOTA_PER_KWH
    assert TUTORIAL_PRICE_IOTA_PER_KWH == 720_000_000


@pytest.mark.parametrize(
    ("state", "unit", "expected"),
    [
        ("0.25", None, Fraction(1, 4)),
        ("0.1", "", Fraction(1, 10)),  # exactly a tenth, not the float 0.1
        (" 720000000 ", "IOTA/kWh", Fraction(720_000_000)),
        ("720000", "IOTA/Wh", Fraction(720_000_000)),
        ("720000000000", "IOTA/MWh", Fraction(720_000_000)),
        ("3", "i/kWh", Fraction(3)),
        ("1e3", "IOTA/kWh", Fraction(1000)),
        ("0", None, Fraction(0)),
        ("-0", None, Fraction(0)),
    ],
)
def test_parse_price_state_exact(
    state: str, unit: str | None, expected: Fraction
) -> None:
    assert parse_price_state(state, unit) == expected


@pytest.mark.parametrize(
    ("state", "unit"),
    [
        (None, None),
        ("unknown", None),
        ("unavailable", "IOTA/kWh"),
        ("", None),
        ("cheap", None),
        ("1/3", None),  # a fraction is not a decimal entity state
        ("-1", None),
        ("NaN", None),
        ("inf", None),
        ("-Infinity", None),
        ("5", "EUR/kWh"),
        ("5", "IOTA/mWh"),  # milli, not mega: unsupported
        ("5", "IOTA"),
        ("5", "kWh"),
    ],
)
def test_parse_price_state_rejects(state: str | None, unit: str | None) -> None:
    assert parse_price_state(state, unit) is None


def test_price_quote_rejects_negative_or_inexact() -> None:
    with pytest.raises(ValueError, match="negative"):
        PriceQuote(Fraction(-1), "static")
    with pytest.raises(TypeError):
        PriceQuote(0.5, "static")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        PriceQuote(Fraction(1), "guess")  # type: ignore[arg-type]


def test_static_tracker_ignores_entity_updates() -> None:
    tracker = PriceTracker(Fraction(7))
    assert tracker.update("99", None) == PriceQuote(Fraction(7), "static")
    assert tracker.current() == PriceQuote(Fraction(7), "static")
    assert not tracker.current().flagged


def test_entity_tracker_policy_fallback_entity_last_valid() -> None:
    tracker = PriceTracker(Fraction(5), uses_entity=True)
    # Never valid yet: the static price stands in, flagged.
    assert tracker.current() == PriceQuote(Fraction(5), "fallback")
    assert tracker.update("unavailable", None) == PriceQuote(Fraction(5), "fallback")
    assert tracker.current().flagged
    assert tracker.update("12.5", "IOTA/kWh") == PriceQuote(Fraction(25, 2), "entity")
    assert not tracker.current().flagged
    # Unavailable or invalid: the last valid entity price, flagged.
    assert tracker.update("unavailable", None) == PriceQuote(
        Fraction(25, 2), "last_valid"
    )
    assert tracker.update("-3", None) == PriceQuote(Fraction(25, 2), "last_valid")
    assert tracker.update("2", "IOTA/Wh") == PriceQuote(Fraction(2000), "entity")


def test_entity_tracker_keeps_last_valid_price_across_restart() -> None:
    tracker = PriceTracker(Fraction(5), uses_entity=True)
    tracker.update("8", None)
    restored = PriceTracker.from_state(
        Fraction(5), tracker.export_state(), uses_entity=True
    )
    # Until the entity reports again, its last price applies, flagged.
    assert restored.current() == PriceQuote(Fraction(8), "last_valid")
    assert restored.update("9", None) == PriceQuote(Fraction(9), "entity")
    fresh = PriceTracker.from_state(
        Fraction(5), PriceTracker(Fraction(5)).export_state(), uses_entity=True
    )
    assert fresh.current() == PriceQuote(Fraction(5), "fallback")


@pytest.mark.parametrize(
    "state",
    [{}, {"last_valid": 3}, {"last_valid": "-1/2"}, {"last_valid": None, "x": 1}],
)
def test_tracker_rejects_malformed_state(state: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any clear ValueError will do
        PriceTracker(Fraction(1), state=state)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(1, 3), 6, "0.333333"),
        (Fraction(2, 3), 6, "0.666667"),
        (Fraction(-2, 3), 2, "-0.67"),
        (Fraction(5, 2), 0, "2"),  # half to even
        (Fraction(7, 2), 0, "4"),
        (Fraction(1, 200), 2, "0.00"),  # 0.005 -> even
        (Fraction(3, 200), 2, "0.02"),
        (Fraction(720_000_000), 3, "720000000.000"),
    ],
)
def test_format_decimal_rounds_half_to_even(
    value: Fraction, places: int, expected: str
) -> None:
    assert format_decimal(value, places) == expected


@settings(max_examples=300, deadline=None)
@given(value=st.fractions(), places=st.integers(min_value=0, max_value=12))
def test_format_decimal_is_within_half_a_unit(value: Fraction, places: int) -> None:
    shown = Fraction(format_decimal(value, places))
    assert abs(shown - value) <= Fraction(1, 2 * 10**places)


# Found by mutation testing (scripts/mutation): boundaries and messages.


@pytest.mark.parametrize("price", [Fraction(0), Fraction(1, 2), Fraction(1)])
def test_price_quote_accepts_zero_and_fractions_of_an_iota(price: Fraction) -> None:
    assert PriceQuote(price, "static").iota_per_kwh == price


def test_price_quote_says_a_float_is_not_exact() -> None:
    with pytest.raises(TypeError, match=r"^iota_per_kwh must be a Fraction$"):
        PriceQuote(0.5, "static")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["0/1", "1/2", "1"])
def test_tracker_restores_zero_and_small_prices(text: str) -> None:
    tracker = PriceTracker(Fraction(5), uses_entity=True, state={"last_valid": text})
    assert tracker.current() == PriceQuote(Fraction(text), "last_valid")


def test_tracker_from_state_is_static_unless_told() -> None:
    restored = PriceTracker.from_state(Fraction(5), {"last_valid": "8"})
    assert restored.current() == PriceQuote(Fraction(5), "static")


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({}, r"^price state must be \{'last_valid': \.\.\.\}: \{\}$"),
        ({"last_valid": 3}, r"^last_valid must be an exact 'n/d' string, not 3$"),
        ({"last_valid": "-1/2"}, r"^last_valid must not be negative: '-1/2'$"),
    ],
)
def test_tracker_names_what_is_wrong_with_its_state(
    state: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PriceTracker(Fraction(1), state=state)


def test_parse_fraction_reads_a_whole_number_and_names_the_field() -> None:
    assert parse_fraction("5") == Fraction(5)
    assert parse_fraction("-7") == Fraction(-7)
    with pytest.raises(ValueError, match=r"^value must be an exact 'n/d' string"):
        parse_fraction("x")


def test_format_decimal_refuses_negative_places() -> None:
    with pytest.raises(ValueError, match=r"^places must be >= 0$"):
        format_decimal(Fraction(1), -1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("720000000", Fraction(720_000_000)),
        ("0.25", Fraction(1, 4)),
        ("1e3", Fraction(1000)),
        ("1/3", Fraction(1, 3)),
        (" 2/4 ", Fraction(1, 2)),
        ("0", Fraction(0)),
        ("9" * 40, Fraction(int("9" * 40))),
        # The bounds themselves: 40 digits of exponent either way.
        ("1e40", Fraction(10**40)),
        ("1e-40", Fraction(1, 10**40)),
    ],
)
def test_parse_price_text(text: str, expected: Fraction) -> None:
    assert parse_price_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "-1",
        "1/0",
        "-1/2",
        "1 / 2",
        "1.5/2",
        "abc",
        "NaN",
        "inf",
        "",
        "9" * 41,
        # Exact, these would stall for hours (and never be writable).
        "1e999999999",
        "1e-999999999",
        "1e41",
        "١٢",
    ],
)
def test_parse_price_text_rejects(text: str) -> None:
    assert parse_price_text(text) is None


@pytest.mark.parametrize("state", ["1e999999999", "1e-999999999", "9" * 41, "١٢"])
def test_parse_price_state_rejects_what_it_cannot_hold(state: str) -> None:
    assert parse_price_state(state, None) is None
