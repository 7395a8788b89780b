"""The config flow and the options flow."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import (
    CONF_ADDRESS,
    CONF_PERIOD,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_SOURCE,
    DOMAIN,
    SOURCE_INA219,
    SOURCE_VIRTUAL,
)
from custom_components.iota_energy.core.circuit import TutorialCircuit
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.power_source import Ina219Config, Ina219Source

CHIP_INPUT: dict[str, Any] = {
    "busnum": 199,
    "address": "0x40",
    "shunt_ohms": 0.1,
    "voltage_range": "32",
    "gain": "auto",
    "adc": "12bit",
}
# An entry for a real INA219 at bus 1, address 0x40 (no I2C bus exists here).
REAL_CHIP_ENTRY_DATA: dict[str, Any] = {
    "source": SOURCE_INA219,
    "busnum": 1,
    "address": 0x40,
    "shunt_ohms": 0.1,
    "voltage_range": 32,
    "gain": "auto",
    "adc": "12bit",
    "period": "hourly",
    "period_seconds": 3600,
    "weekday": 0,
    "billing_day": 1,
}
BILLING_INPUT: dict[str, Any] = {
    "period": "fixed",
    "period_seconds": 60,
    "weekday": "0",
    "billing_day": 1,
    "price": "720000000",
    "min_payment": 1,
}


async def _start(hass: HomeAssistant, source: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Garden lights", CONF_SOURCE: source}
    )


async def _bill_only(hass: HomeAssistant, result: Any) -> Any:
    """At the payments menu: meter and bill only."""
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "payments"
    assert result["menu_options"] == ["rebased", "node", "bill_only"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "bill_only"}
    )


async def _reconfigure_meter(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the reconfigure menu and choose the meter form."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_meter"}
    )
    assert result["step_id"] == "reconfigure_meter"
    return result


async def test_virtual_meter_flow_creates_an_entry(hass: HomeAssistant) -> None:
    """Name, virtual chip, billing, no payments: data and options split."""
    result = await _start(hass, SOURCE_VIRTUAL)
    assert result["step_id"] == "virtual"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: "0x41"}
    )
    assert result["step_id"] == "billing"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], BILLING_INPUT
    )
    result = await _bill_only(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garden lights"
    entry = result["result"]
    assert entry.unique_id == "virtual-1-0x41"
    assert entry.data[CONF_ADDRESS] == 0x41
    assert entry.data[CONF_PERIOD] == "fixed"
    assert entry.options[CONF_PRICE] == "720000000"
    # Payments off: no node, no wallet, no policy.
    assert not {"node_url", "seed", "receiver", "min_weight_magnitude"} & set(
        entry.data
    )
    assert not {"pow_mode", "tag", "auto_pay"} & set(entry.options)
    await hass.async_block_till_done()
    assert entry.runtime_data.sampler.is_running
    await hass.config_entries.async_unload(entry.entry_id)


async def test_billing_errors_are_reported_and_fixable(hass: HomeAssistant) -> None:
    """A price that is no number, or negative, is an error; correcting it works."""
    result = await _start(hass, SOURCE_VIRTUAL)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: "0x40"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        BILLING_INPUT | {"price": "twelve"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"price": "invalid_price"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], BILLING_INPUT | {"price": "-1"}
    )
    assert result["errors"] == {"price": "invalid_price"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], BILLING_INPUT | {"price": "12.5"}
    )
    result = await _bill_only(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_PRICE] == "12.5"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_missing_chip_is_reported(hass: HomeAssistant) -> None:
    """Without an I2C bus (this machine) the real chip step says so."""
    result = await _start(hass, SOURCE_INA219)
    assert result["step_id"] == "ina219"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CHIP_INPUT
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "chip_missing"}


async def test_bad_load_profile_is_reported(hass: HomeAssistant) -> None:
    """A load profile that does not exist is a field error."""
    result = await _start(hass, SOURCE_VIRTUAL)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: "0x40", "load_profile": "no/such.csv"}
    )
    assert result["errors"] == {"load_profile": "invalid_load_profile"}


async def test_same_chip_twice_is_aborted(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The same bus and address cannot be metered twice."""
    mock_config_entry.add_to_hass(hass)
    result = await _start(hass, SOURCE_VIRTUAL)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: "0x40"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options_flow_updates_and_reloads(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """New options are stored and the entry runs with them."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    options = {
        "sample_rate": 20,
        "publish_interval": 5,
        "flush_interval": 30,
        "price": "nonsense",
        "min_payment": 10,
        "statement_retention": 50,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options
    )
    assert result["errors"] == {"price": "invalid_price"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        options | {"price": "1000", CONF_PRICE_ENTITY: "sensor.tariff"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["sample_rate"] == 20
    assert entry.options[CONF_PRICE_ENTITY] == "sensor.tariff"
    runtime = entry.runtime_data
    assert runtime.sampler.period_s == 1 / 20
    assert runtime.coordinator.state.engine.min_payment_iota == 10


async def test_real_chip_flow_probes_the_chip(hass: HomeAssistant) -> None:
    """The INA219 step reads the chip once before creating the entry.

    No I2C bus exists here, so the probe talks to the virtual chip through the
    same seam the real bus would use; everything above the bus is real.
    """
    chip = VirtualIna219(TutorialCircuit(), address=0x45)

    def source_on_virtual_bus(config: Ina219Config) -> Ina219Source:
        return Ina219Source(config, i2c_interface=chip.i2c_interface)

    result = await _start(hass, SOURCE_INA219)
    with patch(
        "custom_components.iota_energy.config_flow.Ina219Source",
        source_on_virtual_bus,
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], CHIP_INPUT | {"busnum": 1, "address": "0x45"}
        )
    assert result["step_id"] == "billing"
    assert chip.transfers > 0
    with patch("custom_components.iota_energy.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], BILLING_INPUT
        )
        result = await _bill_only(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "ina219-1-0x45"
    assert result["data"]["shunt_ohms"] == 0.1
    assert result["data"]["voltage_range"] == 32


async def test_reconfigure_moves_the_chip_and_changes_the_period(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A new address and period are stored; the entry reloads and keeps its ledger."""
    entry = init_integration
    statement = await entry.runtime_data.coordinator.async_close_period()
    result = await _reconfigure_meter(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_ADDRESS: "0x44", "period": "daily", "period_seconds": 3600},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.unique_id == "virtual-1-0x44"
    assert entry.data[CONF_ADDRESS] == 0x44
    assert entry.data[CONF_PERIOD] == "daily"
    state = entry.runtime_data.coordinator.state
    assert state.ledger.get(statement.id) is not None
    assert state.engine.schedule.describe()["unit"] == "daily"


async def test_reconfigure_to_a_taken_chip_is_aborted(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Another entry already meters that address."""
    MockConfigEntry(domain=DOMAIN, unique_id="virtual-1-0x41", data={}).add_to_hass(
        hass
    )
    result = await _reconfigure_meter(hass, init_integration)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ADDRESS: "0x41", "period": "hourly"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert init_integration.data[CONF_ADDRESS] == 0x40


async def test_reconfigure_checks_the_real_chip(hass: HomeAssistant) -> None:
    """Moving a real chip to a bus where nothing answers is a form error."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=REAL_CHIP_ENTRY_DATA,
        unique_id="ina219-1-0x40",
    )
    entry.add_to_hass(hass)
    result = await _reconfigure_meter(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CHIP_INPUT | {"period": "hourly"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "chip_missing"}
    assert entry.data["busnum"] == 1
