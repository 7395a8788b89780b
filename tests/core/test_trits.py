"""Tryte, trit and integer conversions, checked against PyOTA's own."""

from __future__ import annotations

from types import ModuleType

from hypothesis import example, given, strategies as st
import pytest

from custom_components.iota_energy.core import thirdparty
from custom_components.iota_energy.core.trits import (
    TRYTE_ALPHABET,
    int_to_trits,
    int_to_trytes,
    is_hash,
    is_trytes,
    trits_to_int,
    trits_to_trytes,
    trytes_to_int,
    trytes_to_trits,
)

trytes_text = st.text(alphabet=TRYTE_ALPHABET, max_size=40)


@pytest.fixture(scope="module")
def iota() -> ModuleType:
    return thirdparty.import_pyota()


def test_tryte_values_follow_the_alphabet() -> None:
    assert trytes_to_trits("9") == [0, 0, 0]
    assert trytes_to_trits("A") == [1, 0, 0]
    assert trytes_to_trits("M") == [1, 1, 1]  # 13
    assert trytes_to_trits("N") == [-1, -1, -1]  # -13
    assert trytes_to_trits("Z") == [-1, 0, 0]  # -1


@given(trytes_text)
def test_trytes_round_trip(text: str) -> None:
    assert trits_to_trytes(trytes_to_trits(text)) == text


def test_trits_agree_with_pyota(iota: ModuleType) -> None:
    assert (
        trytes_to_trits(TRYTE_ALPHABET) == iota.TryteString(TRYTE_ALPHABET).as_trits()
    )


@given(st.integers(min_value=-(3**27 - 1) // 2, max_value=(3**27 - 1) // 2))
def test_integers_round_trip_in_nine_trytes(value: int) -> None:
    assert trytes_to_int(int_to_trytes(value, 9)) == value
    assert trits_to_int(int_to_trits(value, 27)) == value


@given(st.integers(min_value=-(3**81 - 1) // 2, max_value=(3**81 - 1) // 2))
@example(2**60 + 1)  # beyond a float's 53 bits: every step must stay an int
@example((3**81 - 1) // 2)
def test_integers_round_trip_in_81_trits(value: int) -> None:
    trits = int_to_trits(value, 81)
    assert trits_to_int(trits) == value
    assert all(type(trit) is int and trit in (-1, 0, 1) for trit in trits)


def test_integer_encoding_agrees_with_pyota(iota: ModuleType) -> None:
    from iota.trits import int_from_trits, trits_from_int

    for value in (
        0,
        1,
        -1,
        13,
        14,
        1_700_000_000_000,
        -2_779_530_283_277_761,
        3**60 + 1,
    ):
        assert int_to_trits(value, 81) == trits_from_int(value, pad=81)
        assert int_from_trits(int_to_trits(value, 81)) == value


def test_integer_too_large_for_its_field() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        int_to_trytes((3**27 - 1) // 2 + 1, 9)


def test_bad_input_is_refused() -> None:
    assert not is_trytes("AB9c")
    assert is_trytes("AB9Z")
    with pytest.raises(ValueError, match="not a tryte"):
        trytes_to_trits("A!")
    with pytest.raises(ValueError, match="whole trytes"):
        trits_to_trytes([1, 0])
    with pytest.raises(ValueError, match="not trits"):
        trits_to_trytes([2, 0, 0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A" * 81, True),
        ("9" * 81, True),
        (TRYTE_ALPHABET * 3, True),
        ("A" * 80, False),
        ("A" * 82, False),
        ("a" * 81, False),
        ("A" * 80 + "!", False),
        (["A" * 81], False),
        (None, False),
        (b"A" * 81, False),
    ],
)
def test_a_hash_is_81_trytes(value: object, expected: bool) -> None:
    assert is_hash(value) is expected
