"""Period boundaries the meter has not read across yet, and one during an unload.

On the stepped clock (see ``stepped_clock``): the entry bills hourly and is
set up at 12:59:00 UTC; the 12:00 period ends at 13:00:00.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.iota_energy.const import DOMAIN, EVENT_PERIOD_CLOSED
from custom_components.iota_energy.core.energy_account import CLOSE_RETRY_S

from .helpers import call_action
from .metered_scenario import scenario_entry
from .stepped_clock import SteppedClock

BOUNDARY = datetime(2030, 3, 15, 13, 0, 0, tzinfo=UTC)


async def _set_up(
    hass: HomeAssistant,
    clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> MockConfigEntry:
    entry = scenario_entry(entry_data, entry_options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await clock.wait_idle()
    return entry


async def test_a_close_waits_for_the_meter_to_read_across_the_boundary(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """No reading after 13:00 yet: the timer retries, a manual close refuses."""
    clock = stepped_clock
    entry = await _set_up(hass, clock, entry_data, entry_options)
    ledger = entry.runtime_data.coordinator.state.ledger
    closed = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    await clock.advance(59)
    # Home Assistant's time is 13:00:01; the sampler's next reading (one
    # sampling interval after its last one, at 12:59:59) is yet to come.
    with patch.object(dt_util, "utcnow", lambda: clock.utcnow() + timedelta(seconds=2)):
        # The boundary's timer: nothing can close yet; it tries again shortly.
        async_fire_time_changed(hass, BOUNDARY)
        await hass.async_block_till_done()
        assert ledger.statements == []
        # The manual close waits for that reading too, then says why it cannot.
        with pytest.raises(HomeAssistantError) as err:
            await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "period_just_started"
    assert ledger.statements == []

    await clock.advance(2)
    async_fire_time_changed(hass, clock.utcnow() + timedelta(seconds=CLOSE_RETRY_S))
    await hass.async_block_till_done()

    (statement,) = ledger.statements
    assert statement.period_end == BOUNDARY
    assert statement.period_start == BOUNDARY - timedelta(hours=1)
    assert not statement.complete
    assert [event.data["id"] for event in closed] == [statement.id]
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_boundary_that_closes_while_the_entry_unloads(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """A close still being written when the entry stops: written and announced
    once, and the stopped entry arms no timer afterwards.
    """
    clock = stepped_clock
    entry = await _set_up(hass, clock, entry_data, entry_options)
    coordinator = entry.runtime_data.coordinator
    closed = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    await clock.advance(62)
    # A slow disk: the boundary's ledger write waits until the stop has begun.
    disk = asyncio.Event()
    save = Store.async_save

    async def slow_save(store: Store[Any], data: Any) -> None:
        if ".ledger." in store.key:
            await disk.wait()
        await save(store, data)

    with patch.object(Store, "async_save", slow_save):
        async_fire_time_changed(hass, BOUNDARY)
        unload = hass.async_create_task(
            hass.config_entries.async_unload(entry.entry_id)
        )
        for _ in range(1000):
            if coordinator._stopped:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the entry never began to stop")
        disk.set()
        assert await unload
        await hass.async_block_till_done()

    (statement,) = coordinator.state.ledger.statements
    assert statement.period_end == BOUNDARY
    # Announced once, after it was written.
    assert [event.data["id"] for event in closed] == [statement.id]
    assert coordinator._boundary_unsub is None
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    restored = entry.runtime_data.coordinator.state.ledger.statements
    assert [s.id for s in restored] == [statement.id]
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_manual_close_that_waits_closes_once_the_meter_reads_across(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """The reading across 13:00 comes while close_period waits: both close."""
    clock = stepped_clock
    entry = await _set_up(hass, clock, entry_data, entry_options)
    ledger = entry.runtime_data.coordinator.state.ledger
    await clock.advance(59)
    with patch.object(dt_util, "utcnow", lambda: clock.utcnow() + timedelta(seconds=2)):
        action = hass.async_create_task(
            call_action(hass, "close_period", config_entry_id=entry.entry_id)
        )
        # Its first try finds the boundary waiting for the meter.
        await asyncio.sleep(CLOSE_RETRY_S / 2)
        assert not action.done()
        assert ledger.statements == []
        await clock.advance(2)
        response = await action
    first, manual = ledger.statements
    assert first.period_end == BOUNDARY
    assert manual.period_start == BOUNDARY
    assert manual.period_end == BOUNDARY + timedelta(seconds=3)
    assert response["statement"]["id"] == manual.id
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_manual_close_still_being_written_when_the_entry_unloads(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """close_period answers with its statement although the entry stopped meanwhile."""
    clock = stepped_clock
    entry = await _set_up(hass, clock, entry_data, entry_options)
    coordinator = entry.runtime_data.coordinator
    await clock.advance(30)
    disk = asyncio.Event()
    save = Store.async_save

    async def slow_save(store: Store[Any], data: Any) -> None:
        if ".ledger." in store.key:
            await disk.wait()
        await save(store, data)

    with patch.object(Store, "async_save", slow_save):
        action = hass.async_create_task(
            call_action(hass, "close_period", config_entry_id=entry.entry_id)
        )
        await asyncio.sleep(0)
        unload = hass.async_create_task(
            hass.config_entries.async_unload(entry.entry_id)
        )
        for _ in range(1000):
            if coordinator._stopped:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the entry never began to stop")
        disk.set()
        response = await action
        assert await unload
        await hass.async_block_till_done()

    (statement,) = coordinator.state.ledger.statements
    assert response["statement"]["id"] == statement.id
    assert statement.period_end == BOUNDARY - timedelta(seconds=30)
    assert coordinator._boundary_unsub is None
