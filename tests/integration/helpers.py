"""Small helpers for the Home Assistant tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def wait_for_samples(
    entry: MockConfigEntry, count: int, limit_s: float = 10
) -> None:
    """Let the real sampler thread take ``count`` more samples."""
    meter = entry.runtime_data.coordinator.state.meter
    target = meter.snapshot().samples + count
    deadline = time.monotonic() + limit_s
    while meter.snapshot().samples < target:
        assert time.monotonic() < deadline, "the sampler took no samples"
        await asyncio.sleep(0.05)


async def wait_for_more_energy(entry: MockConfigEntry, limit_s: float = 10) -> None:
    """Let the meter integrate some energy beyond what it has now."""
    meter = entry.runtime_data.coordinator.state.meter
    start = meter.snapshot().energy_j
    deadline = time.monotonic() + limit_s
    while meter.snapshot().energy_j <= start:
        assert time.monotonic() < deadline, "the meter measured no energy"
        await asyncio.sleep(0.05)


async def set_up(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *,
    data: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add ``entry`` (with ``data`` / ``options`` instead of its own), set it up.

    Returns it once set up and settled; the test unloads it.
    """
    entry.add_to_hass(hass)
    if data is not None:
        hass.config_entries.async_update_entry(entry, data=data)
    if options is not None:
        hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def call_action(hass: HomeAssistant, service: str, **data: Any) -> Any:
    """Call one of the integration's actions and return its response."""
    return await hass.services.async_call(
        "iota_energy", service, data, blocking=True, return_response=True
    )


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Publish now, as the publish interval would."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def entity_id(
    hass: HomeAssistant, entry: MockConfigEntry, key: str, domain: str = "sensor"
) -> str:
    """The entity id of one of the entry's entities, by description key."""
    from homeassistant.helpers import entity_registry as er

    registry = er.async_get(hass)
    found = registry.async_get_entity_id(
        domain, "iota_energy", f"{entry.entry_id}_{key}"
    )
    assert found is not None, key
    return found
