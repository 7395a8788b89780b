"""The legacy IOTA wallet: keys, inputs, signing and proof of work.

It does what Trinity and the account modules of iota.js / iota.go did, not
what PyOTA's convenience commands do: explicit inputs only, checked against
the node's ``wereAddressesSpentFrom`` and the wallet's own durable record of
indexes it signed from; inputs with pending transfers left out; the
remainder to a fresh index; never two signatures from one address.

The wallet holds no durable state itself: the key bookkeeping lives in the
outbox's document (:class:`~.payments.OutboxState`), which the outbox writes
before anything signed leaves the machine.

The seed is kept in a private attribute and never appears in a repr, a log
line or an exception: PyOTA's own exceptions are replaced by ones that say
only what failed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
import importlib
import threading
from typing import Any

from . import pow as local_pow
from .legacy_node import LegacyNode, NodeError, Tips
from .thirdparty import import_pyota
from .trits import is_trytes, trytes_to_int

SECURITY_LEVEL = 2
SEED_TRYTES = 81
ADDRESS_TRYTES = 81
# A 0-value promotion goes to this address (anything valid would do).
PROMOTION_ADDRESS = "9" * ADDRESS_TRYTES
TAG_TRYTES = 27


class WalletError(Exception):
    """Signing or building a bundle failed (the text never holds key material)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A key index that can fund a payment now."""

    index: int
    balance: int


@dataclass(frozen=True, slots=True)
class SignedBundle:
    """A finalized, signed bundle: what the outbox stores before broadcasting."""

    bundle_hash: str
    trytes: tuple[str, ...]  # head first
    inputs: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Funds:
    """What the wallet holds by the node's confirmed balances."""

    spendable: int  # on addresses never signed from and without pending transfers
    total: int  # on every address of the wallet, spent ones included


class _Seed:
    """The seed, out of every repr and str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "<seed>"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value


class LegacyWallet:
    """A security-2 wallet over one seed and one node."""

    def __init__(
        self,
        seed: str,
        node: LegacyNode,
        *,
        mwm: int,
        tag: str = "",
        local_pow_lanes: int = 4096,
    ) -> None:
        if len(seed) != SEED_TRYTES or not is_trytes(seed) or seed != seed.upper():
            raise WalletError("the seed must be 81 trytes (A-Z and 9)")
        if len(tag) > TAG_TRYTES or not is_trytes(tag):
            raise WalletError("the tag must be at most 27 trytes")
        self._seed = _Seed(seed)
        self.node = node
        self.mwm = mwm
        self.tag = tag.ljust(TAG_TRYTES, "9")
        self._lanes = local_pow_lanes
        self._iota = import_pyota()
        # Submodules ``import iota`` does not load by itself.
        self._addresses = importlib.import_module("iota.crypto.addresses")
        self._signing = importlib.import_module("iota.crypto.signing")
        self._types = importlib.import_module("iota.crypto.types")
        self._address_lock = threading.Lock()
        self._address = lru_cache(maxsize=4096)(self._derive_address)

    def __repr__(self) -> str:
        return f"LegacyWallet(node={self.node.url!r})"

    # --- addresses -------------------------------------------------------------

    def address(self, index: int) -> str:
        """The 81-tryte address at ``index`` (derived once, then cached)."""
        with self._address_lock:
            return self._address(index)

    def address_with_checksum(self, index: int) -> str:
        return str(self._iota.Address(self.address(index)).with_valid_checksum())

    def _derive_address(self, index: int) -> str:
        try:
            generator = self._addresses.AddressGenerator(
                self._types.Seed(self._seed.reveal()), security_level=SECURITY_LEVEL
            )
            return str(generator.get_addresses(index, 1)[0])[:ADDRESS_TRYTES]
        except Exception as err:
            raise WalletError(
                f"address derivation failed ({type(err).__name__})"
            ) from None

    # --- funds -----------------------------------------------------------------

    def funds(self, handed_out: int, spent_indexes: Collection[int]) -> Funds:
        """Confirmed balances of every index handed out so far."""
        indexes = list(range(handed_out))
        if not indexes:
            return Funds(0, 0)
        balances = self.node.balances([self.address(i) for i in indexes])
        total = sum(balances)
        spendable = sum(
            b for i, b in zip(indexes, balances, strict=True) if i not in spent_indexes
        )
        return Funds(spendable=spendable, total=total)

    def candidates(
        self, handed_out: int, spent_indexes: Collection[int]
    ) -> tuple[list[Candidate], set[int]]:
        """Funded indexes safe to sign from, and indexes the node says are spent.

        Left out: indexes this wallet signed from, addresses the node reports
        as spent from (someone else holds the seed, or a record was lost),
        and addresses with pending (unconfirmed) value transfers.
        """
        indexes = [i for i in range(handed_out) if i not in spent_indexes]
        if not indexes:
            return [], set()
        addresses = [self.address(i) for i in indexes]
        balances = self.node.balances(addresses)
        funded = [
            (i, a, b)
            for i, a, b in zip(indexes, addresses, balances, strict=True)
            if b > 0
        ]
        if not funded:
            return [], set()
        spent_by_node = self.node.spent([a for _, a, _ in funded])
        newly_spent = {
            i for (i, _, _), s in zip(funded, spent_by_node, strict=True) if s
        }
        usable = [
            Candidate(i, b)
            for (i, a, b) in funded
            if i not in newly_spent and not self._has_pending_value(a)
        ]
        return usable, newly_spent

    def _has_pending_value(self, address: str) -> bool:
        hashes = self.node.transactions_of(address)
        if not hashes:
            return False
        pending = [
            h
            for h, ok in zip(hashes, self.node.confirmed(hashes), strict=True)
            if not ok
        ]
        if not pending:
            return False
        iota = self._iota
        for trytes in self.node.trytes(pending):
            transaction = iota.Transaction.from_tryte_string(
                iota.TransactionTrytes(trytes)
            )
            if transaction.value != 0:
                return True
        return False

    # --- signing ---------------------------------------------------------------

    def sign(
        self,
        receiver: str,
        amount: int,
        message: str,
        inputs: Sequence[Candidate],
        remainder_index: int | None,
    ) -> SignedBundle:
        """Build, finalize and sign the bundle (local only: nothing is sent)."""
        iota = self._iota
        total = sum(c.balance for c in inputs)
        if total < amount or (total > amount) != (remainder_index is not None):
            raise WalletError("inputs and remainder do not fit the amount")
        try:
            bundle = iota.ProposedBundle()
            bundle.add_transaction(
                iota.ProposedTransaction(
                    address=iota.Address(receiver[:ADDRESS_TRYTES]),
                    value=amount,
                    tag=iota.Tag(self.tag),
                    message=iota.TryteString(message) if message else None,
                )
            )
            bundle.add_inputs(
                [
                    iota.Address(
                        self.address(c.index),
                        balance=c.balance,
                        key_index=c.index,
                        security_level=SECURITY_LEVEL,
                    )
                    for c in inputs
                ]
            )
            if remainder_index is not None:
                bundle.send_unspent_inputs_to(
                    iota.Address(self.address(remainder_index))
                )
            bundle.finalize()
            bundle.sign_inputs(
                self._signing.KeyGenerator(self._types.Seed(self._seed.reveal()))
            )
            trytes = tuple(str(t) for t in bundle.as_tryte_strings())
            bundle_hash = str(bundle.hash)
        except Exception as err:
            raise WalletError(f"signing failed ({type(err).__name__})") from None
        return SignedBundle(
            bundle_hash=bundle_hash,
            trytes=trytes,
            inputs=tuple((c.index, c.balance) for c in inputs),
        )

    def promotion_trytes(self) -> list[str]:
        """A 0-value, unsigned transaction (its approvees make it a promotion)."""
        iota = self._iota
        bundle = iota.ProposedBundle()
        bundle.add_transaction(
            iota.ProposedTransaction(
                address=iota.Address(PROMOTION_ADDRESS), value=0, tag=iota.Tag(self.tag)
            )
        )
        bundle.finalize()
        return [str(t) for t in bundle.as_tryte_strings()]

    # --- proof of work -----------------------------------------------------------

    def attach(self, trytes: Sequence[str], tips: Tips, *, local: bool) -> list[str]:
        """Proof of work on ``trytes`` (head first), by the node or locally."""
        if not local:
            return self.node.attach(tips, self.mwm, trytes)
        return local_pow.attach_to_tangle(
            tips.trunk, tips.branch, self.mwm, list(trytes)
        )


def tail_hash(attached: Sequence[str]) -> str:
    """The hash of the tail (index 0) among attached transactions."""
    for trytes in attached:
        if _current_index(trytes) == 0:
            return local_pow.transaction_hash(trytes)
    raise NodeError("attachToTangle", "garbage", "no tail transaction")


def _current_index(trytes: str) -> int:
    return trytes_to_int(trytes[local_pow.FIELDS["current_index"]])


def message_of(transactions: Sequence[Any]) -> list[str]:
    """Message fragments of a bundle's first output and its 0-value followers."""
    fragments: list[str] = []
    output_address: str | None = None
    for transaction in sorted(transactions, key=lambda t: int(t.current_index)):
        if output_address is None and int(transaction.value) > 0:
            output_address = str(transaction.address)
            fragments.append(str(transaction.signature_message_fragment))
        elif output_address is not None:
            if (
                str(transaction.address) == output_address
                and int(transaction.value) == 0
            ):
                fragments.append(str(transaction.signature_message_fragment))
            else:
                break
    return fragments
