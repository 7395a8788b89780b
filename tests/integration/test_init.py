"""Setting an entry up, unloading it, and the entities it creates."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import ConfigEntries, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The entry loads, starts sampling, and unloads cleanly."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    assert runtime.sampler.is_running
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not runtime.sampler.is_running


async def test_an_entry_whose_platforms_do_not_unload_keeps_metering(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Its entities are still there: sampling and billing go on for them."""
    entry = init_integration
    runtime = entry.runtime_data
    with patch.object(ConfigEntries, "async_unload_platforms", return_value=False):
        assert not await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.FAILED_UNLOAD
    assert runtime.sampler.is_running
    assert runtime.coordinator.last_update_success


async def test_entities_created(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """Every sensor, the potentiometer and the billing event exist."""
    entries = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    keys = {entry.unique_id.split("_", 1)[1] for entry in entries}
    assert {
        "power",
        "current",
        "bus_voltage",
        "shunt_voltage",
        "energy",
        "period_energy",
        "period_cost",
        "outstanding",
        "price",
        "period_end",
        "coverage",
        "gaps",
        "potentiometer",
        "billing",
    } <= keys
    shunt = next(e for e in entries if e.unique_id.endswith("_shunt_voltage"))
    assert shunt.disabled_by is er.RegistryEntryDisabler.INTEGRATION
