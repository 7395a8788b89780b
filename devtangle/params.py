"""Checking request parameters the way IRI did, with IRI's messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from custom_components.iota_energy.core.trits import is_trytes

from . import crypto
from .errors import ApiError
from .transaction import HASH_TRYTES, TAG_TRYTES, TRANSACTION_TRYTES

ADDRESS_WITH_CHECKSUM_TRYTES: Final = 90


def trytes_list(
    request: Mapping[str, Any],
    name: str,
    length: int,
    *,
    limit: int,
    required: bool = True,
) -> list[str]:
    """A list of tryte strings of ``length`` (IRI: "Invalid {name} input")."""
    values = request.get(name)
    if values is None and not required:
        return []
    if not isinstance(values, list) or (required and not values):
        raise ApiError(f"Invalid {name} input")
    if len(values) > limit:
        raise ApiError(f"Too many {name} in one request: at most {limit}")
    for value in values:
        if not isinstance(value, str) or len(value) != length or not is_trytes(value):
            raise ApiError(f"Invalid {name} input")
    return values


def hashes(
    request: Mapping[str, Any], name: str, *, limit: int, required: bool = True
) -> list[str]:
    return trytes_list(request, name, HASH_TRYTES, limit=limit, required=required)


def transactions(request: Mapping[str, Any], *, limit: int) -> list[str]:
    return trytes_list(request, "trytes", TRANSACTION_TRYTES, limit=limit)


def tags(request: Mapping[str, Any], *, limit: int) -> list[str]:
    """Tags of up to 27 trytes, padded with 9s as stored."""
    values = request.get("tags")
    if values is None:
        return []
    if not isinstance(values, list):
        raise ApiError("Invalid tags input")
    if len(values) > limit:
        raise ApiError(f"Too many tags in one request: at most {limit}")
    padded = []
    for value in values:
        if (
            not isinstance(value, str)
            or len(value) > TAG_TRYTES
            or not is_trytes(value)
        ):
            raise ApiError("Invalid tags input")
        padded.append(value.ljust(TAG_TRYTES, "9"))
    return padded


def address(value: object, name: str = "addresses") -> str:
    """An 81-tryte address, from 81 trytes or 90 with a valid checksum."""
    if not isinstance(value, str) or not is_trytes(value):
        raise ApiError(f"Invalid {name} input")
    if len(value) == HASH_TRYTES:
        return value
    if len(value) == ADDRESS_WITH_CHECKSUM_TRYTES:
        plain = value[:HASH_TRYTES]
        if crypto.address_with_checksum(plain) == value:
            return plain
    raise ApiError(f"Invalid {name} input")


def addresses(
    request: Mapping[str, Any], *, limit: int, required: bool = True
) -> list[str]:
    values = request.get("addresses")
    if values is None and not required:
        return []
    if not isinstance(values, list) or (required and not values):
        raise ApiError("Invalid addresses input")
    if len(values) > limit:
        raise ApiError(f"Too many addresses in one request: at most {limit}")
    return [address(value) for value in values]


def integer(request: Mapping[str, Any], name: str, message: str) -> int:
    value = request.get(name)
    # JSON true/false are ints in Python; IRI wanted a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(message)
    return value
