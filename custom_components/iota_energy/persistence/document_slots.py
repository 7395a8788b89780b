"""Durable state of one config entry: meter, billing engine, prices and ledger.

Two documents, so that the large ledger is not rewritten every few seconds:

* the **ledger document** holds the whole state (ledger, billing engine,
  meter, prices) as it was when a statement was last closed. It is written
  whenever statements close, into both of its slots, before the statement is
  announced: no statement can be lost with one slot.
* the **live document** holds only what changes all the time (meter, the
  open period's energy, prices) and the sequence number of the ledger
  document it continues. It is small and written every save interval,
  alternating between its two slots: a damaged slot costs at most one
  interval.

At start-up the newest valid ledger document is read, and the newest valid
live document is applied on top if it continues exactly that ledger
document; otherwise the state as of the last close is used (energy metered
since then is missing, nothing billed is). A slot that cannot be parsed or
validated is copied aside (``<file>.corrupt-<time>``) and reported as a repair
issue. If no ledger slot is valid the entry refuses to start: it never
silently carries on with an empty ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import logging
import os
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from ..const import DOMAIN, STORAGE_SLOTS, STORAGE_VERSION
from ..core.numbers import is_int
from ..issues import async_clear_issue, async_raise_issue

_LOGGER = logging.getLogger(__name__)


class StateCorruptError(HomeAssistantError):
    """Every slot of the durable state exists but none can be read."""


@dataclass(frozen=True, slots=True)
class LoadedState[D]:
    """What was restored, and from where."""

    value: D | None
    sequence: int
    corrupt_copies: tuple[str, ...]


def slot_key(entry_id: str, kind: str, slot: str) -> str:
    return f"{DOMAIN}.{entry_id}.{kind}.{slot}"


class DurableState[E, D]:
    """Two-slot durable storage: values of type ``E`` in, type ``D`` out."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        kind: str,
        *,
        encode: Callable[[E], dict[str, Any]],
        decode: Callable[[dict[str, Any]], D],
        required: bool,
    ) -> None:
        """Create the store; nothing is read until ``async_load``.

        ``required``: when every slot is damaged, refuse to go on
        (StateCorruptError) rather than report it and go on without.
        """
        self._hass = hass
        self._entry_id = entry_id
        self._kind = kind
        self._required = required
        self._encode = encode
        self._decode = decode
        self._stores = {
            slot: Store[dict[str, Any]](
                hass, STORAGE_VERSION, slot_key(entry_id, kind, slot), private=True
            )
            for slot in STORAGE_SLOTS
        }
        self._sequence = 0
        self._next_slot = 0
        self._write_failed = False

    @property
    def sequence(self) -> int:
        """Sequence number of the newest document read or written."""
        return self._sequence

    def _path(self, slot: str) -> Path:
        key = slot_key(self._entry_id, self._kind, slot)
        return Path(self._hass.config.path(".storage", key))

    async def async_load(self) -> LoadedState[D]:
        """Restore the newest valid slot.

        Raises StateCorruptError when slots exist but none is valid and the
        document is ``required``.
        """
        best: tuple[int, D] | None = None
        corrupt: list[tuple[str, str]] = []
        for slot in STORAGE_SLOTS:
            path = self._path(slot)
            raw = await self._hass.async_add_executor_job(read_text, path)
            if raw is None:
                continue  # a slot is its file: nothing stored in it yet
            try:
                loaded = self._read_slot(raw)
            except (ValueError, TypeError, KeyError, HomeAssistantError) as err:
                copy = await self._hass.async_add_executor_job(keep_aside, path, raw)
                corrupt.append((slot, copy))
                _LOGGER.error(
                    "Stored %s state %s of %s is unreadable (%s); a copy is kept at %s",
                    self._kind,
                    slot,
                    self._entry_id,
                    err,
                    copy,
                )
                continue
            if best is None or loaded[0] > best[0]:
                best = loaded

        fatal = self._required and corrupt and best is None
        if best is not None:
            key = "state_recovered"
        elif fatal:
            key = "state_corrupt"
        else:
            key = "live_state_lost"
        for slot, copy in corrupt:
            async_raise_issue(
                self._hass,
                f"state_corrupt_{self._entry_id}_{self._kind}_{slot}",
                translation_key=key,
                placeholders={"copy": copy},
                severity=ir.IssueSeverity.ERROR if fatal else ir.IssueSeverity.WARNING,
                persistent=True,
            )
        if fatal:
            raise StateCorruptError(
                translation_domain=DOMAIN,
                translation_key="state_corrupt",
                translation_placeholders={"copy": ", ".join(c for _, c in corrupt)},
            )
        if best is None:
            return LoadedState(None, 0, ())
        self._sequence = best[0]
        return LoadedState(best[1], best[0], tuple(copy for _, copy in corrupt))

    def _read_slot(self, raw: str) -> tuple[int, D]:
        data = storage_data(raw)
        sequence = data.get("sequence")
        if not is_int(sequence) or sequence < 0:
            raise ValueError("missing sequence number")
        return sequence, self._decode(data["state"])

    def _document(self, value: E) -> dict[str, Any]:
        self._sequence += 1
        return {
            "sequence": self._sequence,
            "saved_at": datetime.now(UTC).isoformat(),
            "state": self._encode(value),
        }

    async def async_save_rotating(self, value: E) -> bool:
        """Write one slot (alternating); return whether it was written."""
        if self._write_failed:
            # A statement may have missed both slots: catch up on every slot.
            return await self.async_save_all(value)
        slot = STORAGE_SLOTS[self._next_slot]
        self._next_slot = (self._next_slot + 1) % len(STORAGE_SLOTS)
        return await self._async_write(slot, self._document(value))

    async def async_save_all(self, value: E) -> bool:
        """Write every slot, one after the other; return whether all were written."""
        document = self._document(value)
        results = [await self._async_write(slot, document) for slot in STORAGE_SLOTS]
        return all(results)

    @property
    def _write_issue_id(self) -> str:
        return f"state_write_failed_{self._entry_id}_{self._kind}"

    async def _async_write(self, slot: str, document: dict[str, Any]) -> bool:
        try:
            await self._stores[slot].async_save(document)
        except (OSError, HomeAssistantError) as err:
            if not self._write_failed:
                _LOGGER.error("Cannot write the state of %s: %s", self._entry_id, err)
                async_raise_issue(
                    self._hass,
                    self._write_issue_id,
                    translation_key="state_write_failed",
                    placeholders={"error": str(err)},
                )
            self._write_failed = True
            return False
        if self._write_failed:
            _LOGGER.info("State of %s is written again", self._entry_id)
            async_clear_issue(self._hass, self._write_issue_id)
            self._write_failed = False
        return True


async def async_discard_slots(
    hass: HomeAssistant, entry_id: str, kind: str
) -> list[str]:
    """Remove every slot of a document after keeping a copy of it; return the copies.

    Only on the user's explicit request (the repair flow): afterwards
    the next start begins with nothing.
    """
    copies = []
    for slot in STORAGE_SLOTS:
        key = slot_key(entry_id, kind, slot)
        path = Path(hass.config.path(".storage", key))
        raw = await hass.async_add_executor_job(read_text, path)
        if raw is None:
            continue
        copies.append(await hass.async_add_executor_job(keep_aside, path, raw))
        await Store[dict[str, Any]](hass, STORAGE_VERSION, key).async_remove()
    return copies


def storage_data(raw: str) -> dict[str, Any]:
    """The data of a storage file's text, read without Store.

    Store would rename a file it cannot parse and report it as missing, and
    raises NotImplementedError for another version; both must be told apart
    from a slot that was never written, and kept aside instead.
    """
    document = json.loads(raw)
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise ValueError("not a storage document")
    if document.get("version") != STORAGE_VERSION:
        raise ValueError(f"storage version {document.get('version')!r} is not known")
    data: dict[str, Any] = document["data"]
    return data


def read_text(path: Path) -> str | None:
    """A slot's text; None if missing.

    Bytes that are not UTF-8 (a sector of noise) come back as surrogates, so
    they fail to parse like any damage and ``keep_aside`` writes them back
    byte for byte, instead of escaping as a UnicodeDecodeError.
    """
    try:
        return path.read_text("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return None


def keep_aside(path: Path, raw: str) -> str:
    """Keep the unreadable content next to the slot file; return its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    copy = path.with_name(f"{path.name}.corrupt-{stamp}")
    copy.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(raw)
    return str(copy)
