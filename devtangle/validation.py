"""The checks a real IRI node ran on every transaction and every bundle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from custom_components.iota_energy.core.trits import trytes_to_trits

from . import crypto
from .errors import InvalidTransactionError
from .transaction import TRANSACTION_TRYTES, Transaction

# The legacy token supply: (3**33 - 1) / 2.
SUPPLY: Final = 2_779_530_283_277_761
# IRI refused timestamps more than two hours ahead of its clock.
MAX_FUTURE_MS: Final = 2 * 60 * 60 * 1000
# A W-OTS address has at most security level 3: three signature fragments.
MAX_SECURITY: Final = 3


def validate_transaction(
    trytes: str, *, mwm: int, min_timestamp_ms: int, now_ms: int
) -> Transaction:
    """Hash and check one transaction as IRI's TransactionValidator did."""
    if len(trytes) != TRANSACTION_TRYTES:
        raise InvalidTransactionError("Invalid trytes input")
    hash_ = crypto.transaction_hash(trytes)
    if crypto.trailing_zero_trits(hash_) < mwm:
        raise InvalidTransactionError("Invalid transaction hash")
    tx = Transaction.parse(trytes, hash_)
    if not tx.value_high_trits_zero or abs(tx.value) > SUPPLY:
        raise InvalidTransactionError("Invalid transaction value")
    # Value transactions must use addresses made by Kerl (last trit 0).
    if tx.value != 0 and trytes_to_trits(tx.address[-1])[-1] != 0:
        raise InvalidTransactionError("Invalid transaction address")
    stamp_ms = tx.attachment_timestamp or tx.timestamp * 1000
    if not min_timestamp_ms <= stamp_ms <= now_ms + MAX_FUTURE_MS:
        raise InvalidTransactionError("Invalid transaction timestamp")
    if tx.current_index > tx.last_index:
        raise InvalidTransactionError("Invalid transaction index")
    return tx


@dataclass(frozen=True, slots=True)
class BundleVerdict:
    """The outcome of validating the bundle that starts at one tail."""

    transactions: tuple[Transaction, ...]
    error: str | None  # None: valid
    complete: bool = True

    @property
    def valid(self) -> bool:
        return self.complete and self.error is None


def gather_bundle(
    tail: Transaction,
    lookup: Callable[[str], Transaction | None],
    judge: Callable[[Sequence[Transaction]], str | None] | None = None,
) -> BundleVerdict:
    """Follow trunks from ``tail`` through the bundle, then judge it.

    ``judge`` defaults to ``validate_bundle``; the node passes a cached one.
    """
    if not tail.is_tail:
        return BundleVerdict((tail,), "Transaction is not a tail")
    chain = [tail]
    while not chain[-1].is_head:
        current = chain[-1]
        following = lookup(current.trunk)
        if following is None:
            return BundleVerdict(tuple(chain), None, complete=False)
        if (
            following.bundle != tail.bundle
            or following.current_index != current.current_index + 1
            or following.last_index != tail.last_index
        ):
            return BundleVerdict(tuple(chain), "Invalid bundle structure")
        chain.append(following)
    return BundleVerdict(tuple(chain), (judge or validate_bundle)(chain))


# Each return is IRI's answer for one rule, in IRI's order.
def validate_bundle(chain: Sequence[Transaction]) -> str | None:  # noqa: PLR0911
    """Check a complete, trunk-linked bundle; return the error or None."""
    head = chain[-1]
    if len(chain) != head.last_index + 1:
        return "Invalid bundle structure"
    # Inner transactions approve the head's trunk (what attachToTangle makes).
    if any(tx.branch != head.trunk for tx in chain[:-1]):
        return "Invalid bundle structure"
    running = 0
    for tx in chain:
        running += tx.value
        if abs(running) > SUPPLY:
            return "Invalid bundle value"
    if running != 0:
        return "Invalid bundle value"
    if crypto.kerl_hash("".join(tx.essence for tx in chain)) != head.bundle:
        return "Invalid bundle hash"
    has_inputs = any(tx.value < 0 for tx in chain)
    if has_inputs and crypto.INSECURE_NORMALIZED_VALUE in (
        crypto.normalized_bundle_hash(head.bundle)
    ):
        return "Insecure bundle hash"
    return _signature_error(chain)


def _signature_error(chain: Sequence[Transaction]) -> str | None:
    index = 0
    while index < len(chain):
        tx = chain[index]
        if tx.value >= 0:
            index += 1
            continue
        # An input's fragments: it and the 0-value transactions that follow
        # it with the same address (one per security level).
        fragments = [tx.signature_fragment]
        index += 1
        while (
            index < len(chain)
            and chain[index].address == tx.address
            and chain[index].value == 0
        ):
            fragments.append(chain[index].signature_fragment)
            index += 1
        if len(fragments) > MAX_SECURITY or not crypto.signature_matches_address(
            fragments, tx.bundle, tx.address
        ):
            return "Invalid bundle signature"
    return None
