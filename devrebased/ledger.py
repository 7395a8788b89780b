"""The development Rebased node's ledger: IOTA coin objects and transfers.

What it simulates: ``Coin<IOTA>`` objects owned by addresses, each with a
version and a digest computed by the SDK's own ``Object`` type; plain
transfers (``SplitCoins(Gas, [amount])`` + ``TransferObjects``, what
``TransactionBuilder.send_iota`` builds) checked like a validator checks
them (signature verified with the SDK's verifier, signer = sender = gas
owner, every gas coin at its current version and digest, gas price at least
the reference price, budget covered) and executed at most once per digest,
with a fixed gas charge. What it does not: Move execution, shared objects,
checkpoints and epochs (effects are final when written), sponsors,
storage fees and rebates.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import hashlib
import json
import struct
import threading
from typing import Any

from custom_components.iota_energy.core.rebased_sdk import import_iota_sdk

CHAIN_ID = "d3v1073a"
REFERENCE_GAS_PRICE = 1000
# Computation units one transfer costs here (charged x the gas price).
TRANSFER_GAS_UNITS = 1000


class RejectedError(Exception):
    """The service refuses the transaction (no effects, nothing charged)."""


@dataclass(slots=True)
class CoinState:
    owner: str
    balance: int
    version: int
    previous_transaction: bytes


class Ledger:
    """Coins by object id, executed transactions by digest; thread-safe."""

    def __init__(self, allocations: dict[str, list[int]]) -> None:
        self._sdk = import_iota_sdk()
        self._lock = threading.Lock()
        self.coins: dict[str, CoinState] = {}
        self.executed: dict[str, bytes] = {}  # digest -> effects BCS
        for owner, balances in allocations.items():
            for balance in balances:
                object_id = _object_id(f"{owner}/{len(self.coins)}".encode())
                self.coins[object_id] = CoinState(owner, balance, 1, bytes(32))

    # --- reads -------------------------------------------------------------------

    def balance(self, owner: str) -> int:
        with self._lock:
            return sum(c.balance for c in self.coins.values() if c.owner == owner)

    def coin_objects(self, owner: str) -> list[bytes]:
        with self._lock:
            return [
                self._object(i, c).to_bcs()
                for i, c in sorted(self.coins.items())
                if c.owner == owner
            ]

    def object_bcs(self, object_id: str) -> bytes | None:
        with self._lock:
            coin = self.coins.get(object_id)
            return None if coin is None else self._object(object_id, coin).to_bcs()

    def effects(self, digest: str) -> bytes | None:
        with self._lock:
            return self.executed.get(digest)

    # --- execution -----------------------------------------------------------------

    def execute(self, tx_bytes: str, signatures: list[str]) -> bytes:
        """Effects BCS of the transfer; RejectedError with the reason otherwise."""
        sdk = self._sdk
        try:
            transaction = sdk.Transaction.from_bcs(base64.b64decode(tx_bytes))
            signature = sdk.UserSignature.from_base64(signatures[0])
        except Exception as err:  # the SDK raises one generic type
            raise RejectedError(
                f"Invalid transaction or signature bytes: {err}"
            ) from None
        digest = transaction.digest().to_base58()
        # The signature first, also for a digest executed before.
        self._check_signature(transaction, signature, signatures)
        with self._lock:
            if digest in self.executed:
                return self.executed[digest]
            return self._apply(transaction, digest)

    def dry_run(self, kind_bytes: str, meta: dict[str, Any]) -> tuple[bytes, bytes]:
        """The transaction's and its effects' BCS as they would be now.

        Nothing changes.

        The SDK sends the transaction kind and its metadata (sender, gas
        coins, price, budget) separately, as the real service takes them.
        """
        sdk = self._sdk
        try:
            kind = sdk.TransactionKind.from_bcs(base64.b64decode(kind_bytes))
            sender = sdk.Address.from_hex(meta["sender"])
            gas = sdk.GasPayment(
                objects=[
                    sdk.ObjectReference(
                        object_id=sdk.ObjectId.from_hex(g["address"]),
                        version=sdk.Version.from_u64(int(g["version"])),
                        digest=sdk.ObjectDigest.from_base58(g["digest"]),
                    )
                    for g in meta["gasObjects"]
                ],
                owner=sdk.Address.from_hex(meta.get("gasSponsor") or meta["sender"]),
                price=int(meta["gasPrice"]),
                budget=int(meta["gasBudget"]),
            )
            transaction = sdk.Transaction.new_v1(
                sdk.TransactionV1(kind, sender, gas, sdk.TransactionExpiration.NONE())
            )
        except Exception as err:  # the SDK raises one generic type
            raise RejectedError(
                f"Invalid transaction kind or metadata: {err}"
            ) from None
        digest = transaction.digest().to_base58()
        with self._lock:
            coins = dict(self.coins)
            try:
                effects = self._apply(transaction, digest)
            finally:
                self.coins = coins
                self.executed.pop(digest, None)
        unsigned = sdk.SignedTransaction(transaction=transaction, signatures=[])
        return bytes(unsigned.to_bcs()), effects

    def _check_signature(
        self, transaction: Any, signature: Any, signatures: list[str]
    ) -> None:
        if len(signatures) != 1:
            raise RejectedError("Expected exactly one signature")
        try:
            self._sdk.UserSignatureVerifier().verify(
                transaction.signing_digest(), signature
            )
            signer = signature.as_simple().ed25519_public_key().derive_address()
        except Exception:  # the SDK raises one generic type
            raise RejectedError(
                "Invalid user signature: signature verification failed"
            ) from None
        if signer.to_hex() != transaction.sender().to_hex():
            raise RejectedError(
                "Invalid user signature: the signer is not the transaction's sender"
            )

    def _apply(self, transaction: Any, digest: str) -> bytes:
        sdk = self._sdk
        sender = transaction.sender().to_hex()
        gas = transaction.gas_payment()
        if gas.owner.to_hex() != sender:
            raise RejectedError("Sponsored transactions are not supported here")
        if gas.price < REFERENCE_GAS_PRICE:
            raise RejectedError(
                f"Gas price {gas.price} under reference gas price "
                f"(RGP) {REFERENCE_GAS_PRICE}"
            )
        charged = TRANSFER_GAS_UNITS * gas.price
        if gas.budget < charged:
            raise RejectedError(
                f"Gas budget {gas.budget} is lower than the needed {charged}"
            )
        gas_ids = [self._check_gas_object(ref, sender) for ref in gas.objects]
        if not gas_ids:
            raise RejectedError("No gas objects were given")
        recipient, amount = _plain_transfer(transaction)
        held = sum(self.coins[i].balance for i in gas_ids)
        if held < gas.budget:
            raise RejectedError(
                f"Balance of gas object {gas_ids[0]} is lower than the needed "
                f"amount: {gas.budget}"
            )
        lamport = max(self.coins[i].version for i in gas_ids) + 1
        before = {i: self._object(i, self.coins[i]) for i in gas_ids}
        success = held >= amount + charged
        tx_digest = bytes(transaction.digest().to_bytes())
        primary, *merged = gas_ids
        paid = amount if success else 0
        self.coins[primary] = CoinState(
            sender, held - paid - charged, lamport, tx_digest
        )
        for object_id in merged:
            del self.coins[object_id]
        changed = [
            self._changed(i, before[i], self.coins.get(i), created=False)
            for i in gas_ids
        ]
        if success:
            new_id = (
                "0x" + hashlib.blake2b(tx_digest + b"/0", digest_size=32).hexdigest()
            )
            self.coins[new_id] = CoinState(recipient, amount, lamport, tx_digest)
            changed.append(
                self._changed(new_id, None, self.coins[new_id], created=True)
            )
        status = (
            sdk.ExecutionStatus.SUCCESS()
            if success
            else sdk.ExecutionStatus.FAILURE(
                error=sdk.ExecutionError.INSUFFICIENT_COIN_BALANCE(), command=0
            )
        )
        effects = sdk.TransactionEffects.new_v1(
            sdk.TransactionEffectsV1(
                status,
                0,
                sdk.GasCostSummary(
                    computation_cost=charged,
                    computation_cost_burned=charged,
                    storage_cost=0,
                    storage_rebate=0,
                    non_refundable_storage_fee=0,
                ),
                transaction.digest(),
                0,
                None,
                [],
                sdk.Version.from_u64(lamport),
                changed,
                [],
                None,
            )
        )
        self.executed[digest] = bytes(effects.to_bcs())
        return self.executed[digest]

    def _check_gas_object(self, reference: Any, sender: str) -> str:
        object_id: str = reference.object_id.to_hex()
        coin = self.coins.get(object_id)
        if coin is None or coin.owner != sender:
            raise RejectedError(f"Could not find the referenced object {object_id}")
        version = reference.version.as_u64()
        current = self._object(object_id, coin)
        if version != coin.version or (
            reference.digest.to_base58() != current.digest().to_base58()
        ):
            raise RejectedError(
                f"Object {object_id} is not available for consumption, its current "
                f"version: {coin.version}"
            )
        return object_id

    def _object(self, object_id: str, coin: CoinState) -> Any:
        sdk = self._sdk
        contents = bytes.fromhex(object_id[2:]) + struct.pack("<Q", coin.balance)
        move_struct = sdk.MoveStruct(
            struct_type=sdk.StructTag.new_gas_coin(),
            version=sdk.Version.from_u64(coin.version),
            contents=contents,
        )
        return sdk.Object(
            sdk.ObjectData.new_move_struct(move_struct),
            sdk.Owner.new_address(sdk.Address.from_hex(coin.owner)),
            sdk.TransactionDigest.from_bytes(coin.previous_transaction),
            0,
        )

    def _changed(
        self, object_id: str, before: Any, after: CoinState | None, *, created: bool
    ) -> Any:
        sdk = self._sdk
        input_state = (
            sdk.ObjectIn.MISSING()
            if before is None
            else sdk.ObjectIn.DATA(before.version(), before.digest(), before.owner())
        )
        if after is None:
            output_state = sdk.ObjectOut.MISSING()
        else:
            written = self._object(object_id, after)
            output_state = sdk.ObjectOut.OBJECT_WRITE(written.digest(), written.owner())
        operation = (
            sdk.IdOperation.CREATED
            if created
            else sdk.IdOperation.DELETED
            if after is None
            else sdk.IdOperation.NONE
        )
        return sdk.ChangedObject(
            object_id=sdk.ObjectId.from_hex(object_id),
            input_state=input_state,
            output_state=output_state,
            id_operation=operation,
        )


def _object_id(seed: bytes) -> str:
    return "0x" + hashlib.blake2b(seed, digest_size=32).hexdigest()


def _plain_transfer(transaction: Any) -> tuple[str, int]:
    """(recipient, nanos) of a ``send_iota`` transaction; RejectedError otherwise."""
    try:
        kind = json.loads(transaction.to_json())["V1"]["kind"]["Programmable"]
        inputs = [base64.b64decode(i["Pure"]) for i in kind["inputs"]]
        split, transfer = kind["commands"]
        amount_input = split["SplitCoins"]["amounts"][0]["Input"]
        address_input = transfer["TransferObjects"]["address"]["Input"]
        if split["SplitCoins"]["coin"] != "Gas":
            raise ValueError("not split off the gas coin")
        (amount,) = struct.unpack("<Q", inputs[amount_input])
        recipient = "0x" + inputs[address_input].hex()
    except (KeyError, TypeError, ValueError, IndexError, struct.error):
        raise RejectedError("Only plain IOTA transfers are supported here") from None
    if len(recipient) != 66:
        raise RejectedError("Only plain IOTA transfers are supported here")
    return recipient, int(amount)
