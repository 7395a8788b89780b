"""Read an entry's storage files from outside Home Assistant, as the next start would.

The integration's documents (persistence/) are two-slot Home Assistant
``Store`` files: ``iota_energy.<entry>.<kind>.<slot>``. The newest valid slot
of the ledger head is read with exactly the chunks it names; the live
document applies on top when it continues that head (the same rule as
``EntryPersistence``); the outbox is its own two-slot document. The parsing of
statements, chunks and payments is the core's (the format is theirs); the
choice of slots and the checks are this module's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
import json
from pathlib import Path
from typing import Any

from custom_components.iota_energy.core.ledger import Statement
from custom_components.iota_energy.core.ledger_chunks import (
    assemble,
    parse_head,
    read_chunk,
)
from custom_components.iota_energy.core.numbers import parse_fraction
from custom_components.iota_energy.core.payments import OutboxState

DOMAIN = "iota_energy"
SLOTS = ("a", "b")


class UnreadableError(Exception):
    """No slot of a document could be read (or a named chunk is missing)."""


@dataclass(frozen=True)
class Document:
    sequence: int
    saved_at: datetime
    state: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """The state the next start restores, in the figures the suite checks."""

    head_sequence: int
    statements: tuple[Statement, ...]
    live_used: bool
    saved_at: datetime  # of the document the state comes from
    meter_j: Fraction
    covered_ns: int
    last_sample_wall: float | None
    billed_j: Fraction
    open_j: Fraction
    open_start: datetime
    open_end: datetime
    carry: Fraction
    next_seq: int
    outbox: OutboxState | None

    @property
    def power_w(self) -> float:
        """Mean power over what the meter covered (the load is steady)."""
        if self.covered_ns <= 0:
            return 0.0
        return float(self.meter_j) / (self.covered_ns / 1e9)


def storage_dir(config_dir: Path) -> Path:
    return config_dir / ".storage"


def file_name(entry_id: str, kind: str, slot: str) -> str:
    return f"{DOMAIN}.{entry_id}.{kind}.{slot}"


def read_slot(path: Path) -> Document | None:
    """One slot; None if missing or unreadable (the other slot then counts)."""
    try:
        wrapper = json.loads(path.read_text("utf-8"))
        data = wrapper["data"]
        return Document(
            int(data["sequence"]),
            datetime.fromisoformat(data["saved_at"]),
            data["state"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_document(directory: Path, entry_id: str, kind: str) -> Document | None:
    """The newest readable slot of a two-slot document."""
    found = [
        doc
        for slot in SLOTS
        if (doc := read_slot(directory / file_name(entry_id, kind, slot))) is not None
    ]
    return max(found, key=lambda d: d.sequence) if found else None


def _chunk(
    directory: Path, entry_id: str, kind: str, digest: str
) -> tuple[Statement, ...]:
    for slot in SLOTS:
        doc = directory / file_name(entry_id, kind, slot)
        try:
            content = json.loads(doc.read_text("utf-8"))["data"]["ledger"]
            return read_chunk(content, digest)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    raise UnreadableError(f"no slot of {kind} holds the content the head names")


def read_statements(
    directory: Path, entry_id: str, head: Document
) -> tuple[Statement, ...]:
    parsed = parse_head(head.state["ledger"])
    chunks = {
        entry.key: _chunk(
            directory,
            entry_id,
            f"chunk-{entry.key.number}-{entry.key.generation}",
            entry.digest,
        )
        for entry in parsed.chunks
    }
    ledger, _layout = assemble(parsed, chunks)
    return tuple(ledger.statements)


def snapshot(config_dir: Path, entry_id: str) -> Snapshot:
    """What a start from these files restores. UnreadableError if nothing can be."""
    directory = storage_dir(config_dir)
    head = read_document(directory, entry_id, "ledger")
    if head is None:
        raise UnreadableError("no ledger head")
    statements = read_statements(directory, entry_id, head)
    live = read_document(directory, entry_id, "live")
    source = head
    if (
        live is not None
        and live.state.get("ledger_revision") == head.sequence
        and live.state["billing"]["next_seq"] == head.state["billing"]["next_seq"]
    ):
        source = live
    state = source.state
    meter = state["meter"]
    billing = state["billing"]
    open_period = billing["open_period"]
    outbox_doc = read_document(directory, entry_id, "outbox")
    return Snapshot(
        head_sequence=head.sequence,
        statements=statements,
        live_used=source is live,
        saved_at=source.saved_at,
        meter_j=parse_fraction(meter["energy_j"], "energy_j"),
        covered_ns=int(meter["covered_ns"]),
        last_sample_wall=meter.get("last_sample_wall"),
        billed_j=parse_fraction(state["billed_energy_j"], "billed_energy_j"),
        open_j=sum(
            (parse_fraction(s["energy_j"], "energy_j") for s in open_period["slices"]),
            Fraction(0),
        ),
        open_start=datetime.fromisoformat(open_period["start"]),
        open_end=datetime.fromisoformat(open_period["end"]),
        carry=parse_fraction(billing["carry"], "carry"),
        next_seq=int(billing["next_seq"]),
        outbox=None if outbox_doc is None else OutboxState.from_dict(outbox_doc.state),
    )


def outbox_statuses(config_dir: Path, entry_id: str) -> dict[str, str]:
    """Payment id -> status in the newest outbox slot (cheap, for aiming)."""
    doc = read_document(storage_dir(config_dir), entry_id, "outbox")
    if doc is None:
        return {}
    try:
        return {str(p["id"]): str(p["status"]) for p in doc.state["payments"]}
    except (KeyError, TypeError):
        return {}


def newest_save(config_dir: Path, entry_id: str) -> datetime | None:
    """When the live document or the head was last written (cheap, for aiming)."""
    directory = storage_dir(config_dir)
    found = [
        doc.saved_at
        for kind in ("live", "ledger")
        if (doc := read_document(directory, entry_id, kind)) is not None
    ]
    return max(found) if found else None
