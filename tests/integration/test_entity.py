"""The device every entity belongs to, for a real chip.

The virtual chip's device is in every platform snapshot; a real INA219 is
shown with its maker, model and bus address. This machine has no I2C bus:
the entry's chip answers from a virtual INA219 at the I2C seam, the one
part that cannot exist here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.iota_energy.const import (
    CONF_ADDRESS,
    CONF_BUSNUM,
    CONF_SOURCE,
    DOMAIN,
    SOURCE_INA219,
)
from custom_components.iota_energy.core.circuit import TutorialCircuit
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.power_source import Ina219Config, Ina219Source

from .platform_snapshot import platform_snapshot

ENTRY_ID = "01JSNAPSHOTCHIPENTRY0000000"


def _source_on_virtual_bus(config: Ina219Config) -> Ina219Source:
    chip = VirtualIna219(
        TutorialCircuit(), shunt_ohms=config.shunt_ohms, address=config.address
    )
    return Ina219Source(config, i2c_interface=chip.i2c_interface)


@pytest.fixture
async def chip_entry(
    hass: HomeAssistant, entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> AsyncGenerator[MockConfigEntry]:
    """An entry metering a real INA219 on bus 3 at 0x45; unloaded after the test."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Workshop",
        data=entry_data
        | {CONF_SOURCE: SOURCE_INA219, CONF_BUSNUM: 3, CONF_ADDRESS: 0x45},
        options=entry_options,
        unique_id="ina219-3-0x45",
        entry_id=ENTRY_ID,
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    with patch(
        "custom_components.iota_energy.setup_entry.Ina219Source",
        _source_on_virtual_bus,
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_real_chip_is_a_texas_instruments_ina219(
    hass: HomeAssistant, chip_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """Maker, model and serial (bus and address) of the real chip, the
    entities' unique ids bound to the entry."""
    assert platform_snapshot(hass, chip_entry.entry_id, "event") == snapshot


async def test_the_device_takes_the_entrys_new_title_at_a_reload(
    hass: HomeAssistant, chip_entry: MockConfigEntry
) -> None:
    """Renamed, the entry's device follows at the next set-up (Home Assistant
    itself names a device after its entry only when it creates it)."""
    hass.config_entries.async_update_entry(chip_entry, title="Shed")
    with patch(
        "custom_components.iota_energy.setup_entry.Ina219Source",
        _source_on_virtual_bus,
    ):
        assert await hass.config_entries.async_reload(chip_entry.entry_id)
        await hass.async_block_till_done()

    shown = platform_snapshot(hass, chip_entry.entry_id, "event")
    assert shown["device"]["name"] == "Shed"
