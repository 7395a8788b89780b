"""Sealed ledger chunks on disk: each version in two slots, written once.

A chunk version (number, generation) is written to both of its slots before
any head names it, and never changed afterwards: a rewrite is a new
generation. Reading checks each slot against the digest the head holds, so a
stale or damaged slot is told apart from the one the head committed to. A
damaged slot is kept aside, reported and rewritten from the good one; with no
good slot the entry refuses to start, like an unreadable ledger.
"""

from __future__ import annotations

import logging
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from ..const import DOMAIN, STORAGE_SLOTS, STORAGE_VERSION
from ..core.ledger import LedgerFormatError, Statement
from ..core.ledger_chunks import ChunkKey, chunk_digest, read_chunk
from ..issues import async_clear_issue, async_raise_issue
from .document_slots import (
    StateCorruptError,
    async_discard_slots,
    keep_aside,
    read_text,
    slot_key,
    storage_data,
)

_LOGGER = logging.getLogger(__name__)


def chunk_kind(key: ChunkKey) -> str:
    """The document kind of one chunk version in its storage key."""
    return f"chunk-{key.number}-{key.generation}"


def chunk_file_pattern(entry_id: str) -> re.Pattern[str]:
    """Names of an entry's chunk slot files (not their kept-aside copies)."""
    return re.compile(
        rf"{re.escape(DOMAIN)}\.{re.escape(entry_id)}\.chunk-(\d+)-(\d+)\.[a-z]+"
    )


class ChunkStore:
    """Reads, writes and removes one entry's chunk documents."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind to the entry; nothing is read until asked."""
        self._hass = hass
        self._entry_id = entry_id
        self._write_failed = False

    def _store(self, key: ChunkKey, slot: str) -> Store[dict[str, Any]]:
        return Store[dict[str, Any]](
            self._hass,
            STORAGE_VERSION,
            slot_key(self._entry_id, chunk_kind(key), slot),
            private=True,
        )

    def _path(self, key: ChunkKey, slot: str) -> Path:
        name = slot_key(self._entry_id, chunk_kind(key), slot)
        return Path(self._hass.config.path(".storage", name))

    async def async_write(self, key: ChunkKey, content: dict[str, Any]) -> bool:
        """Write one chunk version to every slot; return whether all were written."""
        document = {
            "number": key.number,
            "generation": key.generation,
            "ledger": content,
        }
        for slot in STORAGE_SLOTS:
            try:
                await self._store(key, slot).async_save(document)
            except (OSError, HomeAssistantError) as err:
                self._report_write_failure(err)
                return False
        if self._write_failed:
            async_clear_issue(self._hass, self._write_issue_id)
            self._write_failed = False
        return True

    @property
    def _write_issue_id(self) -> str:
        return f"state_write_failed_{self._entry_id}_chunks"

    def _report_write_failure(self, err: Exception) -> None:
        if self._write_failed:
            return
        self._write_failed = True
        _LOGGER.error("Cannot write the ledger of %s: %s", self._entry_id, err)
        async_raise_issue(
            self._hass,
            self._write_issue_id,
            translation_key="state_write_failed",
            placeholders={"error": str(err)},
        )

    async def async_load(self, key: ChunkKey, digest: str) -> tuple[Statement, ...]:
        """The statements of the chunk version the head names.

        Raises StateCorruptError when no slot holds that content.
        """
        good: dict[str, Any] | None = None
        # Each slot's file text; None where the file is missing.
        raws: dict[str, str | None] = {}
        bad: list[tuple[str, str]] = []  # slot, why
        for slot in STORAGE_SLOTS:
            path = self._path(key, slot)
            raw = raws[slot] = await self._hass.async_add_executor_job(read_text, path)
            try:
                document = self._read_slot(key, slot, raw)
                if chunk_digest(document["ledger"]) != digest:
                    raise LedgerFormatError("content does not match the head's digest")
            except (ValueError, TypeError, KeyError, HomeAssistantError) as err:
                bad.append((slot, str(err)))
                continue
            good = good or document
        statements: tuple[Statement, ...] = ()
        if good is not None:
            try:
                # Both slots hold this very content: parse it once.
                statements = read_chunk(good["ledger"], digest)
            except LedgerFormatError as err:
                listed = {slot for slot, _ in bad}
                bad += [(s, str(err)) for s in STORAGE_SLOTS if s not in listed]
                good = None
        # Where each bad slot's content now is: a copy, or the path it is missing from.
        where = {
            slot: await self._async_keep_aside(key, slot, raws[slot], why)
            or str(self._path(key, slot))
            for slot, why in bad
        }
        self._report(key, where, fatal=good is None)
        if good is None:
            raise StateCorruptError(
                translation_domain=DOMAIN,
                translation_key="state_corrupt",
                translation_placeholders={"copy": ", ".join(where.values())},
            )
        for slot in where:
            # Restore the redundancy now: the good slot is the only copy left.
            try:
                await self._store(key, slot).async_save(good)
            except (OSError, HomeAssistantError) as err:
                self._report_write_failure(err)
        return statements

    def _read_slot(self, key: ChunkKey, slot: str, raw: str | None) -> dict[str, Any]:
        if raw is None:
            raise KeyError(f"chunk {key.number} slot {slot} is missing")
        data = storage_data(raw)
        if (data.get("number"), data.get("generation")) != (key.number, key.generation):
            raise LedgerFormatError("chunk document names another chunk")
        return data

    async def _async_keep_aside(
        self, key: ChunkKey, slot: str, raw: str | None, why: str
    ) -> str | None:
        """Copy a damaged slot aside; None when it is missing altogether."""
        if raw is None:
            _LOGGER.error(
                "Ledger chunk %s of %s is missing from slot %s",
                key.number,
                self._entry_id,
                slot,
            )
            return None
        copy = await self._hass.async_add_executor_job(
            keep_aside, self._path(key, slot), raw
        )
        _LOGGER.error(
            "Ledger chunk %s of %s, slot %s, is unreadable (%s); a copy is kept at %s",
            key.number,
            self._entry_id,
            slot,
            why,
            copy,
        )
        return copy

    def _report(self, key: ChunkKey, where: dict[str, str], *, fatal: bool) -> None:
        for slot, copy in where.items():
            async_raise_issue(
                self._hass,
                f"state_corrupt_{self._entry_id}_{chunk_kind(key)}_{slot}",
                translation_key="state_corrupt" if fatal else "state_recovered",
                placeholders={"copy": copy},
                severity=ir.IssueSeverity.ERROR if fatal else ir.IssueSeverity.WARNING,
                persistent=True,
            )

    async def async_remove(self, key: ChunkKey) -> bool:
        """Remove every slot of a chunk version no head names any more."""
        try:
            for slot in STORAGE_SLOTS:
                await self._store(key, slot).async_remove()
        except OSError as err:
            _LOGGER.warning(
                "Cannot remove an old ledger chunk of %s: %s", self._entry_id, err
            )
            return False
        return True

    async def async_discard(self) -> list[str]:
        """Keep a copy of every chunk slot aside and remove it (repair flow).

        The files are found by name: every chunk a head can name is among
        them, and so is any version a crash left behind.
        """
        found: set[ChunkKey] = set()
        directory = Path(self._hass.config.path(".storage"))
        names = await self._hass.async_add_executor_job(_listdir, directory)
        pattern = chunk_file_pattern(self._entry_id)
        for name in names:
            if match := pattern.fullmatch(name):
                found.add(ChunkKey(int(match[1]), int(match[2])))
        copies: list[str] = []
        for key in sorted(found):
            copies += await async_discard_slots(
                self._hass, self._entry_id, chunk_kind(key)
            )
        return copies


def _listdir(directory: Path) -> list[str]:
    # The folder exists: the repair flow is offered for files read from it.
    return [path.name for path in directory.iterdir()]
