"""How the ledger is laid out in storage so that a close writes little.

Older statements live in **sealed chunks**, each version written once to its
own document; a small **head** is written at every close. Open statements are
sealed :data:`CHUNK_SIZE` at a time, and neighbouring small chunks are merged
into chunks of :data:`MERGE_SIZE` or more, so the index stays short. The head
holds the statements not yet sealed, the index of the sealed chunks (number,
generation, digest of their content) and two kinds of pending changes:

* the **overlay**: payment state and record of sealed statements that changed
  after their chunk was written (payments move DUE -> SENDING -> PAID long
  after a close);
* **dropped** ids: statements pruned from memory that are still in a file.

Pending changes are folded into a chunk by rewriting it under a new
generation (a new document; the old one is only removed once a head that no
longer names it is durable): when a chunk is settled through, when more than
half of it was pruned, or when the pending changes of all chunks exceed
:data:`PENDING_BUDGET`. A chunk with nothing left in memory is removed.

Everything here is pure: :func:`plan_save` says which chunks to write and what
the head holds; :func:`assemble` rebuilds the ledger from a head and the
chunks it names. The shell does the I/O: chunks first, then the head, then
the garbage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
import hashlib
import json
import re
from typing import Any

from .ledger import Ledger, LedgerFormatError, PaymentState, Statement
from .numbers import is_int

LAYOUT_VERSION = 2  # version 0 and 1 were one document holding every statement
# Open statements are sealed this many at a time (the head holds fewer)...
CHUNK_SIZE = 10
# ... and neighbouring small chunks merged into one of this many or more.
MERGE_SIZE = 100
# Overlay entries plus dropped ids, over all chunks, before the largest folds.
PENDING_BUDGET = 100

type PaymentRecord = tuple[PaymentState, Mapping[str, Any] | None]

_CHUNK_ENTRY = re.compile(r"(?P<number>\d+)-(?P<generation>\d+)-(?P<digest>[0-9a-f]+)")


@dataclass(frozen=True, slots=True, order=True)
class ChunkKey:
    """Names one written version of a chunk: its number and generation."""

    number: int
    generation: int


@dataclass(frozen=True, slots=True)
class SealedChunk:
    """What a stored chunk holds, as far as planning needs to know."""

    key: ChunkKey
    digest: str
    ids: tuple[str, ...]
    # Payment state and record of each statement as written in the chunk.
    recorded: Mapping[str, PaymentRecord]


@dataclass(frozen=True, slots=True)
class Layout:
    """The stored layout as of the last head written (or read)."""

    chunks: tuple[SealedChunk, ...] = ()
    next_chunk: int = 0
    # Chunk versions no head names any more: removed once a head is durable.
    garbage: frozenset[ChunkKey] = frozenset()

    def collected(self) -> Layout:
        """This layout once its garbage has been removed."""
        return replace(self, garbage=frozenset())


@dataclass(frozen=True, slots=True)
class ChunkWrite:
    """A chunk document to write before the head that names it."""

    key: ChunkKey
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SavePlan:
    """Chunk documents to write, then the head, then the layout it leaves."""

    writes: tuple[ChunkWrite, ...]
    head: dict[str, Any]
    layout: Layout


@dataclass(frozen=True, slots=True)
class HeadEntry:
    """One sealed chunk as the head names it."""

    key: ChunkKey
    digest: str
    dropped: frozenset[str]


@dataclass(frozen=True, slots=True)
class Head:
    """A parsed head: what to read to rebuild the ledger."""

    chunks: tuple[HeadEntry, ...]
    next_chunk: int
    overlay: Mapping[str, PaymentRecord]
    open: tuple[Statement, ...]
    garbage: frozenset[ChunkKey] = field(default_factory=frozenset)
    # Read from a single-document ledger (version 0 or 1): write it chunked.
    legacy: bool = False


def chunk_digest(content: object) -> str:
    """Digest of a chunk document's content, independent of key order."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def chunk_content(statements: Iterable[Statement]) -> dict[str, Any]:
    """A chunk document's content: a ledger of its statements, in order."""
    return Ledger(statements).to_dict()


def _record_of(statement: Statement) -> PaymentRecord:
    return statement.payment_state, statement.payment


def _seal(
    key: ChunkKey, statements: Sequence[Statement]
) -> tuple[SealedChunk, ChunkWrite]:
    content = chunk_content(statements)
    chunk = SealedChunk(
        key=key,
        digest=chunk_digest(content),
        ids=tuple(s.id for s in statements),
        recorded={s.id: _record_of(s) for s in statements},
    )
    return chunk, ChunkWrite(key, content)


@dataclass(slots=True)
class _Item:
    """One chunk of the layout being planned: stored already, or to write."""

    members: list[Statement]
    # The stored version, None for a chunk sealed by this plan.
    stored: SealedChunk | None = None
    dropped: list[str] = field(default_factory=list)
    overlay: dict[str, PaymentRecord] = field(default_factory=dict)
    # Stored versions this one replaces (a fold or a merge): garbage once written.
    replaces: list[SealedChunk] = field(default_factory=list)
    write: bool = False

    @property
    def weight(self) -> int:
        return len(self.dropped) + len(self.overlay)

    def wants_fold(self) -> bool:
        """Settled through with changes pending, or more than half pruned."""
        settled_through = bool(self.overlay) and all(s.settled for s in self.members)
        total = len(self.members) + len(self.dropped)
        return settled_through or len(self.dropped) > total // 2


def _measure(chunk: SealedChunk, ledger: Ledger) -> _Item:
    members = [s for i in chunk.ids if (s := ledger.get(i)) is not None]
    return _Item(
        members=members,
        stored=chunk,
        dropped=[i for i in chunk.ids if ledger.get(i) is None],
        overlay={
            s.id: _record_of(s)
            for s in members
            if _record_of(s) != chunk.recorded[s.id]
        },
    )


def _merge_small(items: list[_Item], merge: int) -> list[_Item]:
    """Merge runs of neighbouring chunks under ``merge`` statements.

    A run is merged as soon as it holds ``merge`` statements, so the index
    has few entries: chunks of at least ``merge`` statements, and a tail of
    small ones holding fewer than ``merge`` together.
    """
    merged: list[_Item] = []
    run: list[_Item] = []
    for item in items:
        if len(item.members) >= merge:
            merged += run
            run = []
            merged.append(item)
            continue
        run.append(item)
        if len(run) > 1 and sum(len(i.members) for i in run) >= merge:
            merged.append(
                _Item(
                    members=[s for i in run for s in i.members],
                    replaces=[i.stored for i in run if i.stored is not None],
                    write=True,
                )
            )
            run = []
    return merged + run


def plan_save(
    layout: Layout,
    ledger: Ledger,
    *,
    size: int = CHUNK_SIZE,
    merge: int = MERGE_SIZE,
    budget: int = PENDING_BUDGET,
) -> SavePlan:
    """What to write so that storage holds ``ledger``, starting from ``layout``.

    Statements are only ever appended to the ledger or pruned from it, so the
    sealed chunks hold its oldest statements and the rest is open. Open
    statements are sealed ``size`` at a time; neighbouring chunks are merged
    into chunks of ``merge`` or more.
    """
    if size < 1 or merge < 1 or budget < 0:
        raise ValueError("chunk sizes >= 1 and budget >= 0")
    garbage = set(layout.garbage)
    items: list[_Item] = []
    in_chunks: set[str] = set()
    for chunk in layout.chunks:
        item = _measure(chunk, ledger)
        if not item.members:
            # A crash may have left the next generation unnamed: remove it too.
            garbage |= {
                chunk.key,
                replace(chunk.key, generation=chunk.key.generation + 1),
            }
            continue
        in_chunks.update(s.id for s in item.members)
        items.append(item)

    open_statements = [s for s in ledger if s.id not in in_chunks]
    while len(open_statements) >= size:
        items.append(_Item(members=open_statements[:size], write=True))
        open_statements = open_statements[size:]
    items = _merge_small(items, merge)

    # Fold what must be, then the heaviest until the pending changes fit.
    waiting = [i for i in items if not i.write]
    for item in waiting:
        item.write = item.wants_fold()
    total = sum(i.weight for i in waiting if not i.write)
    for item in sorted(waiting, key=lambda i: i.weight, reverse=True):
        if total <= budget:
            break
        if not item.write:
            item.write = True
            total -= item.weight

    writes: list[ChunkWrite] = []
    chunks: list[SealedChunk] = []
    next_chunk = layout.next_chunk
    for item in items:
        if not item.write and item.stored is not None:
            chunks.append(item.stored)
            continue
        replaced = item.replaces or ([item.stored] if item.stored else [])
        if replaced:
            first = replaced[0].key
            key = replace(first, generation=first.generation + 1)
        else:
            key = ChunkKey(next_chunk, 0)
            next_chunk += 1
        garbage.update(c.key for c in replaced)
        chunk, write = _seal(key, item.members)
        writes.append(write)
        chunks.append(chunk)
        item.dropped, item.overlay = [], {}

    head = {
        "version": LAYOUT_VERSION,
        "next_chunk": next_chunk,
        # One short line per chunk: the index is what grows with history.
        "chunks": [f"{c.key.number}-{c.key.generation}-{c.digest}" for c in chunks],
        "dropped": {
            str(c.key.number): i.dropped
            for c, i in zip(chunks, items, strict=True)
            if i.dropped
        },
        "overlay": {
            statement_id: {"payment_state": state.value, "payment": _plain(payment)}
            for i in items
            for statement_id, (state, payment) in i.overlay.items()
        },
        "open": Ledger(open_statements).to_dict(),
        "garbage": [[k.number, k.generation] for k in sorted(garbage)],
    }
    return SavePlan(
        writes=tuple(writes),
        head=head,
        layout=Layout(tuple(chunks), next_chunk, frozenset(garbage)),
    )


def _plain(payment: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if payment is None else dict(payment)


def parse_head(data: object) -> Head:
    """Read a head, or a whole single-document ledger of an older version.

    Raises LedgerFormatError on any defect.
    """
    if isinstance(data, dict) and data.get("version", 0) in (0, 1):
        ledger = Ledger.from_dict(data)
        return Head((), 0, {}, tuple(ledger), legacy=True)
    try:
        return _parse_head(data)
    except (ValueError, TypeError, KeyError) as err:
        if isinstance(err, LedgerFormatError):
            raise
        raise LedgerFormatError(f"ledger head is invalid: {err}") from err


# One check per field of the stored head, in order: kept flat to audit.
def _parse_head(data: object) -> Head:  # noqa: C901, PLR0912
    if not isinstance(data, dict):
        raise ValueError("the head is not an object")
    if data.get("version") != LAYOUT_VERSION:
        raise LedgerFormatError(
            f"ledger version {data.get('version')!r} is not known to this code"
        )
    next_chunk = _non_negative(data["next_chunk"], "next_chunk")
    entries: list[HeadEntry] = []
    if not isinstance(data["dropped"], dict):
        raise ValueError("dropped is not an object")
    dropped_data = dict(data["dropped"])  # entries are taken out as they are used
    for item in _list(data["chunks"], "chunks"):
        match = _CHUNK_ENTRY.fullmatch(item) if isinstance(item, str) else None
        if match is None:
            raise ValueError(f"a chunk entry is number-generation-digest: {item!r}")
        key = ChunkKey(int(match["number"]), int(match["generation"]))
        if key.number >= next_chunk:
            raise ValueError(f"chunk {key.number} is not below next_chunk")
        dropped = _list(dropped_data.pop(str(key.number), []), "dropped")
        if not all(isinstance(i, str) for i in dropped):
            raise ValueError("dropped ids are strings")
        entries.append(HeadEntry(key, match["digest"], frozenset(dropped)))
    if dropped_data:
        raise ValueError(f"ids dropped from chunks not in use: {sorted(dropped_data)}")
    numbers = [e.key.number for e in entries]
    if numbers != sorted(set(numbers)):
        raise ValueError("chunks must be in ascending order, each once")
    overlay_data = data["overlay"]
    if not isinstance(overlay_data, dict):
        raise ValueError("overlay is not an object")
    overlay: dict[str, PaymentRecord] = {}
    for statement_id, item in overlay_data.items():
        if not isinstance(item, dict) or set(item) != {"payment_state", "payment"}:
            raise ValueError(f"overlay of {statement_id!r} is malformed")
        state = item["payment_state"]
        payment = item["payment"]
        if state not in PaymentState._value2member_map_:
            raise ValueError(f"unknown payment state {state!r}")
        if payment is not None and not isinstance(payment, dict):
            raise ValueError("an overlay payment is an object or null")
        overlay[statement_id] = (PaymentState(state), payment)
    garbage: set[ChunkKey] = set()
    for item in _list(data["garbage"], "garbage"):
        pair = _list(item, "garbage entry")
        if len(pair) != 2:
            raise ValueError("a garbage entry is [number, generation]")
        garbage.add(
            ChunkKey(
                _non_negative(pair[0], "number"), _non_negative(pair[1], "generation")
            )
        )
    if garbage & {e.key for e in entries}:
        raise ValueError("a chunk in use is listed as garbage")
    return Head(
        chunks=tuple(entries),
        next_chunk=next_chunk,
        overlay=overlay,
        open=tuple(Ledger.from_dict(data["open"])),
        garbage=frozenset(garbage),
    )


def read_chunk(content: object, digest: str) -> tuple[Statement, ...]:
    """The statements of a chunk document, if it is the one the head names.

    Raises LedgerFormatError when the content is malformed or not that version.
    """
    if chunk_digest(content) != digest:
        raise LedgerFormatError("chunk content does not match the digest in the head")
    return tuple(Ledger.from_dict(content))


def assemble(
    head: Head, chunks: Mapping[ChunkKey, Sequence[Statement]]
) -> tuple[Ledger, Layout]:
    """The ledger a head and its chunks stand for, and the layout they form.

    ``chunks`` holds each chunk's statements as read by :func:`read_chunk`.
    Raises LedgerFormatError when they do not fit together.
    """
    ledger = Ledger()
    sealed: list[SealedChunk] = []
    applied: set[str] = set()
    try:
        for entry in head.chunks:
            statements = chunks[entry.key]
            ids = tuple(s.id for s in statements)
            if not entry.dropped <= set(ids):
                raise ValueError(f"chunk {entry.key.number} drops ids it does not hold")
            for stored in statements:
                if stored.id in entry.dropped:
                    continue
                if (change := head.overlay.get(stored.id)) is None:
                    ledger.add(stored)
                    continue
                state, payment = change
                ledger.add(replace(stored, payment_state=state, payment=payment))
                applied.add(stored.id)
            sealed.append(
                SealedChunk(
                    key=entry.key,
                    digest=entry.digest,
                    ids=ids,
                    recorded={s.id: _record_of(s) for s in statements},
                )
            )
        if unknown := set(head.overlay) - applied:
            raise ValueError(
                f"overlay names statements no chunk holds: {sorted(unknown)}"
            )
        for statement in head.open:
            ledger.add(statement)
    except (ValueError, TypeError, KeyError) as err:
        raise LedgerFormatError(f"ledger chunks do not fit the head: {err}") from err
    return ledger, Layout(tuple(sealed), head.next_chunk, head.garbage)


def _non_negative(value: object, name: str) -> int:
    if not is_int(value) or value < 0:
        raise ValueError(f"{name} is an int >= 0, not {value!r}")
    return value


def _list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value
