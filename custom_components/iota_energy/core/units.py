"""Which IOTA an amount counts, and exact conversion between the rails.

The two rails count different things. The legacy rail (PyOTA, IRI) counts
**i**, the legacy network's indivisible unit; in legacy wording "1 IOTA" was
1 i and exchanges quoted Mi (10^6 i). IOTA Rebased counts **nanos**, 10^9 to
today's IOTA. The migrations mapped one onto the other without rounding
(sources in docs/rebased.md): Chrysalis and Stardust kept every balance's
integer, shown with 6 decimals (1 Mi of legacy became 1 IOTA), and Rebased
moved to 9 decimals, so a balance of n became n x 1000 nanos. Hence

    1 i = 1 000 nanos        1 Mi = 1 IOTA (today) = 10^9 nanos

"IOTA" alone is ambiguous across the eras: amounts here always carry their
unit code, ``"i"`` or ``"nanos"``, and only today's IOTA is ever shown as
"IOTA".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

NANOS_PER_IOTA = 1_000_000_000
# Chrysalis: 1 Mi of legacy IOTA became 1 IOTA (six decimals).
LEGACY_I_PER_IOTA = 1_000_000
NANOS_PER_LEGACY_I = NANOS_PER_IOTA // LEGACY_I_PER_IOTA


class Denomination(StrEnum):
    """The indivisible unit an integer amount counts (the stored unit code)."""

    LEGACY_I = "i"
    NANOS = "nanos"

    @property
    def per_iota(self) -> int:
        """How many of this unit make one of today's IOTA."""
        return LEGACY_I_PER_IOTA if self is Denomination.LEGACY_I else NANOS_PER_IOTA


class InexactConversionError(ValueError):
    """The amount is not a whole number in the target unit."""


def ratio(source: Denomination, target: Denomination) -> Fraction:
    """Target units per source unit: 1000 from i to nanos, 1/1000 back."""
    return Fraction(target.per_iota, source.per_iota)


def convert_rate(
    rate: Fraction, source: Denomination, target: Denomination
) -> Fraction:
    """A price or any fraction of ``source`` units, exactly in ``target`` units.

    A price of 720 000 000 i/kWh is 720 000 000 000 nanos/kWh: the same
    720 IOTA per kWh, so switching rails never changes what a bill means.
    """
    return rate * ratio(source, target)


@dataclass(frozen=True, slots=True)
class Amount:
    """A whole number of one unit: what is paid, stored or shown."""

    value: int
    unit: Denomination

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise TypeError(f"an amount is an int, not {self.value!r}")
        if self.value < 0:
            raise ValueError(f"an amount is never negative: {self.value}")
        if not isinstance(self.unit, Denomination):
            raise TypeError(f"unknown unit {self.unit!r}")

    def to(self, unit: Denomination) -> Amount:
        """The same value in ``unit``; InexactConversionError if it is not whole."""
        exact = self.value * ratio(self.unit, unit)
        if exact.denominator != 1:
            raise InexactConversionError(
                f"{self.value} {self.unit} is not a whole number of {unit}"
            )
        return Amount(int(exact), unit)

    def to_floor(self, unit: Denomination) -> tuple[Amount, Fraction]:
        """The whole part in ``unit`` and the rest (in ``unit``, below 1)."""
        exact = self.value * ratio(self.unit, unit)
        whole = exact.numerator // exact.denominator
        return Amount(whole, unit), exact - whole

    @property
    def iota(self) -> Decimal:
        """The value in today's IOTA, exact (a Decimal with the unit's places)."""
        places = len(str(self.unit.per_iota)) - 1
        # From the digits: scaleb would round to the context's 28 digits.
        return Decimal(f"{self.value}E-{places}")

    def label(self) -> str:
        """For people: ``"1500 nanos (0.0000015 IOTA)"``, unit always named."""
        return f"{self.value} {self.unit} ({_plain(self.iota)} IOTA)"

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit.value}

    @classmethod
    def from_dict(cls, data: object) -> Amount:
        if not isinstance(data, Mapping):
            raise ValueError("an amount is an object with value and unit")
        unit = data.get("unit")
        if not isinstance(unit, str) or unit not in Denomination._value2member_map_:
            raise ValueError(f"unknown unit {unit!r}")
        value = data.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("an amount's value is an int >= 0")
        return cls(value, Denomination(unit))


def _plain(value: Decimal) -> str:
    """A Decimal without exponent and without trailing zeros after the point."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
