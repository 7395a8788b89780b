"""Ledger chunk files one by one: what is written, read, repaired, removed and said.

ChunkStore alone over Home Assistant's real Store and real files: the exact
document in each slot, each damaged or missing slot's log line and repair
issue, the error when no slot holds the content the head names, write and
removal failures, and discarding by file name. The entry's use of chunks runs
in test_ledger_chunks.py and test_storage_faults.py.
"""

from __future__ import annotations

from collections.abc import Iterator
import errno
import json
import logging
from pathlib import Path
import stat
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
import pytest

from custom_components.iota_energy.const import DOMAIN, STORAGE_VERSION
from custom_components.iota_energy.core.ledger import LedgerFormatError, Statement
from custom_components.iota_energy.core.ledger_chunks import (
    ChunkKey,
    chunk_content,
    chunk_digest,
    read_chunk,
)
from custom_components.iota_energy.persistence.chunk_files import ChunkStore
from custom_components.iota_energy.persistence.document_slots import (
    StateCorruptError,
)

from .test_ledger_chunks import close, started

ENTRY = "chunky"
LOGGER = "custom_components.iota_energy.persistence.chunk_files"
KEY = ChunkKey(3, 1)
FULL = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def storage_dir(hass: HomeAssistant) -> Path:
    return Path(hass.config.config_dir) / ".storage"


@pytest.fixture
async def statements(hass: HomeAssistant) -> tuple[Statement, ...]:
    _, state = await started(hass)
    close(state, 3)
    return tuple(state.ledger.statements)


def slot_file(storage_dir: Path, slot: str, key: ChunkKey = KEY) -> Path:
    return storage_dir / f"{DOMAIN}.{ENTRY}.chunk-{key.number}-{key.generation}.{slot}"


def chunk_files_of(storage_dir: Path, entry: str) -> list[str]:
    """The slots of an entry's chunk files (not the copies kept aside)."""
    return sorted(p.suffix[1:] for p in storage_dir.glob(f"{DOMAIN}.{entry}.chunk-*.?"))


def read(path: Path) -> str:
    return path.read_text()


def write(path: Path, text: str) -> None:
    path.write_text(text)


def copies_of(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def issue(hass: HomeAssistant, slot: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"state_corrupt_{ENTRY}_chunk-3-1_{slot}"
    )


@pytest.fixture
def failing() -> Iterator[list[bool]]:
    """Store.async_save fails with a full disk while ``failing[0]``."""
    switch = [False]
    save = Store.async_save

    async def maybe(store: Store[Any], data: Any) -> None:
        if switch[0]:
            raise FULL
        await save(store, data)

    with patch.object(Store, "async_save", maybe):
        yield switch


async def test_a_chunk_is_written_to_every_slot_privately(
    hass: HomeAssistant, storage_dir: Path, statements: tuple[Statement, ...]
) -> None:
    content = chunk_content(statements)
    assert await ChunkStore(hass, ENTRY).async_write(KEY, content)
    for slot in ("a", "b"):
        document = json.loads(read(slot_file(storage_dir, slot)))
        assert document["version"] == STORAGE_VERSION
        assert document["data"] == {"number": 3, "generation": 1, "ledger": content}
        assert stat.S_IMODE(slot_file(storage_dir, slot).stat().st_mode) == 0o600
    loaded = await ChunkStore(hass, ENTRY).async_load(KEY, chunk_digest(content))
    assert loaded == statements


async def test_a_failed_chunk_write_is_told_once_per_outage(
    hass: HomeAssistant,
    statements: tuple[Statement, ...],
    failing: list[bool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chunks = ChunkStore(hass, ENTRY)
    content = chunk_content(statements)
    issue_id = f"state_write_failed_{ENTRY}_chunks"
    told = f"Cannot write the ledger of {ENTRY}: [Errno 28] No space left on device"
    with caplog.at_level(logging.ERROR, LOGGER):
        failing[0] = True
        assert not await chunks.async_write(KEY, content)
        assert not await chunks.async_write(KEY, content)
        assert messages(caplog) == [told]
        found = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert found is not None
        assert found.translation_key == "state_write_failed"
        assert found.translation_placeholders == {
            "error": "[Errno 28] No space left on device"
        }
        failing[0] = False
        assert await chunks.async_write(KEY, content)
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        # A new outage is told again.
        failing[0] = True
        assert not await chunks.async_write(KEY, content)
        assert messages(caplog) == [told, told]
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (
            lambda text: text.replace('"number": 3', '"number": 4'),
            "chunk document names another chunk",
        ),
        (
            lambda text: text.replace('"id": "', '"id": "X'),
            "content does not match the head's digest",
        ),
    ],
)
async def test_a_damaged_slot_is_kept_told_and_rewritten_from_the_good_one(
    hass: HomeAssistant,
    storage_dir: Path,
    statements: tuple[Statement, ...],
    caplog: pytest.LogCaptureFixture,
    damage: Any,
    why: str,
) -> None:
    content = chunk_content(statements)
    assert await ChunkStore(hass, ENTRY).async_write(KEY, content)
    damaged = damage(json.dumps(json.loads(read(slot_file(storage_dir, "a")))))
    write(slot_file(storage_dir, "a"), damaged)
    with caplog.at_level(logging.ERROR, LOGGER):
        loaded = await ChunkStore(hass, ENTRY).async_load(KEY, chunk_digest(content))
    assert loaded == statements
    [copy] = copies_of(slot_file(storage_dir, "a"))
    assert read(copy) == damaged
    assert messages(caplog) == [
        f"Ledger chunk 3 of {ENTRY}, slot a, is unreadable ({why}); "
        f"a copy is kept at {copy}"
    ]
    found = issue(hass, "a")
    assert found is not None
    assert found.translation_key == "state_recovered"
    assert found.translation_placeholders == {"copy": str(copy)}
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.is_persistent
    assert issue(hass, "b") is None
    assert json.loads(read(slot_file(storage_dir, "a")))["data"]["ledger"] == content


async def test_a_missing_slot_is_told_by_its_path(
    hass: HomeAssistant,
    storage_dir: Path,
    statements: tuple[Statement, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    content = chunk_content(statements)
    assert await ChunkStore(hass, ENTRY).async_write(KEY, content)
    slot_file(storage_dir, "b").unlink()
    with caplog.at_level(logging.ERROR, LOGGER):
        await ChunkStore(hass, ENTRY).async_load(KEY, chunk_digest(content))
    assert messages(caplog) == [f"Ledger chunk 3 of {ENTRY} is missing from slot b"]
    found = issue(hass, "b")
    assert found is not None
    assert found.translation_placeholders == {"copy": str(slot_file(storage_dir, "b"))}
    assert slot_file(storage_dir, "b").exists()  # written again from slot a


async def test_no_slot_with_the_content_refuses_with_every_slot_named(
    hass: HomeAssistant,
    storage_dir: Path,
    statements: tuple[Statement, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Slot a missing, slot b with the content named but no ledger in it."""
    content = {"version": 1, "statements": [{"id": "S1"}]}
    with pytest.raises(LedgerFormatError) as unreadable:
        read_chunk(content, chunk_digest(content))
    assert await ChunkStore(hass, ENTRY).async_write(KEY, content)
    slot_file(storage_dir, "a").unlink()
    with (
        caplog.at_level(logging.ERROR, LOGGER),
        pytest.raises(StateCorruptError) as err,
    ):
        await ChunkStore(hass, ENTRY).async_load(KEY, chunk_digest(content))
    [copy] = copies_of(slot_file(storage_dir, "b"))
    assert messages(caplog) == [
        f"Ledger chunk 3 of {ENTRY} is missing from slot a",
        f"Ledger chunk 3 of {ENTRY}, slot b, is unreadable ({unreadable.value}); "
        f"a copy is kept at {copy}",
    ]
    where = [str(slot_file(storage_dir, "a")), str(copy)]
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "state_corrupt"
    assert err.value.translation_placeholders == {"copy": ", ".join(where)}
    for slot, copy_text in zip("ab", where, strict=True):
        found = issue(hass, slot)
        assert found is not None
        assert found.translation_key == "state_corrupt"
        assert found.translation_placeholders == {"copy": copy_text}
        assert found.severity is ir.IssueSeverity.ERROR
        assert found.is_persistent


async def test_a_chunk_that_cannot_be_removed_says_so(
    hass: HomeAssistant,
    statements: tuple[Statement, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    chunks = ChunkStore(hass, ENTRY)
    assert await chunks.async_write(KEY, chunk_content(statements))

    async def refuse(store: Store[Any]) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    with (
        patch.object(Store, "async_remove", refuse),
        caplog.at_level(logging.WARNING, LOGGER),
    ):
        assert not await chunks.async_remove(KEY)
    assert messages(caplog) == [
        f"Cannot remove an old ledger chunk of {ENTRY}: [Errno 13] Permission denied"
    ]
    assert await chunks.async_remove(KEY)


async def test_discarding_finds_every_chunk_file_by_name(
    hass: HomeAssistant, storage_dir: Path, statements: tuple[Statement, ...]
) -> None:
    content = chunk_content(statements)
    chunks = ChunkStore(hass, ENTRY)
    other = ChunkKey(0, 2)
    assert await chunks.async_write(KEY, content)
    assert await chunks.async_write(other, content)
    slot_file(storage_dir, "a", other).unlink()
    assert await ChunkStore(hass, "neighbour").async_write(KEY, content)
    copies = await chunks.async_discard()
    assert sorted(Path(c).name.split(".corrupt-")[0] for c in copies) == sorted(
        [
            slot_file(storage_dir, "a").name,
            slot_file(storage_dir, "b").name,
            slot_file(storage_dir, "b", other).name,
        ]
    )
    assert not chunk_files_of(storage_dir, ENTRY)
    assert chunk_files_of(storage_dir, "neighbour") == ["a", "b"]
