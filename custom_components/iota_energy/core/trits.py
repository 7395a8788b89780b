"""Balanced-ternary helpers: trytes, trits and integers as IOTA encodes them.

A tryte is one character of ``9ABCDEFGHIJKLMNOPQRSTUVWXYZ`` and stands for a
value in -13..13 ('9' is 0, 'A'..'M' are 1..13, 'N'..'Z' are -13..-1). It
holds three trits, least significant first. Integers are stored the same
way: little-endian balanced ternary, padded with zero trits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

TRYTE_ALPHABET: Final = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# A transaction or bundle hash, and an address without its checksum.
HASH_TRYTES: Final = 81

_TRYTE_VALUE: Final[dict[str, int]] = {
    char: value if value <= 13 else value - 27
    for value, char in enumerate(TRYTE_ALPHABET)
}
_TRYTE_TRITS: Final[dict[str, tuple[int, int, int]]] = {}
for _char, _value in _TRYTE_VALUE.items():
    _low = (_value + 1) % 3 - 1
    _rest = (_value - _low) // 3
    _middle = (_rest + 1) % 3 - 1
    _high = (_rest - _middle) // 3
    _TRYTE_TRITS[_char] = (_low, _middle, _high)
_TRITS_TRYTE: Final[dict[tuple[int, int, int], str]] = {
    trits: char for char, trits in _TRYTE_TRITS.items()
}


def is_trytes(text: str) -> bool:
    """Tell whether every character of ``text`` is a tryte."""
    return all(char in _TRYTE_VALUE for char in text)


def is_hash(value: object) -> bool:
    """Tell whether ``value`` is a string of exactly 81 trytes."""
    return isinstance(value, str) and len(value) == HASH_TRYTES and is_trytes(value)


def trytes_to_trits(trytes: str) -> list[int]:
    """Expand trytes into trits (three per tryte, least significant first)."""
    try:
        return [trit for char in trytes for trit in _TRYTE_TRITS[char]]
    except KeyError as err:
        raise ValueError(f"not a tryte: {err.args[0]!r}") from None


def trits_to_trytes(trits: Sequence[int]) -> str:
    """Pack trits into trytes; the number of trits must be a multiple of 3."""
    if len(trits) % 3:
        raise ValueError(f"{len(trits)} trits do not fill whole trytes")
    try:
        return "".join(
            _TRITS_TRYTE[(trits[i], trits[i + 1], trits[i + 2])]
            for i in range(0, len(trits), 3)
        )
    except KeyError as err:
        raise ValueError(f"not trits: {err.args[0]!r}") from None


def int_to_trits(value: int, length: int) -> list[int]:
    """Encode ``value`` in ``length`` balanced-ternary trits."""
    trits: list[int] = []
    rest = value
    for _ in range(length):
        trit = (rest + 1) % 3 - 1
        trits.append(trit)
        rest = (rest - trit) // 3
    if rest:
        raise ValueError(f"{value} does not fit in {length} trits")
    return trits


def trits_to_int(trits: Sequence[int]) -> int:
    """Decode little-endian balanced-ternary trits."""
    value = 0
    for trit in reversed(trits):
        value = value * 3 + trit
    return value


def int_to_trytes(value: int, length: int) -> str:
    """Encode ``value`` in ``length`` trytes."""
    return trits_to_trytes(int_to_trits(value, 3 * length))


def trytes_to_int(trytes: str) -> int:
    """Decode an integer field given in trytes."""
    return trits_to_int(trytes_to_trits(trytes))
