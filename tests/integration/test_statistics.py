"""Long-term statistics of the sensors, compiled by the real recorder.

The integration writes no statistics itself: Home Assistant's recorder
compiles them from the sensors' state classes and units. Its metadata and
compilation changed across the legs (mean types from 2025.x, the statistics
rework of 2026.11), so each leg checks what the energy dashboard relies on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.history import state_changes_during_period
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from .helpers import entity_id, refresh, wait_for_more_energy, wait_for_samples

FIVE_MINUTES = timedelta(minutes=5)
_NO_NUMBER = {"unavailable", "unknown"}


def _has_mean(row: dict[str, Any]) -> bool:
    # has_mean gave way to mean_type (0 = no mean) during the legs.
    if "mean_type" in row:
        return bool(row["mean_type"])
    return bool(row["has_mean"])


def _period_start(moment: Any) -> Any:
    return moment.replace(
        minute=moment.minute - moment.minute % 5, second=0, microsecond=0
    )


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """Prepare the recorder's database before hass (the harness's hook)."""


@pytest.fixture
async def recorded_entry(
    recorder_mock: Recorder, hass: HomeAssistant, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """The entry set up after the recorder, so every state is recorded."""
    return init_integration


async def test_energy_and_power_statistics(
    hass: HomeAssistant, recorded_entry: MockConfigEntry
) -> None:
    entry = recorded_entry
    energy = entity_id(hass, entry, "energy")
    power = entity_id(hass, entry, "power")
    await wait_for_samples(entry, 3)
    await refresh(hass, entry)
    first = float(hass.states.get(energy).state)
    await wait_for_more_energy(entry)
    await refresh(hass, entry)
    last = float(hass.states.get(energy).state)
    assert last > first
    await async_wait_recording_done(hass)
    recorded = await hass.async_add_executor_job(
        state_changes_during_period,
        hass,
        dt_util.utcnow() - timedelta(hours=1),
        None,
        energy,
    )
    numbers = [float(s.state) for s in recorded[energy] if s.state not in _NO_NUMBER]
    assert numbers[0] <= first
    assert numbers[-1] == last
    start = _period_start(recorded[energy][0].last_updated)

    # Compile every 5-minute period the states fell into (two if the test
    # crossed a boundary).
    period = start
    while period <= dt_util.utcnow():
        do_adhoc_statistics(hass, start=period)
        period += FIVE_MINUTES
    await async_wait_recording_done(hass)

    rows = await hass.async_add_executor_job(list_statistic_ids, hass)
    metadata = {row["statistic_id"]: row for row in rows}
    assert metadata[energy]["has_sum"] is True
    assert not _has_mean(metadata[energy])
    assert metadata[energy]["statistics_unit_of_measurement"] == "kWh"
    assert metadata[energy]["unit_class"] == "energy"
    assert _has_mean(metadata[power])
    assert metadata[power]["has_sum"] is False
    assert metadata[power]["statistics_unit_of_measurement"] == "W"
    assert metadata[power]["unit_class"] == "power"

    stats = await hass.async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        None,
        {energy, power},
        "5minute",
        None,
        {"sum", "state", "mean"},
    )
    # The sum counts what the meter added while recorded: the last state
    # minus the first number recorded.
    assert stats[energy][-1]["sum"] == pytest.approx(last - numbers[0], rel=1e-9)
    assert stats[energy][-1]["state"] == pytest.approx(last, rel=1e-9)
    assert stats[power][-1]["mean"] is not None
