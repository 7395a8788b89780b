"""One legacy IOTA transaction: its 2673 trytes split into named fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from custom_components.iota_energy.core.trits import (
    is_trytes,
    trytes_to_int,
    trytes_to_trits,
)

TRANSACTION_TRYTES: Final = 2673
HASH_TRYTES: Final = 81
TAG_TRYTES: Final = 27
NULL_HASH: Final = "9" * HASH_TRYTES

# Offsets (in trytes) of each field inside the transaction trytes.
_SIGNATURE = slice(0, 2187)
_ADDRESS = slice(2187, 2268)
_VALUE = slice(2268, 2295)
_OBSOLETE_TAG = slice(2295, 2322)
_TIMESTAMP = slice(2322, 2331)
_CURRENT_INDEX = slice(2331, 2340)
_LAST_INDEX = slice(2340, 2349)
_BUNDLE = slice(2349, 2430)
_TRUNK = slice(2430, 2511)
_BRANCH = slice(2511, 2592)
_TAG = slice(2592, 2619)
_ATTACHMENT_TIMESTAMP = slice(2619, 2628)
_ATTACHMENT_LOWER = slice(2628, 2637)
_ATTACHMENT_UPPER = slice(2637, 2646)
# The bundle essence: address, value, obsoleteTag, timestamp and indexes.
ESSENCE = slice(2187, 2349)

# Only 33 of the value field's 81 trits may be used: the supply fits in them.
VALUE_USABLE_TRITS: Final = 33


def is_hash(text: object) -> bool:
    """Tell whether ``text`` is 81 trytes."""
    return isinstance(text, str) and len(text) == HASH_TRYTES and is_trytes(text)


@dataclass(frozen=True, slots=True)
class Transaction:
    """The fields of a transaction, decoded from its trytes."""

    hash: str
    trytes: str
    signature_fragment: str
    address: str
    value: int
    obsolete_tag: str
    timestamp: int
    current_index: int
    last_index: int
    bundle: str
    trunk: str
    branch: str
    tag: str
    attachment_timestamp: int
    attachment_lower: int
    attachment_upper: int
    value_high_trits_zero: bool

    @classmethod
    def parse(cls, trytes: str, hash_: str) -> Transaction:
        """Decode ``trytes`` (already checked to be 2673 trytes)."""
        value_trits = trytes_to_trits(trytes[_VALUE])
        return cls(
            hash=hash_,
            trytes=trytes,
            signature_fragment=trytes[_SIGNATURE],
            address=trytes[_ADDRESS],
            value=trytes_to_int(trytes[_VALUE]),
            obsolete_tag=trytes[_OBSOLETE_TAG],
            timestamp=trytes_to_int(trytes[_TIMESTAMP]),
            current_index=trytes_to_int(trytes[_CURRENT_INDEX]),
            last_index=trytes_to_int(trytes[_LAST_INDEX]),
            bundle=trytes[_BUNDLE],
            trunk=trytes[_TRUNK],
            branch=trytes[_BRANCH],
            tag=trytes[_TAG],
            attachment_timestamp=trytes_to_int(trytes[_ATTACHMENT_TIMESTAMP]),
            attachment_lower=trytes_to_int(trytes[_ATTACHMENT_LOWER]),
            attachment_upper=trytes_to_int(trytes[_ATTACHMENT_UPPER]),
            value_high_trits_zero=not any(value_trits[VALUE_USABLE_TRITS:]),
        )

    @property
    def essence(self) -> str:
        """The trytes the bundle hash covers."""
        return self.trytes[ESSENCE]

    @property
    def is_tail(self) -> bool:
        return self.current_index == 0

    @property
    def is_head(self) -> bool:
        return self.current_index == self.last_index

    def __repr__(self) -> str:
        # Signature fragments are long and reveal key material; keep them out.
        return (
            f"Transaction(hash={self.hash}, bundle={self.bundle}, "
            f"index={self.current_index}/{self.last_index}, value={self.value})"
        )
