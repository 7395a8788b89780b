"""Payments and the wallet's bookkeeping: the outbox's durable document.

A :class:`Payment` settles one or more statements. Its status moves

    queued ─► signed ─► attached ─► broadcast ─► confirmed
       │  ▲       ▲                      │
       │  └ awaiting_approval,           └─ (reattach: back to signed,
       │    waiting_funds                     the same signed trytes)
       └─► failed (only before signing: nothing of it ever left the wallet)

and each status is written durably before the step that follows it acts
(see outbox.py). Once signed, a payment never fails and is never signed
again: it is rebroadcast, promoted or reattached until it confirms.

:class:`OutboxState` is the whole durable document: the open payments, the
newest finished ones as a short history, the wallet's key bookkeeping (the
next key index never handed out, the indexes signed from, the deposit index)
and what was sent per day for the daily cap. It round-trips through JSON
exactly and :meth:`OutboxState.from_dict` validates every field.

The document is rewritten before every payment step, so it must not grow
with the payments made. A payment that finishes is *settled*
(:meth:`Payment.settled`): its signed trytes, attached trytes, bill message
and Rebased transaction bytes are dropped (nothing ever sends it again; the
bill is on the chain and its statements are in the ledger), and only the
newest ``HISTORY_LIMIT`` settled payments are kept. The ledger records each
statement's payment state and transfer id as the payment moves, so a
statement that left this history stays paid (or failed, payable again);
what the daily cap and the ``Total paid`` sensor count is kept in
``sent_by_day`` and ``paid_total``, not in the history. The key indexes
signed from are stored as ranges (they are nearly contiguous).

Version 1 documents (every finished payment's trytes kept, key indexes
listed one by one) are read and settled on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from .ledger import PaymentState, parse_datetime
from .rail import RailName, SignedTransfer
from .units import Amount, Denomination

OUTBOX_VERSION = 2
# Versions from_dict reads (1: spent indexes one by one, finished payments
# with their trytes; settled on load).
READABLE_VERSIONS = frozenset({1, OUTBOX_VERSION})
# Settled payments kept in the document as history (newest; without trytes).
HISTORY_LIMIT = 20
DAYS_KEPT = 8
# What a settled Rebased transfer no longer needs: it is never executed again.
_SETTLED_REBASED_DROPS = frozenset({"tx_bytes", "signature"})


class PaymentStatus(StrEnum):
    QUEUED = "queued"
    AWAITING_APPROVAL = "awaiting_approval"
    WAITING_FUNDS = "waiting_funds"
    SIGNED = "signed"
    ATTACHED = "attached"
    BROADCAST = "broadcast"
    CONFIRMED = "confirmed"
    FAILED = "failed"


UNSIGNED = frozenset(
    {PaymentStatus.QUEUED, PaymentStatus.AWAITING_APPROVAL, PaymentStatus.WAITING_FUNDS}
)
IN_FLIGHT = frozenset(
    {PaymentStatus.SIGNED, PaymentStatus.ATTACHED, PaymentStatus.BROADCAST}
)
FINISHED = frozenset({PaymentStatus.CONFIRMED, PaymentStatus.FAILED})


def statement_state_of(status: PaymentStatus) -> PaymentState:
    """The ledger's view of a statement whose payment has ``status``."""
    if status is PaymentStatus.CONFIRMED:
        return PaymentState.PAID
    if status is PaymentStatus.FAILED:
        return PaymentState.FAILED
    return PaymentState.SENDING


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment of the signed bundle (its own proof of work)."""

    tail: str
    attached_at: datetime
    promotions: int = 0
    last_promoted_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tail": self.tail,
            "attached_at": self.attached_at.isoformat(),
            "promotions": self.promotions,
            "last_promoted_at": _time_text(self.last_promoted_at),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Attachment:
        return cls(
            tail=_str(data["tail"], "tail"),
            attached_at=parse_datetime(data["attached_at"], "attached_at"),
            promotions=_int(data["promotions"], "promotions"),
            last_promoted_at=_time(data["last_promoted_at"], "last_promoted_at"),
        )


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment: which statements, how much, to whom, and how far it got."""

    id: str
    statement_ids: tuple[str, ...]
    amount: int
    receiver: str
    message: str
    created_at: datetime
    status: PaymentStatus = PaymentStatus.QUEUED
    approved: bool = False
    reason: str | None = None  # why it waits or failed (a translation key)
    missing: int = 0  # IOTA missing while waiting for funds
    remainder_index: int | None = None
    inputs: tuple[tuple[int, int], ...] = ()  # (key index, balance)
    bundle_hash: str | None = None
    signed_trytes: tuple[str, ...] = ()  # head first, as attachToTangle takes them
    attached_trytes: tuple[str, ...] = ()  # of the newest attachment
    attachments: tuple[Attachment, ...] = ()
    signed_at: datetime | None = None
    sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    last_checked_at: datetime | None = None
    # What ``amount`` counts: the legacy rail pays i, Rebased nanos.
    unit: Denomination = Denomination.LEGACY_I
    # The signed transfer of a rail other than legacy (whose bundle lives in
    # the fields above, as documents have always stored it).
    transfer: SignedTransfer | None = None
    # The network fee, once executed (Rebased gas); legacy: None.
    fee: Amount | None = None
    # Transfer ids signed for this payment that provably never executed.
    superseded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.unit, Denomination):
            raise ValueError(f"unknown unit {self.unit!r}")
        if self.transfer is not None:
            self._check_transfer(self.transfer)
            return
        if not self.statement_ids:
            raise ValueError("a payment settles at least one statement")
        if (
            isinstance(self.amount, bool)
            or not isinstance(self.amount, int)
            or self.amount <= 0
        ):
            raise ValueError("a payment's amount is an int > 0")
        if self.status in IN_FLIGHT and not (
            self.bundle_hash and self.signed_trytes and self.inputs
        ):
            raise ValueError(f"a {self.status} payment needs its signed bundle")
        if self.status is PaymentStatus.CONFIRMED and not (
            self.bundle_hash and self.inputs and self.attachments
        ):
            raise ValueError("a confirmed payment names its bundle")
        if self.status in {PaymentStatus.ATTACHED, PaymentStatus.BROADCAST} and not (
            self.attachments and self.attached_trytes
        ):
            raise ValueError(f"a {self.status} payment needs an attachment")

    def _check_transfer(self, transfer: SignedTransfer) -> None:
        if transfer.rail is RailName.LEGACY or self.bundle_hash or self.inputs:
            raise ValueError("a legacy bundle is stored in the payment's own fields")
        if transfer.amount != Amount(self.amount, self.unit):
            raise ValueError("the signed transfer pays another amount")
        if self.status in UNSIGNED | {PaymentStatus.FAILED, PaymentStatus.ATTACHED}:
            raise ValueError(f"a {self.status} payment has no signed transfer")

    @property
    def tails(self) -> tuple[str, ...]:
        return tuple(a.tail for a in self.attachments)

    @property
    def transfer_id(self) -> str | None:
        """What the network knows the payment by: bundle hash or digest."""
        if self.transfer is not None:
            return self.transfer.transfer_id
        return self.bundle_hash

    def evolve(self, **changes: Any) -> Payment:
        return replace(self, **changes)

    def settled(self) -> Payment:
        """This finished payment as history: nothing kept to send it again.

        Unchanged while it is open. Its bundle hash (or digest), inputs,
        remainder, attachments' tails and times stay: they say what was paid
        and which keys were signed from.
        """
        if self.status not in FINISHED:
            return self
        transfer = self.transfer
        if transfer is not None:
            kept = transfer.record.keys() - _SETTLED_REBASED_DROPS
            record = {k: v for k, v in transfer.record.items() if k in kept}
            transfer = replace(transfer, record=record)
        return self.evolve(
            message="", signed_trytes=(), attached_trytes=(), transfer=transfer
        )

    def summary(self) -> dict[str, Any]:
        """JSON-able facts for events, actions and the ledger (no trytes)."""
        return {
            "payment_id": self.id,
            "status": self.status.value,
            "amount_iota": self.amount,
            "amount_unit": self.unit.value,
            "receiver": self.receiver,
            "statement_ids": list(self.statement_ids),
            "transfer_id": self.transfer_id,
            "bundle_hash": self.bundle_hash,
            "tail_hashes": list(self.tails),
            "fee": None if self.fee is None else self.fee.value,
            "fee_unit": None if self.fee is None else self.fee.unit.value,
            "superseded": list(self.superseded),
            "reason": self.reason,
            "missing_iota": self.missing,
            "approved": self.approved,
            "created_at": self.created_at.isoformat(),
            "sent_at": _time_text(self.sent_at),
            "confirmed_at": _time_text(self.confirmed_at),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "statement_ids": list(self.statement_ids),
            "amount": self.amount,
            "receiver": self.receiver,
            "message": self.message,
            "created_at": self.created_at.isoformat(),
            "status": self.status.value,
            "approved": self.approved,
            "reason": self.reason,
            "missing": self.missing,
            "remainder_index": self.remainder_index,
            "inputs": [list(i) for i in self.inputs],
            "bundle_hash": self.bundle_hash,
            "signed_trytes": list(self.signed_trytes),
            "attached_trytes": list(self.attached_trytes),
            "attachments": [a.to_dict() for a in self.attachments],
            "signed_at": _time_text(self.signed_at),
            "sent_at": _time_text(self.sent_at),
            "confirmed_at": _time_text(self.confirmed_at),
            "last_checked_at": _time_text(self.last_checked_at),
            "unit": self.unit.value,
            "transfer": None if self.transfer is None else self.transfer.to_dict(),
            "fee": None if self.fee is None else self.fee.to_dict(),
            "superseded": list(self.superseded),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Payment:
        if not isinstance(data, Mapping):
            raise ValueError("a payment is an object")
        status = data["status"]
        if status not in PaymentStatus._value2member_map_:
            raise ValueError(f"unknown payment status {status!r}")
        remainder = data["remainder_index"]
        # Documents written before amounts named their unit are all in i.
        unit = data.get("unit", Denomination.LEGACY_I.value)
        if unit not in Denomination._value2member_map_:
            raise ValueError(f"unknown unit {unit!r}")
        return cls(
            id=_str(data["id"], "id"),
            statement_ids=tuple(_str(s, "statement id") for s in data["statement_ids"]),
            amount=_int(data["amount"], "amount"),
            receiver=_str(data["receiver"], "receiver"),
            message=_str(data["message"], "message"),
            created_at=parse_datetime(data["created_at"], "created_at"),
            status=PaymentStatus(status),
            approved=_bool(data["approved"], "approved"),
            reason=None if data["reason"] is None else _str(data["reason"], "reason"),
            missing=_int(data["missing"], "missing"),
            remainder_index=None if remainder is None else _int(remainder, "remainder"),
            inputs=tuple(
                (_int(i[0], "input index"), _int(i[1], "input balance"))
                for i in data["inputs"]
            ),
            bundle_hash=(
                None
                if data["bundle_hash"] is None
                else _str(data["bundle_hash"], "bundle")
            ),
            signed_trytes=tuple(_str(t, "trytes") for t in data["signed_trytes"]),
            attached_trytes=tuple(_str(t, "trytes") for t in data["attached_trytes"]),
            attachments=tuple(Attachment.from_dict(a) for a in data["attachments"]),
            signed_at=_time(data["signed_at"], "signed_at"),
            sent_at=_time(data["sent_at"], "sent_at"),
            confirmed_at=_time(data["confirmed_at"], "confirmed_at"),
            last_checked_at=_time(data["last_checked_at"], "last_checked_at"),
            unit=Denomination(unit),
            # Absent from documents written before the rail interface.
            transfer=(
                None
                if data.get("transfer") is None
                else SignedTransfer.from_dict(data["transfer"])
            ),
            fee=None if data.get("fee") is None else Amount.from_dict(data["fee"]),
            superseded=tuple(
                _str(t, "transfer id") for t in data.get("superseded", ())
            ),
        )


@dataclass(slots=True)
class OutboxState:
    """The outbox's durable document (payments and the wallet's key bookkeeping)."""

    payments: list[Payment] = field(default_factory=list)
    # Key indexes below this were handed out; none is ever handed out twice.
    next_index: int = 1
    # The address the wallet is funded at (never signed from while it is the deposit).
    deposit_index: int = 0
    # Every key index this wallet has signed from (W-OTS: never again).
    spent_indexes: set[int] = field(default_factory=set)
    # IOTA signed away per local day ("YYYY-MM-DD"), for the daily cap.
    sent_by_day: dict[str, int] = field(default_factory=dict)
    next_payment_number: int = 1
    # The node refused attachToTangle once: proof of work is done locally.
    node_pow_refused: bool = False
    # IOTA of every payment confirmed so far (lifetime; history is trimmed).
    paid_total: int = 0

    def payment(self, payment_id: str) -> Payment | None:
        return next((p for p in self.payments if p.id == payment_id), None)

    def put(self, payment: Payment) -> None:
        """Replace the payment with the same id, or append a new one."""
        for index, existing in enumerate(self.payments):
            if existing.id == payment.id:
                self.payments[index] = payment
                return
        self.payments.append(payment)

    def new_payment_id(self) -> str:
        number = self.next_payment_number
        self.next_payment_number += 1
        return f"P{number:06d}"

    def reserve_index(self) -> int:
        """Hand out a fresh key index (the caller persists before using it)."""
        index = self.next_index
        self.next_index += 1
        return index

    def last_confirmed(self) -> Payment | None:
        confirmed = [p for p in self.payments if p.status is PaymentStatus.CONFIRMED]
        return confirmed[-1] if confirmed else None

    def open_payments(self) -> list[Payment]:
        return [p for p in self.payments if p.status not in FINISHED]

    def statement_ids_in_open_payments(self) -> set[str]:
        return {s for p in self.open_payments() for s in p.statement_ids}

    def trim_history(self, limit: int = HISTORY_LIMIT) -> None:
        """Keep every open payment and the newest ``limit`` finished ones, settled.

        Called when a payment finishes: its statements' states are in the
        ledger by the time ``limit`` newer payments have finished (each is
        mirrored there right after its own write). The newest confirmed
        payment stays too, behind any number of failed ones: the *Last
        payment* sensor shows when it confirmed.
        """
        finished = [p for p in self.payments if p.status in FINISHED]
        drop = {p.id for p in finished[: max(0, len(finished) - limit)]}
        last = self.last_confirmed()
        if last is not None:
            drop.discard(last.id)
        self.payments = [p.settled() for p in self.payments if p.id not in drop]
        for day in sorted(self.sent_by_day)[
            : max(0, len(self.sent_by_day) - DAYS_KEPT)
        ]:
            del self.sent_by_day[day]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": OUTBOX_VERSION,
            "payments": [p.to_dict() for p in self.payments],
            "next_index": self.next_index,
            "deposit_index": self.deposit_index,
            "spent_ranges": index_ranges(self.spent_indexes),
            "sent_by_day": dict(self.sent_by_day),
            "next_payment_number": self.next_payment_number,
            "node_pow_refused": self.node_pow_refused,
            "paid_total": self.paid_total,
        }

    @classmethod
    def from_dict(cls, data: Any) -> OutboxState:
        """Validate and read the document; ValueError on any defect."""
        version = data.get("version") if isinstance(data, Mapping) else None
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise ValueError("not an outbox document of a known version")
        try:
            payments = [Payment.from_dict(p) for p in data["payments"]]
            if version == 1:
                # Migrate: version 1 kept every finished payment's trytes.
                payments = [p.settled() for p in payments]
                spent = {_int(i, "spent index") for i in data["spent_indexes"]}
            else:
                below = _int(data["next_index"], "next_index")
                spent = _read_ranges(data["spent_ranges"], below)
            state = cls(
                payments=payments,
                next_index=_int(data["next_index"], "next_index"),
                deposit_index=_int(data["deposit_index"], "deposit_index"),
                spent_indexes=spent,
                sent_by_day={
                    _str(k, "day"): _int(v, "sent")
                    for k, v in data["sent_by_day"].items()
                },
                next_payment_number=_int(data["next_payment_number"], "payment number"),
                node_pow_refused=_bool(data["node_pow_refused"], "node_pow_refused"),
                paid_total=_int(data["paid_total"], "paid_total"),
            )
        except (KeyError, TypeError, AttributeError, IndexError) as err:
            raise ValueError(
                f"outbox document is malformed: {type(err).__name__} {err}"
            ) from None
        if state.deposit_index >= state.next_index or any(
            i >= state.next_index for i in state.spent_indexes
        ):
            raise ValueError("outbox document hands out an index it never reserved")
        if len({p.id for p in state.payments}) != len(state.payments):
            raise ValueError("outbox document repeats a payment id")
        if sum(p.status in IN_FLIGHT for p in state.payments) > 1:
            raise ValueError("outbox document has more than one bundle in flight")
        return state


def index_ranges(indexes: set[int]) -> list[list[int]]:
    """``indexes`` as sorted ``[first, last]`` runs (both included)."""
    runs: list[list[int]] = []
    for index in sorted(indexes):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return runs


def _read_ranges(value: Any, below: int) -> set[int]:
    """The indexes of stored ``[first, last]`` runs, all ``< below``."""
    indexes: set[int] = set()
    end = -2  # the last index of the previous run (none yet)
    for run in value:
        if not isinstance(run, list) or len(run) != 2:
            raise ValueError("a spent range is [first, last]")
        first, last = _int(run[0], "spent index"), _int(run[1], "spent index")
        if last < first or first <= end + 1:
            raise ValueError("spent ranges are sorted, apart and not empty")
        if last >= below:
            # Checked before the range is expanded: a damaged run is not
            # allowed to fill the memory.
            raise ValueError("outbox document hands out an index it never reserved")
        indexes.update(range(first, last + 1))
        end = last
    return indexes


def _time_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(value: object, name: str) -> datetime | None:
    return None if value is None else parse_datetime(value, name)


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0")
    return value


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool")
    return value


def signed_transfer_of(payment: Payment) -> SignedTransfer | None:
    """The payment's signed transfer as the rail sees it (None before signing).

    A legacy bundle is stored in the payment's own fields (the document's
    shape from before the rail interface); here it becomes the legacy rail's
    record, its ``stage`` the payment's status.
    """
    if payment.transfer is not None:
        return payment.transfer
    if payment.bundle_hash is None or not payment.signed_trytes:
        return None
    stage = payment.status if payment.status in IN_FLIGHT else PaymentStatus.BROADCAST
    return SignedTransfer(
        RailName.LEGACY,
        payment.bundle_hash,
        Amount(payment.amount, payment.unit),
        {
            "stage": stage.value,
            "inputs": [list(i) for i in payment.inputs],
            "remainder_index": payment.remainder_index,
            "signed_trytes": list(payment.signed_trytes),
            "attached_trytes": list(payment.attached_trytes),
            "attachments": [a.to_dict() for a in payment.attachments],
        },
    )


def with_signed_transfer(
    payment: Payment, transfer: SignedTransfer, status: PaymentStatus
) -> Payment:
    """``payment`` at ``status`` holding ``transfer`` (see signed_transfer_of)."""
    if transfer.rail is not RailName.LEGACY:
        return payment.evolve(transfer=transfer, status=status)
    record = transfer.record
    remainder = record.get("remainder_index")
    return payment.evolve(
        status=status,
        bundle_hash=transfer.transfer_id,
        inputs=tuple(
            (_int(i[0], "input index"), _int(i[1], "input balance"))
            for i in record["inputs"]
        ),
        remainder_index=None if remainder is None else _int(remainder, "remainder"),
        signed_trytes=tuple(_str(t, "trytes") for t in record["signed_trytes"]),
        attached_trytes=tuple(_str(t, "trytes") for t in record["attached_trytes"]),
        attachments=tuple(Attachment.from_dict(a) for a in record["attachments"]),
    )
