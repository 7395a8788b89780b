"""The wallet's CPU-bound work as plain functions of plain values.

Address derivation, bundle signing and local proof of work, written so they
can run in another process (see ``worker_pool``): module-level functions
whose arguments and results pickle (strings, ints, tuples, frozen
dataclasses), which read no state of the caller and write none.

The seed comes in as an argument and goes nowhere else. Every exception is
caught here and replaced by a :class:`WalletError` that names only the
failing step and the exception's type: PyOTA's own exceptions keep the
values they refused (the seed among them) in their ``context``, and an
exception raised in a worker is pickled, whole, back to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import importlib
from types import ModuleType

from . import pow as local_pow
from .thirdparty import import_pyota

SECURITY_LEVEL = 2
ADDRESS_TRYTES = 81


class WalletError(Exception):
    """Signing or building a bundle failed (the text never holds key material)."""


@dataclass(frozen=True, slots=True)
class InputKey:
    """One input of a bundle: the key index, its address and its balance."""

    index: int
    address: str
    balance: int


@dataclass(frozen=True, slots=True)
class BundleOrder:
    """Everything a bundle is built from, except the seed."""

    receiver: str  # 81 trytes
    amount: int
    message: str  # trytes, may be empty
    tag: str  # 27 trytes
    inputs: tuple[InputKey, ...]
    remainder_address: str | None
    timestamp: int  # seconds; every transaction of the bundle carries it


@dataclass(frozen=True, slots=True)
class SignedBundle:
    """A finalized, signed bundle: what the outbox stores before broadcasting."""

    bundle_hash: str
    trytes: tuple[str, ...]  # head first
    inputs: tuple[tuple[int, int], ...]


def derive_addresses(seed: str, indexes: tuple[int, ...]) -> tuple[str, ...]:
    """The security-2 addresses (81 trytes, no checksum) at ``indexes``."""
    try:
        types = _pyota_module("iota.crypto.types")
        addresses = _pyota_module("iota.crypto.addresses")
        generator = addresses.AddressGenerator(
            types.Seed(seed), security_level=SECURITY_LEVEL
        )
        return tuple(
            str(generator.get_addresses(index, 1)[0])[:ADDRESS_TRYTES]
            for index in indexes
        )
    except Exception as err:
        raise WalletError(f"address derivation failed ({type(err).__name__})") from None


def sign_bundle(seed: str, order: BundleOrder) -> SignedBundle:
    """Build, finalize and sign ``order`` (local only: nothing is sent).

    The same seed and order give the same trytes, wherever this runs.
    """
    total = sum(i.balance for i in order.inputs)
    change = total - order.amount
    if change < 0 or (change > 0) != (order.remainder_address is not None):
        raise WalletError("inputs and remainder do not fit the amount")
    try:
        iota = import_pyota()
        bundle = iota.ProposedBundle()
        bundle.add_transaction(
            iota.ProposedTransaction(
                address=iota.Address(order.receiver[:ADDRESS_TRYTES]),
                value=order.amount,
                tag=iota.Tag(order.tag),
                message=iota.TryteString(order.message) if order.message else None,
                timestamp=order.timestamp,
            )
        )
        bundle.add_inputs(
            [
                iota.Address(
                    i.address,
                    balance=i.balance,
                    key_index=i.index,
                    security_level=SECURITY_LEVEL,
                )
                for i in order.inputs
            ]
        )
        if order.remainder_address is not None:
            # Added here rather than by finalize(), so it carries the timestamp.
            bundle.add_transaction(
                iota.ProposedTransaction(
                    address=iota.Address(order.remainder_address),
                    value=change,
                    tag=iota.Tag(order.tag),
                    timestamp=order.timestamp,
                )
            )
        for transaction in bundle:
            transaction.timestamp = order.timestamp
        bundle.finalize()
        signing = _pyota_module("iota.crypto.signing")
        types = _pyota_module("iota.crypto.types")
        bundle.sign_inputs(signing.KeyGenerator(types.Seed(seed)))
        trytes = tuple(str(t) for t in bundle.as_tryte_strings())
        bundle_hash = str(bundle.hash)
    except Exception as err:
        raise WalletError(f"signing failed ({type(err).__name__})") from None
    return SignedBundle(
        bundle_hash=bundle_hash,
        trytes=trytes,
        inputs=tuple((i.index, i.balance) for i in order.inputs),
    )


def proof_of_work(
    trunk: str, branch: str, mwm: int, trytes: Sequence[str]
) -> list[str]:
    """Local proof of work on ``trytes`` (head first), as attachToTangle."""
    return local_pow.attach_to_tangle(trunk, branch, mwm, list(trytes))


def _pyota_module(name: str) -> ModuleType:
    """A PyOTA submodule ``import iota`` does not load by itself."""
    import_pyota()
    return importlib.import_module(name)
