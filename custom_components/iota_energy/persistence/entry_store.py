"""How one entry's state is kept: a ledger head, ledger chunks, a live document.

See document_slots.py for the slots and core/ledger_chunks.py for the layout. The
ledger head is the whole state as of the last write of the ledger (billing
engine, meter, prices, the statements not yet sealed, the index of sealed
chunks and their pending payment changes); sealed chunks hold the older
statements, each version written once, before any head names it; the live
document is the fast-changing rest, tagged with the head's sequence number it
continues.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import logging
from typing import Any

from homeassistant.core import HomeAssistant

from ..const import DOMAIN, STORAGE_SLOTS
from ..core.ledger import Ledger, LedgerFormatError, Statement
from ..core.ledger_chunks import (
    ChunkKey,
    Head,
    Layout,
    assemble,
    parse_head,
    plan_save,
)
from ..issues import async_raise_issue
from .chunk_files import ChunkStore
from .document_slots import (
    DurableState,
    StateCorruptError,
    async_discard_slots,
    slot_key,
)
from .entry_state import EntryState, LiveState, StateFactory

_LOGGER = logging.getLogger(__name__)

LEDGER = "ledger"
LIVE = "live"

type HeadValue = tuple[EntryState, Head]


class EntryPersistence:
    """Reads and writes one entry's state; the coordinator's only storage."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, factory: StateFactory
    ) -> None:
        """Create the documents' stores; nothing is read yet."""
        self._hass = hass
        self._entry_id = entry_id
        self._factory = factory
        self._ledger = DurableState[dict[str, Any], HeadValue](
            hass,
            entry_id,
            LEDGER,
            encode=_as_is,
            decode=self._decode_head,
            required=True,
        )
        self._chunks = ChunkStore(hass, entry_id)
        self._live = DurableState[EntryState, LiveState](
            hass,
            entry_id,
            LIVE,
            encode=self._encode_live,
            decode=factory.decode_live,
            required=False,
        )
        self._layout = Layout()
        self._ledger_failed = False
        # One writer at a time: a plan is made against the layout on disk.
        self._write_lock = asyncio.Lock()

    def _encode_live(self, state: EntryState) -> dict[str, Any]:
        document = self._factory.encode_live(state)
        document["ledger_revision"] = self._ledger.sequence
        return document

    def _decode_head(self, data: dict[str, Any]) -> HeadValue:
        if not isinstance(data, dict):
            raise TypeError("state is not an object")
        head = parse_head(data.get("ledger"))
        # The factory reads everything else; the ledger is assembled later.
        state = self._factory.decode(data | {"ledger": Ledger().to_dict()})
        return state, head

    async def async_load(self) -> EntryState:
        """The newest consistent state; a fresh one on the first start.

        Raises StateCorruptError when the ledger cannot be read.
        """
        ledger = await self._ledger.async_load()
        live = await self._live.async_load()
        if ledger.value is None:
            if live.value is not None:
                # A live document is only ever written after its ledger, so
                # the ledger's files were removed: do not start from nothing.
                async_raise_issue(
                    self._hass,
                    f"ledger_missing_{self._entry_id}",
                    translation_key="ledger_missing",
                    placeholders={"entry_id": self._entry_id},
                    persistent=True,
                )
                raise StateCorruptError(
                    translation_domain=DOMAIN,
                    translation_key="ledger_missing",
                    translation_placeholders={"entry_id": self._entry_id},
                )
            return self._factory.new()
        closed, head = ledger.value
        closed = replace(closed, ledger=await self._async_assemble(head))
        state = self._continue(closed, ledger.sequence, live.value)
        if ledger.corrupt_copies or head.legacy or head.garbage:
            # Now, not at the next close, which may be far away: rewrite a
            # damaged head slot, write an old single-document ledger as
            # chunks, and remove chunk versions a crash left behind once
            # both head slots no longer name them.
            async with self._write_lock:
                await self._async_write_ledger(state)
        return state

    async def _async_assemble(self, head: Head) -> Ledger:
        """Read the chunks the head names and rebuild the ledger."""
        chunks: dict[ChunkKey, tuple[Statement, ...]] = {}
        for entry in head.chunks:
            chunks[entry.key] = await self._chunks.async_load(entry.key, entry.digest)
        try:
            ledger, self._layout = assemble(head, chunks)
        except LedgerFormatError as err:
            files = ", ".join(
                self._hass.config.path(".storage", slot_key(self._entry_id, LEDGER, s))
                for s in STORAGE_SLOTS
            )
            _LOGGER.error("The ledger of %s cannot be rebuilt: %s", self._entry_id, err)
            async_raise_issue(
                self._hass,
                f"state_corrupt_{self._entry_id}_{LEDGER}_chunks",
                translation_key="state_corrupt",
                placeholders={"copy": files},
                persistent=True,
            )
            raise StateCorruptError(
                translation_domain=DOMAIN,
                translation_key="state_corrupt",
                translation_placeholders={"copy": files},
            ) from err
        return ledger

    def _continue(
        self, closed: EntryState, revision: int, live: LiveState | None
    ) -> EntryState:
        """Apply the live document if it continues exactly this ledger."""
        if live is None:
            return closed
        if (
            live.ledger_revision == revision
            and live.engine.next_statement_number == closed.engine.next_statement_number
        ):
            return live.continuing(closed)
        _LOGGER.warning(
            "The live state of %s does not continue its ledger (revision %s, "
            "ledger %s); continuing from the last closed period",
            self._entry_id,
            live.ledger_revision,
            revision,
        )
        return closed

    async def _async_write_ledger(self, state: EntryState) -> bool:
        """Write new chunk versions, then the head (both slots), then collect.

        A crash at any point leaves either the previous head with every chunk
        it names, or the new one with every chunk it names.
        """
        plan = plan_save(self._layout, state.ledger)
        for write in plan.writes:
            if not await self._chunks.async_write(write.key, write.content):
                self._ledger_failed = True
                return False
        # Those chunks are durable whatever becomes of the head below.
        self._layout = plan.layout
        # The factory encodes everything but the ledger, which the plan holds.
        document = self._factory.encode(replace(state, ledger=Ledger()))
        document["ledger"] = plan.head
        if not await self._ledger.async_save_all(document):
            self._ledger_failed = True
            return False
        self._ledger_failed = False
        # No head slot names the garbage any more: remove it.
        collected = [await self._chunks.async_remove(k) for k in plan.layout.garbage]
        if all(collected):
            self._layout = self._layout.collected()
        return True

    async def async_record_statements(self, state: EntryState) -> bool:
        """Write the ledger (chunks sealed or folded, then the head's two slots).

        Called when statements close, before they are announced.
        """
        async with self._write_lock:
            return await self._async_write_ledger(state)

    async def async_record_payment_states(self, state: EntryState) -> bool:
        """Persist changed payment states/records of statements cheaply.

        Writes the head only (its overlay holds the changes of sealed
        statements), unless pending changes fold into a chunk: a chunk
        settled through, or more pending changes than the budget. Call it
        under the coordinator's lock, like every other write.
        """
        async with self._write_lock:
            return await self._async_write_ledger(state)

    async def async_flush(self, state: EntryState) -> bool:
        """Write the live document (one slot).

        The ledger is written first if it never was (every live document
        must continue a head) or if its last write failed.
        """
        async with self._write_lock:
            if (
                self._ledger.sequence == 0 or self._ledger_failed
            ) and not await self._async_write_ledger(state):
                return False
            return await self._live.async_save_rotating(state)

    async def async_save_all(self, state: EntryState) -> bool:
        """Write everything (a clean stop)."""
        async with self._write_lock:
            ledger_ok = await self._async_write_ledger(state)
            live_ok = await self._live.async_save_all(state)
        return ledger_ok and live_ok


async def async_discard_state(hass: HomeAssistant, entry_id: str) -> list[str]:
    """Keep copies of an entry's documents aside and remove them (repair flow)."""
    copies = await ChunkStore(hass, entry_id).async_discard()
    for kind in (LEDGER, LIVE):
        copies += await async_discard_slots(hass, entry_id, kind)
    return copies


def _as_is(document: dict[str, Any]) -> dict[str, Any]:
    return document
