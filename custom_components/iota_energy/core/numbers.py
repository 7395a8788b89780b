"""Whole numbers and exact fractions as the core checks, stores and reads them.

The one home of these helpers: every module of the core (and the shell, which
imports them from here) uses the same rules.

A stored fraction is text: ``"n/d"`` or ``"n"``, ASCII digits only. **Sign
rule:** only the numerator may carry a sign, and only ``-`` (no ``+``, no
``-`` in the denominator, no spaces, decimals or exponents); the denominator
is a whole number above 0. So every fraction has exactly one way to be
negative, and :func:`format_fraction` always writes that way. Quantities that
cannot be negative (energy, for instance) ask for ``nonnegative=True`` and are
refused with their field's name otherwise.
"""

from __future__ import annotations

from fractions import Fraction
import re
from typing import TypeGuard

_FRACTION_TEXT = re.compile(r"(-?[0-9]+)(?:/([0-9]+))?", re.ASCII)


def is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a whole number: an ``int``, but not a ``bool``.

    (A TypeGuard, not a TypeIs: ``False`` does not mean "not an int".)
    """
    return isinstance(value, int) and not isinstance(value, bool)


def format_fraction(value: Fraction) -> str:
    """The exact text form ``"n/d"`` (always with a denominator)."""
    return f"{value.numerator}/{value.denominator}"


def parse_fraction(
    text: object, name: str = "value", *, nonnegative: bool = False
) -> Fraction:
    """Read ``"n/d"`` or ``"n"`` exactly (see the sign rule above).

    Raises ValueError naming ``name`` on anything else, on a zero
    denominator, and on a negative value when ``nonnegative``.
    """
    if not isinstance(text, str):
        raise ValueError(f"{name} must be an exact 'n/d' string, not {text!r}")
    match = _FRACTION_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"{name} must be an exact 'n/d' string, not {text!r}")
    numerator, denominator = match.groups()
    if denominator is not None and int(denominator) == 0:
        raise ValueError(f"{name} has a zero denominator: {text!r}")
    value = Fraction(int(numerator), int(denominator or 1))
    if nonnegative and value < 0:
        raise ValueError(f"{name} must not be negative: {text!r}")
    return value
