"""Metering inside Home Assistant: live values, unavailability, restarts."""

from __future__ import annotations

import logging
import time

from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.iota_energy.const import LOGGER

from .helpers import entity_id, refresh, wait_for_samples


async def test_power_follows_the_potentiometer(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Turning the virtual knob changes the power the real driver reads."""
    entry = init_integration
    knob = entity_id(hass, entry, "potentiometer", "number")
    power = entity_id(hass, entry, "power")

    async def power_at(percent: float) -> float:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": knob, "value": percent}, blocking=True
        )
        await wait_for_samples(entry, 2)
        await refresh(hass, entry)
        return float(hass.states.get(power).state)

    # Turned up like a dimmer: 100 % is the brightest LED.
    dim = await power_at(0)
    bright = await power_at(100)
    assert dim > 0
    assert bright > dim * 1.5
    assert float(hass.states.get(knob).state) == 100


async def test_missing_chip_is_unavailable_not_zero(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the chip cannot be read, power is unavailable and energy stands still.

    The outage is logged once at INFO on the integration's logger, and once
    when the chip is back (Home Assistant's log-when-unavailable rule).
    """
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    entry = init_integration
    await wait_for_samples(entry, 3)
    await refresh(hass, entry)
    energy_before = float(hass.states.get(entity_id(hass, entry, "energy")).state)
    power = entity_id(hass, entry, "power")
    assert float(hass.states.get(power).state) > 0

    chip = entry.runtime_data.chip
    chip.present = False
    try:
        await wait_for_samples_failing(entry)
        await refresh(hass, entry)
        assert hass.states.get(power).state == STATE_UNAVAILABLE
        energy_state = hass.states.get(entity_id(hass, entry, "energy")).state
        assert float(energy_state) >= energy_before
        assert float(hass.states.get(entity_id(hass, entry, "gaps")).state) >= 1
    finally:
        chip.present = True
    await wait_for_samples(entry, 2)
    await refresh(hass, entry)
    assert float(hass.states.get(power).state) > 0
    sampler_lines = [
        (record.name, record.levelno, record.getMessage())
        for record in caplog.records
        if record.getMessage().startswith("Power source")
    ]
    assert len(sampler_lines) == 2
    assert [(name, level) for name, level, _ in sampler_lines] == [
        (LOGGER.name, logging.INFO),
        (LOGGER.name, logging.INFO),
    ]
    assert sampler_lines[0][2].startswith("Power source unavailable (")
    assert sampler_lines[1][2] == "Power source is back"


async def wait_for_samples_failing(entry: MockConfigEntry) -> None:
    """Wait until the meter has noticed the chip is gone."""
    import asyncio

    meter = entry.runtime_data.coordinator.state.meter
    deadline = time.monotonic() + 10
    while meter.snapshot().available:
        assert time.monotonic() < deadline, "the meter never saw the chip go"
        await asyncio.sleep(0.05)


async def test_energy_survives_a_restart(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Unload (a clean stop) and set up again: the total continues, never drops."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_samples(mock_config_entry, 5)
    await refresh(hass, mock_config_entry)
    energy = entity_id(hass, mock_config_entry, "energy")
    before_restart = float(hass.states.get(energy).state)
    assert before_restart > 0

    meter = mock_config_entry.runtime_data.coordinator.state.meter
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    stopped_total = meter.snapshot().energy_j

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    restored = (
        mock_config_entry.runtime_data.coordinator.state.meter.snapshot().energy_j
    )
    assert restored >= stopped_total
    assert float(hass.states.get(energy).state) >= before_restart
    await wait_for_samples(mock_config_entry, 3)
    await refresh(hass, mock_config_entry)
    assert float(hass.states.get(energy).state) > before_restart
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_sampling_fast_does_not_write_states(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Samples feed the meter; only a publish writes a state (the recorder's load)."""
    entry = init_integration
    power = entity_id(hass, entry, "power")
    writes = async_capture_events(hass, EVENT_STATE_CHANGED)
    await wait_for_samples(entry, 10)
    await hass.async_block_till_done()
    assert [e for e in writes if e.data["entity_id"] == power] == []

    before = hass.states.get(power)
    entry.runtime_data.circuit.set_potentiometer(0.9)
    await wait_for_samples(entry, 2)
    await refresh(hass, entry)
    power_writes = [e for e in writes if e.data["entity_id"] == power]
    # Once failed in CI on one leg only (no write at all); say what was shown.
    assert len(power_writes) == 1, (
        before,
        hass.states.get(power),
        entry.runtime_data.coordinator.data,
        entry.runtime_data.coordinator.last_update_success,
    )


async def test_sampling_goes_on_while_the_event_loop_is_blocked(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A blocked loop (or a slow payment on it) does not stop the meter."""
    entry = init_integration
    meter = entry.runtime_data.coordinator.state.meter
    before = meter.snapshot()
    time.sleep(1.0)  # noqa: ASYNC251 - blocking the loop is the point here
    after = meter.snapshot()
    # 10 Hz for one second; allow for a slow, shared machine.
    assert after.samples - before.samples >= 5
    assert after.gaps == before.gaps
    assert after.energy_j > before.energy_j


async def test_a_period_with_an_outage_closes_incomplete(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A period metered throughout is complete; one with an outage is not.

    The incomplete one fires the ``period_closed_incomplete`` event type and
    says how many seconds were covered; sampling coverage shows the share.
    """
    from homeassistant.components.event import ATTR_EVENT_TYPE

    from custom_components.iota_energy.const import EVENT_PERIOD_CLOSED

    from .helpers import call_action

    entry = init_integration
    events = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    billing = entity_id(hass, entry, "billing", "event")
    coverage = entity_id(hass, entry, "coverage")
    await wait_for_samples(entry, 3)
    # The first period began before setup: close it to start a clean one.
    await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    await wait_for_samples(entry, 12)
    await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    assert events[-1].data["complete"] is True
    assert hass.states.get(billing).attributes[ATTR_EVENT_TYPE] == "period_closed"

    chip = entry.runtime_data.chip
    chip.present = False
    try:
        await wait_for_samples_failing(entry)
    finally:
        chip.present = True
    await wait_for_samples(entry, 3)
    await refresh(hass, entry)
    assert float(hass.states.get(coverage).state) < 80
    await call_action(hass, "close_period", config_entry_id=entry.entry_id)

    data = events[-1].data
    assert data["complete"] is False
    length = (
        dt_util.parse_datetime(data["period_end"])
        - dt_util.parse_datetime(data["period_start"])
    ).total_seconds()
    # Down for longer than the 5 s the meter bridges.
    assert 0 < data["covered_seconds"] < length - 5
    assert (
        hass.states.get(billing).attributes[ATTR_EVENT_TYPE]
        == "period_closed_incomplete"
    )
