"""The core's one home for whole numbers and exact fractions as text."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.numbers import (
    format_fraction,
    is_int,
    parse_fraction,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, True),
        (-3, True),
        (2**70, True),
        (True, False),
        (False, False),
        (1.0, False),
        ("1", False),
        (Fraction(1), False),
        (None, False),
    ],
)
def test_is_int_means_int_but_not_bool(value: object, expected: bool) -> None:
    assert is_int(value) is expected


@settings(max_examples=300, deadline=None)
@given(value=st.fractions())
def test_fraction_text_round_trips_exactly(value: Fraction) -> None:
    text = format_fraction(value)
    assert "/" in text
    assert parse_fraction(text) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/4", Fraction(3, 4)),
        ("-3/4", Fraction(-3, 4)),
        ("6/8", Fraction(3, 4)),
        ("7", Fraction(7)),
        ("-7", Fraction(-7)),
        ("0/5", Fraction(0)),
        ("-0", Fraction(0)),
    ],
)
def test_parse_fraction_reads_the_documented_forms(
    text: str, expected: Fraction
) -> None:
    assert parse_fraction(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # The sign rule: only "-", only in front of the numerator.
        "+1/2",
        "1/-2",
        "-1/-2",
        "--1/2",
        "- 1/2",
        # Nothing but ASCII digits, one slash, no spaces.
        "1.5",
        "1e3",
        " 1/2",
        "1/2 ",
        "1//2",
        "1/",
        "/2",
        "a/b",
        "\u0663/4",  # ARABIC-INDIC DIGIT THREE: int() would read it
        "",
        # Not text at all.
        3,
        Fraction(1, 2),
        None,
    ],
)
def test_parse_fraction_rejects_every_other_form(text: object) -> None:
    with pytest.raises(ValueError, match=r"'n/d' string"):
        parse_fraction(text, "carry")


def test_parse_fraction_rejects_a_zero_denominator_by_name() -> None:
    with pytest.raises(ValueError, match=r"^energy_j has a zero denominator"):
        parse_fraction("1/0", "energy_j")


@pytest.mark.parametrize("text", ["-1/2", "-5"])
def test_nonnegative_refuses_a_negative_value_by_name(text: str) -> None:
    assert parse_fraction(text) < 0
    with pytest.raises(ValueError, match=r"^energy_j must not be negative"):
        parse_fraction(text, "energy_j", nonnegative=True)


@pytest.mark.parametrize("text", ["0/1", "-0", "1/3"])
def test_nonnegative_accepts_zero_and_above(text: str) -> None:
    assert parse_fraction(text, nonnegative=True) >= 0


def test_the_name_appears_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"^owed must be"):
        parse_fraction("x", "owed")


def test_without_a_name_the_message_says_value() -> None:
    with pytest.raises(
        ValueError, match=r"^value must be an exact 'n/d' string, not 'x'$"
    ):
        parse_fraction("x")
    with pytest.raises(ValueError, match=r"^value has a zero denominator: '1/0'$"):
        parse_fraction("1/0")
    with pytest.raises(ValueError, match=r"^value must not be negative: '-1'$"):
        parse_fraction("-1", nonnegative=True)
