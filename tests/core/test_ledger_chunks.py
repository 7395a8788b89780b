"""The chunked ledger layout: what a save writes and how a load rebuilds it.

A tiny in-memory disk plays the shell's part (chunks first, then the head,
then garbage removal), so crashes can be injected between any two writes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.ledger import (
    Ledger,
    LedgerFormatError,
    PaymentState,
    PriceSlice,
    Statement,
)
from custom_components.iota_energy.core.ledger_chunks import (
    CHUNK_SIZE,
    MERGE_SIZE,
    PENDING_BUDGET,
    ChunkKey,
    Head,
    HeadEntry,
    Layout,
    SealedChunk,
    assemble,
    chunk_digest,
    parse_head,
    plan_save,
    read_chunk,
)
from tests.core.test_ledger import version_0_shape

T0 = datetime(2025, 3, 1, tzinfo=UTC)
PRICE = Fraction(720_000_000)


def statement(number: int, due: int = 1) -> Statement:
    """A one-minute statement with ``due`` IOTA due (0: nothing due)."""
    energy = Fraction(due, 200)  # J; at PRICE (200 IOTA/J) that owes ``due`` IOTA
    slices = (PriceSlice(PRICE, energy, "static"),) if due else ()
    start = T0 + timedelta(minutes=number)
    return Statement(
        id=f"s{number}",
        period_start=start,
        period_end=start + timedelta(minutes=1),
        closed_at=start + timedelta(minutes=1, seconds=1),
        energy_j=energy if due else Fraction(0),
        slices=slices,
        owed=Fraction(due),
        carried_in=Fraction(0),
        due_iota=due,
        carried_out=Fraction(0),
        complete=True,
        price_flags=(),
        payment_state=PaymentState.DUE if due else PaymentState.NOTHING_DUE,
    )


class CrashError(Exception):
    """The process died here."""


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


@dataclass
class Disk:
    """Chunk documents and one head, stored as JSON would store them."""

    files: dict[ChunkKey, Any] = field(default_factory=dict)
    head: Any = None
    writes: int = 0
    # The layout the last completed save left (before its garbage went).
    planned: Layout | None = None

    def save(
        self,
        layout: Layout,
        ledger: Ledger,
        *,
        crash_at: int = -1,
        size: int = CHUNK_SIZE,
        merge: int = MERGE_SIZE,
        budget: int = PENDING_BUDGET,
    ) -> Layout:
        """Chunks, then head, then garbage; ``crash_at``: die before write n."""
        plan = plan_save(layout, ledger, size=size, merge=merge, budget=budget)
        steps = [*plan.writes, None]
        for number, write in enumerate(steps):
            if number == crash_at:
                raise CrashError
            if write is None:
                self.head = _json(plan.head)
            else:
                self.files[write.key] = _json(write.content)
        self.planned = plan.layout
        for key in plan.layout.garbage:
            self.files.pop(key, None)
        return plan.layout.collected()

    def load(self) -> tuple[Ledger, Layout]:
        head = parse_head(_json(self.head))
        chunks = {e.key: read_chunk(self.files[e.key], e.digest) for e in head.chunks}
        return assemble(head, chunks)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("close"), st.integers(1, 7), st.integers(0, 3)),
        st.tuples(
            st.just("pay"), st.integers(0, 10_000), st.sampled_from(list(PaymentState))
        ),
        st.tuples(st.just("prune"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("crash"), st.integers(0, 6), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    ops=OPS, size=st.integers(1, 6), merge=st.integers(1, 14), budget=st.integers(0, 8)
)
def test_every_save_or_crash_loads_back_the_last_saved_ledger(
    ops: list[tuple[str, int, Any]], size: int, merge: int, budget: int
) -> None:
    """Closes, payment changes, pruning and crashes in any order lose nothing.

    After each save the disk loads back exactly the ledger in memory (order,
    amounts, payment states); after a crash at any write, exactly the ledger
    of the last completed save. The head stays within its bounds, and once a
    save completes no chunk file is left that no head names (but a crash's).
    """
    disk = Disk()
    ledger = Ledger()
    layout = Layout()
    saved: list[Statement] = []
    number = 0
    orphans_possible = False
    for op, a, b in ops:
        if op == "close":
            for _ in range(a):
                ledger.add(statement(number, due=b))
                number += 1
        elif op == "pay" and len(ledger):
            target = ledger.statements[a % len(ledger)]
            state = PaymentState(b)
            if (target.due_iota == 0) == (state is PaymentState.NOTHING_DUE):
                ledger.set_payment_state(target.id, state, {"bundle": f"B{a}"})
        elif op == "prune":
            ledger.prune(a)
        if op == "crash":
            try:
                disk.save(
                    layout, ledger, crash_at=a, size=size, merge=merge, budget=budget
                )
            except CrashError:
                orphans_possible = True
                if disk.head is None:
                    ledger, layout = Ledger(), Layout()
                else:
                    ledger, layout = disk.load()
                assert ledger.statements == saved
                continue
        layout = disk.save(layout, ledger, size=size, merge=merge, budget=budget)
        saved = ledger.statements
        loaded, loaded_layout = disk.load()
        assert loaded.statements == saved
        # The load knows the layout exactly as the save planned it...
        assert loaded_layout == disk.planned
        # ... whose chunks hold the oldest statements in order, the head the rest.
        in_chunks = [i for c in loaded_layout.chunks for i in c.ids if ledger.get(i)]
        opened = [s["id"] for s in disk.head["open"]["statements"]]
        assert in_chunks + opened == [s.id for s in saved]

        head = disk.head
        assert len(head["open"]["statements"]) < size
        pending = len(head["overlay"]) + sum(len(d) for d in head["dropped"].values())
        assert pending <= budget
        # Few index entries: chunks of ``merge`` or more, and a small tail.
        small = [c for c in layout.chunks if len(c.ids) < merge]
        assert sum(len(c.ids) for c in small) < 2 * merge + len(small) * size
        named = {ChunkKey(*map(int, c.split("-")[:2])) for c in head["chunks"]}
        assert named <= set(disk.files)
        if not orphans_possible:
            assert set(disk.files) == named


def test_a_close_writes_a_chunk_only_every_chunk_size_statements() -> None:
    ledger, layout, disk = Ledger(), Layout(), Disk()
    written = []
    for number in range(3 * CHUNK_SIZE):
        ledger.add(statement(number))
        plan = plan_save(layout, ledger)
        written.append(len(plan.writes))
        layout = disk.save(layout, ledger)
    assert sum(written) == 3
    assert [i for i, n in enumerate(written) if n] == [
        CHUNK_SIZE - 1,
        2 * CHUNK_SIZE - 1,
        3 * CHUNK_SIZE - 1,
    ]
    assert disk.head["open"]["statements"] == []
    assert len(disk.files) == 3


def _head_bytes(ledger: Ledger, layout: Layout) -> tuple[int, Layout]:
    plan = plan_save(layout, ledger)
    return len(json.dumps(plan.head)), plan.layout.collected()


def test_the_head_does_not_grow_with_history_when_statements_are_paid() -> None:
    """Paid and pruned at a retention of 200: the head at close 3000 is no bigger."""
    ledger, layout = Ledger(), Layout()
    sizes = []
    for number in range(3000):
        ledger.add(statement(number))
        if number >= 3:  # paid a few periods after closing
            ledger.set_payment_state(f"s{number - 3}", PaymentState.PAID, {"b": "X"})
        ledger.prune(200)
        size, layout = _head_bytes(ledger, layout)
        sizes.append(size)
    # (Longer ids and times cost a few bytes: 2 % slack.)
    assert max(sizes[2000:]) <= 1.02 * max(sizes[300:1000])
    assert len(layout.chunks) <= 200 // CHUNK_SIZE + 2


def test_unpaid_history_costs_the_head_a_few_bytes_per_statement() -> None:
    """Never paid, never pruned: the index grows, far slower than the ledger."""
    ledger, layout = Ledger(), Layout()
    for number in range(5000):
        ledger.add(statement(number))
        size, layout = _head_bytes(ledger, layout)
    whole = len(json.dumps(ledger.to_dict()))
    assert size < whole / 100
    # What remains grows with the number of chunks only.
    assert size < CHUNK_SIZE * 1000 + len(layout.chunks) * 120


def test_a_payment_in_a_sealed_chunk_goes_to_the_overlay_then_folds() -> None:
    ledger = Ledger(statement(n) for n in range(CHUNK_SIZE + 1))
    disk = Disk()
    layout = disk.save(Layout(), ledger)
    (sealed,) = layout.chunks

    ledger.set_payment_state("s3", PaymentState.SENDING, {"bundle": "B"})
    plan = plan_save(layout, ledger)
    assert plan.writes == ()
    assert plan.head["overlay"] == {
        "s3": {"payment_state": "sending", "payment": {"bundle": "B"}}
    }
    layout = disk.save(layout, ledger)
    assert disk.load()[0].get("s3") == ledger.get("s3")

    # Settled through: the chunk is rewritten once, as a new generation.
    for n in range(CHUNK_SIZE):
        ledger.set_payment_state(f"s{n}", PaymentState.PAID, {"bundle": "B"})
    plan = plan_save(layout, ledger)
    (write,) = plan.writes
    assert write.key == ChunkKey(sealed.key.number, 1)
    assert plan.head["overlay"] == {}
    assert plan.layout.garbage == {sealed.key}
    layout = disk.save(layout, ledger)
    assert set(disk.files) == {write.key}
    assert disk.load()[0].statements == ledger.statements
    assert plan_save(layout, ledger).writes == ()


def test_small_chunks_are_merged_once_they_hold_enough() -> None:
    ledger, layout, disk = Ledger(), Layout(), Disk()
    for number in range(35):
        ledger.add(statement(number))
        layout = disk.save(layout, ledger, size=4, merge=12)
    # 0-11 and 12-23 merged (as generation 1 of their first chunk), then small ones.
    assert [len(c.ids) for c in layout.chunks] == [12, 12, 4, 4]
    assert [c.key for c in layout.chunks][:2] == [ChunkKey(0, 1), ChunkKey(2, 1)]
    assert set(disk.files) == {c.key for c in layout.chunks}
    assert disk.load()[0].statements == ledger.statements


def test_too_many_pending_changes_fold_the_chunk_with_the_most() -> None:
    ledger = Ledger(statement(n) for n in range(3 * 10))
    layout = plan_save(Layout(), ledger, size=10, budget=4).layout
    for n in (0, 11, 12, 13, 14):
        ledger.set_payment_state(f"s{n}", PaymentState.SENDING)
    plan = plan_save(layout, ledger, size=10, budget=4)
    assert [w.key for w in plan.writes] == [ChunkKey(1, 1)]
    assert set(plan.head["overlay"]) == {"s0"}


def test_pruning_removes_whole_chunks_and_records_partial_ones() -> None:
    ledger = Ledger(statement(n, due=0) for n in range(25))
    layout = plan_save(Layout(), ledger, size=10, budget=10).layout.collected()
    ledger.prune(12)  # drops s0..s12: chunk 0 entirely, 3 of chunk 1
    plan = plan_save(layout, ledger, size=10, budget=10)
    assert plan.writes == ()
    assert plan.layout.garbage == {ChunkKey(0, 0), ChunkKey(0, 1)}
    assert plan.head["dropped"] == {"1": ["s10", "s11", "s12"]}
    # Over half of a chunk pruned: it is rewritten with what is left.
    ledger.prune(8)
    plan = plan_save(plan.layout.collected(), ledger, size=10, budget=10)
    (write,) = plan.writes
    assert write.key == ChunkKey(1, 1)
    assert [s["id"] for s in write.content["statements"]] == ["s17", "s18", "s19"]


def test_pruning_never_drops_unsettled_statements_from_storage() -> None:
    ledger = Ledger(statement(n, due=n % 2) for n in range(40))
    disk = Disk()
    layout = disk.save(Layout(), ledger, size=10, budget=10)
    ledger.prune(0)
    disk.save(layout, ledger, size=10, budget=10)
    loaded = disk.load()[0]
    assert [s.id for s in loaded] == [f"s{n}" for n in range(1, 40, 2)]
    assert all(s.payment_state is PaymentState.DUE for s in loaded)


def test_an_old_single_document_ledger_is_read_and_then_chunked() -> None:
    old = Ledger(statement(n) for n in range(2 * CHUNK_SIZE + 5)).to_dict()
    assert old["version"] == 1
    head = parse_head(copy.deepcopy(old))
    assert head.legacy
    ledger, layout = assemble(head, {})
    assert ledger.to_dict() == old
    plan = plan_save(layout, ledger)
    assert len(plan.writes) == 2
    assert len(plan.head["open"]["statements"]) == 5


def test_a_chunk_that_is_not_the_one_named_is_refused() -> None:
    ledger = Ledger(statement(n) for n in range(3))
    plan = plan_save(Layout(), ledger, size=3, budget=3)
    (write,) = plan.writes
    digest = plan.head["chunks"][0].split("-")[2]
    assert digest == chunk_digest(write.content)
    assert [s.id for s in read_chunk(_json(write.content), digest)] == [
        "s0",
        "s1",
        "s2",
    ]
    tampered = _json(write.content)
    tampered["statements"][1]["payment_state"] = "paid"
    with pytest.raises(
        LedgerFormatError,
        match=r"^chunk content does not match the digest in the head$",
    ):
        read_chunk(tampered, digest)


@pytest.mark.parametrize(
    "damage",
    [
        lambda h: h["overlay"].update(
            {"nope": {"payment_state": "paid", "payment": None}}
        ),
        lambda h: h["dropped"].update({"0": ["nope"]}),
        lambda h: h["dropped"].update({"7": ["s1"]}),
        lambda h: h["chunks"].append(h["chunks"][0]),
        lambda h: h["chunks"].append("1-0-X"),
        lambda h: h["garbage"].append([0, 0]),
        lambda h: h.update(next_chunk=0),
        lambda h: h.update(version=3),
        lambda h: h["open"]["statements"].append(h["open"]["statements"][0]),
        lambda h: h["overlay"].update(
            {"s1": {"payment_state": "nothing_due", "payment": None}}
        ),
        lambda h: h.pop("overlay"),
    ],
)
def test_a_head_that_does_not_fit_its_chunks_is_a_format_error(damage: Any) -> None:
    ledger = Ledger(statement(n) for n in range(5))
    disk = Disk()
    disk.save(Layout(), ledger, size=3, budget=3)
    damage(disk.head)
    with pytest.raises(LedgerFormatError):
        disk.load()


def _saved_head() -> dict[str, Any]:
    """A valid head of one sealed chunk (statements 0-2) and two open ones."""
    disk = Disk()
    disk.save(Layout(), Ledger(statement(n) for n in range(5)), size=3, budget=3)
    head: dict[str, Any] = _json(disk.head)
    return head


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda h: h.update(next_chunk=-1), "next_chunk is an int >= 0, not -1"),
        (lambda h: h.update(next_chunk=True), "next_chunk is an int >= 0, not True"),
        (lambda h: h.update(dropped=[]), "dropped is not an object"),
        (lambda h: h.update(chunks={}), "chunks must be a list"),
        (
            lambda h: h["chunks"].append(7),
            "a chunk entry is number-generation-digest: 7",
        ),
        (
            lambda h: h["chunks"].append("0-0-"),
            "a chunk entry is number-generation-digest: '0-0-'",
        ),
        (lambda h: h.update(next_chunk=0), "chunk 0 is not below next_chunk"),
        (lambda h: h["dropped"].update({"0": "s1"}), "dropped must be a list"),
        (lambda h: h["dropped"].update({"0": [1]}), "dropped ids are strings"),
        (
            lambda h: h["dropped"].update({"3": ["s1"], "1": []}),
            "ids dropped from chunks not in use: ['1', '3']",
        ),
        (
            lambda h: h.update(next_chunk=3, chunks=["2-0-ab", "1-0-ab"]),
            "chunks must be in ascending order, each once",
        ),
        (lambda h: h.update(overlay=[]), "overlay is not an object"),
        (
            lambda h: h["overlay"].update({"s1": {"payment_state": "paid"}}),
            "overlay of 's1' is malformed",
        ),
        (
            lambda h: h["overlay"].update({"s1": ["paid", None]}),
            "overlay of 's1' is malformed",
        ),
        (
            lambda h: h["overlay"].update(
                {"s1": {"payment_state": "owed", "payment": None}}
            ),
            "unknown payment state 'owed'",
        ),
        (
            lambda h: h["overlay"].update(
                {"s1": {"payment_state": "paid", "payment": "P000001"}}
            ),
            "an overlay payment is an object or null",
        ),
        (lambda h: h.update(garbage={}), "garbage must be a list"),
        (lambda h: h["garbage"].append(3), "garbage entry must be a list"),
        (lambda h: h["garbage"].append([3]), "a garbage entry is [number, generation]"),
        (
            lambda h: h["garbage"].append([3, 0, 1]),
            "a garbage entry is [number, generation]",
        ),
        (lambda h: h["garbage"].append([-3, 0]), "number is an int >= 0, not -3"),
        (lambda h: h["garbage"].append([3, "0"]), "generation is an int >= 0, not '0'"),
        (lambda h: h["garbage"].append([0, 0]), "a chunk in use is listed as garbage"),
    ],
)
def test_each_defect_of_a_head_is_named(damage: Any, message: str) -> None:
    head = _saved_head()
    damage(head)
    with pytest.raises(LedgerFormatError) as caught:
        parse_head(head)
    assert str(caught.value) == f"ledger head is invalid: {message}"


def test_a_head_that_is_no_object_or_of_another_version_is_named() -> None:
    with pytest.raises(LedgerFormatError) as caught:
        parse_head(["version", 2])
    assert str(caught.value) == "ledger head is invalid: the head is not an object"
    head = _saved_head() | {"version": 3}
    with pytest.raises(LedgerFormatError) as caught:
        parse_head(head)
    assert str(caught.value) == "ledger version 3 is not known to this code"


def test_a_valid_head_is_read_field_by_field() -> None:
    head = _saved_head()
    head["dropped"] = {"0": ["s1"]}
    head["overlay"] = {
        "s2": {"payment_state": "paid", "payment": {"id": "P000001"}},
        "s9": {"payment_state": "failed", "payment": None},
    }
    head["garbage"] = [[0, 1], [4, 2]]
    parsed = parse_head(head)
    (entry,) = parsed.chunks
    assert entry.key == ChunkKey(0, 0)
    assert entry.digest == head["chunks"][0].split("-")[2]
    assert entry.dropped == frozenset({"s1"})
    assert parsed.next_chunk == 1
    assert parsed.overlay == {
        "s2": (PaymentState.PAID, {"id": "P000001"}),
        "s9": (PaymentState.FAILED, None),
    }
    assert parsed.garbage == frozenset({ChunkKey(0, 1), ChunkKey(4, 2)})
    assert [s.id for s in parsed.open] == ["s3", "s4"]
    assert not parsed.legacy


def test_a_chunk_digest_keeps_its_stored_format() -> None:
    """Digests are stored in heads: the canonical text and its length never change.

    Canonical: keys sorted at every level, no spaces, non-ASCII escaped
    (``{"a":[1,"\\u00e9"],"b":{"c":null,"d":2}}`` here); the first 32 hex
    digits of its SHA-256. A known answer, so a head written by an older
    release still names its chunks.
    """
    content = {"b": {"d": 2, "c": None}, "a": [1, "é"]}
    assert chunk_digest(content) == "10fa70b92a081afdfccba8a0adf8abfe"
    reordered = {"a": [1, "é"], "b": {"c": None, "d": 2}}
    assert chunk_digest(reordered) == chunk_digest(content)
    assert chunk_digest({"a": [2, "é"], "b": {"c": None, "d": 2}}) != chunk_digest(
        content
    )


def test_a_ledger_from_before_versions_is_read_as_the_old_single_document() -> None:
    """No ``version`` key: version 0, migrated like any old single document."""
    old = version_0_shape()
    assert "version" not in old
    head = parse_head(copy.deepcopy(old))
    assert head.legacy
    assert head.next_chunk == 0
    ledger, _layout = assemble(head, {})
    assert ledger.to_dict() == Ledger.from_dict(old).to_dict()
    assert len(ledger) == len(old["statements"])


# --- Exact plans: which chunks are written, with what, and the head they leave ---


def _entry(key: ChunkKey, statements: list[Statement]) -> str:
    """A head's index entry for a chunk of ``statements`` (digest pinned above)."""
    content = Ledger(statements).to_dict()
    return f"{key.number}-{key.generation}-{chunk_digest(content)}"


def _head(
    *,
    next_chunk: int,
    chunks: list[str],
    open_: list[Statement],
    dropped: dict[str, list[str]] | None = None,
    overlay: dict[str, Any] | None = None,
    garbage: list[list[int]] | None = None,
) -> dict[str, Any]:
    """A head written out field by field, as its stored format says."""
    return {
        "version": 2,
        "next_chunk": next_chunk,
        "chunks": chunks,
        "dropped": dropped or {},
        "overlay": overlay or {},
        "open": Ledger(open_).to_dict(),
        "garbage": garbage or [],
    }


def _settled(number: int) -> Statement:
    return statement(number, due=0)


@pytest.mark.parametrize(
    ("size", "merge", "budget"), [(1, 0, 0), (1, 1, -1), (0, 1, 0), (-5, 0, -1)]
)
def test_sizes_below_their_bounds_are_refused(
    size: int, merge: int, budget: int
) -> None:
    with pytest.raises(ValueError, match=r"^chunk sizes >= 1 and budget >= 0$"):
        plan_save(Layout(), Ledger(), size=size, merge=merge, budget=budget)


def test_the_smallest_sizes_allowed_seal_each_statement_alone() -> None:
    """size 1, merge 1, budget 0: every statement its own chunk, nothing pending."""
    statements = [statement(0), statement(1)]
    plan = plan_save(Layout(), Ledger(statements), size=1, merge=1, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 0), Ledger(statements[:1]).to_dict()),
        (ChunkKey(1, 0), Ledger(statements[1:]).to_dict()),
    ]
    assert plan.head == _head(
        next_chunk=2,
        chunks=[
            _entry(ChunkKey(0, 0), statements[:1]),
            _entry(ChunkKey(1, 0), statements[1:]),
        ],
        open_=[],
    )


def test_a_fresh_ledger_is_sealed_size_at_a_time_and_the_rest_left_open() -> None:
    statements = [statement(n) for n in range(25)]
    plan = plan_save(Layout(), Ledger(statements), size=10, merge=100, budget=5)
    first, second = statements[:10], statements[10:20]
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 0), Ledger(first).to_dict()),
        (ChunkKey(1, 0), Ledger(second).to_dict()),
    ]
    assert plan.head == _head(
        next_chunk=2,
        chunks=[_entry(ChunkKey(0, 0), first), _entry(ChunkKey(1, 0), second)],
        open_=statements[20:],
    )
    layout = plan.layout
    assert layout.next_chunk == 2
    assert layout.garbage == frozenset()
    assert [(c.key, c.ids) for c in layout.chunks] == [
        (ChunkKey(0, 0), tuple(f"s{n}" for n in range(10))),
        (ChunkKey(1, 0), tuple(f"s{n}" for n in range(10, 20))),
    ]
    assert layout.chunks[0].recorded == {
        f"s{n}": (PaymentState.DUE, None) for n in range(10)
    }
    # Saved again unchanged: nothing written, the same head.
    again = plan_save(layout, Ledger(statements), size=10, merge=100, budget=5)
    assert again.writes == ()
    assert again.head == plan.head
    assert again.layout == layout


@pytest.mark.parametrize(("count", "sealed"), [(9, 0), (10, 10), (11, 10)])
def test_open_statements_are_sealed_once_there_are_size_of_them(
    count: int, sealed: int
) -> None:
    statements = [statement(n) for n in range(count)]
    plan = plan_save(Layout(), Ledger(statements), size=10, merge=100, budget=5)
    assert [w.content for w in plan.writes] == (
        [Ledger(statements[:sealed]).to_dict()] if sealed else []
    )
    assert plan.head["open"] == Ledger(statements[sealed:]).to_dict()


def _one_settled_chunk(
    budget: int = 100,
) -> tuple[list[Statement], Layout]:
    """Ten settled statements (nothing due) sealed as chunk 0."""
    statements = [_settled(n) for n in range(10)]
    layout = plan_save(Layout(), Ledger(statements), size=10, budget=budget).layout
    return statements, layout


@pytest.mark.parametrize("kept", [10, 6, 5])
def test_a_chunk_half_pruned_or_less_is_not_rewritten(kept: int) -> None:
    """Dropped ids are recorded in the head while at most half the chunk is gone."""
    statements, layout = _one_settled_chunk()
    ledger = Ledger(statements)
    ledger.prune(kept)
    plan = plan_save(layout, ledger, size=10, budget=100)
    assert plan.writes == ()
    gone = [f"s{n}" for n in range(10 - kept)]
    assert plan.head == _head(
        next_chunk=1,
        chunks=[_entry(ChunkKey(0, 0), statements)],
        open_=[],
        dropped={"0": gone} if gone else {},
    )
    assert plan.layout == layout


@pytest.mark.parametrize("kept", [4, 1])
def test_a_chunk_more_than_half_pruned_is_rewritten_with_what_is_left(
    kept: int,
) -> None:
    statements, layout = _one_settled_chunk()
    ledger = Ledger(statements)
    ledger.prune(kept)
    plan = plan_save(layout, ledger, size=10, budget=100)
    left = statements[10 - kept :]
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 1), Ledger(left).to_dict())
    ]
    assert plan.head == _head(
        next_chunk=1,
        chunks=[_entry(ChunkKey(0, 1), left)],
        open_=[],
        garbage=[[0, 0]],
    )


def test_a_chunk_with_an_odd_number_left_folds_only_past_half() -> None:
    """Nine statements: four pruned is not more than half, five is."""
    statements = [_settled(n) for n in range(9)]
    layout = plan_save(Layout(), Ledger(statements), size=9, budget=100).layout
    ledger = Ledger(statements)
    ledger.prune(5)
    assert plan_save(layout, ledger, size=9, budget=100).writes == ()
    ledger.prune(4)
    (write,) = plan_save(layout, ledger, size=9, budget=100).writes
    assert write.key == ChunkKey(0, 1)
    assert write.content == Ledger(statements[5:]).to_dict()


def test_a_settled_chunk_with_nothing_pending_is_left_alone() -> None:
    statements, layout = _one_settled_chunk()
    plan = plan_save(layout, Ledger(statements), size=10, budget=100)
    assert plan.writes == ()
    assert plan.layout == layout


def test_a_chunk_folds_when_its_last_pending_payment_settles() -> None:
    """Payments pend in the overlay until every statement is settled."""
    statements = [statement(n) for n in range(10)]
    ledger = Ledger(statements)
    layout = plan_save(Layout(), ledger, size=10, budget=100).layout
    for n in range(9):
        ledger.set_payment_state(f"s{n}", PaymentState.PAID, {"bundle": f"B{n}"})
    plan = plan_save(layout, ledger, size=10, budget=100)
    assert plan.writes == ()
    assert plan.head["overlay"] == {
        f"s{n}": {"payment_state": "paid", "payment": {"bundle": f"B{n}"}}
        for n in range(9)
    }
    ledger.set_payment_state("s9", PaymentState.SENDING)
    plan = plan_save(layout, ledger, size=10, budget=100)
    assert plan.writes == ()
    assert plan.head["overlay"]["s9"] == {"payment_state": "sending", "payment": None}
    ledger.set_payment_state("s9", PaymentState.PAID, {"bundle": "B9"})
    plan = plan_save(layout, ledger, size=10, budget=100)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 1), Ledger(ledger.statements).to_dict())
    ]
    assert plan.head == _head(
        next_chunk=1,
        chunks=[_entry(ChunkKey(0, 1), ledger.statements)],
        open_=[],
        garbage=[[0, 0]],
    )


def _weighted_chunks(weights: list[int]) -> tuple[Ledger, Layout]:
    """Chunks of ten due statements, chunk n with ``weights[n]`` payments sending."""
    ledger = Ledger(statement(n) for n in range(10 * len(weights)))
    layout = plan_save(Layout(), ledger, size=10, budget=100).layout
    for number, weight in enumerate(weights):
        for n in range(weight):
            ledger.set_payment_state(f"s{10 * number + n}", PaymentState.SENDING)
    return ledger, layout


@pytest.mark.parametrize(
    ("budget", "folded"),
    [(6, []), (7, []), (5, [1]), (3, [1]), (2, [1, 2]), (1, [1, 2]), (0, [0, 1, 2])],
)
def test_pending_changes_over_the_budget_fold_the_heaviest_chunks_first(
    budget: int, folded: list[int]
) -> None:
    """Weights 1, 3, 2 (6 pending): the heaviest fold until the rest fit."""
    ledger, layout = _weighted_chunks([1, 3, 2])
    plan = plan_save(layout, ledger, size=10, budget=budget)
    assert [w.key for w in plan.writes] == [ChunkKey(n, 1) for n in folded]
    for write in plan.writes:
        members = ledger.statements[10 * write.key.number : 10 * write.key.number + 10]
        assert write.content == Ledger(members).to_dict()
    pending = {
        s.id
        for n in (0, 1, 2)
        if n not in folded
        for s in ledger.statements[10 * n : 10 * n + 10]
        if s.payment_state is PaymentState.SENDING
    }
    assert set(plan.head["overlay"]) == pending
    assert plan.head["garbage"] == [[n, 0] for n in folded]
    assert plan.head["next_chunk"] == 3


@pytest.mark.parametrize(("budget", "folded"), [(4, [0]), (3, [0, 1]), (0, [0, 1, 2])])
def test_a_chunk_that_folds_anyway_does_not_count_against_the_budget(
    budget: int, folded: list[int]
) -> None:
    """Chunk 0 settled through (10 pending) folds; chunks 1 and 2 (3 + 1) must fit."""
    ledger, layout = _weighted_chunks([0, 3, 1])
    for n in range(10):
        ledger.set_payment_state(f"s{n}", PaymentState.PAID)
    plan = plan_save(layout, ledger, size=10, budget=budget)
    assert [w.key for w in plan.writes] == [ChunkKey(n, 1) for n in folded]
    assert plan.head["garbage"] == [[n, 0] for n in folded]


def test_chunks_that_reach_the_merge_size_together_become_one() -> None:
    """Two new chunks of 2 with merge 4: one chunk of 4; with merge 5: two."""
    statements = [statement(n) for n in range(4)]
    plan = plan_save(Layout(), Ledger(statements), size=2, merge=4, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 0), Ledger(statements).to_dict())
    ]
    assert plan.head == _head(
        next_chunk=1, chunks=[_entry(ChunkKey(0, 0), statements)], open_=[]
    )
    plan = plan_save(Layout(), Ledger(statements), size=2, merge=5, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 0), Ledger(statements[:2]).to_dict()),
        (ChunkKey(1, 0), Ledger(statements[2:]).to_dict()),
    ]


def test_stored_chunks_merge_as_the_next_generation_of_the_first() -> None:
    """Stored chunks 0 and 1 (2 each) and a new one of 2 reach merge 5 together."""
    statements = [statement(n) for n in range(6)]
    layout = plan_save(
        Layout(), Ledger(statements[:4]), size=2, merge=5, budget=0
    ).layout
    plan = plan_save(layout, Ledger(statements), size=2, merge=5, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 1), Ledger(statements).to_dict())
    ]
    # No new chunk number is taken: the merge reuses chunk 0's.
    assert plan.head == _head(
        next_chunk=2,
        chunks=[_entry(ChunkKey(0, 1), statements)],
        open_=[],
        garbage=[[0, 0], [1, 0]],
    )


def test_a_chunk_of_merge_size_stands_alone_and_ends_the_run_before_it() -> None:
    """A stored chunk of 2, a new one of 5: merge 5 keeps both, merge 6 joins them."""
    statements = [statement(n) for n in range(7)]
    layout = plan_save(
        Layout(), Ledger(statements[:2]), size=2, merge=100, budget=0
    ).layout
    plan = plan_save(layout, Ledger(statements), size=5, merge=5, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(1, 0), Ledger(statements[2:]).to_dict())
    ]
    assert plan.head == _head(
        next_chunk=2,
        chunks=[
            _entry(ChunkKey(0, 0), statements[:2]),
            _entry(ChunkKey(1, 0), statements[2:]),
        ],
        open_=[],
    )
    plan = plan_save(layout, Ledger(statements), size=5, merge=6, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(0, 1), Ledger(statements).to_dict())
    ]
    assert plan.head == _head(
        next_chunk=1,
        chunks=[_entry(ChunkKey(0, 1), statements)],
        open_=[],
        garbage=[[0, 0]],
    )


def test_small_chunks_after_a_large_one_merge_among_themselves() -> None:
    """A run is cut by a chunk of merge size; the small ones after it merge later."""
    statements = [statement(n) for n in range(11)]
    layout = plan_save(
        Layout(), Ledger(statements[:1]), size=1, merge=100, budget=0
    ).layout
    layout = plan_save(
        layout, Ledger(statements[:6]), size=5, merge=100, budget=0
    ).layout
    # Chunks: 0 = [s0], 1 = [s1..s5]; now five chunks of one, merge 5.
    plan = plan_save(layout, Ledger(statements), size=1, merge=5, budget=0)
    assert [(w.key, w.content) for w in plan.writes] == [
        (ChunkKey(2, 0), Ledger(statements[6:]).to_dict())
    ]
    assert plan.head == _head(
        next_chunk=3,
        chunks=[
            _entry(ChunkKey(0, 0), statements[:1]),
            _entry(ChunkKey(1, 0), statements[1:6]),
            _entry(ChunkKey(2, 0), statements[6:]),
        ],
        open_=[],
    )


def test_a_chunk_left_empty_is_removed_with_its_next_generation() -> None:
    statements = [_settled(n) for n in range(15)]
    layout = plan_save(Layout(), Ledger(statements), size=5, merge=100, budget=9).layout
    ledger = Ledger(statements)
    ledger.prune(10)
    plan = plan_save(layout, ledger, size=5, merge=100, budget=9)
    assert plan.writes == ()
    assert plan.head == _head(
        next_chunk=3,
        chunks=[
            _entry(ChunkKey(1, 0), statements[5:10]),
            _entry(ChunkKey(2, 0), statements[10:]),
        ],
        open_=[],
        garbage=[[0, 0], [0, 1]],
    )
    assert plan.layout.chunks == layout.chunks[1:]
    assert plan.layout.garbage == {ChunkKey(0, 0), ChunkKey(0, 1)}


# --- assemble: a head and its chunks, read back exactly ---


def _sealed(key: ChunkKey, statements: list[Statement]) -> SealedChunk:
    """A chunk as planning knows it, built field by field."""
    return SealedChunk(
        key=key,
        digest=chunk_digest(Ledger(statements).to_dict()),
        ids=tuple(s.id for s in statements),
        recorded={s.id: (s.payment_state, s.payment) for s in statements},
    )


def test_a_head_and_its_chunks_assemble_into_ledger_and_layout() -> None:
    """Dropped ids anywhere in a chunk are skipped, overlays applied, open appended."""
    first = [statement(n) for n in range(4)]
    second = [statement(n) for n in range(4, 6)]
    opened = [statement(6)]
    key0, key1 = ChunkKey(0, 3), ChunkKey(2, 0)
    head = Head(
        chunks=(
            HeadEntry(key0, _sealed(key0, first).digest, frozenset({"s1"})),
            HeadEntry(key1, _sealed(key1, second).digest, frozenset({"s4", "s5"})),
        ),
        next_chunk=3,
        overlay={"s0": (PaymentState.PAID, {"bundle": "B"})},
        open=tuple(opened),
        garbage=frozenset({ChunkKey(0, 2), ChunkKey(1, 0)}),
    )
    ledger, layout = assemble(head, {key0: first, key1: second})
    paid = first[0].with_payment(PaymentState.PAID, {"bundle": "B"})
    assert ledger.statements == [paid, first[2], first[3], *opened]
    assert layout == Layout(
        chunks=(_sealed(key0, first), _sealed(key1, second)),
        next_chunk=3,
        garbage=frozenset({ChunkKey(0, 2), ChunkKey(1, 0)}),
    )


def _misfit(head: Head, chunks: dict[ChunkKey, list[Statement]]) -> str:
    with pytest.raises(LedgerFormatError) as caught:
        assemble(head, chunks)
    return str(caught.value)


def test_each_way_chunks_can_misfit_their_head_is_named() -> None:
    statements = [statement(n) for n in range(3)]
    key = ChunkKey(0, 0)
    digest = _sealed(key, statements).digest

    def head(
        dropped: frozenset[str] = frozenset(),
        overlay: dict[str, Any] | None = None,
        opened: tuple[Statement, ...] = (),
    ) -> Head:
        return Head((HeadEntry(key, digest, dropped),), 1, overlay or {}, opened)

    prefix = "ledger chunks do not fit the head: "
    assert _misfit(head(frozenset({"s1", "s7"})), {key: statements}) == (
        prefix + "chunk 0 drops ids it does not hold"
    )
    unknown = dict.fromkeys(("zz", "s1", "aa"), (PaymentState.PAID, None))
    assert _misfit(head(frozenset({"s1"}), unknown), {key: statements}) == (
        prefix + "overlay names statements no chunk holds: ['aa', 's1', 'zz']"
    )
    assert _misfit(head(), {}) == prefix + repr(key)
    assert _misfit(head(opened=(statements[2],)), {key: statements}) == (
        prefix + "statement 's2' is already in the ledger"
    )


def test_a_chunk_whose_every_id_is_dropped_assembles_to_nothing() -> None:
    """Planning removes such a chunk, but a head naming it is still consistent."""
    statements = [statement(n) for n in range(2)]
    key = ChunkKey(0, 0)
    sealed = _sealed(key, statements)
    head = Head((HeadEntry(key, sealed.digest, frozenset({"s0", "s1"})),), 1, {}, ())
    ledger, layout = assemble(head, {key: statements})
    assert ledger.statements == []
    assert layout == Layout((sealed,), 1)
