"""Energy prices in IOTA per kWh, exact, and which price is in force.

Prices are :class:`fractions.Fraction` values: an entity state such as
``"0.1"`` becomes exactly one tenth, never the binary float nearest to it.
The module also holds the rounded decimal strings money is shown with (its
exact ``"n/d"`` form is in numbers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
import re
from typing import Any, Literal, get_args

from .numbers import format_fraction, parse_fraction

# The tutorial paid 0.2 IOTA per mW·s (milliwatt-second, i.e. millijoule).
# 1 kWh = 1000 W x 3600 s = 1 000 000 mW x 3600 s = 3 600 000 000 mW·s,
# so 0.2 IOTA/mW·s x 3 600 000 000 mW·s/kWh = 720 000 000 IOTA/kWh.
TUTORIAL_PRICE_IOTA_PER_KWH = Fraction(1, 5) * 3_600_000_000
JOULES_PER_KWH = 3_600_000
JOULES_PER_WH = 3_600

PriceSource = Literal["static", "entity", "last_valid", "fallback"]
PRICE_SOURCES: tuple[PriceSource, ...] = get_args(PriceSource)
# Sources that mean "this is not the price the entity says right now".
FLAGGED_SOURCES: frozenset[str] = frozenset({"last_valid", "fallback"})

# Entity states Home Assistant uses for "no value".
_NO_VALUE_STATES = frozenset({"", "unknown", "unavailable", "none"})
# kWh per unit of energy in the price's denominator.
_ENERGY_UNITS: dict[str, Fraction] = {
    "Wh": Fraction(1, 1000),
    "kWh": Fraction(1),
    "MWh": Fraction(1000),
}
_CURRENCY_NAMES = frozenset({"IOTA", "iota", "i"})
# More digits or a larger exponent is no price: "1e999999999" would take
# hours to turn exact, and a numerator past 4300 digits cannot be written.
MAX_PRICE_DIGITS = 40
_WHOLE = re.compile(rf"[0-9]{{1,{MAX_PRICE_DIGITS}}}", re.ASCII)


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """A price and where it came from.

    ``source`` is ``static`` (configured), ``entity`` (the price entity's
    current state), ``last_valid`` (the entity is unavailable or invalid; its
    last valid price is used) or ``fallback`` (the entity never had a valid
    state; the configured static price is used). The last two are flagged on
    statements.
    """

    iota_per_kwh: Fraction
    source: PriceSource

    def __post_init__(self) -> None:
        if not isinstance(self.iota_per_kwh, Fraction):
            raise TypeError("iota_per_kwh must be a Fraction")
        if self.iota_per_kwh < 0:
            raise ValueError(f"a price is never negative: {self.iota_per_kwh}")
        if self.source not in PRICE_SOURCES:
            raise ValueError(f"unknown price source {self.source!r}")

    @property
    def flagged(self) -> bool:
        return self.source in FLAGGED_SOURCES


def parse_price_state(state: str | None, unit: str | None) -> Fraction | None:
    """An entity's state as an exact price in IOTA/kWh, or None if unusable.

    The state is read as a decimal number exactly (``"0.25"`` is 1/4). The
    unit is ``IOTA/kWh`` when None or empty; ``IOTA/Wh`` and ``IOTA/MWh``
    (also with ``i`` for IOTA) are converted. Unknown/unavailable, non-numeric,
    negative, NaN and infinite states and unsupported units give None.
    Negative prices are refused because a payment can never flow backwards.
    """
    if state is None or state.strip().lower() in _NO_VALUE_STATES:
        return None
    kwh_per_unit = _kwh_per_price_unit(unit)
    if kwh_per_unit is None:
        return None
    price = _bounded_decimal(state)
    if price is None:
        return None
    # A price per Wh is 1000 times the price per kWh: divide by kWh per Wh.
    return price / kwh_per_unit


def parse_price_text(text: str) -> Fraction | None:
    """A configured price: a decimal (``"0.25"``, ``"1e3"``) or ``"n/d"``.

    None for anything else, for a negative price, and for numbers beyond
    :data:`MAX_PRICE_DIGITS` digits or exponent.
    """
    numerator, slash, denominator = text.strip().partition("/")
    if not slash:
        return _bounded_decimal(numerator)
    # As Fraction reads it (setup reads the stored text so): no inner spaces.
    if not (_WHOLE.fullmatch(numerator) and _WHOLE.fullmatch(denominator)):
        return None
    if int(denominator) == 0:
        return None
    return Fraction(int(numerator), int(denominator))


def _bounded_decimal(text: str) -> Fraction | None:
    """A finite, non-negative decimal of bounded size, exactly; else None.

    ASCII only: Decimal also reads other scripts' digits ("١٢"), which no
    stored price may hold (see numbers.py).
    """
    if not text.isascii():
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    digits, exponent = number.as_tuple()[1:]
    if len(digits) > MAX_PRICE_DIGITS or abs(int(exponent)) > MAX_PRICE_DIGITS:
        return None
    price = Fraction(number)
    return None if price < 0 else price


def _kwh_per_price_unit(unit: str | None) -> Fraction | None:
    if unit is None or not unit.strip():
        return Fraction(1)
    currency, slash, energy = unit.strip().partition("/")
    if not slash or currency.strip() not in _CURRENCY_NAMES:
        return None
    return _ENERGY_UNITS.get(energy.strip())


class PriceTracker:
    """The price in force: a static price, or a price entity with a policy.

    Policy for an entity price (documented for users): while the entity's state
    is a valid price, that price applies (``entity``). When it becomes
    unavailable or invalid, the last valid entity price keeps applying and is
    flagged (``last_valid``), however long the outage lasts. If the entity has
    never had a valid state (including since installation; the last valid
    price survives restarts), the configured static price applies, flagged
    (``fallback``).
    """

    __slots__ = ("_entity_valid", "_last_valid", "_static", "_uses_entity")

    def __init__(
        self,
        static_iota_per_kwh: Fraction,
        *,
        uses_entity: bool = False,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self._static = PriceQuote(static_iota_per_kwh, "static").iota_per_kwh
        self._uses_entity = uses_entity
        self._last_valid: Fraction | None = None
        # Until the entity reports after a start, its last price is "last valid".
        self._entity_valid = False
        if state is not None:
            self._restore(state)

    @property
    def uses_entity(self) -> bool:
        return self._uses_entity

    def update(self, state: str | None, unit: str | None) -> PriceQuote:
        """Take the price entity's new state; return the price now in force."""
        price = parse_price_state(state, unit)
        if price is None:
            self._entity_valid = False
        else:
            self._entity_valid = True
            self._last_valid = price
        return self.current()

    def current(self) -> PriceQuote:
        """The price in force now."""
        if not self._uses_entity:
            return PriceQuote(self._static, "static")
        if self._last_valid is None:
            return PriceQuote(self._static, "fallback")
        if self._entity_valid:
            return PriceQuote(self._last_valid, "entity")
        return PriceQuote(self._last_valid, "last_valid")

    def export_state(self) -> dict[str, Any]:
        """JSON-able state: the last valid entity price, exact."""
        return {
            "last_valid": None
            if self._last_valid is None
            else format_fraction(self._last_valid)
        }

    @classmethod
    def from_state(
        cls,
        static_iota_per_kwh: Fraction,
        state: Mapping[str, Any],
        *,
        uses_entity: bool = False,
    ) -> PriceTracker:
        return cls(static_iota_per_kwh, uses_entity=uses_entity, state=state)

    def _restore(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or set(state) != {"last_valid"}:
            raise ValueError(f"price state must be {{'last_valid': ...}}: {state!r}")
        text = state["last_valid"]
        if text is not None:
            self._last_valid = parse_fraction(text, "last_valid", nonnegative=True)


def format_decimal(value: Fraction, places: int) -> str:
    """``value`` as a decimal string with ``places`` digits, rounded half to even.

    For display only: the exact value travels alongside as ``"n/d"``.
    """
    if places < 0:
        raise ValueError("places must be >= 0")
    scaled = round(value * 10**places)  # Fraction.__round__ rounds half to even
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"
