"""Small helpers for the Home Assistant tests."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import time
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.core import Event, HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.iota_energy.core.energy_account import CLOSE_RETRY_S
from custom_components.iota_energy.core.outbox import FollowSchedule
from custom_components.iota_energy.payment_manager import (
    PaymentManager,
    PaymentSettings,
)


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


async def close_at_boundary(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    events: list[Event],
    boundary: datetime,
) -> list[Event]:
    """Jump Home Assistant's time past ``boundary`` until the period closes.

    The boundary lies ahead on the real clock. As at a real boundary, the
    close needs the meter's first reading after it: when the timer finds none
    yet, the coordinator tries again every CLOSE_RETRY_S, and the sampler
    reads every 0.1 s. Returns the captured closes of ``boundary`` only (an
    earlier period may have closed on its own).
    """

    def closes() -> list[Event]:
        return [
            event
            for event in events
            if dt_util.parse_datetime(event.data["period_end"]) == boundary
        ]

    for retry in range(20):
        fired = boundary + timedelta(milliseconds=1, seconds=retry * CLOSE_RETRY_S)
        with patch.object(dt_util, "utcnow", return_value=fired):
            async_fire_time_changed(hass, fired)
            await hass.async_block_till_done()
        if closes():
            break
        await wait_for_samples(entry, 1)
    return closes()


def unstarted_manager(
    hass: HomeAssistant,
    settings: PaymentSettings,
    schedule: FollowSchedule | None = None,
) -> PaymentManager:
    """A payment manager of no loaded entry, for what it does before it starts."""
    coordinator: Any = SimpleNamespace(config_entry=SimpleNamespace(entry_id="entry"))
    return PaymentManager(hass, coordinator, settings, schedule=schedule)
