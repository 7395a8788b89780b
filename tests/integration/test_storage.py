"""Durable state: corrupt files are kept and reported, never replaced by nothing."""

from __future__ import annotations

from datetime import timedelta
import errno
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.iota_energy.const import DOMAIN

from .helpers import wait_for_samples

# The entry flushes every 60 s (conftest options).
FLUSH_AND_A_BIT = timedelta(seconds=61)


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A private config folder, so real files can be damaged on purpose."""
    hass.config.config_dir = str(tmp_path)
    (tmp_path / ".storage").mkdir()
    return tmp_path


async def _run_once_and_close_two_periods(
    hass: HomeAssistant, entry: MockConfigEntry
) -> list[str]:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    ids = []
    for _ in range(2):
        await wait_for_samples(entry, 2)
        statement = await entry.runtime_data.coordinator.async_close_period()
        ids.append(statement.id)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    return ids


async def test_one_damaged_slot_is_kept_reported_and_recovered(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    config_dir: Path,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A file that is not even JSON: copy kept, repair issue, no statement lost."""
    ids = await _run_once_and_close_two_periods(hass, mock_config_entry)
    damaged = config_dir / ".storage" / f"{DOMAIN}.{mock_config_entry.entry_id}.a"
    damaged.write_text('{"version": 1, "data": {"sequence": 4, "sta', "utf-8")

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    ledger = mock_config_entry.runtime_data.coordinator.state.ledger
    assert [s.id for s in ledger.statements] == ids
    copies = list(damaged.parent.glob(f"{damaged.name}.corrupt-*"))
    assert len(copies) == 1
    assert copies[0].read_text("utf-8").endswith('"sta')
    issue = issue_registry.async_get_issue(
        DOMAIN, f"state_corrupt_{mock_config_entry.entry_id}_a"
    )
    assert issue is not None
    assert issue.translation_key == "state_recovered"
    assert issue.translation_placeholders == {"copy": str(copies[0])}
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_every_slot_damaged_refuses_to_start(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    config_dir: Path,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """With no readable copy the entry does not start with an empty ledger."""
    await _run_once_and_close_two_periods(hass, mock_config_entry)
    slot_b = f"{DOMAIN}.{mock_config_entry.entry_id}.b"
    kept = hass_storage[slot_b]["data"]["state"]["ledger"]
    hass_storage[slot_b]["data"]["state"]["ledger"] = {"version": 1, "statements": "?"}
    damaged = config_dir / ".storage" / f"{DOMAIN}.{mock_config_entry.entry_id}.a"
    damaged.write_text("\x00\x00 not json", "utf-8")

    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    for slot in ("a", "b"):
        issue = issue_registry.async_get_issue(
            DOMAIN, f"state_corrupt_{mock_config_entry.entry_id}_{slot}"
        )
        assert issue is not None
        assert issue.severity is ir.IssueSeverity.ERROR
    # Nothing was overwritten: the damaged documents are still there to restore.
    assert damaged.read_text("utf-8") == "\x00\x00 not json"
    assert hass_storage[slot_b]["data"]["state"]["ledger"]["statements"] == "?"
    assert kept["statements"]


async def test_flush_writes_energy_without_a_clean_stop(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """Each flush interval the measured energy reaches storage (for hard kills)."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    async_fire_time_changed(
        hass, dt_util.utcnow().replace(microsecond=0) + FLUSH_AND_A_BIT
    )
    await hass.async_block_till_done()
    await wait_for_samples(entry, 3)
    async_fire_time_changed(hass, dt_util.utcnow() + 2 * FLUSH_AND_A_BIT)
    await hass.async_block_till_done()
    saved = [
        hass_storage[f"{DOMAIN}.{entry.entry_id}.{slot}"]["data"]
        for slot in ("a", "b")
        if f"{DOMAIN}.{entry.entry_id}.{slot}" in hass_storage
    ]
    assert len(saved) == 2
    energies = [Fraction(doc["state"]["billed_energy_j"]) for doc in saved]
    assert max(energies) > 0
    assert saved[0]["sequence"] != saved[1]["sequence"]


async def test_a_full_disk_is_reported_and_nothing_is_lost(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Failed writes raise a repair issue; the next good write catches up."""
    entry = init_integration
    issue_id = f"state_write_failed_{entry.entry_id}"
    await wait_for_samples(entry, 2)
    full = OSError(errno.ENOSPC, "No space left on device")
    with patch.object(Store, "async_save", side_effect=full):
        statement = await entry.runtime_data.coordinator.async_close_period()
        await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert "No space left" in issue.translation_placeholders["error"]
    # Still in memory, still counted as owed.
    ledger = entry.runtime_data.coordinator.state.ledger
    assert ledger.get(statement.id) is not None

    async_fire_time_changed(hass, dt_util.utcnow() + FLUSH_AND_A_BIT)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    stored = [
        hass_storage[f"{DOMAIN}.{entry.entry_id}.{slot}"]["data"]["state"]
        for slot in ("a", "b")
        if f"{DOMAIN}.{entry.entry_id}.{slot}" in hass_storage
    ]
    assert any(
        statement.id in [s["id"] for s in doc["ledger"]["statements"]] for doc in stored
    )
