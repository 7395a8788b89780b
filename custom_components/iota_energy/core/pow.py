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

A trit is always a pair of bits (PearlDiver's two-bit encoding); which pair
stands for which trit is chosen per representation to need few operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from itertools import count, repeat
from operator import and_, itemgetter, or_, xor
import threading
import time
from types import MappingProxyType
from typing import Final

from .numbers import is_int
from .trits import (
    HASH_TRYTES,
    int_to_trits,
    int_to_trytes,
    is_trytes,
    trits_to_trytes,
    trytes_to_trits,
)

MAX_TIMESTAMP_UPPER_BOUND: Final = 3812798742493  # ms, (3**27 - 1) // 2
TRANSACTION_TRYTES: Final = 2673

# Tryte offsets of the transaction fields, as PyOTA's Transaction lays them out.
FIELDS: Final[Mapping[str, slice]] = MappingProxyType(
    {
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
)

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
#
# Encoding: (low, not-high) bits, -1 is (1, 1), 0 is (1, 0), 1 is (0, 0):
# PearlDiver's low/high planes with high inverted, one operation fewer.


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
    """Bit planes (low, not-high) of trits, trit i in bit i."""
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


def _state_trits(low: int, not_high: int, size: int = _STATE_TRITS) -> list[int]:
    """The first ``size`` trits of a state held as bit planes."""
    return [
        -1 if (not_high >> i) & 1 else (0 if (low >> i) & 1 else 1) for i in range(size)
    ]


def transaction_hash(trytes: str) -> str:
    """Curl-P-81 hash (81 trytes) of a 2673-tryte transaction."""
    _check_transaction(trytes, "trytes")
    low, not_high = _absorb(trytes_to_trits(trytes))
    return trits_to_trytes(_state_trits(low, not_high, _HASH_TRITS))


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
#
# Here the encoding alternates between two rounds, found by exhaustive search
# over all encodings and circuits: "A" codes -1/0/1 as (x, y) = (0,1)/(1,1)/
# (1,0) and "B" as (0,0)/(0,1)/(1,1). A round from A to B takes 4 bitwise
# operations per trit, from B to A 5: 4.5 on average instead of 6.

# Round input for output trit ``pos``: trits P[pos] and P[pos + 1].
_PAIR_ORDER: Final = [364 * k % _STATE_TRITS for k in range(_STATE_TRITS + 1)]
_gather_pairs = itemgetter(*_PAIR_ORDER)


def _lane_words(trits: Sequence[int], mask: int) -> tuple[list[int], list[int]]:
    """Encoding A of trits that are the same in every lane."""
    return (
        [0 if trit == -1 else mask for trit in trits],
        [0 if trit == 1 else mask for trit in trits],
    )


def _lane_rounds(
    x: list[int], y: list[int], mask: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Run 80 of the 81 rounds (A in, A out); return them in pair order."""
    ones = repeat(mask)
    for _ in range((_ROUNDS - 1) // 2):
        # A -> B: x' = ay & (ax ^ by), y' = (ax ^ by) | (ay ^ bx)
        first_x, first_y = _gather_pairs(x), _gather_pairs(y)
        second_x, second_y = first_x[1:], first_y[1:]
        mixed = list(map(xor, first_x, second_y))
        x = list(map(and_, first_y, mixed))
        y = list(map(or_, mixed, map(xor, first_y, second_x)))
        # B -> A: x' = ~((ax ^ by) & (ay ^ bx)), y' = ax | (ay ^ bx)
        first_x, first_y = _gather_pairs(x), _gather_pairs(y)
        second_x, second_y = first_x[1:], first_y[1:]
        mixed = list(map(xor, first_y, second_x))
        y = list(map(or_, first_x, mixed))
        x = list(map(xor, map(and_, map(xor, first_x, second_y), mixed), ones))
    return _gather_pairs(x), _gather_pairs(y)


def _zero_tail_lanes(x: list[int], y: list[int], mask: int, weight: int) -> int:
    """Lanes whose hash ends in ``weight`` zero trits, as a bit set.

    The last round (A -> B) is computed only for the hash trits checked.
    """
    first_x, first_y = _lane_rounds(x, y, mask)
    lanes = mask
    for pos in range(_HASH_TRITS - weight, _HASH_TRITS):
        mixed = first_x[pos] ^ first_y[pos + 1]
        new_x = first_y[pos] & mixed
        new_y = mixed | (first_y[pos] ^ first_x[pos + 1])
        # In B zero is (0, 1), and (1, 0) never occurs: xor isolates zero.
        lanes &= new_x ^ new_y
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
def _varying_words(lanes: int) -> tuple[list[int], list[int]]:
    """Encoding A of the nonce trits that differ between lanes."""
    mask = (1 << lanes) - 1
    xs, ys = [], []
    for digit in range(_lane_digits(lanes)):
        low, not_high = _planes([_lane_trit(lane, digit) for lane in range(lanes)])
        xs.append(not_high ^ mask)
        ys.append(low)
    return xs, ys


def search_nonce(
    trytes: str,
    min_weight_magnitude: int,
    *,
    lanes: int = 4096,
    cancel: threading.Event | None = None,
) -> str:
    """Return ``trytes`` with a nonce whose hash has >= MWM trailing zeros.

    Only the nonce (the last 27 trytes) changes. Raises PowCancelled when
    ``cancel`` is set (checked between batches of ``lanes`` candidates).

    Candidates are tried batch by batch and the lowest lane wins, so the
    answer is the first valid nonce in this order: with k the least number
    with 3**k >= lanes, the nonce's first k trits are the lane's base-3
    digits (least significant first, digit 2 written as trit -1) and the
    other 81 - k trits the batch number in balanced ternary.
    """
    _check_transaction(trytes, "trytes")
    _check_weight(min_weight_magnitude)
    if isinstance(lanes, bool) or not 1 <= lanes <= _MAX_LANES:
        raise ValueError(f"lanes must be in 1..{_MAX_LANES}, got {lanes}")
    trits = trytes_to_trits(trytes)
    last_block = _LAST_BLOCK_TRYTES * 3
    mask = (1 << lanes) - 1
    # The first 32 blocks never change: absorb them once.
    mid_state = _state_trits(*_absorb(trits[:last_block]))[_HASH_TRITS:]
    mid_x, mid_y = _lane_words(mid_state, mask)
    head_x, head_y = _lane_words(trits[last_block : last_block + _NONCE_IN_BLOCK], mask)
    varying_x, varying_y = _varying_words(lanes)
    counter_trits = _NONCE_TRITS - len(varying_x)

    for counter in count():
        if cancel is not None and cancel.is_set():
            raise PowCancelled("proof of work cancelled")
        counter_nonce = int_to_trits(counter, counter_trits)
        counter_x, counter_y = _lane_words(counter_nonce, mask)
        found = _zero_tail_lanes(
            head_x + varying_x + counter_x + mid_x,
            head_y + varying_y + counter_y + mid_y,
            mask,
            min_weight_magnitude,
        )
        if found:
            lane = (found & -found).bit_length() - 1
            lane_nonce = [_lane_trit(lane, digit) for digit in range(len(varying_x))]
            nonce = trits_to_trytes(lane_nonce + counter_nonce)
            result = trytes[: FIELDS["nonce"].start] + nonce
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
    if not is_int(min_weight_magnitude) or not 1 <= min_weight_magnitude <= _MAX_WEIGHT:
        raise ValueError(
            f"min_weight_magnitude must be an integer in 1..{_MAX_WEIGHT}, "
            f"got {min_weight_magnitude!r}"
        )
