"""One entry's state on disk: which live document continues which ledger, and what
the user is told when the ledger cannot be read.

EntryPersistence over Home Assistant's real Store, as in test_ledger_chunks
(whose helpers this uses): the exact errors, issues and log lines of a ledger
removed or unreadable, the live document applied only when it continues the
ledger read, and what discarding reads and keeps.
"""

from __future__ import annotations

from fractions import Fraction
import logging
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.iota_energy.const import DOMAIN
from custom_components.iota_energy.core.ledger_chunks import CHUNK_SIZE
from custom_components.iota_energy.core.pricing import PriceQuote
from custom_components.iota_energy.persistence.document_slots import (
    StateCorruptError,
)
from custom_components.iota_energy.persistence.entry_store import (
    EntryPersistence,
    async_discard_state,
)
from tests.ha_fixtures import StorageFiles

from .test_ledger_chunks import (
    ENTRY,
    FACTORY,
    PRICE,
    close,
    key,
    reloaded,
    started,
    watch_writes,
)
from .test_storage_faults import failing_saves

LOGGER = "custom_components.iota_energy.persistence.entry_store"


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def test_a_ledger_removed_beside_its_live_document_refuses_to_start(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    persistence, state = await started(hass)
    close(state, 2)
    assert await persistence.async_flush(state)
    for slot in "ab":
        del hass_storage[key("ledger", slot)]
    with pytest.raises(StateCorruptError) as err:
        await reloaded(hass)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "ledger_missing"
    assert err.value.translation_placeholders == {"entry_id": ENTRY}
    found = issue(hass, f"ledger_missing_{ENTRY}")
    assert found is not None
    assert found.translation_key == "ledger_missing"
    assert found.translation_placeholders == {"entry_id": ENTRY}
    assert found.is_persistent
    assert found.severity is ir.IssueSeverity.ERROR


async def test_a_live_document_continues_its_ledger_only_when_it_names_it(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Energy metered since the last close comes back with the live document."""
    persistence, state = await started(hass)
    close(state, 2)
    assert await persistence.async_record_statements(state)
    state.engine.add_energy(Fraction(7), PriceQuote(PRICE, "static"))
    assert await persistence.async_flush(state)
    restored = await reloaded(hass)
    assert restored.engine.open_period.energy_j == Fraction(7)
    assert restored.engine.next_statement_number == state.engine.next_statement_number


async def test_a_live_document_of_another_ledger_revision_is_not_applied(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    persistence, state = await started(hass)
    close(state, 2)
    assert await persistence.async_record_statements(state)
    stale = await reloaded(hass)  # the state as written: without the energy below
    state.engine.add_energy(Fraction(7), PriceQuote(PRICE, "static"))
    assert await persistence.async_flush(state)  # names ledger revision 1
    # The ledger is written again (revision 2) from a state without that energy.
    assert await persistence.async_record_statements(stale)
    with caplog.at_level(logging.WARNING, LOGGER):
        restored = await reloaded(hass)
    assert restored.engine.open_period.energy_j == 0
    assert messages(caplog) == [
        f"The live state of {ENTRY} does not continue its ledger (revision 1, "
        "ledger 2); continuing from the last closed period"
    ]


async def test_a_live_document_past_its_ledgers_statements_is_not_applied(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Closed after the ledger was written: its statement is not in the ledger."""
    persistence, state = await started(hass)
    close(state, 2)
    assert await persistence.async_record_statements(state)
    numbered = state.engine.next_statement_number
    close(state, 1)  # not recorded: the live document runs ahead of the ledger
    assert await persistence.async_flush(state)
    with caplog.at_level(logging.WARNING, LOGGER):
        restored = await reloaded(hass)
    assert restored.engine.next_statement_number == numbered
    assert len(restored.ledger.statements) == 2
    assert messages(caplog) == [
        f"The live state of {ENTRY} does not continue its ledger (revision 1, "
        "ledger 1); continuing from the last closed period"
    ]


@pytest.mark.parametrize("failing", ["ledger", "live"])
async def test_saving_everything_says_whether_everything_was_written(
    hass: HomeAssistant, hass_storage: StorageFiles, failing: str
) -> None:
    persistence, state = await started(hass)
    close(state, 1)
    assert await persistence.async_save_all(state)
    for kind in ("ledger", "live"):
        for slot in "ab":
            assert key(kind, slot) in hass_storage
    with failing_saves(lambda name: f".{failing}." in name):
        assert not await persistence.async_save_all(state)


async def test_discarding_reads_the_heads_of_this_entry_only(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    """The chunks a head names are kept aside too, and nothing of another entry."""
    persistence, state = await started(hass)
    close(state, CHUNK_SIZE + 1)
    assert await persistence.async_flush(state)
    other = EntryPersistence(hass, "other", FACTORY)
    other_state = await other.async_load()
    other_state.engine.start(state.engine.open_period.period.start)
    close(other_state, 1)
    assert await other.async_flush(other_state)
    mine = sorted(k for k in hass_storage if k.startswith(f"{DOMAIN}.{ENTRY}."))
    theirs = sorted(k for k in hass_storage if k.startswith(f"{DOMAIN}.other."))
    assert any(".chunk-" in k for k in mine)
    copies = await async_discard_state(hass, ENTRY)
    assert sorted(Path(c).name.split(".corrupt-")[0] for c in copies) == mine
    assert sorted(k for k in hass_storage if k.startswith(f"{DOMAIN}.other.")) == theirs
    assert (await reloaded(hass)).ledger.statements == []


async def test_a_flush_after_a_load_writes_the_live_document_only(
    hass: HomeAssistant, hass_storage: StorageFiles
) -> None:
    persistence, state = await started(hass)
    close(state, 1)
    assert await persistence.async_flush(state)
    restarted = EntryPersistence(hass, ENTRY, FACTORY)
    restored = await restarted.async_load()
    with watch_writes(hass_storage) as writes:
        assert await restarted.async_flush(restored)
    assert writes.written_keys() == [key("live", "a")]


async def test_a_head_slot_whose_state_is_no_object_is_reported_as_such(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    persistence, state = await started(hass)
    close(state, 1)
    assert await persistence.async_record_statements(state)
    document = hass_storage[key("ledger", "a")]
    document["data"]["state"] = ["not", "an", "object"]
    hass_storage[key("ledger", "a")] = document
    with caplog.at_level(logging.ERROR):
        restored = await reloaded(hass)
    assert len(restored.ledger.statements) == 1
    [line] = [
        r.getMessage()
        for r in caplog.records
        if r.name.endswith("document_slots") and r.levelno == logging.ERROR
    ]
    assert "is unreadable (state is not an object);" in line
