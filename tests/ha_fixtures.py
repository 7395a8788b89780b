"""Fixtures shared by the Home Assistant tests of the integration.

``conftest.py`` imports them only where Home Assistant is installed.
"""

from __future__ import annotations

from collections.abc import Generator
import logging
import re
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import (
    CONF_ADC,
    CONF_ADDRESS,
    CONF_BILLING_DAY,
    CONF_BUSNUM,
    CONF_FLUSH_INTERVAL,
    CONF_GAIN,
    CONF_MIN_PAYMENT,
    CONF_PERIOD,
    CONF_PERIOD_SECONDS,
    CONF_PRICE,
    CONF_PUBLISH_INTERVAL,
    CONF_SAMPLE_RATE,
    CONF_SHUNT_OHMS,
    CONF_SOURCE,
    CONF_STATEMENT_RETENTION,
    CONF_VOLTAGE_RANGE,
    CONF_WEEKDAY,
    DOMAIN,
    SOURCE_VIRTUAL,
)

VIRTUAL_ENTRY_DATA: dict[str, Any] = {
    CONF_SOURCE: SOURCE_VIRTUAL,
    CONF_BUSNUM: 1,
    CONF_ADDRESS: 0x40,
    CONF_SHUNT_OHMS: 0.1,
    CONF_VOLTAGE_RANGE: 16,
    CONF_GAIN: "auto",
    CONF_ADC: "12bit",
    # Monthly: no period boundary falls inside a test by accident (tests that
    # need boundaries use 60 s periods and move time on purpose).
    CONF_PERIOD: "monthly",
    CONF_PERIOD_SECONDS: 3600,
    CONF_WEEKDAY: 0,
    CONF_BILLING_DAY: 1,
}
ENTRY_OPTIONS: dict[str, Any] = {
    CONF_PRICE: "720000000",
    CONF_MIN_PAYMENT: 1,
    CONF_SAMPLE_RATE: 10.0,
    CONF_PUBLISH_INTERVAL: 10,
    CONF_FLUSH_INTERVAL: 60,
    CONF_STATEMENT_RETENTION: 1000,
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    enable_custom_integrations: None,
) -> Generator[None]:
    """Load custom_components/ in every test of this suite."""
    return


@pytest.fixture
def entry_data() -> dict[str, Any]:
    """The config entry's data; override in a test module to change it."""
    return dict(VIRTUAL_ENTRY_DATA)


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The config entry's options; override in a test module to change it."""
    return dict(ENTRY_OPTIONS)


@pytest.fixture
def mock_config_entry(
    entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> MockConfigEntry:
    """An entry metering the virtual INA219 (the demo's default)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=entry_data,
        options=entry_options,
        unique_id="virtual-1-0x40",
        version=1,
        minor_version=1,
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set the entry up and return it; unloaded again after the test."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state.recoverable:
        await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()


# How Home Assistant reports a custom integration using something deprecated
# or removed (helpers/frame.py report_usage, helpers/deprecation.py): a log
# line, not a Python warning, so filterwarnings=error does not see it.
_DEPRECATION_REPORT = re.compile(
    rf"Detected that custom integration '{DOMAIN}'"
    rf"|The deprecated .+ was .+ from {DOMAIN}\."
)


class _DeprecationReports(logging.Handler):
    """Collect Home Assistant's reports about this integration."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if _DEPRECATION_REPORT.search(message):
            self.reports.append(message)


@pytest.fixture(autouse=True)
def fail_on_deprecation_reports() -> Generator[None]:
    """Fail a test in which Home Assistant reports deprecated use by us.

    Each leg runs a different Home Assistant: what it deprecates (an update
    listener next to a reload, service helpers taking ``hass``, ...) is fixed
    in the integration, not ignored.
    """
    handler = _DeprecationReports()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    assert not handler.reports, "\n".join(handler.reports)
