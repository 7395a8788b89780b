"""test-before-setup: a configured chip that cannot be read is not loaded."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import (
    CONF_BUSNUM,
    CONF_SOURCE,
    DOMAIN,
    SOURCE_INA219,
)

# No such I2C bus on any machine: opening /dev/i2c-250 fails, as it does for
# a Raspberry Pi whose I2C interface is not enabled yet.
MISSING_BUS = 250


async def test_a_chip_that_cannot_be_read_retries_the_setup(
    hass: HomeAssistant,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    entity_registry: er.EntityRegistry,
) -> None:
    """The real pi-ina219 driver opens a bus that is not there: setup retries."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Not wired yet",
        data=entry_data | {CONF_SOURCE: SOURCE_INA219, CONF_BUSNUM: MISSING_BUS},
        options=entry_options,
        unique_id=f"ina219-{MISSING_BUS}-0x40",
    )
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_RETRY
    # The translated message names the chip the driver could not reach.
    assert entry.reason is not None
    assert "cannot be read yet" in entry.reason
    assert f"on bus {MISSING_BUS}" in entry.reason
    # Nothing was set up for a meter that measures nothing.
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == []
    assert not hass.states.async_entity_ids()
