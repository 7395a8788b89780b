"""The legacy IOTA wallet: keys, inputs, signing and proof of work.

It does what Trinity and the account modules of iota.js / iota.go did, not
what PyOTA's convenience commands do: explicit inputs only, checked against
the node's ``wereAddressesSpentFrom`` and the wallet's own durable record of
indexes it signed from; inputs with pending transfers left out; the
remainder to a fresh index; never two signatures from one address.

The wallet holds no durable state itself: the key bookkeeping lives in the
outbox's document (:class:`~.payments.OutboxState`), which the outbox writes
before anything signed leaves the machine.

The CPU-bound work (address derivation, signing, local proof of work) is
done by the functions of ``wallet_work`` through a runner: in this process
by default, or in a worker process (``worker_pool.WorkerPool.run``) so it
never holds this interpreter's GIL. A runner may raise
:class:`~.worker_pool.WorkerLost`; nothing was done then.

The seed is kept in a private attribute and never appears in a repr, a log
line or an exception: PyOTA's own exceptions are replaced by ones that say
only what failed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
import threading
import time
from typing import Any

from . import pow as local_pow
from .legacy_node import LegacyNode, NodeError, Tips
from .thirdparty import import_pyota
from .trits import is_trytes, trytes_to_int
from .wallet_work import (
    ADDRESS_TRYTES,
    BundleOrder,
    InputKey,
    SignedBundle,
    WalletError,
    derive_addresses,
    proof_of_work,
    sign_bundle,
)
from .worker_pool import CpuRunner, run_here

SEED_TRYTES = 81
# A 0-value promotion goes to this address (anything valid would do).
PROMOTION_ADDRESS = "9" * ADDRESS_TRYTES
TAG_TRYTES = 27


@dataclass(frozen=True, slots=True)
class Candidate:
    """A key index that can fund a payment now."""

    index: int
    balance: int


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
        run: CpuRunner = run_here,
    ) -> None:
        if len(seed) != SEED_TRYTES or not is_trytes(seed) or seed != seed.upper():
            raise WalletError("the seed must be 81 trytes (A-Z and 9)")
        if len(tag) > TAG_TRYTES or not is_trytes(tag):
            raise WalletError("the tag must be at most 27 trytes")
        self._seed = _Seed(seed)
        self.node = node
        self.mwm = mwm
        self.tag = tag.ljust(TAG_TRYTES, "9")
        self._run = run
        self._iota = import_pyota()
        self._address_lock = threading.Lock()
        # Derived once (the costly part of a payment after signing).
        self._address_cache: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"LegacyWallet(node={self.node.url!r})"

    # --- addresses -------------------------------------------------------------

    def address(self, index: int) -> str:
        """The 81-tryte address at ``index`` (derived once, then cached)."""
        return self.addresses([index])[0]

    def addresses(self, indexes: Sequence[int]) -> list[str]:
        """The addresses at ``indexes``; the missing ones derived in one call."""
        with self._address_lock:
            cache = self._address_cache
            missing = tuple(dict.fromkeys(i for i in indexes if i not in cache))
            if missing:
                derived = self._run(derive_addresses, self._seed.reveal(), missing)
                cache.update(zip(missing, derived, strict=True))
            return [cache[i] for i in indexes]

    def address_with_checksum(self, index: int) -> str:
        return str(self._iota.Address(self.address(index)).with_valid_checksum())

    # --- funds -----------------------------------------------------------------

    def funds(self, handed_out: int, spent_indexes: Collection[int]) -> Funds:
        """Confirmed balances of every index handed out so far."""
        indexes = list(range(handed_out))
        if not indexes:
            return Funds(0, 0)
        balances = self.node.balances(self.addresses(indexes))
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
        addresses = self.addresses(indexes)
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
        """Whether a value transfer touching ``address`` may still confirm.

        A reattached bundle leaves its older copies unconfirmed for good once
        one copy confirms; their outputs must not keep the address busy
        forever, so a pending transaction of a bundle with a confirmed copy
        on this address does not count.
        """
        hashes = self.node.transactions_of(address)
        if not hashes:
            return False
        states = self.node.confirmed(hashes)
        pending = [h for h, ok in zip(hashes, states, strict=True) if not ok]
        if not pending:
            return False
        pending_value_bundles = {
            transaction.bundle_hash
            for transaction in self._transactions(pending)
            if transaction.value != 0
        }
        if not pending_value_bundles:
            return False
        settled = [h for h, ok in zip(hashes, states, strict=True) if ok]
        confirmed_bundles = {
            transaction.bundle_hash for transaction in self._transactions(settled)
        }
        return not pending_value_bundles <= confirmed_bundles

    def _transactions(self, hashes: Sequence[str]) -> list[Any]:
        if not hashes:
            return []
        iota = self._iota
        return [
            iota.Transaction.from_tryte_string(iota.TransactionTrytes(trytes))
            for trytes in self.node.trytes(hashes)
        ]

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
        total = sum(c.balance for c in inputs)
        if total < amount or (total > amount) != (remainder_index is not None):
            raise WalletError("inputs and remainder do not fit the amount")
        indexes = [c.index for c in inputs]
        if remainder_index is not None:
            indexes.append(remainder_index)
        addresses = self.addresses(indexes)
        order = BundleOrder(
            receiver=receiver[:ADDRESS_TRYTES],
            amount=amount,
            message=message,
            tag=self.tag,
            inputs=tuple(
                InputKey(c.index, address, c.balance)
                for c, address in zip(inputs, addresses, strict=False)
            ),
            remainder_address=None if remainder_index is None else addresses[-1],
            timestamp=int(time.time()),
        )
        return self._run(sign_bundle, self._seed.reveal(), order)

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
        return self._run(
            proof_of_work, tips.trunk, tips.branch, self.mwm, tuple(trytes)
        )


def tail_hash(attached: Sequence[str]) -> str:
    """The hash of the tail (index 0) among attached transactions."""
    for trytes in attached:
        if _current_index(trytes) == 0:
            return local_pow.transaction_hash(trytes)
    raise NodeError("attachToTangle", "garbage", "no tail transaction")


def _current_index(trytes: str) -> int:
    return trytes_to_int(trytes[local_pow.FIELDS["current_index"]])
