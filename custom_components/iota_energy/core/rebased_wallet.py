"""The Rebased rail's offline half: a transfer built, signed and recorded.

A plain transfer splits ``amount`` nanos off the gas coins and sends it to
the receiver; the gas coins pay the gas too, so they must hold amount plus
the gas budget. Everything here runs without the network: the coins, the
gas price and the budget come from the caller (the network half reads them
and dry-runs for the budget). The result is a
:class:`~.base.SignedTransfer` whose record holds the BCS bytes, the
signature and the gas coins' references: the outbox writes it before the
transaction is executed.

The resume rule (:func:`resume_decision`) says what a restart does with a
stored transfer; docs/rebased.md explains why it never yields a second,
different transaction while the first could still execute.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from .rail import RailName, Shortfall, SignedTransfer, TransferOrder
from .rebased_keys import RebasedKey, check_receiver
from .rebased_sdk import import_iota_sdk
from .units import Amount, Denomination

# This wallet's own limit on gas coins per transaction (the protocol allows
# more; a wallet that needs more should merge its coins first).
MAX_GAS_COINS = 32


class TransferError(ValueError):
    """The transfer cannot be built as asked; ``reason`` is a translation key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class GasCoin:
    """A ``Coin<IOTA>`` object the wallet owns, at one version."""

    object_id: str
    version: int
    digest: str  # base58
    balance: int  # nanos

    def reference(self) -> list[Any]:
        return [self.object_id, self.version, self.digest]


def choose_coins(coins: Sequence[GasCoin], needed: int) -> list[GasCoin] | None:
    """Fewest coins covering ``needed`` nanos (largest first), or None."""
    chosen: list[GasCoin] = []
    total = 0
    for coin in sorted(coins, key=lambda c: (-c.balance, c.object_id)):
        if total >= needed or len(chosen) == MAX_GAS_COINS:
            break
        chosen.append(coin)
        total += coin.balance
    return chosen if total >= needed else None


@dataclass(frozen=True, slots=True)
class UnsignedTransfer:
    """A transfer built, not signed: for a dry run, or to be signed."""

    transaction: Any  # the SDK's Transaction
    receiver: str
    coins: tuple[GasCoin, ...]
    gas_budget: int
    gas_price: int


def build_transfer(
    sender: str,
    order: TransferOrder,
    coins: Sequence[GasCoin],
    *,
    gas_price: int,
    gas_budget: int,
    max_gas_budget: int,
) -> UnsignedTransfer | Shortfall:
    """Build ``order`` offline; Shortfall if the coins do not cover it."""
    if order.amount.unit is not Denomination.NANOS:
        raise TransferError("amount_unit")
    if order.amount.value <= 0:
        raise TransferError("amount_zero")
    if gas_price <= 0 or gas_budget <= 0:
        raise TransferError("gas_zero")
    if gas_budget > max_gas_budget:
        raise TransferError("gas_budget_over_cap")
    receiver = check_receiver(order.receiver)
    if receiver == sender:
        raise TransferError("receiver_is_wallet")
    needed = order.amount.value + gas_budget
    chosen = choose_coins(coins, needed)
    if chosen is None:
        held = sum(c.balance for c in coins)
        return Shortfall(Amount(max(1, needed - held), Denomination.NANOS))
    sdk = import_iota_sdk()
    transaction = (
        sdk.TransactionBuilder(sdk.Address.from_hex(sender))
        .send_iota(
            sdk.Address.from_hex(receiver), sdk.PtbArgument.u64(order.amount.value)
        )
        .gas([_object_reference(sdk, coin.reference()) for coin in chosen])
        .gas_budget(gas_budget)
        .gas_price(gas_price)
        .finish()
    )
    return UnsignedTransfer(transaction, receiver, tuple(chosen), gas_budget, gas_price)


def sign_transfer(
    key: RebasedKey,
    order: TransferOrder,
    coins: Sequence[GasCoin],
    *,
    gas_price: int,
    gas_budget: int,
    max_gas_budget: int,
) -> SignedTransfer | Shortfall:
    """Build and sign ``order`` offline; Shortfall if the coins do not cover it."""
    built = build_transfer(
        key.address,
        order,
        coins,
        gas_price=gas_price,
        gas_budget=gas_budget,
        max_gas_budget=max_gas_budget,
    )
    if isinstance(built, Shortfall):
        return built
    transaction = built.transaction
    signature = key.sign_transaction(transaction)
    record = {
        "sender": key.address,
        "receiver": built.receiver,
        "tx_bytes": base64.b64encode(transaction.to_bcs()).decode("ascii"),
        "signature": signature.to_base64(),
        "gas": [coin.reference() for coin in built.coins],
        "gas_budget": built.gas_budget,
        "gas_price": built.gas_price,
    }
    return SignedTransfer(
        rail=RailName.REBASED,
        transfer_id=transaction.digest().to_base58(),
        amount=order.amount,
        record=record,
    )


def stored_transaction(transfer: SignedTransfer) -> tuple[Any, Any]:
    """The SDK's transaction and signature from a stored record, checked.

    ValueError if the bytes do not hash to the stored digest or the
    signature is not the sender's over them (a damaged or altered record
    is never executed).
    """
    sdk = import_iota_sdk()
    record = transfer.record
    try:
        transaction = sdk.Transaction.from_bcs(base64.b64decode(record["tx_bytes"]))
        signature = sdk.UserSignature.from_base64(record["signature"])
        sdk.UserSignatureVerifier().verify(transaction.signing_digest(), signature)
        signer = signature.as_simple().ed25519_public_key().derive_address().to_hex()
        digest = transaction.digest().to_base58()
        sender = transaction.sender().to_hex()
    except Exception as err:  # the SDK raises one generic type
        raise ValueError(
            f"the stored transfer is damaged ({type(err).__name__})"
        ) from None
    if digest != transfer.transfer_id:
        raise ValueError("the stored bytes do not hash to the stored digest")
    if not signer == sender == record.get("sender"):
        raise ValueError("the stored signature is not the sender's")
    return transaction, signature


class Resume(StrEnum):
    """What to do with a stored, signed transfer after a restart."""

    # Effects with success exist: wait for finality, never send again.
    EXECUTED = "executed"
    # No effects and every gas coin still at its version: send the same
    # bytes again (the network executes a digest at most once).
    SEND_AGAIN = "send_again"
    # Provably never executes: it failed on chain, or a gas coin moved on
    # without it. Only now may a new transaction be signed for the payment.
    DEAD = "dead"


def resume_decision(
    transfer: SignedTransfer,
    *,
    current_versions: Mapping[str, int | None],
    effects: Literal["none", "success", "failure"],
) -> Resume:
    """The resume rule (docs/rebased.md, "Resume").

    ``current_versions`` maps each gas coin's object id to its version now
    (None: the wallet no longer owns it, or it is gone). It must be read
    **before** ``effects`` is looked up, from the same service: if the
    transfer executed between the two reads, its effects are then seen.
    """
    if effects == "success":
        return Resume.EXECUTED
    if effects == "failure":
        return Resume.DEAD
    for object_id, version, _ in transfer.record["gas"]:
        if object_id not in current_versions:
            raise ValueError(f"no current version read for gas coin {object_id}")
        now = current_versions[object_id]
        if now is None or now > version:
            return Resume.DEAD
    return Resume.SEND_AGAIN


def _object_reference(sdk: Any, reference: Sequence[Any]) -> Any:
    object_id, version, digest = reference
    return sdk.ObjectReference(
        object_id=sdk.ObjectId.from_hex(object_id),
        version=sdk.Version.from_u64(version),
        digest=sdk.ObjectDigest.from_base58(digest),
    )
