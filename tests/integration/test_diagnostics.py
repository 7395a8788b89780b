"""Diagnostics: what a bug report needs, in plain JSON."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.diagnostics import (
    async_get_config_entry_diagnostics,
)

from .helpers import wait_for_samples


async def test_diagnostics_describe_meter_billing_and_ledger(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Settings, meter health, billing state and recent statements, JSON-able."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    statement = await entry.runtime_data.coordinator.async_close_period()

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    json.dumps(diagnostics)  # must be serialisable as it is downloaded
    assert diagnostics["entry"]["data"]["source"] == "virtual"
    assert diagnostics["meter"]["samples"] >= 3
    assert diagnostics["sampler"]["samples"] >= 3
    assert diagnostics["ledger"]["statements"] == 1
    assert diagnostics["ledger"]["recent"][0]["id"] == statement.id
    assert diagnostics["billing"]["next_seq"] == 2
    assert diagnostics["billing"]["schedule"]["unit"] == "monthly"
