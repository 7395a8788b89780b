"""Binary sensors: the payment problem sensor, only with a wallet."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from .platform_snapshot import platform_snapshot


async def test_no_binary_sensor_without_a_wallet(
    hass: HomeAssistant, metered_entry: MockConfigEntry
) -> None:
    """An entry that only meters and bills has nothing that can go wrong with paying."""
    entries = er.async_entries_for_config_entry(
        er.async_get(hass), metered_entry.entry_id
    )
    assert [e.entity_id for e in entries if e.domain == "binary_sensor"] == []


async def test_binary_sensors_with_a_wallet(
    hass: HomeAssistant, paid_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """After a confirmed payment: no problem."""
    assert platform_snapshot(hass, paid_entry.entry_id, "binary_sensor") == snapshot
