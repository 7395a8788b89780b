"""Two-slot durable documents, file by file: what is written, read, kept and said.

DurableState alone over Home Assistant's real Store and real files in the
test's private config folder: each document's exact fields, which slot each
write lands in, which slot a load trusts, the copy kept of a damaged slot
(name, mode, bytes), and the log lines and repair issues that tell the user.
The entry's use of it runs in test_storage.py and test_storage_faults.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import errno
import json
import logging
import os
from pathlib import Path
import re
import stat
import time
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
import pytest

from custom_components.iota_energy.const import DOMAIN, STORAGE_VERSION
from custom_components.iota_energy.persistence.document_slots import (
    DurableState,
    LoadedState,
    StateCorruptError,
    async_discard_slots,
    keep_aside,
)

ENTRY = "01JSLOTSENTRY"
LOGGER = "custom_components.iota_energy.persistence.document_slots"
STAMP = re.compile(r"\.corrupt-(\d{8}T\d{12}Z)$")


def durable(hass: HomeAssistant, *, required: bool = True) -> DurableState[int, int]:
    return DurableState[int, int](
        hass,
        ENTRY,
        "ledger",
        encode=lambda value: {"n": value},
        decode=lambda data: int(data["n"]),
        required=required,
    )


@pytest.fixture
def storage_dir(hass: HomeAssistant) -> Path:
    return Path(hass.config.config_dir) / ".storage"


def slot_file(storage_dir: Path, slot: str) -> Path:
    return storage_dir / f"{DOMAIN}.{ENTRY}.ledger.{slot}"


def stored(storage_dir: Path, slot: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(slot_file(storage_dir, slot).read_text())
    return document


def write_slot(storage_dir: Path, slot: str, data: Any, version: int = 1) -> None:
    document = {"version": version, "key": f"x.{slot}", "data": data}
    slot_file(storage_dir, slot).write_text(json.dumps(document))


def text_of(path: str) -> str:
    return Path(path).read_text()


def corrupt_copies(storage_dir: Path) -> list[str]:
    return sorted(str(p) for p in storage_dir.glob("*.corrupt-*"))


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


@pytest.fixture
def far_east_clock() -> Iterator[None]:
    """The machine's local time 14 h ahead of UTC: local times show."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


# --- writing ----------------------------------------------------------------------


@pytest.mark.usefixtures("far_east_clock")
async def test_a_document_holds_its_sequence_utc_time_and_state(
    hass: HomeAssistant, storage_dir: Path
) -> None:
    state = durable(hass)
    before = datetime.now(UTC)
    assert await state.async_save_all(41)
    for slot in ("a", "b"):
        document = stored(storage_dir, slot)
        assert document["version"] == STORAGE_VERSION
        assert document["key"] == f"{DOMAIN}.{ENTRY}.ledger.{slot}"
        data = document["data"]
        assert set(data) == {"sequence", "saved_at", "state"}
        assert (data["sequence"], data["state"]) == (1, {"n": 41})
        saved_at = datetime.fromisoformat(data["saved_at"])
        assert saved_at.utcoffset() == timedelta(0)
        assert before <= saved_at <= datetime.now(UTC)
        # Private: the documents may hold a wallet's bookkeeping.
        mode = stat.S_IMODE(slot_file(storage_dir, slot).stat().st_mode)
        assert mode == 0o600
    assert state.sequence == 1


async def test_rotating_writes_alternate_from_the_first_slot_one_sequence_each(
    hass: HomeAssistant, storage_dir: Path
) -> None:
    state = durable(hass)
    assert await state.async_save_rotating(10)
    assert not slot_file(storage_dir, "b").exists()
    assert stored(storage_dir, "a")["data"]["sequence"] == 1
    assert await state.async_save_rotating(11)
    assert stored(storage_dir, "b")["data"] == stored(storage_dir, "b")["data"] | {
        "sequence": 2,
        "state": {"n": 11},
    }
    assert await state.async_save_rotating(12)
    assert stored(storage_dir, "a")["data"]["sequence"] == 3
    assert stored(storage_dir, "a")["data"]["state"] == {"n": 12}
    assert stored(storage_dir, "b")["data"]["sequence"] == 2
    assert state.sequence == 3


def failing_writes(failures: list[bool]) -> Any:
    """Store.async_save fails (a full disk) while ``failures[0]`` is True."""
    save = Store.async_save
    written: list[str] = []

    async def maybe_fail(store: Store[Any], data: Any) -> None:
        if failures[0]:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(store.key.rsplit(".", 1)[1])
        await save(store, data)

    return patch.object(Store, "async_save", maybe_fail), written


async def test_a_failed_write_is_logged_once_raised_then_cleared_and_caught_up(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    state = durable(hass)
    failures = [True]
    patcher, written = failing_writes(failures)
    issue_id = f"state_write_failed_{ENTRY}_ledger"
    with patcher, caplog.at_level(logging.INFO, LOGGER):
        assert not await state.async_save_rotating(1)
        assert not await state.async_save_rotating(2)
        assert not await state.async_save_all(3)
        found = issue(hass, issue_id)
        assert found is not None
        assert found.translation_key == "state_write_failed"
        assert found.translation_placeholders == {
            "error": "[Errno 28] No space left on device"
        }
        assert found.severity is ir.IssueSeverity.ERROR
        failures[0] = False
        # After a failure a rotating write catches up on every slot.
        assert await state.async_save_rotating(4)
        assert written == ["a", "b"]
        assert issue(hass, issue_id) is None
        # Then it rotates again: one slot per write.
        assert await state.async_save_rotating(5)
        assert written == ["a", "b", "b"]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.ERROR,
            f"Cannot write the state of {ENTRY}: [Errno 28] No space left on device",
        ),
        (logging.INFO, f"State of {ENTRY} is written again"),
    ]


# --- reading ----------------------------------------------------------------------


async def test_nothing_stored_loads_as_nothing(hass: HomeAssistant) -> None:
    state = durable(hass)
    assert await state.async_load() == LoadedState(None, 0, ())
    assert state.sequence == 0


async def test_the_newest_slot_wins_and_the_count_goes_on_from_it(
    hass: HomeAssistant, storage_dir: Path
) -> None:
    write_slot(storage_dir, "a", {"sequence": 7, "state": {"n": 70}})
    write_slot(storage_dir, "b", {"sequence": 9, "state": {"n": 90}})
    state = durable(hass)
    assert await state.async_load() == LoadedState(90, 9, ())
    assert state.sequence == 9
    await state.async_save_rotating(91)
    assert stored(storage_dir, "a")["data"]["sequence"] == 10


@pytest.mark.parametrize("missing", ["a", "b"])
async def test_one_slot_alone_is_read_whichever_it_is(
    hass: HomeAssistant, storage_dir: Path, missing: str
) -> None:
    present = "b" if missing == "a" else "a"
    write_slot(storage_dir, present, {"sequence": 0, "state": {"n": 5}})
    assert await durable(hass).async_load() == LoadedState(5, 0, ())


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (
            "{not json",
            "Expecting property name enclosed in double quotes:"
            " line 1 column 2 (char 1)",
        ),
        (json.dumps([1, 2]), "not a storage document"),
        (json.dumps({"version": 1, "data": []}), "not a storage document"),
        (json.dumps({"version": 2, "data": {}}), "storage version 2 is not known"),
        (
            json.dumps({"version": 1, "data": {"state": {"n": 1}}}),
            "missing sequence number",
        ),
        (
            json.dumps({"version": 1, "data": {"sequence": -1, "state": {"n": 1}}}),
            "missing sequence number",
        ),
        (
            json.dumps({"version": 1, "data": {"sequence": 1.5, "state": {"n": 1}}}),
            "missing sequence number",
        ),
        (json.dumps({"version": 1, "data": {"sequence": 3}}), "'state'"),
    ],
)
async def test_a_damaged_slot_is_kept_aside_reported_and_the_other_used(
    hass: HomeAssistant,
    storage_dir: Path,
    caplog: pytest.LogCaptureFixture,
    damage: str,
    why: str,
) -> None:
    write_slot(storage_dir, "b", {"sequence": 2, "state": {"n": 20}})
    slot_file(storage_dir, "a").write_text(damage)
    with caplog.at_level(logging.ERROR, LOGGER):
        loaded = await durable(hass).async_load()
    (copy,) = loaded.corrupt_copies
    assert (loaded.value, loaded.sequence) == (20, 2)
    assert text_of(copy) == damage
    assert Path(copy).parent == storage_dir
    assert Path(copy).name.startswith(slot_file(storage_dir, "a").name + ".corrupt-")
    [record] = caplog.records
    assert record.getMessage() == (
        f"Stored ledger state a of {ENTRY} is unreadable ({why}); "
        f"a copy is kept at {copy}"
    )
    found = issue(hass, f"state_corrupt_{ENTRY}_ledger_a")
    assert found is not None
    assert found.translation_key == "state_recovered"
    assert found.translation_placeholders == {"copy": copy}
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.is_persistent


async def test_every_slot_damaged_refuses_to_start_a_required_document(
    hass: HomeAssistant, storage_dir: Path
) -> None:
    for slot in ("a", "b"):
        slot_file(storage_dir, slot).write_text("{}")
    with pytest.raises(StateCorruptError) as err:
        await durable(hass).async_load()
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "state_corrupt"
    copies = corrupt_copies(storage_dir)
    assert len(copies) == 2
    assert sorted(err.value.translation_placeholders["copy"].split(", ")) == copies
    for slot in ("a", "b"):
        found = issue(hass, f"state_corrupt_{ENTRY}_ledger_{slot}")
        assert found is not None
        assert found.translation_key == "state_corrupt"
        assert found.severity is ir.IssueSeverity.ERROR
        assert found.is_persistent


async def test_every_slot_damaged_of_a_document_one_can_do_without(
    hass: HomeAssistant, storage_dir: Path
) -> None:
    slot_file(storage_dir, "a").write_text("{}")
    loaded = await durable(hass, required=False).async_load()
    assert (loaded.value, loaded.sequence, len(loaded.corrupt_copies)) == (None, 0, 0)
    found = issue(hass, f"state_corrupt_{ENTRY}_ledger_a")
    assert found is not None
    assert found.translation_key == "live_state_lost"
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.is_persistent


# --- copies and discarding -----------------------------------------------------------


@pytest.mark.usefixtures("far_east_clock")
def test_a_copy_is_private_stamped_in_utc_and_byte_for_byte(tmp_path: Path) -> None:
    noise = b'{"version": 1, "data": \xff\xfe\x00 end'
    slot = tmp_path / "slot"
    slot.write_bytes(noise)
    raw = slot.read_text("utf-8", errors="surrogateescape")
    before = datetime.now(UTC)
    copy = Path(keep_aside(slot, raw))
    assert copy.read_bytes() == noise
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    match = STAMP.search(copy.name)
    assert match is not None
    assert copy.name == f"slot.corrupt-{match.group(1)}"
    stamp = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)


async def test_discarding_keeps_a_copy_of_each_slot_there_is(
    hass: HomeAssistant, storage_dir: Path
) -> None:
    write_slot(storage_dir, "b", {"sequence": 4, "state": {"n": 40}})
    copies = await async_discard_slots(hass, ENTRY, "ledger")
    assert len(copies) == 1
    assert Path(copies[0]).name.startswith(slot_file(storage_dir, "b").name)
    assert not slot_file(storage_dir, "b").exists()
    assert json.loads(text_of(copies[0]))["data"]["sequence"] == 4
    assert await durable(hass).async_load() == LoadedState(None, 0, ())
