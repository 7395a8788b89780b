"""Sensors: every entity's state, attributes, registry entry and device."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.iota_energy.const import CONF_PRICE

from .helpers import entity_id, set_up
from .platform_snapshot import platform_snapshot


async def test_sensors(
    hass: HomeAssistant, metered_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """The values the scenario metered, as the sensors show them."""
    assert platform_snapshot(hass, metered_entry.entry_id, "sensor") == snapshot


async def test_sensors_with_a_wallet(
    hass: HomeAssistant, paid_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """With a wallet, the payment sensors too, after one confirmed payment."""
    assert platform_snapshot(hass, paid_entry.entry_id, "sensor") == snapshot


async def test_sensors_with_a_rebased_wallet(
    hass: HomeAssistant, rebased_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """An entry that pays on IOTA Rebased (devrebased), after the scenario."""
    assert platform_snapshot(hass, rebased_entry.entry_id, "sensor") == snapshot


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        # Half-way: a test that shows the numerator (5) or rounds fails.
        ("2.5", "2.5"),
        # A third: Home Assistant writes a float's state to 15 digits.
        ("1/3", "0.333333333333333"),
        # Whole: shown as a whole number, not "720000000.0".
        ("720000000", "720000000"),
    ],
)
async def test_the_price_shows_fractions_exactly_as_far_as_a_float_goes(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_options: dict[str, Any],
    price: str,
    shown: str,
) -> None:
    """A price that is not a whole number of IOTA per kWh is shown as a float."""
    await set_up(hass, mock_config_entry, options=entry_options | {CONF_PRICE: price})
    coordinator = mock_config_entry.runtime_data.coordinator
    assert coordinator.data.price.iota_per_kwh == Fraction(price)
    state = hass.states.get(entity_id(hass, mock_config_entry, "price"))
    assert state is not None
    assert state.state == shown
    assert float(state.state) == pytest.approx(float(Fraction(price)), rel=1e-14)
    assert state.attributes["unit_of_measurement"] == "IOTA/kWh"
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
