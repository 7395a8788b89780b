"""Durable state: a ledger document and a live document, each in two slots.

Damaged files are kept and reported and never replaced by nothing; a hard
kill loses at most one save interval; a full disk loses nothing.
"""

from __future__ import annotations

import copy
from datetime import timedelta
import errno
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.iota_energy.const import DOMAIN
from tests.ha_fixtures import StorageFiles

from .helpers import wait_for_samples

# The entry saves every 60 s (conftest options).
FLUSH_AND_A_BIT = timedelta(seconds=61)


def key(entry: MockConfigEntry, kind: str, slot: str) -> str:
    """Storage key of one slot of one of the entry's documents."""
    return f"{DOMAIN}.{entry.entry_id}.{kind}.{slot}"


def stored(
    hass_storage: StorageFiles, entry: MockConfigEntry, kind: str
) -> list[dict[str, Any]]:
    """The documents of one kind that exist, as the test storage holds them."""
    return [
        hass_storage[key(entry, kind, slot)]["data"]
        for slot in ("a", "b")
        if key(entry, kind, slot) in hass_storage
    ]


@pytest.fixture
def config_dir(hass: HomeAssistant) -> Path:
    """The test's private config folder (see ``hass_storage``)."""
    return Path(hass.config.config_dir)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    if entry.entry_id not in [e.entry_id for e in hass.config_entries.async_entries()]:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def _unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _save_interval_passes(hass: HomeAssistant, times: int = 1) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + times * FLUSH_AND_A_BIT)
    # The interval's save runs as a background task, writing real files.
    await hass.async_block_till_done(wait_background_tasks=True)


async def _restart_as_killed(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: StorageFiles,
    at_the_kill: dict[str, Any],
) -> None:
    """Restart with the storage as it was at the kill (the clean stop is undone)."""
    await _unload(hass, entry)
    hass_storage.clear()
    hass_storage.update(at_the_kill)
    await _setup(hass, entry)


async def _run_once_and_close_two_periods(
    hass: HomeAssistant, entry: MockConfigEntry
) -> list[str]:
    await _setup(hass, entry)
    ids = []
    for _ in range(2):
        await wait_for_samples(entry, 2)
        statement = await entry.runtime_data.coordinator.async_close_period()
        ids.append(statement.id)
    await _unload(hass, entry)
    return ids


async def test_one_damaged_ledger_slot_is_kept_reported_and_recovered(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    config_dir: Path,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A file that is not even JSON: copy kept, repair issue, no statement lost."""
    ids = await _run_once_and_close_two_periods(hass, mock_config_entry)
    damaged = config_dir / ".storage" / key(mock_config_entry, "ledger", "a")
    damaged.write_text('{"version": 1, "data": {"sequence": 4, "sta', "utf-8")

    await _setup(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    ledger = mock_config_entry.runtime_data.coordinator.state.ledger
    assert [s.id for s in ledger.statements] == ids
    copies = list(damaged.parent.glob(f"{damaged.name}.corrupt-*"))
    assert len(copies) == 1
    assert copies[0].read_text("utf-8").endswith('"sta')
    issue = issue_registry.async_get_issue(
        DOMAIN, f"state_corrupt_{mock_config_entry.entry_id}_ledger_a"
    )
    assert issue is not None
    assert issue.translation_key == "state_recovered"
    assert issue.translation_placeholders == {"copy": str(copies[0])}
    # The good copy was written back over both slots at once.
    assert all(
        ids == [s["id"] for s in doc["state"]["ledger"]["open"]["statements"]]
        for doc in stored(hass_storage, mock_config_entry, "ledger")
    )
    await _unload(hass, mock_config_entry)


async def test_a_slot_of_bytes_that_are_not_text_is_kept_and_recovered(
    hass: HomeAssistant,
    config_dir: Path,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Garbage that is not even UTF-8 (a sector of noise): as any damaged slot.

    Found by the storage faults of benchmarks/faults: it used to escape the
    slot reader as a UnicodeDecodeError and fail the setup without a word.
    """
    ids = await _run_once_and_close_two_periods(hass, mock_config_entry)
    storage = config_dir / ".storage"
    noise = bytes(range(128, 256)) * 4
    for kind in ("ledger", "live"):
        (storage / key(mock_config_entry, kind, "a")).write_bytes(noise)

    await _setup(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    ledger = mock_config_entry.runtime_data.coordinator.state.ledger
    assert [s.id for s in ledger.statements] == ids
    for kind in ("ledger", "live"):
        name = key(mock_config_entry, kind, "a")
        copies = list(storage.glob(f"{name}.corrupt-*"))
        assert len(copies) == 1
        # The copy holds the very bytes that were found, for a look.
        assert copies[0].read_bytes() == noise
        issue = issue_registry.async_get_issue(
            DOMAIN, f"state_corrupt_{mock_config_entry.entry_id}_{kind}_a"
        )
        assert issue is not None
        assert issue.translation_key == "state_recovered"
    await _unload(hass, mock_config_entry)


async def test_every_ledger_slot_damaged_refuses_to_start(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    config_dir: Path,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """With no readable ledger the entry does not start with an empty one."""
    await _run_once_and_close_two_periods(hass, mock_config_entry)
    slot_b = key(mock_config_entry, "ledger", "b")
    document = hass_storage[slot_b]
    kept = document["data"]["state"]["ledger"]
    document["data"]["state"]["ledger"] = {"version": 1, "statements": "?"}
    hass_storage[slot_b] = document
    assert kept["open"]["statements"]
    damaged = config_dir / ".storage" / key(mock_config_entry, "ledger", "a")
    damaged.write_text("\x00\x00 not json", "utf-8")

    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    # The translated reason names where the damaged files were copied.
    entry = mock_config_entry
    assert entry.error_reason_translation_key == "state_corrupt"
    assert entry.error_reason_translation_placeholders is not None
    copies = entry.error_reason_translation_placeholders["copy"].split(", ")
    assert [Path(kept).name.split(".corrupt-")[0] for kept in copies] == [
        key(entry, "ledger", "a"),
        key(entry, "ledger", "b"),
    ]
    assert all(Path(kept).parent == config_dir / ".storage" for kept in copies)
    assert entry.reason == (
        "The stored meter state and ledger cannot be read; the files were kept"
        f" at {', '.join(copies)}. The meter will not start with an empty ledger"
    )
    # The way out, offered as a repair.
    new_ledger = issue_registry.async_get_issue(
        DOMAIN, f"start_new_ledger_{entry.entry_id}"
    )
    assert new_ledger is not None
    assert new_ledger.translation_key == "start_new_ledger"
    assert new_ledger.translation_placeholders == {"title": "Garden lights"}
    assert new_ledger.data == {"entry_id": entry.entry_id}
    for slot in ("a", "b"):
        issue = issue_registry.async_get_issue(
            DOMAIN, f"state_corrupt_{mock_config_entry.entry_id}_ledger_{slot}"
        )
        assert issue is not None
        assert issue.severity is ir.IssueSeverity.ERROR
    # Nothing was overwritten: the damaged documents are still there to restore.
    assert damaged.read_text("utf-8") == "\x00\x00 not json"
    assert hass_storage[slot_b]["data"]["state"]["ledger"]["statements"] == "?"


async def test_a_missing_ledger_beside_live_state_refuses_to_start(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Ledger files removed, live files left: that is lost statements, not a start."""
    await _run_once_and_close_two_periods(hass, mock_config_entry)
    for slot in ("a", "b"):
        del hass_storage[key(mock_config_entry, "ledger", slot)]

    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert issue_registry.async_get_issue(
        DOMAIN, f"ledger_missing_{mock_config_entry.entry_id}"
    )


async def test_damaged_live_state_continues_from_the_last_close(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Both live slots damaged: start from the ledger, say so, lose no statement."""
    ids = await _run_once_and_close_two_periods(hass, mock_config_entry)
    for slot in ("a", "b"):
        document = hass_storage[key(mock_config_entry, "live", slot)]
        document["data"]["state"] = "?"
        hass_storage[key(mock_config_entry, "live", slot)] = document

    await _setup(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    state = mock_config_entry.runtime_data.coordinator.state
    assert [s.id for s in state.ledger.statements] == ids
    issue = issue_registry.async_get_issue(
        DOMAIN, f"state_corrupt_{mock_config_entry.entry_id}_live_a"
    )
    assert issue is not None
    assert issue.translation_key == "live_state_lost"
    assert issue.severity is ir.IssueSeverity.WARNING
    await _unload(hass, mock_config_entry)


async def test_a_hard_kill_loses_at_most_one_save_interval(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    init_integration: MockConfigEntry,
) -> None:
    """Killed right after a save: the restart continues from exactly that save."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    await _save_interval_passes(hass)
    live = stored(hass_storage, entry, "live")
    assert len(live) == 1  # one slot per save, alternating
    saved_energy = Fraction(live[0]["state"]["meter"]["energy_j"])
    assert saved_energy > 0
    # The ledger document was written first: the live one continues it.
    (ledger,) = {doc["sequence"] for doc in stored(hass_storage, entry, "ledger")}
    assert live[0]["state"]["ledger_revision"] == ledger
    await _restart_as_killed(hass, entry, hass_storage, copy.deepcopy(hass_storage))

    restored = entry.runtime_data.coordinator.state
    assert restored.meter.snapshot().energy_j >= saved_energy
    # Not less than saved; more only by samples the sampler took (and the
    # first refresh billed) while the restarted entry was being set up.
    saved_billed = Fraction(live[0]["state"]["billed_energy_j"])
    assert (
        saved_billed <= restored.billed_energy_j <= restored.meter.snapshot().energy_j
    )
    await _unload(hass, entry)


async def test_a_kill_between_a_close_and_the_next_save_keeps_the_statement(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    init_integration: MockConfigEntry,
) -> None:
    """The live document then predates the ledger: the ledger's state wins."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    await _save_interval_passes(hass)
    await wait_for_samples(entry, 3)
    statement = await entry.runtime_data.coordinator.async_close_period()
    at_the_kill = copy.deepcopy(hass_storage)
    live_revision = stored(at_the_kill, entry, "live")[0]["state"]["ledger_revision"]
    ledger_sequence = stored(at_the_kill, entry, "ledger")[0]["sequence"]
    assert live_revision < ledger_sequence

    await _restart_as_killed(hass, entry, hass_storage, at_the_kill)

    state = entry.runtime_data.coordinator.state
    assert state.ledger.statements[-1].id == statement.id
    # The engine continues after that statement, not before it.
    assert state.engine.open_period.period.start == statement.period_end
    assert state.meter.snapshot().energy_j >= statement.energy_j
    await _unload(hass, entry)


async def test_the_ledger_is_not_rewritten_by_every_save(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    init_integration: MockConfigEntry,
) -> None:
    """Saves between closes write the small live document only."""
    entry = init_integration
    await wait_for_samples(entry, 2)
    await entry.runtime_data.coordinator.async_close_period()
    ledger_before = copy.deepcopy(stored(hass_storage, entry, "ledger"))
    for times in range(1, 4):
        await _save_interval_passes(hass, times)
    assert stored(hass_storage, entry, "ledger") == ledger_before
    assert all(
        "ledger" not in doc["state"] for doc in stored(hass_storage, entry, "live")
    )


async def test_a_full_disk_is_reported_and_nothing_is_lost(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Failed writes raise a repair issue; the next good save catches up."""
    entry = init_integration
    issue_id = f"state_write_failed_{entry.entry_id}_ledger"
    await wait_for_samples(entry, 2)
    full = OSError(errno.ENOSPC, "No space left on device")
    with patch.object(Store, "async_save", side_effect=full):
        statement = await entry.runtime_data.coordinator.async_close_period()
        await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert "No space left" in issue.translation_placeholders["error"]
    # Gone with a restart (the next write clears it): not kept.
    assert not issue.is_persistent
    assert issue.severity is ir.IssueSeverity.ERROR
    # Still in memory, still counted as owed.
    ledger = entry.runtime_data.coordinator.state.ledger
    assert ledger.get(statement.id) is not None

    await _save_interval_passes(hass)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    documents = stored(hass_storage, entry, "ledger")
    assert len(documents) == 2
    assert all(
        statement.id in [s["id"] for s in doc["state"]["ledger"]["open"]["statements"]]
        for doc in documents
    )


async def test_the_repair_flow_starts_a_new_ledger_only_when_confirmed(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    config_dir: Path,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Unreadable ledger: a fixable issue; confirming keeps copies and starts afresh."""
    assert await async_setup_component(hass, "repairs", {})
    await _run_once_and_close_two_periods(hass, mock_config_entry)
    for slot in ("a", "b"):
        document = hass_storage[key(mock_config_entry, "ledger", slot)]
        document["data"]["state"] = "?"
        hass_storage[key(mock_config_entry, "ledger", slot)] = document
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    issue_id = f"start_new_ledger_{mock_config_entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    # Kept across restarts until the user decides.
    assert issue.is_persistent

    flows = repairs_flow_manager(hass)
    assert flows is not None
    result = await flows.async_init(DOMAIN, data={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    # The form names the entry whose ledger is lost.
    assert result["description_placeholders"] == {"title": "Garden lights"}
    # Nothing happens before the user confirms.
    assert key(mock_config_entry, "ledger", "a") in hass_storage
    # The confirmation takes no input: anything else is refused, nothing lost.
    with pytest.raises(InvalidData):
        await flows.async_configure(result["flow_id"], {"keep_ledger": False})
    assert key(mock_config_entry, "ledger", "a") in hass_storage
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.coordinator.state.ledger.statements == []
    kept = list((config_dir / ".storage").glob("*.corrupt-*"))
    assert {path.name.split(".corrupt-")[0] for path in kept} >= {
        key(mock_config_entry, kind, slot)
        for kind in ("ledger", "live")
        for slot in ("a", "b")
    }
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await _unload(hass, mock_config_entry)
