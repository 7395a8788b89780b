"""Setting an entry up when something is wrong, and the package's lazy names."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import importlib
from pathlib import Path
import subprocess
import sys
import threading
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.iota_energy as package
from custom_components.iota_energy import runtime, setup_entry
from custom_components.iota_energy.const import (
    CONF_MWM,
    CONF_NODE_URL,
    CONF_PRICE,
    CONF_RECEIVER,
    CONF_SEED,
    DOMAIN,
)
from custom_components.iota_energy.core.ina219_model import VirtualSmbus
from custom_components.iota_energy.core.sampler import THREAD_NAME
from custom_components.iota_energy.diagnostics import (
    async_get_config_entry_diagnostics,
)
from tests.payments.conftest import PAYER_SEED, receiver

from .helpers import call_action, wait_for_samples

# Nothing listens here: an entry whose outbox cannot be read never connects.
UNUSED_NODE = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "name",
    [
        "CONFIG_SCHEMA",
        "PLATFORMS",
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
        "IotaEnergyConfigEntry",
        "IotaEnergyRuntime",
    ],
)
def test_the_package_hands_out_the_shell_names(name: str) -> None:
    """Asked by name (as without Home Assistant), the very same objects."""
    home = setup_entry if hasattr(setup_entry, name) else runtime
    assert package.__getattr__(name) is getattr(home, name)


def test_without_home_assistant_a_shell_name_is_imported_when_asked() -> None:
    """In a fresh interpreter the package imports no Home Assistant until asked."""
    script = (
        "import sys\n"
        "import custom_components.iota_energy as package\n"
        "assert 'homeassistant' not in sys.modules\n"
        "print(package.async_setup_entry.__module__)\n"
        "print('homeassistant' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["custom_components.iota_energy.setup_entry", "True"]


def test_the_package_has_no_other_names() -> None:
    """Anything else is an AttributeError naming the package, as Python's own."""
    with pytest.raises(AttributeError, match="has no attribute 'async_migrate_entry'"):
        package.__getattr__("async_migrate_entry")
    assert importlib.import_module("custom_components.iota_energy") is package


async def test_invalid_billing_settings_refuse_setup(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A price that is no number (edited storage): a translated setup error."""
    entry = mock_config_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options=dict(entry.options) | {CONF_PRICE: "twelve"}
    )

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert entry.reason.startswith("The billing settings are not valid: ")
    assert "twelve" in entry.reason
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == []


async def test_unreadable_payment_records_stop_payments_not_metering(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    private_config_dir: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Both outbox slots damaged: metering loads, payments stay off, files kept."""
    entry = mock_config_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        data=dict(entry.data)
        | {
            CONF_NODE_URL: UNUSED_NODE,
            CONF_SEED: PAYER_SEED,
            CONF_RECEIVER: receiver(),
            CONF_MWM: 1,
        },
    )
    storage = private_config_dir / ".storage"
    damaged: dict[Path, str] = {}
    for slot in ("a", "b"):
        path = storage / f"{DOMAIN}.{entry.entry_id}.outbox.{slot}"
        damaged[path] = f'{{"version": 1, "data": {{"sequence": 3, "state": "{slot}'
        path.write_text(damaged[path], "utf-8")

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.payments is None
    issue = issue_registry.async_get_issue(
        DOMAIN, f"outbox_unreadable_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "outbox_unreadable"
    assert issue.translation_placeholders == {"title": "Garden lights"}
    assert not issue.is_fixable
    # Stored by the issue registry: it outlives a restart, as the damaged
    # records do.
    assert issue.is_persistent
    # Nothing was overwritten: the key bookkeeping is still there to restore.
    for path, text in damaged.items():
        assert path.read_text("utf-8") == text
    # Metering goes on; paying says why it cannot.
    await wait_for_samples(entry, 2)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "payments_stopped_outbox_unreadable"
    assert err.value.translation_placeholders == {"title": "Garden lights"}
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["payments"] == {"stopped_by": "outbox_unreadable"}
    assert not [
        state
        for state in hass.states.async_all()
        if state.entity_id.startswith("event.") and "payments" in state.entity_id
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_failure_while_starting_stops_sampling_and_keeps_the_state(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    private_config_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A seed edited into nonsense: the wallet fails after sampling began.

    The sampler thread is stopped again and the state is written, so the
    next start continues from it; the seed is in no log line.
    """
    entry = mock_config_entry
    entry.add_to_hass(hass)
    bad_seed = "NOT-A-SEED-" + PAYER_SEED[11:]
    hass.config_entries.async_update_entry(
        entry,
        data=dict(entry.data)
        | {
            CONF_NODE_URL: UNUSED_NODE,
            CONF_SEED: bad_seed,
            CONF_RECEIVER: receiver(),
            CONF_MWM: 1,
        },
    )

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert THREAD_NAME not in {thread.name for thread in threading.enumerate()}
    storage = private_config_dir / ".storage"
    for kind in ("ledger", "live"):
        for slot in ("a", "b"):
            assert (storage / f"{DOMAIN}.{entry.entry_id}.{kind}.{slot}").is_file()
    assert bad_seed not in caplog.text
    assert PAYER_SEED[11:] not in caplog.text


async def test_a_chip_read_that_never_returns_does_not_hold_up_unloading(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An I2C read that hangs (a bus held low) while Home Assistant stops.

    Unloading gives the sampler thread its stop timeout, then goes on without
    it (the thread is a daemon and ends when the read does); waiting for the
    read would hold Home Assistant's stop for ever.
    """
    entry = init_integration
    stuck = threading.Event()
    release = threading.Event()

    def hang(method: Callable[..., Any]) -> Callable[..., Any]:
        def hanging(*args: Any) -> Any:
            stuck.set()
            release.wait()
            return method(*args)

        return hanging

    for name in ("read_word_data", "read_i2c_block_data"):
        monkeypatch.setattr(VirtualSmbus, name, hang(getattr(VirtualSmbus, name)))
    sampler = entry.runtime_data.sampler
    try:
        assert await hass.async_add_executor_job(stuck.wait, 10)
        # Far above the stop timeout: only a sampler waited for without
        # limit gets here.
        async with asyncio.timeout(60):
            assert await hass.config_entries.async_unload(entry.entry_id)
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert THREAD_NAME in {thread.name for thread in threading.enumerate()}
    finally:
        release.set()
    assert await hass.async_add_executor_job(sampler.join, 10)
