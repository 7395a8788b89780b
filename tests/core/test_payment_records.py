"""The outbox document: exact round trips and refusal of anything inconsistent."""

from __future__ import annotations

from datetime import UTC, datetime
import itertools
import json
import re
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
# A stored attachment as the outbox writes it: the first, not yet promoted.
FIRST_ATTACHMENT = {
    "tail": HASH,
    "attached_at": "2026-12-02T10:00:00+00:00",
    "promotions": 0,
    "last_promoted_at": None,
}


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


# --- every field, every refusal (mutation testing found them unchecked) -------

T1 = datetime(2026, 12, 2, 11, 30, tzinfo=UTC)


def full_payment() -> Payment:
    """A confirmed legacy payment with every optional field set."""
    return payment(
        5,
        PaymentStatus.CONFIRMED,
        approved=True,
        reason="over_payment_cap",
        missing=7,
        remainder_index=3,
        inputs=((0, 100), (2, 40)),
        attachments=(
            Attachment(tail=HASH, attached_at=T0),
            Attachment(
                tail="D" * 81, attached_at=T1, promotions=1, last_promoted_at=T1
            ),
        ),
        signed_at=T0,
        sent_at=T0.replace(minute=1),
        confirmed_at=T0.replace(minute=2),
        last_checked_at=T0.replace(minute=3),
        superseded=("E" * 81,),
    )


def test_every_field_of_a_payment_is_stored_and_read_back() -> None:
    full = full_payment()
    document = full.to_dict()
    assert document == {
        "id": "P000005",
        "statement_ids": ["S000005"],
        "amount": 15,
        "receiver": "C" * 90,
        "message": "MESSAGE",
        "created_at": "2026-12-02T10:00:00+00:00",
        "status": "confirmed",
        "approved": True,
        "reason": "over_payment_cap",
        "missing": 7,
        "remainder_index": 3,
        "inputs": [[0, 100], [2, 40]],
        "bundle_hash": HASH,
        "signed_trytes": [TRYTES],
        "attached_trytes": [TRYTES],
        "attachments": [
            FIRST_ATTACHMENT,
            {
                "tail": "D" * 81,
                "attached_at": "2026-12-02T11:30:00+00:00",
                "promotions": 1,
                "last_promoted_at": "2026-12-02T11:30:00+00:00",
            },
        ],
        "signed_at": "2026-12-02T10:00:00+00:00",
        "sent_at": "2026-12-02T10:01:00+00:00",
        "confirmed_at": "2026-12-02T10:02:00+00:00",
        "last_checked_at": "2026-12-02T10:03:00+00:00",
        "unit": "i",
        "transfer": None,
        "fee": None,
        "superseded": ["E" * 81],
    }
    assert Payment.from_dict(json.loads(json.dumps(document))) == full
    # Through the whole document too (settled there: it is finished).
    outbox = OutboxState(payments=[full], next_index=4, spent_indexes={0, 2})
    restored = OutboxState.from_dict(json.loads(json.dumps(outbox.to_dict())))
    assert restored == outbox


def test_a_document_from_before_superseded_transfers_reads_none() -> None:
    document = json.loads(json.dumps(full_payment().to_dict()))
    del document["superseded"]
    assert Payment.from_dict(document).superseded == ()


def test_the_summary_shows_every_fact() -> None:
    assert full_payment().summary() == {
        "payment_id": "P000005",
        "status": "confirmed",
        "amount_iota": 15,
        "amount_unit": "i",
        "receiver": "C" * 90,
        "statement_ids": ["S000005"],
        "transfer_id": HASH,
        "bundle_hash": HASH,
        "tail_hashes": [HASH, "D" * 81],
        "fee": None,
        "fee_unit": None,
        "superseded": ["E" * 81],
        "reason": "over_payment_cap",
        "missing_iota": 7,
        "approved": True,
        "created_at": "2026-12-02T10:00:00+00:00",
        "sent_at": "2026-12-02T10:01:00+00:00",
        "confirmed_at": "2026-12-02T10:02:00+00:00",
    }
    queued = payment(6).summary()
    assert (queued["sent_at"], queued["confirmed_at"]) == (None, None)


def refused(field: str, value: Any, message: str) -> Any:
    return pytest.param(field, value, message, id=field)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        refused("id", 1, "id must be a string"),
        refused("statement_ids", [1], "statement id must be a string"),
        refused("amount", "15", "amount must be an int >= 0"),
        refused("receiver", None, "receiver must be a string"),
        refused("message", None, "message must be a string"),
        refused("created_at", 5, "created_at must be an ISO 8601 string, not 5"),
        refused("approved", 1, "approved must be a bool"),
        refused("reason", 1, "reason must be a string"),
        # A bool is no count, though Python calls it an int.
        refused("missing", True, "missing must be an int >= 0"),
        refused("remainder_index", -1, "remainder must be an int >= 0"),
        refused("inputs", [[-1, 100]], "input index must be an int >= 0"),
        refused("inputs", [[0, "100"]], "input balance must be an int >= 0"),
        refused("bundle_hash", 5, "bundle must be a string"),
        refused("signed_trytes", [5], "trytes must be a string"),
        refused("attached_trytes", [5], "trytes must be a string"),
        refused("signed_at", 5, "signed_at must be an ISO 8601 string, not 5"),
        refused("sent_at", 5, "sent_at must be an ISO 8601 string, not 5"),
        refused("confirmed_at", 5, "confirmed_at must be an ISO 8601 string, not 5"),
        refused(
            "last_checked_at",
            5,
            "last_checked_at must be an ISO 8601 string, not 5",
        ),
        refused("superseded", [5], "transfer id must be a string"),
        refused("status", "lost", "unknown payment status 'lost'"),
        refused("unit", "IOTA", "unknown unit 'IOTA'"),
    ],
)
def test_each_bad_field_of_a_payment_is_named(
    field: str, value: Any, message: str
) -> None:
    document = json.loads(json.dumps(full_payment().to_dict()))
    document[field] = value
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Payment.from_dict(document)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        refused("tail", 5, "tail must be a string"),
        refused("attached_at", 5, "attached_at must be an ISO 8601 string, not 5"),
        refused("promotions", -1, "promotions must be an int >= 0"),
        refused(
            "last_promoted_at",
            5,
            "last_promoted_at must be an ISO 8601 string, not 5",
        ),
    ],
)
def test_each_bad_field_of_an_attachment_is_named(
    field: str, value: Any, message: str
) -> None:
    document = json.loads(json.dumps(full_payment().to_dict()))
    document["attachments"][1][field] = value
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Payment.from_dict(document)


def test_a_payment_that_is_no_object_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^a payment is an object$"):
        Payment.from_dict([full_payment().to_dict()])


def set_in(key: str, value: Any) -> Any:
    return lambda d: d.update({key: value})


@pytest.mark.parametrize(
    ("version", "change", "message"),
    [
        (2, set_in("next_index", "5"), "next_index must be an int >= 0"),
        (1, set_in("next_index", "5"), "next_index must be an int >= 0"),
        (2, set_in("deposit_index", -1), "deposit_index must be an int >= 0"),
        (2, set_in("sent_by_day", {5: 23}), "day must be a string"),
        (2, set_in("sent_by_day", {"2026-12-02": -1}), "sent must be an int >= 0"),
        (
            2,
            set_in("next_payment_number", -1),
            "payment number must be an int >= 0",
        ),
        (2, set_in("node_pow_refused", 0), "node_pow_refused must be a bool"),
        (2, set_in("paid_total", -1), "paid_total must be an int >= 0"),
        (1, set_in("spent_indexes", [-1]), "spent index must be an int >= 0"),
        (2, set_in("spent_ranges", [[-1, 0]]), "spent index must be an int >= 0"),
        (2, set_in("spent_ranges", [[0, -1]]), "spent index must be an int >= 0"),
        (2, set_in("spent_ranges", [[0]]), "a spent range is [first, last]"),
        (2, set_in("spent_ranges", [[0, 1, 2]]), "a spent range is [first, last]"),
        (
            2,
            set_in("spent_ranges", [[2, 2], [1, 1]]),
            "spent ranges are sorted, apart and not empty",
        ),
        (
            2,
            set_in("spent_ranges", [[4, 4]]),
            "outbox document hands out an index it never reserved",
        ),
        # Version 1 listed them one by one: checked against next_index too.
        (
            1,
            set_in("spent_indexes", [0, 4]),
            "outbox document hands out an index it never reserved",
        ),
        (
            2,
            set_in("deposit_index", 4),
            "outbox document hands out an index it never reserved",
        ),
        (
            2,
            lambda d: d["payments"].append(d["payments"][0]),
            "outbox document repeats a payment id",
        ),
        (
            2,
            lambda d: d["payments"].append(payment(9, PaymentStatus.SIGNED).to_dict()),
            "outbox document has more than one bundle in flight",
        ),
        (
            2,
            lambda d: d.pop("paid_total"),
            "outbox document is malformed: KeyError 'paid_total'",
        ),
        (2, set_in("version", True), "not an outbox document of a known version"),
    ],
)
def test_each_bad_field_of_the_document_is_named(
    version: int, change: Any, message: str
) -> None:
    outbox = OutboxState(
        payments=[payment(1, PaymentStatus.BROADCAST)],
        next_index=4,
        deposit_index=3,
        spent_indexes={0},
        sent_by_day={"2026-12-02": 11},
    )
    document = json.loads(json.dumps(outbox.to_dict()))
    if version == 1:
        document = version_1(document)
    assert OutboxState.from_dict(json.loads(json.dumps(document))) == outbox
    change(document)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        OutboxState.from_dict(document)


def test_a_document_that_is_no_object_is_refused() -> None:
    not_objects: tuple[object, ...] = ([], "{}", None)
    for data in not_objects:
        with pytest.raises(
            ValueError, match=r"^not an outbox document of a known version$"
        ):
            OutboxState.from_dict(data)


def test_payment_ids_count_up_from_one() -> None:
    outbox = OutboxState()
    assert [outbox.new_payment_id() for _ in range(3)] == [
        "P000001",
        "P000002",
        "P000003",
    ]
    assert outbox.next_payment_number == 4


def test_open_payments_are_those_not_finished() -> None:
    outbox = OutboxState(
        payments=[
            payment(1, PaymentStatus.CONFIRMED),
            payment(2, PaymentStatus.FAILED, reason="receiver_spent"),
            payment(3, PaymentStatus.BROADCAST),
            payment(4),
        ]
    )
    assert [p.id for p in outbox.open_payments()] == ["P000003", "P000004"]
    assert outbox.statement_ids_in_open_payments() == {"S000003", "S000004"}


def test_a_short_history_is_kept_whole() -> None:
    """Below the limits nothing is dropped (only settled)."""
    outbox = OutboxState(
        payments=[
            payment(1, PaymentStatus.FAILED, reason="receiver_spent"),
            payment(2, PaymentStatus.CONFIRMED),
        ],
        sent_by_day={f"2026-11-{d:02d}": d for d in range(1, DAYS_KEPT + 1)},
    )
    outbox.trim_history(limit=2)
    assert [p.id for p in outbox.payments] == ["P000001", "P000002"]
    assert len(outbox.sent_by_day) == DAYS_KEPT


def test_a_settled_rebased_payment_keeps_its_gas_but_not_its_bytes() -> None:
    transfer = SignedTransfer(
        RailName.REBASED,
        "9" * 44,
        Amount(12_000, Denomination.NANOS),
        {"tx_bytes": "AAAA", "signature": "BBBB", "gas": [["0x1", 3, "digest"]]},
    )
    settled = rebased(PaymentStatus.CONFIRMED, transfer=transfer).settled()
    assert settled.transfer == SignedTransfer(
        RailName.REBASED,
        "9" * 44,
        Amount(12_000, Denomination.NANOS),
        {"gas": [["0x1", 3, "digest"]]},
    )
    assert settled.message == ""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: rebased(PaymentStatus.SIGNED, amount=13_000),
            "the signed transfer pays another amount",
        ),
        (
            lambda: rebased(PaymentStatus.SIGNED, inputs=((0, 1),)),
            "a legacy bundle is stored in the payment's own fields",
        ),
        (
            lambda: rebased(PaymentStatus.QUEUED),
            "a queued payment has no signed transfer",
        ),
    ],
)
def test_a_rebased_payments_refusals_say_why(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make()


@pytest.mark.parametrize(
    ("status", "stage"),
    [
        (PaymentStatus.SIGNED, "signed"),
        (PaymentStatus.ATTACHED, "attached"),
        (PaymentStatus.BROADCAST, "broadcast"),
        # Confirmed before it was settled: followed as broadcast.
        (PaymentStatus.CONFIRMED, "broadcast"),
    ],
)
def test_a_legacy_payment_is_the_rails_record_at_its_stage(
    status: PaymentStatus, stage: str
) -> None:
    sent = payment(
        8,
        status,
        remainder_index=3,
        attachments=(Attachment(tail=HASH, attached_at=T0),),
        attached_trytes=(TRYTES,),
    )
    transfer = signed_transfer_of(sent)
    assert transfer == SignedTransfer(
        RailName.LEGACY,
        HASH,
        Amount(18, Denomination.LEGACY_I),
        {
            "stage": stage,
            "inputs": [[0, 100]],
            "remainder_index": 3,
            "signed_trytes": [TRYTES],
            "attached_trytes": [TRYTES],
            "attachments": [FIRST_ATTACHMENT],
        },
    )
    assert with_signed_transfer(payment(8), transfer, status) == sent


def test_a_settled_legacy_payment_has_no_transfer_to_send() -> None:
    settled = payment(1, PaymentStatus.CONFIRMED).settled()
    assert settled.bundle_hash == HASH
    assert signed_transfer_of(settled) is None


def test_a_rebased_transfer_is_held_as_it_is() -> None:
    queued = rebased(PaymentStatus.QUEUED, transfer=None)
    transfer = rebased_transfer(12_000)
    held = with_signed_transfer(queued, transfer, PaymentStatus.BROADCAST)
    assert held == rebased(PaymentStatus.BROADCAST)
    assert held.bundle_hash is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(inputs=[["0", 100]]), "input index must be an int >= 0"),
        (lambda r: r.update(inputs=[[0, -1]]), "input balance must be an int >= 0"),
        (lambda r: r.update(remainder_index=-3), "remainder must be an int >= 0"),
        (lambda r: r.update(signed_trytes=[None]), "trytes must be a string"),
        (lambda r: r.update(attached_trytes=[None]), "trytes must be a string"),
    ],
)
def test_a_bad_legacy_record_is_refused_by_name(change: Any, message: str) -> None:
    transfer = signed_transfer_of(payment(8, PaymentStatus.BROADCAST))
    assert transfer is not None
    record = dict(transfer.record)
    change(record)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        with_signed_transfer(
            payment(8),
            SignedTransfer(
                transfer.rail, transfer.transfer_id, transfer.amount, record
            ),
            PaymentStatus.BROADCAST,
        )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: payment(1, unit="i"), "unknown unit 'i'"),
        (
            lambda: payment(1, statement_ids=()),
            "a payment settles at least one statement",
        ),
        (lambda: payment(1, amount=0), "a payment's amount is an int > 0"),
        (lambda: payment(1, amount=True), "a payment's amount is an int > 0"),
        (lambda: payment(1, amount="15"), "a payment's amount is an int > 0"),
        (
            lambda: payment(1, PaymentStatus.CONFIRMED, attachments=()),
            "a confirmed payment names its bundle",
        ),
        (
            lambda: payment(1, PaymentStatus.CONFIRMED, inputs=()),
            "a confirmed payment names its bundle",
        ),
    ],
)
def test_an_impossible_payment_is_refused_with_its_reason(
    make: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make()


def test_the_smallest_payment_is_one() -> None:
    assert payment(1, amount=1).amount == 1


def test_a_spent_run_up_to_the_next_index_is_refused_before_the_rest_is_read() -> None:
    """The run is checked as it is read, not only by the final check."""
    document = OutboxState(next_index=4, spent_indexes={0}).to_dict()
    document["spent_ranges"] = [[0, 4]]
    del document["paid_total"]
    with pytest.raises(
        ValueError,
        match=r"^outbox document hands out an index it never reserved$",
    ):
        OutboxState.from_dict(document)
