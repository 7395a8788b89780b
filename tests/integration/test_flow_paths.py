"""The config flow's remaining paths, the repair flow's abort, a load profile
end to end, and the state written when Home Assistant stops.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.config_flow import _period_data
from custom_components.iota_energy.config_flow_rebased import payments_in_flight
from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_LOAD_PROFILE,
    CONF_MWM,
    CONF_NODE_URL,
    CONF_PRICE_ENTITY,
    CONF_RECEIVER,
    CONF_SEED,
    DOMAIN,
    SOURCE_INA219,
    SOURCE_VIRTUAL,
)
from custom_components.iota_energy.core.circuit import ProfileCircuit, TutorialCircuit
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.power_source import Ina219Config, Ina219Source
from custom_components.iota_energy.persistence.entry_store import EntryPersistence
from devtangle.server import DevTangle
from tests.devtangle.conftest import TEST_MWM
from tests.payments.conftest import PAYER_SEED, receiver

from .helpers import call_action, entity_id, refresh
from .metered_scenario import run_scenario, scenario_entry
from .stepped_clock import SteppedClock
from .test_config_flow import BILLING_INPUT, CHIP_INPUT, _bill_only, _start

FLOW = "custom_components.iota_energy.config_flow"


class _Overloaded:
    """A circuit drawing far more than any gain of a 0.1 ohm shunt can measure."""

    def operating_point(self) -> tuple[float, float]:
        return 12.0, 8.0


async def _chip_step(
    hass: HomeAssistant, chip: VirtualIna219, user_input: dict[str, Any]
) -> Any:
    """Submit the INA219 form, the probe talking to ``chip`` at the I2C seam."""

    def source_on_virtual_bus(config: Ina219Config) -> Ina219Source:
        return Ina219Source(config, i2c_interface=chip.i2c_interface)

    result = await _start(hass, SOURCE_INA219)
    with patch(f"{FLOW}.Ina219Source", source_on_virtual_bus):
        return await hass.config_entries.flow.async_configure(
            result["flow_id"], CHIP_INPUT | {"busnum": 1} | user_input
        )


async def test_an_overloaded_chip_still_passes_the_probe(hass: HomeAssistant) -> None:
    """An overload proves the chip answers; sampling reports the overload later.

    The maximum expected current is stored as a number.
    """
    chip = VirtualIna219(_Overloaded())  # type: ignore[arg-type]
    result = await _chip_step(hass, chip, {"max_expected_amps": 2.5, "gain": "auto"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "billing"
    with patch("custom_components.iota_energy.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], BILLING_INPUT
        )
        result = await _bill_only(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["max_expected_amps"] == 2.5


async def test_a_chip_that_answers_with_errors_is_a_chip_error(
    hass: HomeAssistant,
) -> None:
    """Transfers that fail (not a missing chip) say so."""
    chip = VirtualIna219(_Overloaded())  # type: ignore[arg-type]
    chip.fail_next_transfers(1000)
    result = await _chip_step(hass, chip, {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "chip_error"}


async def test_a_chip_that_opens_but_cannot_be_read_is_a_chip_error(
    hass: HomeAssistant,
) -> None:
    """Configured fine, then the first reading fails (not an overload)."""
    chip = VirtualIna219(TutorialCircuit())

    class FailsAfterOpen(Ina219Source):
        def open(self) -> None:
            super().open()
            chip.fail_next_transfers(1000)

    result = await _start(hass, SOURCE_INA219)
    with patch(
        f"{FLOW}.Ina219Source",
        lambda config: FailsAfterOpen(config, i2c_interface=chip.i2c_interface),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], CHIP_INPUT | {"busnum": 1}
        )
    assert result["errors"] == {"base": "chip_error"}


async def test_the_probe_opens_the_chip_with_every_typed_setting(
    hass: HomeAssistant,
) -> None:
    """Each setting away from the driver's default: none may be left out."""
    chip = VirtualIna219(TutorialCircuit(), address=0x45)
    opened: list[Ina219Config] = []

    def source_on_virtual_bus(config: Ina219Config) -> Ina219Source:
        opened.append(config)
        return Ina219Source(config, i2c_interface=chip.i2c_interface)

    result = await _start(hass, SOURCE_INA219)
    with patch(f"{FLOW}.Ina219Source", source_on_virtual_bus):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "busnum": 3,
                "address": "0x45",
                "shunt_ohms": 0.05,
                "max_expected_amps": 1.5,
                "voltage_range": "16",
                "gain": "160mV",
                "adc": "4samples",
            },
        )

    assert result["step_id"] == "billing"
    assert opened == [
        Ina219Config(
            busnum=3,
            address=0x45,
            shunt_ohms=0.05,
            max_expected_amps=1.5,
            voltage_range=16,
            gain="160mV",
            adc="4samples",
        )
    ]
    assert chip.transfers > 0


async def test_settings_the_driver_refuses_are_invalid(hass: HomeAssistant) -> None:
    """More current than the shunt and gain can measure is refused before a read."""
    chip = VirtualIna219(_Overloaded())  # type: ignore[arg-type]
    result = await _chip_step(hass, chip, {"max_expected_amps": 50, "gain": "40mV"})
    assert result["errors"] == {"base": "invalid_settings"}
    assert chip.transfers == 0


def test_a_period_the_schedule_refuses_is_a_field_error(hass: HomeAssistant) -> None:
    """The form's ranges keep it out; the check behind them still holds."""
    data, errors = _period_data(hass, {"period": "fixed", "period_seconds": 30})
    assert errors == {"period_seconds": "invalid_period"}
    assert data["period_seconds"] == 30


async def test_failing_library_install_is_reported(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The user step says the driver libraries could not be installed; the
    log holds why, with the traceback."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "user"}
    )
    with patch(
        f"{FLOW}.async_ensure_libraries", side_effect=HomeAssistantError("offline")
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"name": "Garden lights", "source": SOURCE_VIRTUAL}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "libraries_failed"}
    logged = [
        (
            record.levelno,
            record.getMessage(),
            str(record.exc_info and record.exc_info[1]),
        )
        for record in caplog.records
        if record.name == FLOW
    ]
    assert logged == [
        (logging.ERROR, "Installing the driver libraries failed", "offline")
    ]


async def test_a_price_entity_chosen_in_the_flow_is_stored(
    hass: HomeAssistant,
) -> None:
    """The billing step keeps a price entity as an option."""
    result = await _start(hass, SOURCE_VIRTUAL)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"address": "0x42"}
    )
    with patch("custom_components.iota_energy.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], BILLING_INPUT | {CONF_PRICE_ENTITY: "sensor.tariff"}
        )
        result = await _bill_only(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_PRICE_ENTITY] == "sensor.tariff"


async def test_options_refuse_a_negative_price(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A negative price is a field error in the options too."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "sample_rate": 10,
            "publish_interval": 10,
            "flush_interval": 60,
            "price": "-3",
            "min_payment": 1,
            "statement_retention": 1000,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"price": "invalid_price"}


async def test_a_load_profile_is_metered(
    hass: HomeAssistant, stepped_clock: SteppedClock, tmp_path: Path
) -> None:
    """A profile chosen in the flow drives the virtual chip: 2.5 W, no knob."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "steady.csv").write_text(
        "# interpolation: step\ntime_s,power_w\n0,2.5\n3600,2.5\n", encoding="utf-8"
    )
    result = await _start(hass, SOURCE_VIRTUAL)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"address": "0x43", CONF_LOAD_PROFILE: " steady.csv "}
    )
    assert not result.get("errors"), result.get("errors")
    assert result["step_id"] == "billing"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], BILLING_INPUT
    )
    result = await _bill_only(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data[CONF_LOAD_PROFILE] == "steady.csv"
    await hass.async_block_till_done()
    assert isinstance(entry.runtime_data.circuit, ProfileCircuit)

    await stepped_clock.wait_idle()
    await stepped_clock.advance(10)
    await refresh(hass, entry)
    assert float(hass.states.get(entity_id(hass, entry, "power")).state) == (
        pytest.approx(2.5, rel=0.01)
    )
    # 10 s at 2.5 W.
    energy = entry.runtime_data.coordinator.state.meter.snapshot().energy_j
    assert float(energy) == pytest.approx(25, rel=0.01)
    registry = er.async_get(hass)
    assert not [
        e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.domain == "number"
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_home_assistant_stopping_writes_the_state(
    hass: HomeAssistant, metered_entry: MockConfigEntry, stepped_clock: SteppedClock
) -> None:
    """At the stop event sampling ends and everything is written once.

    Unloading afterwards writes nothing more (the stop did it); the next
    setup starts from exactly the energy metered before the stop.
    """
    runtime = metered_entry.runtime_data
    stopped_at = runtime.coordinator.state.meter.snapshot().energy_j
    assert stopped_at > 0
    save_all = EntryPersistence.async_save_all
    with patch.object(
        EntryPersistence, "async_save_all", autospec=True, side_effect=save_all
    ) as saved:
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
        assert not runtime.sampler.is_running
        assert saved.call_count == 1
        assert await hass.config_entries.async_unload(metered_entry.entry_id)
        await hass.async_block_till_done()
        assert saved.call_count == 1

    assert await hass.config_entries.async_setup(metered_entry.entry_id)
    await hass.async_block_till_done()
    restored = metered_entry.runtime_data.coordinator.state.meter.snapshot()
    assert restored.energy_j == stopped_at


async def test_the_repair_flow_aborts_for_a_removed_entry(hass: HomeAssistant) -> None:
    """The entry went away before the user opened the repair."""
    assert await async_setup_component(hass, "repairs", {})
    assert await async_setup_component(hass, DOMAIN, {})
    ir.async_create_issue(
        hass,
        DOMAIN,
        "start_new_ledger_gone",
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="start_new_ledger",
        translation_placeholders={"title": "Garden lights"},
        data={"entry_id": "gone"},
    )
    flows = repairs_flow_manager(hass)
    assert flows is not None
    result = await flows.async_init(DOMAIN, data={"issue_id": "start_new_ledger_gone"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_removed"


async def test_payments_in_flight_reads_the_loaded_outbox(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    wallet_tangle: DevTangle,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """What the flow asks before a wallet may change, on a real outbox.

    Nothing signed: no. A broadcast payment (not confirmed): yes. Once
    confirmed: no. Not loaded: unknown (None).
    """
    entry = scenario_entry(
        entry_data
        | {
            CONF_NODE_URL: wallet_tangle.url,
            CONF_SEED: PAYER_SEED,
            CONF_RECEIVER: receiver(),
            CONF_MWM: TEST_MWM,
        },
        entry_options | {CONF_AUTO_PAY: False},
    )
    assert payments_in_flight(entry) is None
    await run_scenario(hass, entry, stepped_clock)
    assert payments_in_flight(entry) is False
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "broadcast"
    assert payments_in_flight(entry) is True

    payments = entry.runtime_data.payments
    for _ in range(20):
        wallet_tangle.node.issue_milestone()
        payments.outbox._follow.checked.clear()
        await payments._async_tick(reschedule=False)
        await hass.async_block_till_done()
        if payments.outbox.state.payments[-1].status is PaymentStatus.CONFIRMED:
            break
    assert payments_in_flight(entry) is False
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert payments_in_flight(entry) is None
