"""Check what a user types for the wallet: the seed, the receiver, the tag.

Each check returns the normalised value or raises ``WalletInputError`` with a
``reason`` that the config flow shows as a translated error. Messages never
contain the value checked: a seed must not reach a log or a traceback.
"""

from __future__ import annotations

import secrets
from typing import Final

from .thirdparty import import_pyota
from .trits import TRYTE_ALPHABET, is_trytes

SEED_TRYTES: Final = 81
ADDRESS_TRYTES: Final = 81
CHECKSUM_TRYTES: Final = 9
RECEIVER_TRYTES: Final = ADDRESS_TRYTES + CHECKSUM_TRYTES
TAG_TRYTES: Final = 27

# Trytes whose most significant trit is 0 (values -4..4). Kerl-derived
# addresses end in trit 0 and nodes refuse value transactions to any other.
VALUE_ADDRESS_LAST_TRYTES: Final = frozenset("9ABCDWXYZ")


class WalletInputError(ValueError):
    """A value the user typed is not usable; ``reason`` is a translation key."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _normalise(text: str) -> str:
    return text.strip().upper()


def validate_seed(text: str) -> str:
    """Return the seed as 81 upper-case trytes.

    A short seed is refused, not padded: PyOTA pads with '9', which silently
    turns a typo or a truncated paste into a weak, guessable seed.
    """
    seed = _normalise(text)
    if len(seed) != SEED_TRYTES or not is_trytes(seed):
        raise WalletInputError(
            "invalid_seed", f"a seed is exactly {SEED_TRYTES} characters A-Z and 9"
        )
    return seed


def generate_seed() -> str:
    """A new random seed from the operating system's secure random source."""
    return "".join(secrets.choice(TRYTE_ALPHABET) for _ in range(SEED_TRYTES))


def address_checksum(address: str) -> str:
    """The 9-tryte checksum of an 81-tryte address (Kerl, through PyOTA)."""
    iota = import_pyota()
    with_checksum = str(iota.Address(address).with_valid_checksum())
    return with_checksum[ADDRESS_TRYTES:]


def validate_receiver(text: str) -> str:
    """Return the receiver as 90 upper-case trytes: address and checksum.

    The 81-tryte form is refused: without the checksum a typo would send the
    payments to an address nobody owns.
    """
    receiver = _normalise(text)
    if not receiver or not is_trytes(receiver):
        raise WalletInputError("invalid_receiver", "an address consists of A-Z and 9")
    if len(receiver) == ADDRESS_TRYTES:
        raise WalletInputError(
            "receiver_no_checksum",
            f"give the address with its checksum ({RECEIVER_TRYTES} trytes)",
        )
    if len(receiver) != RECEIVER_TRYTES:
        raise WalletInputError(
            "invalid_receiver", f"an address has {RECEIVER_TRYTES} trytes"
        )
    address = receiver[:ADDRESS_TRYTES]
    if address_checksum(address) != receiver[ADDRESS_TRYTES:]:
        raise WalletInputError(
            "receiver_checksum", "the address checksum does not match"
        )
    if address[-1] not in VALUE_ADDRESS_LAST_TRYTES:
        raise WalletInputError(
            "receiver_not_value_address",
            "the address does not end in trit 0, so it cannot receive value",
        )
    return receiver


def validate_tag(text: str) -> str:
    """Return the tag as 1 to 27 upper-case trytes.

    The tag is returned unpadded; padding it to 27 trytes with '9' is the
    caller's job (when a bundle is built), so the configuration shows what
    the user typed.
    """
    tag = _normalise(text)
    if not tag or len(tag) > TAG_TRYTES or not is_trytes(tag):
        raise WalletInputError(
            "invalid_tag", f"a tag is 1 to {TAG_TRYTES} characters A-Z and 9"
        )
    return tag
