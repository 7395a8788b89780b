"""What the outbox needs from a payment rail: the legacy one or IOTA Rebased.

The outbox keeps its guarantees (durable before acting, resume without a
second different transaction, caps, approval, events) by driving every
rail through the same few calls and storing what each returns **before**
it calls again:

``sign``
    Reads what it must (funds, coin objects, gas price), then builds and
    signs **offline**. Returns a :class:`SignedTransfer` (written as the
    payment's ``signed`` state before anything leaves the machine) or a
    :class:`Shortfall`. The only call that creates a transaction.
``advance``
    One outward step on the stored record and nothing more: legacy proof
    of work, broadcast, promotion or reattachment of the same signed trytes;
    Rebased execution of the same signed bytes or a look-up of their
    effects. The returned record is written before ``advance`` runs again,
    and repeating a step on the same record is always safe.

A rail never signs a second, different transaction for a payment by
itself: when the stored one provably can never execute (see the rail's
resume rule), ``advance`` answers :attr:`Progress.DEAD` and the outbox
decides whether to sign again. Network trouble is a
:class:`~.legacy_node.NodeError` (the outbox backs off; nothing stored
changes). Calls block: the outbox runs them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from .units import Amount, Denomination


class RailName(StrEnum):
    LEGACY = "legacy"
    REBASED = "rebased"


class ReceiverError(ValueError):
    """The receiver is not an address this rail can pay (a translation key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TransferOrder:
    """What one payment asks the rail to pay."""

    payment_id: str
    receiver: str
    amount: Amount
    # The bill, where the rail carries one (legacy: the message trytes). A
    # plain Rebased transfer has no memo: the neighbour matches by digest.
    memo: str | None = None


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Not enough funds now; the payment waits (``missing`` in the rail's unit)."""

    missing: Amount


@dataclass(frozen=True, slots=True)
class SignedTransfer:
    """A signed transaction as the outbox stores it; JSON round-trips exactly.

    ``transfer_id`` is what the network knows it by (legacy: the bundle
    hash; Rebased: the transaction digest). ``record`` is the rail's own
    data (signed trytes and attachments; transaction bytes, signature, gas
    coins), opaque to the outbox and updated only through ``advance``.
    """

    rail: RailName
    transfer_id: str
    amount: Amount
    record: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rail": self.rail.value,
            "transfer_id": self.transfer_id,
            "amount": self.amount.to_dict(),
            "record": dict(self.record),
        }

    @classmethod
    def from_dict(cls, data: object) -> SignedTransfer:
        if not isinstance(data, Mapping):
            raise ValueError("a signed transfer is an object")
        rail = data.get("rail")
        if not isinstance(rail, str) or rail not in RailName._value2member_map_:
            raise ValueError(f"unknown rail {rail!r}")
        transfer_id = data.get("transfer_id")
        record = data.get("record")
        if not isinstance(transfer_id, str) or not transfer_id:
            raise ValueError("a signed transfer names its transfer id")
        if not isinstance(record, Mapping):
            raise ValueError("a signed transfer's record is an object")
        return cls(
            RailName(rail), transfer_id, Amount.from_dict(data.get("amount")), record
        )


class Progress(StrEnum):
    """Where a signed transfer stands after one ``advance``."""

    # Stored, not yet known to the network: advance again (sends it).
    SIGNED = "signed"
    # Sent; waiting for finality (advance again after the check interval).
    SENT = "sent"
    CONFIRMED = "confirmed"
    # Provably never executes (its inputs moved on without it): the outbox
    # may sign a new transaction for the payment.
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Advance:
    """The outcome of one step: the record to store and where it stands."""

    transfer: SignedTransfer
    progress: Progress
    # Network fee paid (Rebased gas), known once executed; legacy: None.
    fee: Amount | None = None
    # The wallet's new book when this step changed it (legacy: proof of
    # work moved to this machine); written with the record.
    book: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Funds:
    """What the wallet can spend now and holds in all, in the rail's unit."""

    spendable: Amount
    total: Amount


class Rail(Protocol):
    """A payment rail as the outbox uses it (see the module docstring)."""

    @property
    def name(self) -> RailName: ...

    @property
    def unit(self) -> Denomination: ...

    def check_network(self) -> None:
        """NodeError unless the node serves the network the entry was set up on.

        The outbox calls it before its first step and again after every node
        failure (the service may come back as another one); ``kind`` is
        ``wrong_network`` when the node answers for another network.
        """
        ...

    def check_receiver(self, receiver: str) -> str:
        """The receiver in canonical form; ReceiverError if unusable."""
        ...

    def deposit_address(self, book: Mapping[str, Any]) -> str:
        """Where the wallet is funded."""
        ...

    def funds(self, book: Mapping[str, Any]) -> Funds: ...

    def sign(
        self,
        order: TransferOrder,
        book: Mapping[str, Any],
        reserve: Callable[[Mapping[str, Any]], None],
    ) -> tuple[SignedTransfer | Shortfall, Mapping[str, Any]]:
        """Build and sign ``order``; returns it and the wallet's new book.

        ``book`` is the rail's durable wallet bookkeeping (legacy: key
        indexes handed out and signed from). A rail that must hand out
        something before signing (a fresh remainder index) calls
        ``reserve(new_book)``, which is durable when it returns.
        """
        ...

    def advance(
        self, transfer: SignedTransfer, book: Mapping[str, Any], now: datetime
    ) -> Advance:
        """One outward step on the stored ``transfer`` (see the module doc)."""
        ...
