"""Fixtures shared by the Home Assistant tests of the integration.

``conftest.py`` imports them only where Home Assistant is installed.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, MutableMapping
import json
import logging
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch

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


class StorageFiles(MutableMapping[str, Any]):
    """Home Assistant's ``.storage`` folder as a mapping of key to document.

    What a test reads is parsed from the file, what it assigns is written to
    the file: change a nested value by reading, changing and assigning back.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _path(self, key: str) -> Path:
        return self._folder / key

    def __getitem__(self, key: str) -> Any:
        try:
            return json.loads(self._path(key).read_text("utf-8"))
        except FileNotFoundError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, document: Any) -> None:
        self._path(key).write_text(json.dumps(document), "utf-8")

    def __delitem__(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(p.name for p in self._folder.iterdir() if p.is_file()))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        """A plain snapshot of every document, to put back later."""
        return {key: self[key] for key in self}


@pytest.fixture
def private_config_dir(tmp_path: Path) -> Path:
    """A config folder of this test's own, with its ``.storage``."""
    folder = tmp_path / "config"
    (folder / ".storage").mkdir(parents=True)
    return folder


@pytest.fixture
def hass_config_dir(private_config_dir: Path) -> str:
    """The config folder for harnesses that take it from this fixture.

    Harness releases for Home Assistant 2026.x build ``hass`` in the folder
    this fixture names; older ones call ``get_test_config_dir`` (patched in
    ``hass_storage``). Both end up in the test's private folder.
    """
    return str(private_config_dir)


@pytest.fixture
def hass_storage(private_config_dir: Path) -> Generator[StorageFiles]:
    """Real storage files in a private config folder, not the harness's mock.

    Overrides pytest-homeassistant-custom-component's fixture of the same name
    (which keeps storage in a dict): the integration reads its slots from
    their files, as in production, so tests damage, remove and restore real
    files. The config folder is per test, so nothing is left behind.
    """
    with patch(
        "pytest_homeassistant_custom_component.common.get_test_config_dir",
        lambda *parts: str(private_config_dir.joinpath(*parts)),
    ):
        yield StorageFiles(private_config_dir / ".storage")


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
