"""The funded genesis: who owns tokens when a devtangle database is created.

JSON, either or both of::

    {"balances": {"ADDRESS (81 trytes, or 90 with checksum)": 1000},
     "seeds": [{"seed": "...", "index": 0, "security": 2, "balance": 1000}]}

Seeds are only read to derive addresses; they are never stored or logged.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from custom_components.iota_energy.core.trits import is_trytes

from . import crypto, params
from .errors import ApiError
from .transaction import HASH_TRYTES
from .validation import SUPPLY


class GenesisError(ValueError):
    """The genesis file cannot be used."""


@dataclass(frozen=True, slots=True)
class Allocation:
    address: str
    balance: int

    def __repr__(self) -> str:
        return f"Allocation({self.address}, {self.balance})"


def _amount(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise GenesisError(f"{where}: balance must be a positive integer")
    return value


# One check per genesis key, in order: kept flat to audit.
def parse_genesis(document: Any) -> list[Allocation]:  # noqa: C901
    """Turn a genesis document into address allocations (checked)."""
    if not isinstance(document, dict):
        raise GenesisError("genesis must be a JSON object")
    unknown = set(document) - {"balances", "seeds", "comment"}
    if unknown:
        raise GenesisError(f"unknown genesis keys: {sorted(unknown)}")
    allocations: list[Allocation] = []
    balances = document.get("balances", {})
    if not isinstance(balances, dict):
        raise GenesisError("'balances' must map addresses to amounts")
    for address, amount in balances.items():
        try:
            plain = params.address(address, "address")
        except ApiError:
            raise GenesisError(f"not an address: {address!r}") from None
        allocations.append(Allocation(plain, _amount(amount, plain)))
    seeds = document.get("seeds", [])
    if not isinstance(seeds, list):
        raise GenesisError("'seeds' must be a list")
    for number, entry in enumerate(seeds):
        where = f"seeds[{number}]"
        if not isinstance(entry, dict):
            raise GenesisError(f"{where} must be an object")
        seed = entry.get("seed")
        # The seed's value never goes into a message.
        if not isinstance(seed, str) or len(seed) != HASH_TRYTES or not is_trytes(seed):
            raise GenesisError(f"{where}: seed must be 81 trytes")
        index = entry.get("index", 0)
        security = entry.get("security", 2)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise GenesisError(f"{where}: index must be a non-negative integer")
        if security not in (1, 2, 3):
            raise GenesisError(f"{where}: security must be 1, 2 or 3")
        address = crypto.seed_address(seed, index, security)
        allocations.append(Allocation(address, _amount(entry.get("balance"), where)))
    if sum(a.balance for a in allocations) > SUPPLY:
        raise GenesisError("genesis balances exceed the total supply")
    return allocations


def load_genesis(path: Path | str) -> list[Allocation]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise GenesisError(f"cannot read genesis {path}: {err}") from err
    return parse_genesis(document)
