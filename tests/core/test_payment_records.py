"""The outbox document: exact round trips and refusal of anything inconsistent."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.payments import (
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
        (lambda d: d.update(version=2), "known version"),
        (lambda d: d.update(deposit_index=5), "never reserved"),
        (lambda d: d.update(spent_indexes=[7]), "never reserved"),
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
    assert outbox.payment("P000999") is not None
    finished = [p for p in outbox.payments if p.status is PaymentStatus.CONFIRMED]
    assert len(finished) == HISTORY_LIMIT
    assert finished[-1].id == f"P{HISTORY_LIMIT + 19:06d}"
    assert sorted(outbox.sent_by_day) == [f"2026-11-{d:02d}" for d in range(12, 20)]


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
