"""What ``setup_entry.py`` hands the core: each stored setting reaches its part.

The platform tests show what an entry meters and bills; these check that
every option and chip setting arrives where it is used, and that a missing
option falls back to its documented default.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy import setup_entry
from custom_components.iota_energy.const import (
    CONF_ADC,
    CONF_ADDRESS,
    CONF_BUSNUM,
    CONF_FLUSH_INTERVAL,
    CONF_GAIN,
    CONF_LOAD_PROFILE,
    CONF_MAX_EXPECTED_AMPS,
    CONF_MIN_PAYMENT,
    CONF_PERIOD,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PUBLISH_INTERVAL,
    CONF_SAMPLE_RATE,
    CONF_SHUNT_OHMS,
    CONF_STATEMENT_RETENTION,
    CONF_VOLTAGE_RANGE,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MIN_PAYMENT,
    DEFAULT_PRICE,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_STATEMENT_RETENTION,
    DOMAIN,
)
from custom_components.iota_energy.coordinator import CoordinatorSettings
from custom_components.iota_energy.core.circuit import ProfileCircuit, TutorialCircuit
from custom_components.iota_energy.core.power_source import Ina219Config

from .helpers import set_up

DRIVER_LOGGER = "ina219"


def _entry(data: dict[str, Any]) -> MockConfigEntry:
    return MockConfigEntry(domain=DOMAIN, title="Chip", data=data)


def test_the_chip_settings_are_read_as_the_driver_wants_them(
    entry_data: dict[str, Any],
) -> None:
    """Stored as text (an edited entry), each field still reaches its place."""
    data = entry_data | {
        CONF_BUSNUM: "3",
        CONF_ADDRESS: "69",
        CONF_SHUNT_OHMS: "0.05",
        CONF_MAX_EXPECTED_AMPS: "0.4",
        CONF_VOLTAGE_RANGE: "16",
        CONF_GAIN: 4,
        CONF_ADC: 9,
    }
    config = setup_entry.ina219_config(_entry(data))
    assert config == Ina219Config(
        busnum=3,
        address=0x45,
        shunt_ohms=0.05,
        max_expected_amps=0.4,
        voltage_range=16,
        gain="4",
        adc="9",
    )
    for field, value in (
        ("busnum", 3),
        ("address", 0x45),
        ("shunt_ohms", 0.05),
        ("max_expected_amps", 0.4),
        ("voltage_range", 16),
        ("gain", "4"),
        ("adc", "9"),
    ):
        assert type(getattr(config, field)) is type(value), field


@pytest.mark.parametrize("stored", [None, 0, ""])
def test_no_expected_current_lets_the_driver_choose(
    entry_data: dict[str, Any], stored: Any
) -> None:
    data = dict(entry_data)
    if stored is not None:
        data[CONF_MAX_EXPECTED_AMPS] = stored
    assert setup_entry.ina219_config(_entry(data)).max_expected_amps is None


async def test_the_virtual_chip_is_wired_as_configured(
    hass: HomeAssistant, entry_data: dict[str, Any]
) -> None:
    """The virtual INA219 gets the entry's shunt and address, the driver too."""
    entry = _entry(entry_data | {CONF_ADDRESS: 0x44, CONF_SHUNT_OHMS: 0.2})
    source, circuit, chip = setup_entry.build_source(hass, entry)
    assert isinstance(circuit, TutorialCircuit)
    assert chip is not None
    assert chip.circuit is circuit
    assert (chip.address, chip.shunt_ohms) == (0x44, 0.2)
    assert source.config == setup_entry.ina219_config(entry)


async def test_a_load_profile_is_read_from_the_config_folder(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    private_config_dir: Path,
) -> None:
    """The entry names a file in Home Assistant's config folder: the virtual
    chip replays that profile instead of the tutorial's circuit."""
    (private_config_dir / "garden.csv").write_text(
        "# interpolation: step\ntime_s,power_w\n0,2.5\n10,4\n20,4\n",
        encoding="utf-8",
    )
    entry = await set_up(
        hass, mock_config_entry, data=entry_data | {CONF_LOAD_PROFILE: "garden.csv"}
    )
    runtime = entry.runtime_data
    assert isinstance(runtime.circuit, ProfileCircuit)
    assert runtime.chip is not None
    assert runtime.chip.circuit is runtime.circuit
    profile = runtime.circuit.profile
    assert (profile.power_at(5), profile.power_at(15)) == (2.5, 4.0)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("level", "expected"),
    [(logging.NOTSET, logging.WARNING), (logging.DEBUG, logging.DEBUG)],
)
async def test_the_drivers_calibration_chatter_is_quiet_unless_asked_for(
    hass: HomeAssistant, level: int, expected: int
) -> None:
    """pi-ina219 logs at INFO on every open: WARNING unless a level is set."""
    driver = logging.getLogger(DRIVER_LOGGER)
    before = driver.level
    driver.setLevel(level)
    try:
        assert await setup_entry.async_setup(hass, {})
        assert driver.level == expected
    finally:
        driver.setLevel(before)
    assert hass.services.has_service(DOMAIN, "close_period")


async def test_every_option_reaches_its_part(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    options = {
        CONF_PRICE: "2.5",
        CONF_MIN_PAYMENT: 7,
        CONF_SAMPLE_RATE: 20.0,
        CONF_PUBLISH_INTERVAL: 7,
        CONF_FLUSH_INTERVAL: 45,
        CONF_STATEMENT_RETENTION: 11,
    }
    entry = await set_up(hass, mock_config_entry, options=options)
    runtime = entry.runtime_data
    try:
        coordinator = runtime.coordinator
        assert coordinator.update_interval == timedelta(seconds=7)
        assert coordinator._settings == CoordinatorSettings(
            publish_interval=timedelta(seconds=7),
            flush_interval=timedelta(seconds=45),
            statement_retention=11,
            price_entity=None,
        )
        assert runtime.sampler.period_s == pytest.approx(0.05)
        state = coordinator.state
        assert state.engine.min_payment_iota == 7
        quote = state.prices.current()
        assert (quote.iota_per_kwh, quote.source) == (Fraction(5, 2), "static")
        assert not state.prices.uses_entity
        schedule = state.engine.schedule
        assert schedule.unit == entry.data[CONF_PERIOD]  # type: ignore[attr-defined]
        assert schedule.tz == ZoneInfo(hass.config.time_zone)  # type: ignore[attr-defined]
        assert runtime.chip is not None
        assert runtime.circuit is runtime.chip.circuit
        assert runtime.payments is None
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_left_out_take_their_defaults(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    entry = await set_up(hass, mock_config_entry, options={})
    runtime = entry.runtime_data
    try:
        coordinator = runtime.coordinator
        assert coordinator._settings == CoordinatorSettings(
            publish_interval=timedelta(seconds=DEFAULT_PUBLISH_INTERVAL),
            flush_interval=timedelta(seconds=DEFAULT_FLUSH_INTERVAL),
            statement_retention=DEFAULT_STATEMENT_RETENTION,
            price_entity=None,
        )
        assert runtime.sampler.period_s == pytest.approx(1 / DEFAULT_SAMPLE_RATE)
        state = coordinator.state
        assert state.engine.min_payment_iota == DEFAULT_MIN_PAYMENT
        assert state.prices.current().iota_per_kwh == Fraction(str(DEFAULT_PRICE))
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_price_entity_option_is_followed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.tariff", "3", {"unit_of_measurement": "IOTA/kWh"})
    options = dict(mock_config_entry.options) | {CONF_PRICE_ENTITY: "sensor.tariff"}
    entry = await set_up(hass, mock_config_entry, options=options)
    try:
        coordinator = entry.runtime_data.coordinator
        assert coordinator._settings.price_entity == "sensor.tariff"
        assert coordinator.state.prices.uses_entity
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
