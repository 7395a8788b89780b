"""Curl-P-81 hashing and proof of work for legacy IOTA transactions.

Pure Python, so it runs wherever Home Assistant runs (the C library PyOTA
used for local proof of work exists only for x86-64). Two representations of
the Curl state keep it fast:

* One hash (``transaction_hash``): the 729 trits of the state are the bits of
  two 729-bit integers. A Curl round pairs trit ``x`` with trit ``x + 364``
  and writes the result to trit ``-2x`` (mod 729). Instead of moving bits to
  ``-2x`` every round, we rename the coordinates: then each round is one
  rotation and a handful of bitwise operations on whole integers, and the
  state is put back in order once per transform.
* Nonce search (``search_nonce``): each trit of the state is a pair of
  W-bit integers, bit ``i`` belonging to nonce candidate ``i`` (PearlDiver's
  bit-slicing). ``map`` over ``operator`` functions runs the per-trit
  arithmetic in C, so W candidates cost little more than one.

Trit encoding in both: a trit is a (low, not-high) bit pair, -1 is (1, 1),
0 is (1, 0) and 1 is (0, 0), PearlDiver's low/high planes with high stored
inverted, which saves one operation per trit and round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from itertools import count, repeat
from operator import and_, itemgetter, or_, xor
import threading
import time
from typing import Final

from .trits import (
    int_to_trits,
    int_to_trytes,
    is_trytes,
    trits_to_trytes,
    trytes_to_trits,
)

MAX_TIMESTAMP_UPPER_BOUND: Final = 3812798742493  # ms, (3**27 - 1) // 2
TRANSACTION_TRYTES: Final = 2673
HASH_TRYTES: Final = 81

# Tryte offsets of the transaction fields, as PyOTA's Transaction lays them out.
FIELDS: Final[dict[str, slice]] = {
    "signature_message_fragment": slice(0, 2187),
    "address": slice(2187, 2268),
    "value": slice(2268, 2295),
    "obsolete_tag": slice(2295, 2322),
    "timestamp": slice(2322, 2331),
    "current_index": slice(2331, 2340),
    "last_index": slice(2340, 2349),
    "bundle": slice(2349, 2430),
    "trunk_transaction": slice(2430, 2511),
    "branch_transaction": slice(2511, 2592),
    "tag": slice(2592, 2619),
    "attachment_timestamp": slice(2619, 2628),
    "attachment_timestamp_lower_bound": slice(2628, 2637),
    "attachment_timestamp_upper_bound": slice(2637, 2646),
    "nonce": slice(2646, 2673),
}

_HASH_TRITS: Final = 243
_STATE_TRITS: Final = 729
_ROUNDS: Final = 81
_STATE_MASK: Final = (1 << _STATE_TRITS) - 1
_HASH_MASK: Final = (1 << _HASH_TRITS) - 1
# The nonce fills the last 81 trits of the last 243-trit block.
_NONCE_IN_BLOCK: Final = 162
_NONCE_TRITS: Final = 81
_LAST_BLOCK_TRYTES: Final = 2592
_MAX_LANES: Final = 1 << 20
_MAX_WEIGHT: Final = 81  # what the API accepts; the hash itself has 243 trits


class PowCancelled(Exception):  # noqa: N818 - the name other modules use
    """The nonce search was stopped through its cancel event."""


# --- one hash: the state as two 729-bit integers ----------------------------


def _round_rotations() -> tuple[tuple[int, ...], list[int]]:
    """Rotation per round and the string permutation that restores order.

    In round r bit u stands for trit ``c * u`` (c = (-2)**r mod 729); the
    partner of trit x is x + 364, i.e. bit ``u + 364 / c``.
    """
    rotations = []
    factor = 1
    for _ in range(_ROUNDS):
        rotations.append(364 * pow(factor, -1, _STATE_TRITS) % _STATE_TRITS)
        factor = -2 * factor % _STATE_TRITS
    inverse = pow(factor, -1, _STATE_TRITS)
    top = _STATE_TRITS - 1  # format() writes bit 0 last
    order = [top - (top - k) * inverse % _STATE_TRITS for k in range(_STATE_TRITS)]
    return tuple(rotations), order


_ROTATIONS, _RESTORE_ORDER = _round_rotations()
_restore_bits = itemgetter(*_RESTORE_ORDER)


def _reorder(bits: int) -> int:
    text = format(bits, "0729b")
    return int("".join(_restore_bits(text)), 2)


def _transform(low: int, not_high: int) -> tuple[int, int]:
    mask = _STATE_MASK
    for shift in _ROTATIONS:
        back = _STATE_TRITS - shift
        partner_low = (low >> shift) | ((low << back) & mask)
        partner_not_high = (not_high >> shift) | ((not_high << back) & mask)
        new_low = ((low | partner_not_high) ^ mask) | (partner_low ^ not_high)
        not_high = (low ^ partner_not_high) & new_low
        low = new_low
    return _reorder(low), _reorder(not_high)


def _planes(trits: Sequence[int]) -> tuple[int, int]:
    """Bit planes of up to 729 trits, trit i in bit i."""
    low = "".join("0" if trit == 1 else "1" for trit in reversed(trits))
    not_high = "".join("1" if trit == -1 else "0" for trit in reversed(trits))
    return int(low, 2), int(not_high, 2)


def _absorb(trits: Sequence[int]) -> tuple[int, int]:
    """Curl state after absorbing ``trits`` (a multiple of 243 long)."""
    low, not_high = _STATE_MASK, 0  # all trits zero
    for start in range(0, len(trits), _HASH_TRITS):
        block_low, block_not_high = _planes(trits[start : start + _HASH_TRITS])
        low = (low & ~_HASH_MASK) | block_low
        not_high = (not_high & ~_HASH_MASK) | block_not_high
        low, not_high = _transform(low, not_high)
    return low, not_high


def _hash_trits(low: int, not_high: int) -> list[int]:
    return [
        -1 if (not_high >> i) & 1 else (0 if (low >> i) & 1 else 1)
        for i in range(_HASH_TRITS)
    ]


def transaction_hash(trytes: str) -> str:
    """Curl-P-81 hash (81 trytes) of a 2673-tryte transaction."""
    _check_transaction(trytes, "trytes")
    return trits_to_trytes(_hash_trits(*_absorb(trytes_to_trits(trytes))))


def trailing_zero_trits(hash_trytes: str) -> int:
    """Weight of a hash: how many of its last trits are zero."""
    trits = trytes_to_trits(hash_trytes)
    weight = 0
    for trit in reversed(trits):
        if trit:
            break
        weight += 1
    return weight


# --- nonce search: each trit a pair of W-bit integers, one bit per lane -----

# Round input for output trit ``pos``: trits P[pos] and P[pos + 1].
_PAIR_ORDER: Final = [364 * k % _STATE_TRITS for k in range(_STATE_TRITS + 1)]
_gather_pairs = itemgetter(*_PAIR_ORDER)


def _lane_rounds(
    low: list[int], not_high: list[int], mask: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Run 80 of the 81 rounds; return the state gathered in pair order."""
    ones = repeat(mask)
    for _ in range(_ROUNDS - 1):
        first_low = _gather_pairs(low)
        first_not_high = _gather_pairs(not_high)
        second_low = first_low[1:]
        second_not_high = first_not_high[1:]
        low = list(
            map(
                or_,
                map(xor, map(or_, first_low, second_not_high), ones),
                map(xor, second_low, first_not_high),
            )
        )
        not_high = list(map(and_, map(xor, first_low, second_not_high), low))
    return _gather_pairs(low), _gather_pairs(not_high)


def _zero_tail_lanes(
    low: list[int], not_high: list[int], mask: int, weight: int
) -> int:
    """Lanes whose hash ends in ``weight`` zero trits, as a bit set.

    The last round is computed only for the hash trits that are checked.
    """
    first_low, first_not_high = _lane_rounds(low, not_high, mask)
    lanes = mask
    for pos in range(_HASH_TRITS - weight, _HASH_TRITS):
        new_low = ((first_low[pos] | first_not_high[pos + 1]) ^ mask) | (
            first_low[pos + 1] ^ first_not_high[pos]
        )
        new_not_high = (first_low[pos] ^ first_not_high[pos + 1]) & new_low
        # Zero is (low 1, not-high 0); not-high implies low, so xor isolates it.
        lanes &= new_low ^ new_not_high
        if not lanes:
            break
    return lanes


def _lane_digits(lanes: int) -> int:
    """Nonce trits that tell the lanes apart: the least k with 3**k >= lanes."""
    digits = 0
    while 3**digits < lanes:
        digits += 1
    return digits


def _lane_trit(lane: int, digit: int) -> int:
    value = lane // 3**digit % 3
    return -1 if value == 2 else value


@cache
def _lane_planes(lanes: int) -> tuple[tuple[int, int], ...]:
    """Per varying nonce trit, the (low, not-high) planes across lanes."""
    return tuple(
        _planes([_lane_trit(lane, digit) for lane in range(lanes)])
        for digit in range(_lane_digits(lanes))
    )


def _spread(bits: int, count_: int, mask: int) -> list[int]:
    """Expand the first ``count_`` bits into lane words (all 0 or all 1)."""
    return [mask if (bits >> i) & 1 else 0 for i in range(count_)]


def search_nonce(
    trytes: str,
    min_weight_magnitude: int,
    *,
    lanes: int = 4096,
    cancel: threading.Event | None = None,
) -> str:
    """Return ``trytes`` with a nonce whose hash has >= MWM trailing zeros."""
    _check_transaction(trytes, "trytes")
    _check_weight(min_weight_magnitude)
    if not 1 <= lanes <= _MAX_LANES:
        raise ValueError(f"lanes must be in 1..{_MAX_LANES}, got {lanes}")
    trits = trytes_to_trits(trytes)
    last_block = _LAST_BLOCK_TRYTES * 3
    mid_low, mid_not_high = _absorb(trits[:last_block])
    mask = (1 << lanes) - 1
    rest = _STATE_TRITS - _HASH_TRITS
    mid_lanes_low = _spread(mid_low >> _HASH_TRITS, rest, mask)
    mid_lanes_not_high = _spread(mid_not_high >> _HASH_TRITS, rest, mask)
    head_low, head_not_high = _planes(trits[last_block : last_block + _NONCE_IN_BLOCK])
    head_lanes_low = _spread(head_low, _NONCE_IN_BLOCK, mask)
    head_lanes_not_high = _spread(head_not_high, _NONCE_IN_BLOCK, mask)
    varying = _lane_planes(lanes)
    varying_low = [low for low, _ in varying]
    varying_not_high = [not_high for _, not_high in varying]
    counter_trits = _NONCE_TRITS - len(varying)

    for counter in count():
        if cancel is not None and cancel.is_set():
            raise PowCancelled("proof of work cancelled")
        counter_nonce = int_to_trits(counter, counter_trits)
        tail_low, tail_not_high = _planes(counter_nonce)
        low = (
            head_lanes_low
            + varying_low
            + _spread(tail_low, counter_trits, mask)
            + mid_lanes_low
        )
        not_high = (
            head_lanes_not_high
            + varying_not_high
            + _spread(tail_not_high, counter_trits, mask)
            + mid_lanes_not_high
        )
        found = _zero_tail_lanes(low, not_high, mask, min_weight_magnitude)
        if found:
            lane = (found & -found).bit_length() - 1
            nonce = [
                _lane_trit(lane, digit) for digit in range(len(varying))
            ] + counter_nonce
            result = trytes[: FIELDS["nonce"].start] + trits_to_trytes(nonce)
            # A wrong nonce would only show up at the node; check it here.
            if trailing_zero_trits(transaction_hash(result)) < min_weight_magnitude:
                raise AssertionError("nonce search produced an invalid nonce")
            return result
    raise AssertionError("unreachable")  # pragma: no cover


# --- attachToTangle ----------------------------------------------------------


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def attach_to_tangle(
    trunk: str,
    branch: str,
    min_weight_magnitude: int,
    trytes: Sequence[str],
    *,
    now_ms: Callable[[], int] | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Do what IRI's attachToTangle did.

    ``trytes`` come head first (PyOTA sends the last index first). The first
    one approves ``trunk`` and ``branch``; each later one approves the
    previous result (trunk) and ``trunk`` (branch). An empty tag takes the
    obsolete tag. The result is in reverse order, tail first, as IRI
    answered.
    """
    _check_hash(trunk, "trunk")
    _check_hash(branch, "branch")
    _check_weight(min_weight_magnitude)
    if isinstance(trytes, str):
        raise ValueError("trytes must be a list of transactions, not one string")
    for index, transaction in enumerate(trytes):
        _check_transaction(transaction, f"trytes[{index}]")
    clock = now_ms if now_ms is not None else _now_ms

    attached: list[str] = []
    previous: str | None = None
    for transaction in trytes:
        fields = _split(transaction)
        fields["trunk_transaction"] = trunk if previous is None else previous
        fields["branch_transaction"] = branch if previous is None else trunk
        if fields["tag"] == "9" * 27:
            fields["tag"] = fields["obsolete_tag"]
        stamp = clock()
        if not 0 <= stamp <= MAX_TIMESTAMP_UPPER_BOUND:
            raise ValueError(
                f"attachment timestamp {stamp} ms is outside "
                f"0..{MAX_TIMESTAMP_UPPER_BOUND}"
            )
        fields["attachment_timestamp"] = int_to_trytes(stamp, 9)
        fields["attachment_timestamp_lower_bound"] = int_to_trytes(0, 9)
        fields["attachment_timestamp_upper_bound"] = int_to_trytes(
            MAX_TIMESTAMP_UPPER_BOUND, 9
        )
        done = search_nonce(
            "".join(fields.values()), min_weight_magnitude, cancel=cancel
        )
        attached.append(done)
        previous = transaction_hash(done)
    attached.reverse()
    return attached


def _split(transaction: str) -> dict[str, str]:
    return {name: transaction[where] for name, where in FIELDS.items()}


# --- input checks ------------------------------------------------------------


def _check_transaction(trytes: str, name: str) -> None:
    if not isinstance(trytes, str) or len(trytes) != TRANSACTION_TRYTES:
        size = len(trytes) if isinstance(trytes, str) else type(trytes).__name__
        raise ValueError(f"{name} must be {TRANSACTION_TRYTES} trytes, got {size}")
    if not is_trytes(trytes):
        raise ValueError(f"{name} holds characters outside the tryte alphabet")


def _check_hash(trytes: str, name: str) -> None:
    if not isinstance(trytes, str) or len(trytes) != HASH_TRYTES:
        raise ValueError(f"{name} must be a hash of {HASH_TRYTES} trytes")
    if not is_trytes(trytes):
        raise ValueError(f"{name} holds characters outside the tryte alphabet")


def _check_weight(min_weight_magnitude: int) -> None:
    if (
        isinstance(min_weight_magnitude, bool)
        or not isinstance(min_weight_magnitude, int)
        or not 1 <= min_weight_magnitude <= _MAX_WEIGHT
    ):
        raise ValueError(
            f"min_weight_magnitude must be an integer in 1..{_MAX_WEIGHT}, "
            f"got {min_weight_magnitude!r}"
        )
