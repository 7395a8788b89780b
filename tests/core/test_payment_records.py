"""The outbox document: exact round trips and refusal of anything inconsistent."""

from __future__ import annotations

from datetime import UTC, datetime
import itertools
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.payments import (
    DAYS_KEPT,
    HISTORY_LIMIT,
    Attachment,
    OutboxState,
    Payment,
    PaymentStatus,
    signed_transfer_of,
    statement_state_of,
    with_signed_transfer,
)
from custom_components.iota_energy.core.rail import RailName, SignedTransfer
from custom_components.iota_energy.core.units import Amount, Denomination

T0 = datetime(2026, 12, 2, 10, tzinfo=UTC)
TRYTES = "A" * 2673
HASH = "B" * 81


def payment(
    number: int, status: PaymentStatus = PaymentStatus.QUEUED, **extra: Any
) -> Payment:
    fields: dict[str, Any] = {
        "id": f"P{number:06d}",
        "statement_ids": (f"S{number:06d}",),
        "amount": 10 + number,
        "receiver": "C" * 90,
        "message": "MESSAGE",
        "created_at": T0,
        "status": status,
    }
    if status in {
        PaymentStatus.SIGNED,
        PaymentStatus.ATTACHED,
        PaymentStatus.BROADCAST,
        PaymentStatus.CONFIRMED,
    }:
        fields |= {
            "bundle_hash": HASH,
            "signed_trytes": (TRYTES,),
            "inputs": ((0, 100),),
        }
    if status in {
        PaymentStatus.ATTACHED,
        PaymentStatus.BROADCAST,
        PaymentStatus.CONFIRMED,
    }:
        fields |= {
            "attached_trytes": (TRYTES,),
            "attachments": (
                Attachment(
                    tail=HASH, attached_at=T0, promotions=2, last_promoted_at=T0
                ),
            ),
        }
    return Payment(**(fields | extra))


def state() -> OutboxState:
    return OutboxState(
        payments=[
            payment(1, PaymentStatus.CONFIRMED),
            payment(2, PaymentStatus.BROADCAST),
            payment(3),
        ],
        next_index=5,
        deposit_index=4,
        spent_indexes={0, 2},
        sent_by_day={"2026-12-02": 23},
        next_payment_number=4,
        node_pow_refused=True,
        paid_total=11,
    )


def test_round_trip_through_json_is_exact() -> None:
    original = state()
    restored = OutboxState.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original


def test_amounts_name_their_unit() -> None:
    """Stored and shown with its unit; documents from before read as i."""
    document = json.loads(json.dumps(state().to_dict()))
    first = document["payments"][0]
    assert first["unit"] == "i"
    assert OutboxState.from_dict(document).payments[0].summary()["amount_unit"] == "i"
    del first["unit"]
    assert OutboxState.from_dict(document) == state()
    first["unit"] = "nanos"
    restored = OutboxState.from_dict(document).payments[0]
    assert restored.unit is Denomination.NANOS
    assert restored.summary()["amount_unit"] == "nanos"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d.update(version=3), "known version"),
        (lambda d: d.update(deposit_index=5), "never reserved"),
        (lambda d: d.update(spent_ranges=[[0, 7]]), "never reserved"),
        (lambda d: d.update(spent_ranges=[[0, 10**12]]), "never reserved"),
        (lambda d: d.update(spent_ranges=[[2, 2], [0, 0]]), "sorted"),
        (lambda d: d.update(spent_ranges=[[0, 1], [2, 2]]), "apart"),
        (lambda d: d.update(spent_ranges=[[3, 2]]), "not empty"),
        (lambda d: d.update(spent_ranges=[[1]]), r"\[first, last\]"),
        (lambda d: d.update(spent_ranges=[[0, -1]]), "int >= 0"),
        (lambda d: d["payments"].append(d["payments"][0]), "repeats a payment"),
        (
            lambda d: d["payments"][2].update(
                status="signed",
                bundle_hash=HASH,
                signed_trytes=[TRYTES],
                inputs=[[1, 5]],
            ),
            "more than one bundle",
        ),
        (lambda d: d["payments"][1].update(signed_trytes=[]), "signed bundle"),
        (lambda d: d["payments"][1].update(attachments=[]), "attachment"),
        (lambda d: d["payments"][0].update(amount=0), "amount"),
        (lambda d: d["payments"][0].update(status="lost"), "unknown payment status"),
        (lambda d: d.pop("paid_total"), "malformed"),
        (lambda d: d.update(next_index=-1), "int >= 0"),
        (lambda d: d.update(node_pow_refused="yes"), "bool"),
        (lambda d: d["payments"][0].update(unit="IOTA"), "unknown unit"),
    ],
)
def test_inconsistent_documents_are_refused(change: Any, complaint: str) -> None:
    document = json.loads(json.dumps(state().to_dict()))
    change(document)
    with pytest.raises(ValueError, match=complaint):
        OutboxState.from_dict(document)


def test_reserved_indexes_are_never_handed_out_twice() -> None:
    outbox = OutboxState()
    handed = [outbox.reserve_index() for _ in range(5)]
    assert handed == [1, 2, 3, 4, 5]  # 0 is the first deposit address
    restored = OutboxState.from_dict(outbox.to_dict())
    assert restored.reserve_index() == 6


def test_history_keeps_open_payments_and_the_newest_finished() -> None:
    outbox = OutboxState(
        payments=[
            payment(n, PaymentStatus.CONFIRMED) for n in range(1, HISTORY_LIMIT + 20)
        ]
    )
    outbox.payments.insert(3, payment(999))
    outbox.sent_by_day = {f"2026-11-{d:02d}": d for d in range(1, 20)}
    outbox.trim_history()
    assert outbox.payment("P000999") == payment(999)  # open: untouched
    finished = [p for p in outbox.payments if p.status is PaymentStatus.CONFIRMED]
    assert len(finished) == HISTORY_LIMIT
    assert finished[-1].id == f"P{HISTORY_LIMIT + 19:06d}"
    assert sorted(outbox.sent_by_day) == [f"2026-11-{d:02d}" for d in range(12, 20)]
    # Settled: what says what was paid stays, nothing to send it again.
    for kept in finished:
        assert (kept.signed_trytes, kept.attached_trytes, kept.message) == ((), (), "")
        assert kept.bundle_hash == HASH
        assert kept.inputs == ((0, 100),)
        assert kept.summary() == payment(int(kept.id[1:]), kept.status).summary()


def test_the_newest_confirmed_payment_outlives_any_number_of_failures() -> None:
    """The Last payment sensor reads it: failures after it do not push it out."""
    outbox = OutboxState(payments=[payment(1, PaymentStatus.CONFIRMED)])
    for number in range(2, HISTORY_LIMIT + 10):
        outbox.put(payment(number, PaymentStatus.FAILED, reason="receiver_spent"))
        outbox.trim_history()
    last = outbox.last_confirmed()
    assert last is not None
    assert last.id == "P000001"
    assert len(outbox.payments) == HISTORY_LIMIT + 1
    outbox.put(payment(99, PaymentStatus.CONFIRMED))
    outbox.trim_history()
    assert outbox.payment("P000001") is None
    assert len(outbox.payments) == HISTORY_LIMIT


def test_open_payments_are_never_settled() -> None:
    for status in set(PaymentStatus) - {PaymentStatus.CONFIRMED, PaymentStatus.FAILED}:
        assert payment(1, status).settled() == payment(1, status)
    failed = payment(2, PaymentStatus.FAILED, reason="receiver_spent").settled()
    assert failed.message == ""
    assert failed.summary()["reason"] == "receiver_spent"


def version_1(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as the version before settling wrote it."""
    old = dict(document, version=1)
    ranges = old.pop("spent_ranges")
    old["spent_indexes"] = [i for first, last in ranges for i in range(first, last + 1)]
    return old


def test_a_version_1_document_is_read_and_settled() -> None:
    """Written before settling: finished payments lose their trytes on load."""
    original = state()
    document = version_1(json.loads(json.dumps(original.to_dict())))
    assert "spent_indexes" in document
    loaded = OutboxState.from_dict(document)
    confirmed, broadcast, queued = loaded.payments
    assert confirmed == original.payments[0].settled() != original.payments[0]
    assert confirmed.signed_trytes == ()
    # In flight or open: exactly as stored, to be sent on.
    assert (broadcast, queued) == (original.payments[1], original.payments[2])
    assert loaded.spent_indexes == original.spent_indexes == {0, 2}
    assert (loaded.next_index, loaded.deposit_index) == (5, 4)
    assert (loaded.sent_by_day, loaded.paid_total) == ({"2026-12-02": 23}, 11)
    # Written back in the current version, and read again unchanged.
    again = json.loads(json.dumps(loaded.to_dict()))
    assert again["version"] == 2
    assert "spent_indexes" not in again
    assert OutboxState.from_dict(again) == loaded
    document["spent_indexes"] = [0, 7]
    with pytest.raises(ValueError, match="never reserved"):
        OutboxState.from_dict(document)


@given(st.sets(st.integers(min_value=0, max_value=300), max_size=60))
def test_spent_indexes_are_stored_as_ranges(spent: set[int]) -> None:
    ranges = OutboxState(next_index=301, spent_indexes=spent).to_dict()["spent_ranges"]
    assert {i for first, last in ranges for i in range(first, last + 1)} == spent
    # Runs never touch: each is as long as it can be.
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(ranges))
    stored = OutboxState(next_index=301, spent_indexes=spent).to_dict()
    assert OutboxState.from_dict(json.loads(json.dumps(stored))).spent_indexes == spent


def pay_through(outbox: OutboxState, number: int, day: str, *, fail: bool) -> None:
    """One payment's life as the outbox writes it: queued, in flight, finished."""
    payment_id = outbox.new_payment_id()
    queued = payment(number, id=payment_id)
    outbox.put(queued)
    spent = outbox.reserve_index() - 1  # the previous remainder is signed from
    outbox.spent_indexes.add(spent)
    if fail:
        outbox.put(queued.evolve(status=PaymentStatus.FAILED, reason="signing_failed"))
    else:
        sent = payment(number, PaymentStatus.CONFIRMED, id=payment_id)
        outbox.put(sent.evolve(inputs=((spent, 100),)))
        outbox.sent_by_day[day] = outbox.sent_by_day.get(day, 0) + sent.amount
        outbox.paid_total += sent.amount
    outbox.trim_history()


@settings(deadline=None, max_examples=20)
@given(
    st.integers(min_value=HISTORY_LIMIT + 2, max_value=250),
    st.lists(st.booleans(), min_size=1, max_size=50),
)
def test_the_document_stays_bounded_however_many_payments(
    payments: int, failures: list[bool]
) -> None:
    """Its size stops growing once the history is full (up to digits)."""
    outbox = OutboxState()
    sizes = []
    for number in range(1, payments + 1):
        day = f"2026-{1 + number // 300:02d}-{1 + number % 28:02d}"
        pay_through(outbox, number, day, fail=failures[number % len(failures)])
        sizes.append(len(json.dumps(outbox.to_dict())))
    # The bound knows nothing of ``payments``: a full history of the
    # largest settled payments, eight days, one run of spent indexes, big
    # numbers. One payment kept with its trytes (5 kB) would break it.
    largest = payment(10**6, PaymentStatus.CONFIRMED, id="P1000000").settled()
    frame = OutboxState(
        next_index=10**6,
        spent_indexes={0, 10**6 - 1},
        sent_by_day={f"2026-01-0{d}": 10**9 for d in range(DAYS_KEPT)},
        next_payment_number=10**6,
        paid_total=10**12,
    )
    # (+ 1: the newest confirmed payment stays behind any number of failed.)
    bound = len(json.dumps(frame.to_dict())) + (HISTORY_LIMIT + 1) * (
        len(json.dumps(largest.to_dict())) + 2
    )
    assert max(sizes) <= bound
    assert len(outbox.payments) <= HISTORY_LIMIT + 1
    assert all(not p.signed_trytes and not p.message for p in outbox.payments)
    assert outbox.to_dict()["spent_ranges"] == [[0, payments - 1]]
    assert len(outbox.sent_by_day) <= DAYS_KEPT


def test_statement_states_follow_the_payment() -> None:
    assert statement_state_of(PaymentStatus.CONFIRMED) is PaymentState.PAID
    assert statement_state_of(PaymentStatus.FAILED) is PaymentState.FAILED
    for status in set(PaymentStatus) - {PaymentStatus.CONFIRMED, PaymentStatus.FAILED}:
        assert statement_state_of(status) is PaymentState.SENDING


@given(
    st.lists(st.integers(min_value=0, max_value=40), max_size=10),
    st.integers(min_value=1, max_value=50),
)
def test_any_valid_bookkeeping_round_trips(spent: list[int], extra: int) -> None:
    outbox = OutboxState(
        next_index=max(spent, default=0) + extra, spent_indexes=set(spent)
    )
    assert OutboxState.from_dict(json.loads(json.dumps(outbox.to_dict()))) == outbox


def rebased_transfer(nanos: int) -> SignedTransfer:
    return SignedTransfer(
        RailName.REBASED,
        "9" * 44,
        Amount(nanos, Denomination.NANOS),
        {"bcs": "AAAA", "signature": "BBBB", "gas": [["0x1", 3, "digest"]]},
    )


def rebased(status: PaymentStatus, **extra: Any) -> Payment:
    return Payment(
        **{
            "id": "P000007",
            "statement_ids": ("S000007",),
            "amount": 12_000,
            "unit": Denomination.NANOS,
            "receiver": "0x" + "ab" * 32,
            "message": "MESSAGE",
            "created_at": T0,
            "status": status,
            "transfer": rebased_transfer(12_000),
        }
        | extra
    )


def test_a_rebased_payment_round_trips_with_its_transfer_fee_and_history() -> None:
    sent = rebased(
        PaymentStatus.CONFIRMED,
        fee=Amount(1_000_000, Denomination.NANOS),
        superseded=("8" * 44,),
    )
    original = OutboxState(payments=[sent])
    restored = OutboxState.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original
    summary = sent.summary()
    assert summary["transfer_id"] == "9" * 44
    assert summary["bundle_hash"] is None
    assert (summary["fee"], summary["fee_unit"]) == (1_000_000, "nanos")
    assert summary["superseded"] == ["8" * 44]
    assert signed_transfer_of(sent) == sent.transfer


def test_a_legacy_bundle_reads_as_the_legacy_rails_record_and_back() -> None:
    broadcast = payment(2, PaymentStatus.BROADCAST)
    transfer = signed_transfer_of(broadcast)
    assert transfer is not None
    assert transfer.rail is RailName.LEGACY
    assert transfer.transfer_id == broadcast.bundle_hash == broadcast.transfer_id
    assert transfer.record["stage"] == "broadcast"
    assert transfer.amount == Amount(broadcast.amount, Denomination.LEGACY_I)
    assert with_signed_transfer(broadcast, transfer, broadcast.status) == broadcast
    assert signed_transfer_of(payment(3)) is None


@pytest.mark.parametrize(
    ("make", "complaint"),
    [
        (lambda: rebased(PaymentStatus.QUEUED), "has no signed transfer"),
        (lambda: rebased(PaymentStatus.ATTACHED), "has no signed transfer"),
        (lambda: rebased(PaymentStatus.SIGNED, amount=13_000), "another amount"),
        (lambda: rebased(PaymentStatus.SIGNED, bundle_hash=HASH), "legacy bundle"),
        (
            lambda: rebased(
                PaymentStatus.SIGNED,
                transfer=SignedTransfer(
                    RailName.LEGACY, HASH, Amount(12_000, Denomination.NANOS)
                ),
            ),
            "legacy bundle",
        ),
    ],
)
def test_inconsistent_rebased_payments_are_refused(make: Any, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        make()
