"""Sensors: every entity's state, attributes, registry entry and device."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

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
