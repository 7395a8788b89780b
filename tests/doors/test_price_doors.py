"""Door 4: a price entity whose states are nonsense.

Home Assistant's real state machine feeds the entry's real price tracker.
A nonsense state is never the price: before any valid state the configured
price applies, flagged ``fallback``; after one, the last valid price applies,
flagged ``last_valid``. The statement closed at the end carries the flag,
and only valid prices were billed.
"""

from __future__ import annotations

from fractions import Fraction
import random
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import CONF_PERIOD, CONF_PRICE_ENTITY, DOMAIN
from custom_components.iota_energy.core.pricing import PriceQuote
from tests.integration.helpers import wait_for_more_energy

from .bad_values import NUMBERS, TEXTS
from .tally import Tally

PRICE_SENSOR = "sensor.tariff"
STATIC = Fraction(720_000_000)
CASES = 300
NONSENSE = (
    *TEXTS,
    "unavailable",
    "unknown",
    "none",
    "-5",
    "-0.000001",
    "nan",
    "-inf",
    "Infinity",
    "1,5",
    "12 IOTA",
    "½",
    "١٢",
    "1e41",
    "1e-41",
    "0." + "0" * 50 + "1",
)
# Negative, not finite, or beyond the 40 digits a price may have.
BAD_NUMBERS = (
    *(x for x in NUMBERS if not 0 <= x <= 10**30),
    1e300,
    -1e-9,
)
WRONG_UNITS = ("EUR/kWh", "IOTA", "IOTA/J", "W", "💡", "IOTA/kWh/h", "/kWh", "kWh")


def nonsense(rng: random.Random) -> tuple[str, str | None]:
    """A state and unit that are no price."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(NONSENSE), rng.choice((None, "IOTA/kWh", "IOTA/Wh"))
    if roll < 0.75:
        return str(rng.choice((*BAD_NUMBERS, -rng.random() * 1e6))), None
    # A good number in a unit that is no IOTA per energy.
    return str(rng.randrange(1, 10**6)), rng.choice(WRONG_UNITS)


def set_price(hass: HomeAssistant, state: str, unit: str | None) -> None:
    attributes: dict[str, Any] = {}
    if unit is not None:
        attributes[ATTR_UNIT_OF_MEASUREMENT] = unit
    hass.states.async_set(PRICE_SENSOR, state, attributes)


async def test_nonsense_prices_are_flagged_never_used(
    hass: HomeAssistant, entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> None:
    """Hundreds of nonsense states; the price in force is always a valid one."""
    rng = random.Random(41)
    set_price(hass, "unavailable", None)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=entry_data | {CONF_PERIOD: "monthly"},
        options=entry_options | {CONF_PRICE_ENTITY: PRICE_SENSOR},
        unique_id="virtual-1-0x40",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    prices = coordinator.state.account.prices
    tally = Tally("price entity: nonsense states")

    valid: Fraction | None = None
    used: set[Fraction] = set()
    for number in range(CASES):
        if number == CASES // 3 or (number > CASES // 3 and rng.random() < 0.1):
            # Now and then a good price (per Wh: 1000 times per kWh).
            valid = Fraction(rng.randrange(1, 10**6))
            set_price(hass, str(valid), "IOTA/Wh")
            await hass.async_block_till_done()
            valid *= 1000
            used.add(valid)
            assert prices.current() == PriceQuote(valid, "entity")
            continue
        state, unit = nonsense(rng)
        if len(state) > 255:
            continue  # Home Assistant refuses such a state itself
        set_price(hass, state, unit)
        await hass.async_block_till_done()
        expected = (
            PriceQuote(STATIC, "fallback")
            if valid is None
            else PriceQuote(valid, "last_valid")
        )
        quote = prices.current()
        if quote == expected:
            tally.refused += 1
        else:
            tally.unhandled.append(f"#{number} {state[:40]!r} {unit!r}: {quote}")
        if number % 50 == 0:
            # Publish and write with the state in force (a huge price would
            # fail here: its exact text cannot be written).
            await coordinator.async_refresh()
            await hass.async_block_till_done()
            assert coordinator.last_update_success

    # Meter some energy while a nonsense state is in force, then bill.
    set_price(hass, "unavailable", None)
    await hass.async_block_till_done()
    await wait_for_more_energy(entry)
    await coordinator.async_refresh()
    billed = coordinator.state.engine.open_period.slices
    assert {s.source for s in billed} <= {"entity", "last_valid", "fallback"}
    assert {s.iota_per_kwh for s in billed} <= {STATIC, *used}
    response: Any = await hass.services.async_call(
        DOMAIN,
        "close_period",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    statement = response["statement"]
    assert "last_valid" in statement["price_flags"]
    tally.check()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
