"""How one entry's state is kept: a ledger document and a live document.

See storage.py for the slots. The ledger document is the whole state as of
the last closed statement; the live document is the fast-changing rest,
tagged with the ledger document's sequence number it continues.
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .state import EntryState, LiveState, StateFactory
from .storage import DurableState, StateCorruptError

_LOGGER = logging.getLogger(__name__)

LEDGER = "ledger"
LIVE = "live"


class EntryPersistence:
    """Reads and writes one entry's state; the coordinator's only storage."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, factory: StateFactory
    ) -> None:
        """Create the two documents' stores; nothing is read yet."""
        self._hass = hass
        self._entry_id = entry_id
        self._factory = factory
        self._ledger = DurableState[EntryState, EntryState](
            hass,
            entry_id,
            LEDGER,
            encode=factory.encode,
            decode=factory.decode,
            required=True,
        )
        self._live = DurableState[EntryState, LiveState](
            hass,
            entry_id,
            LIVE,
            encode=self._encode_live,
            decode=factory.decode_live,
            required=False,
        )

    def _encode_live(self, state: EntryState) -> dict[str, Any]:
        document = self._factory.encode_live(state)
        document["ledger_revision"] = self._ledger.sequence
        return document

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
                ir.async_create_issue(
                    self._hass,
                    DOMAIN,
                    f"ledger_missing_{self._entry_id}",
                    is_fixable=False,
                    is_persistent=True,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key="ledger_missing",
                    translation_placeholders={"entry_id": self._entry_id},
                )
                raise StateCorruptError(
                    translation_domain=DOMAIN,
                    translation_key="ledger_missing",
                    translation_placeholders={"entry_id": self._entry_id},
                )
            return self._factory.new()
        state = self._continue(ledger.value, ledger.sequence, live.value)
        if ledger.corrupt_copies:
            # Rewrite the damaged slot now: the next close may be far away.
            await self._ledger.async_save_all(state)
        return state

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

    async def async_record_statements(self, state: EntryState) -> bool:
        """Write the ledger document (both slots): statements just closed."""
        return await self._ledger.async_save_all(state)

    async def async_flush(self, state: EntryState) -> bool:
        """Write the live document (one slot).

        The ledger document is written first if it never was (every live
        document must continue one) or if its last write failed.
        """
        if (
            self._ledger.sequence == 0 or self._ledger.write_failed
        ) and not await self._ledger.async_save_all(state):
            return False
        return await self._live.async_save_rotating(state)

    async def async_save_all(self, state: EntryState) -> bool:
        """Write everything (a clean stop)."""
        ledger_ok = await self._ledger.async_save_all(state)
        live_ok = await self._live.async_save_all(state)
        return ledger_ok and live_ok


async def async_discard_state(hass: HomeAssistant, entry_id: str) -> list[str]:
    """Keep copies of an entry's documents aside and remove them (repair flow)."""
    copies: list[str] = []
    for kind in (LEDGER, LIVE):
        store = DurableState[object, object](
            hass, entry_id, kind, encode=_unused, decode=_unused, required=False
        )
        copies += await store.async_discard()
    return copies


def _unused(_value: object) -> dict[str, Any]:
    raise NotImplementedError("only used to discard")
