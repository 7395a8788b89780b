"""The crypto devtangle borrows: PyOTA's Kerl and W-OTS, the core's Curl PoW.

One implementation each, shared with the wallet: Kerl and signature checks
come from PyOTA (the project's crypto layer), Curl-P-81 hashing and the
nonce search from the core's ``pow`` module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from custom_components.iota_energy.core import pow as core_pow
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.trits import (
    trits_to_trytes,
    trytes_to_trits,
)

HASH_TRITS = 243
# A normalized hash tryte of 13 exposes a whole private-key segment.
INSECURE_NORMALIZED_VALUE = 13

transaction_hash = core_pow.transaction_hash
trailing_zero_trits = core_pow.trailing_zero_trits
attach_to_tangle = core_pow.attach_to_tangle
PowCancelled = core_pow.PowCancelled


def _pyota() -> Any:
    return import_pyota()


def kerl_hash(trytes: str) -> str:
    """Kerl over ``trytes`` (a multiple of 81 trytes), squeezed to 81 trytes."""
    iota = _pyota()
    sponge = iota.crypto.kerl.Kerl()
    sponge.absorb(trytes_to_trits(trytes))
    out = [0] * HASH_TRITS
    sponge.squeeze(out)
    return trits_to_trytes(out)


def normalized_bundle_hash(bundle_hash: str) -> list[int]:
    """The 81 normalized values (-13..13) W-OTS signs for ``bundle_hash``."""
    iota = _pyota()
    parts = iota.crypto.signing.normalize(iota.Hash(bundle_hash))
    return [value for part in parts for value in part]


def signature_matches_address(
    fragments: Sequence[str], bundle_hash: str, address: str
) -> bool:
    """Check W-OTS signature fragments against the address they spend from."""
    iota = _pyota()
    return bool(
        iota.crypto.signing.validate_signature_fragments(
            fragments=[iota.TryteString(fragment) for fragment in fragments],
            hash_=iota.Hash(bundle_hash),
            public_key=iota.Address(address),
        )
    )


def address_with_checksum(address: str) -> str:
    """``address`` (81 trytes) followed by its 9-tryte checksum."""
    iota = _pyota()
    return str(iota.Address(address).with_valid_checksum())


def seed_address(seed: str, index: int, security: int) -> str:
    """The address a seed derives at ``index`` (81 trytes, no checksum)."""
    iota = _pyota()
    generator = iota.crypto.addresses.AddressGenerator(
        iota.crypto.types.Seed(seed), security_level=security, checksum=False
    )
    return str(generator.get_addresses(start=index, count=1)[0])[:81]
