"""The potentiometer of the virtual circuit."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.restore_state import (
    STORAGE_KEY as RESTORE_STATE_KEY,
    async_get as async_get_restore_state,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_load_restore_state_from_storage,
    async_mock_restore_state_shutdown_restart,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.iota_energy.core.circuit import TutorialCircuit
from tests.ha_fixtures import StorageFiles

from .helpers import entity_id, refresh
from .platform_snapshot import platform_snapshot
from .stepped_clock import SteppedClock


async def test_numbers(
    hass: HomeAssistant, metered_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """The knob as the scenario left it (untouched)."""
    assert platform_snapshot(hass, metered_entry.entry_id, "number") == snapshot


async def test_turning_the_knob_moves_the_wiper_and_the_power(
    hass: HomeAssistant, metered_entry: MockConfigEntry, stepped_clock: SteppedClock
) -> None:
    """Percent up is resistance out; the next samples see the new current."""
    knob = entity_id(hass, metered_entry, "potentiometer", "number")
    power = entity_id(hass, metered_entry, "power")
    circuit = metered_entry.runtime_data.circuit
    assert isinstance(circuit, TutorialCircuit)
    before = float(hass.states.get(power).state)

    await hass.services.async_call(
        "number", "set_value", {"entity_id": knob, "value": 25}, blocking=True
    )
    assert hass.states.get(knob).state == "25.0"
    assert circuit.potentiometer == 0.75
    await stepped_clock.advance(2)
    await refresh(hass, metered_entry)
    dimmer = float(hass.states.get(power).state)
    assert 0 < dimmer < before

    await hass.services.async_call(
        "number", "set_value", {"entity_id": knob, "value": 100}, blocking=True
    )
    assert circuit.potentiometer == 0.0
    await stepped_clock.advance(2)
    await refresh(hass, metered_entry)
    assert float(hass.states.get(power).state) > before


async def test_the_knob_is_restored_after_a_restart(
    hass: HomeAssistant, metered_entry: MockConfigEntry
) -> None:
    """Home Assistant restarts with the knob where the user left it."""
    knob = entity_id(hass, metered_entry, "potentiometer", "number")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": knob, "value": 30}, blocking=True
    )
    # What Home Assistant writes at a stop, read back as at the next start.
    await async_mock_restore_state_shutdown_restart(hass)
    assert await hass.config_entries.async_unload(metered_entry.entry_id)
    await hass.async_block_till_done()

    assert await hass.config_entries.async_setup(metered_entry.entry_id)
    await hass.async_block_till_done()
    circuit = metered_entry.runtime_data.circuit
    assert isinstance(circuit, TutorialCircuit)
    assert circuit.potentiometer == 0.7
    assert hass.states.get(knob).state == "30.0"


@pytest.mark.parametrize(
    ("saved", "wiper", "shown"),
    [(-50.0, 1.0, "0.0"), (150.0, 0.0, "100.0")],
    ids=["below_0", "above_100"],
)
async def test_a_saved_position_out_of_range_turns_the_knob_to_its_end(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    metered_entry: MockConfigEntry,
    saved: float,
    wiper: float,
    shown: str,
) -> None:
    """A saved percent outside 0-100 (an edited or older restore file) is
    clamped to the nearest end, not refused by the circuit at set-up."""
    knob = entity_id(hass, metered_entry, "potentiometer", "number")
    # What Home Assistant writes at a stop, edited, then read at the next start.
    await async_get_restore_state(hass).async_dump_states()
    assert await hass.config_entries.async_unload(metered_entry.entry_id)
    await hass.async_block_till_done()
    document = hass_storage[RESTORE_STATE_KEY]
    (stored,) = [
        item for item in document["data"] if item["state"]["entity_id"] == knob
    ]
    stored["extra_data"]["native_value"] = saved
    hass_storage[RESTORE_STATE_KEY] = document
    await async_mock_load_restore_state_from_storage(hass)

    assert await hass.config_entries.async_setup(metered_entry.entry_id)
    await hass.async_block_till_done()
    circuit = metered_entry.runtime_data.circuit
    assert isinstance(circuit, TutorialCircuit)
    assert circuit.potentiometer == wiper
    assert hass.states.get(knob).state == shown
