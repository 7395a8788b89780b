"""Storage faults not covered elsewhere: odd slots, failing writes and removals.

Driven like test_ledger_chunks: EntryPersistence with real statements and
Home Assistant's real Store over real files; faults are written into the
files, or injected where the disk cannot be made to fail (the tests run as
any user, and root ignores file permissions).
"""

from __future__ import annotations

from collections.abc import Callable
import errno
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
import pytest

from custom_components.iota_energy.const import DOMAIN
from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.ledger_chunks import CHUNK_SIZE, chunk_digest
from custom_components.iota_energy.persistence.document_slots import (
    StateCorruptError,
)
from custom_components.iota_energy.persistence.entry_store import async_discard_state
from tests.ha_fixtures import StorageFiles

from .test_ledger_chunks import (
    ENTRY,
    chunk_keys,
    close,
    head,
    key,
    reloaded,
    started,
    watch_writes,
)

FULL = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def storage_dir(hass: HomeAssistant) -> Path:
    """The test's private ``.storage`` folder (see ``hass_storage``)."""
    return Path(hass.config.config_dir) / ".storage"


def kept_copies(storage_dir: Path, name: str) -> list[Path]:
    """The copies of a damaged slot kept beside it."""
    return list(storage_dir.glob(f"{name}.corrupt-*"))


def failing_saves(match: Callable[[str], bool]) -> Any:
    """Store.async_save fails with a full disk for the keys ``match`` picks."""
    save = Store.async_save

    async def save_or_fail(store: Store[Any], data: Any) -> None:
        if match(store.key):
            raise FULL
        await save(store, data)

    return patch.object(Store, "async_save", save_or_fail)


def _not_a_storage_document(_hass_storage: StorageFiles, _kind: str) -> str:
    return "[1, 2]"


def _another_version(hass_storage: StorageFiles, kind: str) -> str:
    document = hass_storage[key(kind, "b")]
    return json.dumps(document | {"version": 2})


def _another_chunk(hass_storage: StorageFiles, kind: str) -> str:
    # A whole, valid slot file of the chunk after it.
    return json.dumps(hass_storage[key("chunk-1-0", "a")])


def _negative_sequence(hass_storage: StorageFiles, kind: str) -> str:
    document = hass_storage[key(kind, "b")]
    document["data"]["sequence"] = -1
    return json.dumps(document)


@pytest.mark.parametrize(
    ("kind", "damage", "why"),
    [
        ("ledger", _not_a_storage_document, "not a storage document"),
        ("ledger", _another_version, "storage version 2 is not known"),
        ("ledger", _negative_sequence, "missing sequence number"),
        ("chunk-0-0", _not_a_storage_document, "not a storage document"),
        ("chunk-0-0", _another_version, "storage version 2 is not known"),
        ("chunk-0-0", _another_chunk, "chunk document names another chunk"),
    ],
)
async def test_a_slot_that_is_not_this_document_is_kept_and_recovered(
    hass: HomeAssistant,
    *,
    hass_storage: StorageFiles,
    storage_dir: Path,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    damage: Callable[[StorageFiles, str], str],
    why: str,
) -> None:
    """Parseable but wrong: kept aside, reported, the other slot restores it."""
    persistence, state = await started(hass)
    close(state, 2 * CHUNK_SIZE + 1)
    assert await persistence.async_record_statements(state)
    text = damage(hass_storage, kind)
    (storage_dir / key(kind, "a")).write_text(text, "utf-8")

    restored = await reloaded(hass)

    assert restored.ledger.statements == state.ledger.statements
    (kept,) = kept_copies(storage_dir, key(kind, "a"))
    assert kept.read_text("utf-8") == text
    issue = issue_registry.async_get_issue(DOMAIN, f"state_corrupt_{ENTRY}_{kind}_a")
    assert issue is not None
    assert issue.translation_key == "state_recovered"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {"copy": str(kept)}
    assert why in caplog.text
    # Written back from the good slot.
    assert hass_storage[key(kind, "a")]["data"] == hass_storage[key(kind, "b")]["data"]


async def test_a_chunk_matching_its_digest_but_unreadable_refuses_to_start(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    storage_dir: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Both slots hold the very content the head names, and it is no ledger."""
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 1)
    assert await persistence.async_record_statements(state)
    content = {"version": 1, "statements": [{"id": "S1"}]}
    digest = chunk_digest(content)
    for slot in "ab":
        document = hass_storage[key("chunk-0-0", slot)]
        document["data"]["ledger"] = content
        hass_storage[key("chunk-0-0", slot)] = document
        ledger = hass_storage[key("ledger", slot)]
        ledger["data"]["state"]["ledger"]["chunks"] = [f"0-0-{digest}"]
        hass_storage[key("ledger", slot)] = ledger
    damaged = {
        slot: (storage_dir / key("chunk-0-0", slot)).read_text() for slot in "ab"
    }

    with pytest.raises(StateCorruptError) as err:
        await reloaded(hass)

    copies = err.value.translation_placeholders["copy"].split(", ")
    assert len(copies) == 2
    for slot in "ab":
        (kept,) = kept_copies(storage_dir, key("chunk-0-0", slot))
        assert str(kept) in copies
        assert kept.read_text("utf-8") == damaged[slot]
        # Nothing was overwritten.
        assert (storage_dir / key("chunk-0-0", slot)).read_text() == damaged[slot]
        issue = issue_registry.async_get_issue(
            DOMAIN, f"state_corrupt_{ENTRY}_chunk-0-0_{slot}"
        )
        assert issue is not None
        assert issue.severity is ir.IssueSeverity.ERROR
        assert issue.translation_key == "state_corrupt"


async def test_a_chunk_slot_that_cannot_be_rewritten_is_reported_once(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    storage_dir: Path,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two damaged chunk slots, a full disk: loads anyway, one issue, one log line."""
    persistence, state = await started(hass)
    close(state, 2 * CHUNK_SIZE + 1)
    assert await persistence.async_record_statements(state)
    for kind in ("chunk-0-0", "chunk-1-0"):
        (storage_dir / key(kind, "a")).write_text("not json", "utf-8")

    with failing_saves(lambda k: ".chunk-" in k):
        restored = await reloaded(hass)

    assert restored.ledger.statements == state.ledger.statements
    issue = issue_registry.async_get_issue(DOMAIN, f"state_write_failed_{ENTRY}_chunks")
    assert issue is not None
    assert "No space left" in issue.translation_placeholders["error"]
    assert caplog.text.count("Cannot write the ledger of") == 1
    # The damaged slots stay as they were until a write succeeds.
    for kind in ("chunk-0-0", "chunk-1-0"):
        assert (storage_dir / key(kind, "a")).read_text() == "not json"


async def test_a_chunk_that_cannot_be_removed_is_removed_by_a_later_write(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Old chunk versions stay on disk while removing fails; nothing is lost."""
    persistence, state = await started(hass)
    close(state, 2 * CHUNK_SIZE)
    assert await persistence.async_record_statements(state)
    assert chunk_keys(hass_storage) == {
        key(kind, slot) for kind in ("chunk-0-0", "chunk-1-0") for slot in "ab"
    }
    for statement in state.ledger.statements[:CHUNK_SIZE]:
        state.ledger.set_payment_state(statement.id, PaymentState.PAID)
    state.ledger.prune(CHUNK_SIZE)

    denied = PermissionError(errno.EACCES, "Permission denied")
    with patch.object(Store, "async_remove", side_effect=denied):
        assert await persistence.async_record_payment_states(state)
    # The head no longer names chunk 0, whose files are still there.
    assert all(not c.startswith("0-") for c in head(hass_storage)["chunks"])
    assert key("chunk-0-0", "a") in chunk_keys(hass_storage)
    assert "Cannot remove an old ledger chunk" in caplog.text
    assert (await reloaded(hass)).ledger.statements == state.ledger.statements

    assert await persistence.async_record_payment_states(state)
    assert chunk_keys(hass_storage) == {key("chunk-1-0", slot) for slot in "ab"}


async def test_a_head_whose_chunks_do_not_fit_refuses_to_start(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A payment change for a statement no chunk holds: no start, both files named."""
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 1)
    assert await persistence.async_record_statements(state)
    sealed = state.ledger.statements[0]
    state.ledger.set_payment_state(sealed.id, PaymentState.SENDING, {"bundle": "B"})
    assert await persistence.async_record_payment_states(state)
    for slot in "ab":
        ledger = hass_storage[key("ledger", slot)]
        overlay = ledger["data"]["state"]["ledger"]["overlay"]
        overlay["S-not-in-any-chunk"] = overlay.pop(sealed.id)
        hass_storage[key("ledger", slot)] = ledger

    with (
        caplog.at_level(logging.ERROR, "custom_components.iota_energy.persistence"),
        pytest.raises(StateCorruptError) as err,
    ):
        await reloaded(hass)

    files = ", ".join(hass.config.path(".storage", key("ledger", s)) for s in "ab")
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "state_corrupt"
    assert err.value.translation_placeholders == {"copy": files}
    store_log = "custom_components.iota_energy.persistence.entry_store"
    assert [r.getMessage() for r in caplog.records if r.name == store_log] == [
        f"The ledger of {ENTRY} cannot be rebuilt: {err.value.__cause__}"
    ]
    issue = issue_registry.async_get_issue(
        DOMAIN, f"state_corrupt_{ENTRY}_ledger_chunks"
    )
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "state_corrupt"
    assert issue.translation_placeholders == {"copy": files}
    assert issue.is_persistent


async def test_a_live_slot_that_failed_is_caught_up_in_both_slots(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    issue_registry: ir.IssueRegistry,
) -> None:
    """After a failed live save the next save writes every live slot."""
    persistence, state = await started(hass)
    close(state, 2)
    assert await persistence.async_flush(state)
    issue_id = f"state_write_failed_{ENTRY}_live"

    with failing_saves(lambda k: ".live." in k):
        assert not await persistence.async_flush(state)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    with watch_writes(hass_storage) as writes:
        assert await persistence.async_flush(state)
    assert writes.written_keys() == [key("live", "a"), key("live", "b")]
    sequences = {hass_storage[key("live", slot)]["data"]["sequence"] for slot in "ab"}
    assert len(sequences) == 1
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_no_live_document_is_written_while_its_ledger_cannot_be(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    """A live document must continue a head on disk: none while the head fails."""
    persistence, state = await started(hass)
    close(state, 2)
    with failing_saves(lambda k: ".ledger." in k):
        assert not await persistence.async_record_statements(state)
        with watch_writes(hass_storage) as writes:
            assert not await persistence.async_flush(state)
    assert not [k for k in writes.written_keys() if ".live." in k]
    assert key("live", "a") not in hass_storage
    assert key("live", "b") not in hass_storage

    assert await persistence.async_flush(state)
    assert (await reloaded(hass)).ledger.statements == state.ledger.statements


async def test_discarding_with_a_ledger_slot_missing_keeps_every_other_file(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    storage_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The repair path finds every chunk file by name and keeps a copy of each."""
    caplog.set_level(logging.ERROR)
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 1)
    assert await persistence.async_flush(state)
    del hass_storage[key("ledger", "b")]
    present = {k for k in hass_storage if k.startswith(f"{DOMAIN}.{ENTRY}.")}

    copies = await async_discard_state(hass, ENTRY)

    assert sorted(Path(c).name.split(".corrupt-")[0] for c in copies) == sorted(present)
    assert not [k for k in hass_storage if ".corrupt-" not in k and ENTRY in k]
    assert (await reloaded(hass)).ledger.statements == []
