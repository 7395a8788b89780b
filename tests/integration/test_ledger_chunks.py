"""The ledger on disk in chunks: bounded writes per close, crash safety, migration.

EntryPersistence is driven directly, with real statements closed by the real
billing engine and Home Assistant's real Store (the harness keeps the files
in ``hass_storage``, real files in a private config folder).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import errno
from fractions import Fraction
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
import pytest

from custom_components.iota_energy.const import DOMAIN
from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.ledger_chunks import CHUNK_SIZE, MERGE_SIZE
from custom_components.iota_energy.core.periods import FixedLengthSchedule
from custom_components.iota_energy.core.pricing import PriceQuote
from custom_components.iota_energy.persistence.document_slots import (
    DurableState,
    StateCorruptError,
)
from custom_components.iota_energy.persistence.entry_state import (
    EntryState,
    StateFactory,
)
from custom_components.iota_energy.persistence.entry_store import (
    EntryPersistence,
    async_discard_state,
)
from tests.ha_fixtures import StorageFiles

ENTRY = "chunked"
PRICE = Fraction(720_000_000)
START = datetime(2025, 6, 1, tzinfo=UTC)
FACTORY = StateFactory(
    schedule=FixedLengthSchedule(timedelta(seconds=60)),
    min_payment_iota=1,
    static_price=PRICE,
    uses_price_entity=False,
    max_gap_s=5.0,
)
# An index entry in the head: "number-generation-digest".
INDEX_ENTRY_BYTES = 50


def key(kind: str, slot: str) -> str:
    return f"{DOMAIN}.{ENTRY}.{kind}.{slot}"


def chunk_keys(hass_storage: StorageFiles) -> set[str]:
    # Storage documents only, not the copies of damaged ones kept beside them.
    return {
        k
        for k in hass_storage
        if k.startswith(f"{DOMAIN}.{ENTRY}.chunk-") and ".corrupt-" not in k
    }


def head(hass_storage: StorageFiles, slot: str = "a") -> dict[str, Any]:
    ledger: dict[str, Any] = hass_storage[key("ledger", slot)]["data"]["state"][
        "ledger"
    ]
    return ledger


def close(state: EntryState, count: int) -> None:
    """Close ``count`` one-minute periods with some energy each (as billing does)."""
    quote = PriceQuote(PRICE, "static")
    for _ in range(count):
        state.engine.add_energy(Fraction(3, 2), quote)
        for statement in state.engine.roll(state.engine.next_boundary()):
            state.ledger.add(statement)


@dataclass
class Writes:
    """Every document written or removed, and the storage after each."""

    hass_storage: StorageFiles
    saved: list[tuple[str, int]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    after_each: list[dict[str, Any]] = field(default_factory=list)

    def bytes(self) -> int:
        return sum(size for _, size in self.saved)

    def written_keys(self) -> list[str]:
        return [k for k, _ in self.saved]


@contextlib.contextmanager
def watch_writes(
    hass_storage: StorageFiles, *, snapshots: bool = False
) -> Iterator[Writes]:
    """Record what Store writes and removes (and the storage after each, if asked)."""
    writes = Writes(hass_storage)
    save, remove = Store.async_save, Store.async_remove

    async def spy_save(store: Store[Any], data: Any) -> None:
        await save(store, data)
        writes.saved.append((store.key, len(json.dumps(data))))
        if snapshots:
            writes.after_each.append(copy.deepcopy(hass_storage))

    async def spy_remove(store: Store[Any]) -> None:
        await remove(store)
        writes.removed.append(store.key)
        if snapshots:
            writes.after_each.append(copy.deepcopy(hass_storage))

    with (
        patch.object(Store, "async_save", spy_save),
        patch.object(Store, "async_remove", spy_remove),
    ):
        yield writes


async def started(hass: HomeAssistant) -> tuple[EntryPersistence, EntryState]:
    persistence = EntryPersistence(hass, ENTRY, FACTORY)
    state = await persistence.async_load()
    state.engine.start(START)
    return persistence, state


async def reloaded(hass: HomeAssistant) -> EntryState:
    return await EntryPersistence(hass, ENTRY, FACTORY).async_load()


async def test_bytes_written_per_close_do_not_grow_with_history(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    """A close writes the head twice, plus now and then a chunk, once.

    From the second hundred statements to the fifth, the bytes written per
    close grow by the head's index entries only (three merged chunks), while
    the ledger grows by three hundred statements.
    """
    persistence, state = await started(hass)
    per_close: list[int] = []
    with watch_writes(hass_storage) as writes:
        for _ in range(5 * MERGE_SIZE):
            before = len(writes.saved)
            close(state, 1)
            assert await persistence.async_record_statements(state)
            per_close.append(sum(size for _, size in writes.saved[before:]))
    early = per_close[MERGE_SIZE : 2 * MERGE_SIZE]
    late = per_close[4 * MERGE_SIZE :]
    growth = 3 * 2 * INDEX_ENTRY_BYTES  # three more entries, in both head slots
    assert max(late) <= max(early) + growth
    assert sum(late) <= sum(early) + MERGE_SIZE * growth
    # Today's single document would write the whole ledger twice per close.
    whole = len(json.dumps(state.ledger.to_dict()))
    assert sum(late) / MERGE_SIZE < 2 * whole / 20
    # Every chunk version was written once, to its two slots; the head every close.
    chunk_writes = [k for k in writes.written_keys() if ".chunk-" in k]
    assert len(chunk_writes) == len(set(chunk_writes))
    assert writes.written_keys().count(key("ledger", "a")) == 5 * MERGE_SIZE
    assert len(head(hass_storage)["chunks"]) == 5
    assert (await reloaded(hass)).ledger.statements == state.ledger.statements


async def test_a_kill_at_any_write_loads_the_ledger_before_or_after(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    """Killed after any single file write or removal: never a half state.

    Covers a close that seals a chunk and a payment change that folds one
    (new generation written, old one removed).
    """
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE - 1)
    assert await persistence.async_record_statements(state)
    steps = []
    before = state.ledger.statements
    with watch_writes(hass_storage, snapshots=True) as writes:
        close(state, 1)
        assert await persistence.async_record_statements(state)
    steps.append((before, state.ledger.statements, writes.after_each))
    assert len(writes.after_each) == 4  # chunk a, chunk b, head a, head b

    before = state.ledger.statements
    for statement in before[:CHUNK_SIZE]:
        state.ledger.set_payment_state(statement.id, PaymentState.PAID, {"bundle": "B"})
    with watch_writes(hass_storage, snapshots=True) as writes:
        assert await persistence.async_record_payment_states(state)
    steps.append((before, state.ledger.statements, writes.after_each))
    assert writes.removed  # the old generation

    for old, new, snapshots in steps:
        for snapshot in snapshots:
            hass_storage.clear()
            hass_storage.update(copy.deepcopy(snapshot))
            assert (await reloaded(hass)).ledger.statements in (old, new)
        # The last one is the new ledger, with nothing left over.
        assert (await reloaded(hass)).ledger.statements == new
    assert chunk_keys(hass_storage) == {
        key("chunk-0-1", "a"),
        key("chunk-0-1", "b"),
    }


async def test_payment_changes_of_sealed_statements_write_the_head_only(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 3)
    assert await persistence.async_record_statements(state)
    sealed = state.ledger.statements[:3]
    for statement in sealed:
        state.ledger.set_payment_state(
            statement.id, PaymentState.SENDING, {"bundle": "B" * 81}
        )
    with watch_writes(hass_storage) as writes:
        assert await persistence.async_record_payment_states(state)
    assert writes.written_keys() == [key("ledger", "a"), key("ledger", "b")]
    assert set(head(hass_storage)["overlay"]) == {s.id for s in sealed}
    restored = await reloaded(hass)
    for statement in sealed:
        got = restored.ledger.get(statement.id)
        assert got is not None
        assert got.payment_state is PaymentState.SENDING
        assert got.payment == {"bundle": "B" * 81}


async def test_pruning_removes_chunk_files_and_never_an_unsettled_statement(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    persistence, state = await started(hass)
    close(state, 3 * CHUNK_SIZE)
    assert await persistence.async_record_statements(state)
    assert len(chunk_keys(hass_storage)) == 3 * 2
    statements = state.ledger.statements
    failed = statements[5]
    for statement in statements:
        if statement is not failed:
            state.ledger.set_payment_state(statement.id, PaymentState.PAID)
    state.ledger.set_payment_state(failed.id, PaymentState.FAILED, {"reason": "x"})
    state.ledger.prune(10)
    assert await persistence.async_record_payment_states(state)

    # Chunk 0 keeps its failed statement (rewritten: all else was pruned);
    # chunk 1 is gone; chunk 2 keeps the 9 newest (rewritten: settled through).
    assert chunk_keys(hass_storage) == {
        key(kind, slot) for kind in ("chunk-0-1", "chunk-2-1") for slot in "ab"
    }
    restored = await reloaded(hass)
    assert restored.ledger.statements == state.ledger.statements
    assert restored.ledger.statements[0].id == failed.id
    assert restored.ledger.get(failed.id).payment_state is PaymentState.FAILED  # type: ignore[union-attr]


async def test_an_old_single_document_ledger_loads_and_is_written_as_chunks(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    """Version 1, as the previous release wrote it: the whole state in one document."""
    state = FACTORY.new()
    state.engine.start(START)
    close(state, 2 * CHUNK_SIZE + 7)
    old = DurableState[EntryState, EntryState](
        hass,
        ENTRY,
        "ledger",
        encode=FACTORY.encode,
        decode=FACTORY.decode,
        required=True,
    )
    assert await old.async_save_all(state)
    assert head(hass_storage)["version"] == 1

    restored = await reloaded(hass)

    assert restored.ledger.statements == state.ledger.statements
    assert restored.engine.export_state() == state.engine.export_state()
    # Migrated at once, both slots, not at the next close.
    for slot in "ab":
        assert head(hass_storage, slot)["version"] == 2
        assert len(head(hass_storage, slot)["open"]["statements"]) == 7
    assert len(chunk_keys(hass_storage)) == 2 * 2
    assert (await reloaded(hass)).ledger.statements == state.ledger.statements


@pytest.fixture
def config_dir(hass: HomeAssistant) -> Path:
    """The test's private config folder (see ``hass_storage``)."""
    return Path(hass.config.config_dir)


async def test_a_damaged_chunk_slot_is_kept_reported_and_rewritten(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    config_dir: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 1)
    assert await persistence.async_record_statements(state)
    good = copy.deepcopy(hass_storage[key("chunk-0-0", "b")])
    damaged = config_dir / ".storage" / key("chunk-0-0", "a")
    damaged.write_text('{"version": 1, "data": {"number": 0, "gen', "utf-8")

    with watch_writes(hass_storage) as writes:
        restored = await reloaded(hass)

    assert restored.ledger.statements == state.ledger.statements
    (kept,) = damaged.parent.glob(f"{damaged.name}.corrupt-*")
    assert kept.read_text("utf-8").endswith('"gen')
    issue = issue_registry.async_get_issue(DOMAIN, f"state_corrupt_{ENTRY}_chunk-0-0_a")
    assert issue is not None
    assert issue.translation_key == "state_recovered"
    assert issue.translation_placeholders == {"copy": str(kept)}
    # The good copy was written back over the damaged slot, and only there.
    assert writes.written_keys() == [key("chunk-0-0", "a")]
    assert hass_storage[key("chunk-0-0", "a")]["data"] == good["data"]


async def test_a_chunk_damaged_in_both_slots_refuses_to_start_and_can_be_discarded(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    config_dir: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Statements would be missing: no start; the repair path keeps copies of all."""
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 1)
    assert await persistence.async_record_statements(state)
    document = hass_storage[key("chunk-0-0", "a")]
    document["data"]["ledger"]["statements"].pop()
    hass_storage[key("chunk-0-0", "a")] = document
    del hass_storage[key("chunk-0-0", "b")]

    with pytest.raises(StateCorruptError):
        await reloaded(hass)
    issue = issue_registry.async_get_issue(DOMAIN, f"state_corrupt_{ENTRY}_chunk-0-0_a")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    # Nothing was overwritten.
    assert len(hass_storage[key("chunk-0-0", "a")]["data"]["ledger"]["statements"]) == (
        CHUNK_SIZE - 1
    )

    copies = await async_discard_state(hass, ENTRY)
    assert any(".chunk-0-0.a.corrupt-" in c for c in copies)
    assert chunk_keys(hass_storage) == set()
    assert key("ledger", "a") not in hass_storage
    assert (await reloaded(hass)).ledger.statements == []


async def test_a_chunk_that_cannot_be_written_holds_the_head_back_until_it_can(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No head may name a chunk that is not on disk; the next save catches up."""
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE - 1)
    assert await persistence.async_record_statements(state)
    stored_head = copy.deepcopy(head(hass_storage))
    save = Store.async_save

    async def chunks_fail(store: Store[Any], data: Any) -> None:
        if ".chunk-" in store.key:
            raise OSError(errno.ENOSPC, "No space left on device")
        await save(store, data)

    close(state, 1)
    with patch.object(Store, "async_save", chunks_fail):
        assert not await persistence.async_record_statements(state)
    assert head(hass_storage) == stored_head
    issue_id = f"state_write_failed_{ENTRY}_chunks"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    assert await persistence.async_flush(state)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert (await reloaded(hass)).ledger.statements == state.ledger.statements
    assert len(chunk_keys(hass_storage)) == 2
