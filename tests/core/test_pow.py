"""Curl-P-81 hashing, nonce search and attachToTangle, checked against PyOTA.

PyOTA's own pure-Python Curl and its transaction parser are the independent
reference: every hash and every weight below is recomputed with PyOTA.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from itertools import count, pairwise
from operator import itemgetter
import random
import re
import threading
from types import ModuleType
from typing import Any

import pytest

from custom_components.iota_energy.core import pow as pow_module, thirdparty
from custom_components.iota_energy.core.pow import (
    FIELDS,
    MAX_TIMESTAMP_UPPER_BOUND,
    PowCancelled,
    attach_to_tangle,
    search_nonce,
    trailing_zero_trits,
    transaction_hash,
)
from custom_components.iota_energy.core.trits import (
    TRYTE_ALPHABET,
    int_to_trytes,
    trits_to_trytes,
    trytes_to_int,
)

TRUNK = "TRUNK" + "9" * 76
BRANCH = "BRANCH" + "9" * 75


@pytest.fixture(scope="module")
def iota() -> ModuleType:
    return thirdparty.import_pyota()


def stopped() -> threading.Event:
    """A cancel event already set: an argument check must refuse the input
    before the search starts, and a check that lets bad input through ends
    in PowCancelled at once instead of a search that never ends."""
    cancel = threading.Event()
    cancel.set()
    return cancel


def random_trytes(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(TRYTE_ALPHABET) for _ in range(length))


def pyota_curl_hash(iota: ModuleType, trytes: str) -> str:
    """The hash PyOTA's pure-Python Curl computes, independent of pow.py."""
    from iota.crypto.pycurl import Curl

    curl = Curl()
    curl.absorb(iota.TryteString(trytes).as_trits())
    out: list[int] = []
    curl.squeeze(out)
    return str(iota.TryteString.from_trits(out))


def pyota_weight(iota: ModuleType, trytes: str) -> int:
    """Trailing zero trits of the hash PyOTA assigns to a transaction."""
    transaction = iota.Transaction.from_tryte_string(trytes)
    trits = transaction.hash.as_trits()
    nonzero = [index for index, trit in enumerate(trits) if trit]
    return len(trits) - 1 - nonzero[-1] if nonzero else len(trits)


# --- transaction_hash ---------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_hash_matches_pyota_curl_on_random_transactions(
    iota: ModuleType, seed: int
) -> None:
    trytes = random_trytes(random.Random(seed), 2673)
    assert transaction_hash(trytes) == pyota_curl_hash(iota, trytes)


@pytest.mark.parametrize("tryte", ["9", "M", "N"])
def test_hash_matches_pyota_curl_on_uniform_transactions(
    iota: ModuleType, tryte: str
) -> None:
    trytes = tryte * 2673
    assert transaction_hash(trytes) == pyota_curl_hash(iota, trytes)


def test_hash_matches_pyota_transaction_hash(iota: ModuleType) -> None:
    trytes = random_trytes(random.Random(7), 2673)
    parsed = iota.Transaction.from_tryte_string(trytes)
    assert transaction_hash(trytes) == str(parsed.hash)


def test_all_zero_transaction_is_a_fixed_point() -> None:
    # Curl maps an all-zero state to -1, 1, 0 in three rounds; 81 is 3 * 27.
    assert transaction_hash("9" * 2673) == "9" * 81


def test_hash_changes_with_one_trit_of_the_last_block() -> None:
    trytes = "9" * 2673
    changed = trytes[:-1] + "A"
    assert transaction_hash(trytes) != transaction_hash(changed)


# --- trailing_zero_trits ------------------------------------------------------


@pytest.mark.parametrize("weight", [0, 1, 2, 3, 9, 14, 100, 242])
def test_trailing_zero_trits_counts_zeros_after_last_nonzero(weight: int) -> None:
    rng = random.Random(weight)
    trits = [rng.choice((-1, 0, 1)) for _ in range(243)]
    trits[242 - weight] = rng.choice((-1, 1))
    trits[243 - weight :] = [0] * weight
    assert trailing_zero_trits(trits_to_trytes(trits)) == weight


def test_trailing_zero_trits_of_all_zero_hash() -> None:
    assert trailing_zero_trits("9" * 81) == 243


# --- search_nonce -------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "weight", "lanes"),
    [(11, 5, 4096), (12, 6, 4096), (13, 5, 1024), (14, 5, 729), (15, 4, 5)],
)
def test_search_nonce_meets_weight_by_pyota_hash(
    iota: ModuleType, seed: int, weight: int, lanes: int
) -> None:
    trytes = random_trytes(random.Random(seed), 2673)
    result = search_nonce(trytes, weight, lanes=lanes)
    assert len(result) == 2673
    assert result[: FIELDS["nonce"].start] == trytes[: FIELDS["nonce"].start]
    assert pyota_weight(iota, result) >= weight


def test_search_nonce_single_lane(iota: ModuleType) -> None:
    trytes = random_trytes(random.Random(16), 2673)
    result = search_nonce(trytes, 2, lanes=1)
    assert pyota_weight(iota, result) >= 2


# All nines but the tag and the attachment timestamps, chosen (about one in
# 12 000 tried) so that at weight 8 no lane of a 4096-lane batch 0 holds a
# valid nonce but lane 4096, the first lane of a wider batch, does.
LANE_4096_TRANSACTION = (
    "9" * 2592 + "GFJQERYPVHI9GNLMELTMLNOTCRKIOPVQSCQRLWKAVAFWZXMGHAEJFU" + "9" * 27
)


def test_search_nonce_tries_4096_lanes_a_batch_by_default(iota: ModuleType) -> None:
    """The default batch decides which valid nonce is found first: here a
    batch of 4097 lanes finds another one."""
    found = search_nonce(LANE_4096_TRANSACTION, 8)

    assert pyota_weight(iota, found) >= 8
    assert found == search_nonce(LANE_4096_TRANSACTION, 8, lanes=4096)
    assert found != search_nonce(LANE_4096_TRANSACTION, 8, lanes=4097)


def test_search_nonce_cancelled_before_start() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PowCancelled):
        search_nonce("9" * 2673, 9, cancel=cancel)


def test_search_nonce_cancelled_while_searching() -> None:
    # MWM 60 is far out of reach, so only the cancel event can end this.
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    try:
        with pytest.raises(PowCancelled):
            search_nonce(
                random_trytes(random.Random(17), 2673), 60, lanes=64, cancel=cancel
            )
    finally:
        timer.cancel()


@pytest.mark.parametrize(
    ("trytes", "weight", "lanes", "message"),
    [
        ("9" * 2672, 9, 4096, "2673 trytes"),
        ("9" * 2674, 9, 4096, "2673 trytes"),
        ("9" * 2672 + "a", 9, 4096, "tryte alphabet"),
        ("9" * 2672 + "1", 9, 4096, "tryte alphabet"),
        ("9" * 2673, 0, 4096, "min_weight_magnitude"),
        ("9" * 2673, 82, 4096, "min_weight_magnitude"),
        ("9" * 2673, True, 4096, "min_weight_magnitude"),
        ("9" * 2673, 9, 0, "lanes"),
    ],
)
def test_search_nonce_rejects_bad_input(
    trytes: str, weight: Any, lanes: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        search_nonce(trytes, weight, lanes=lanes, cancel=stopped())


# --- attach_to_tangle ---------------------------------------------------------


def pyota_bundle_trytes(iota: ModuleType, messages: list[str]) -> list[str]:
    """A finalized 0-value bundle, in the order PyOTA sends it to the node."""
    bundle = iota.ProposedBundle(
        transactions=[
            iota.ProposedTransaction(
                address=iota.Address(b"RECEIVER" + b"9" * 73),
                value=0,
                tag=iota.Tag(b"IOTAENERGY"),
                message=iota.TryteString.from_unicode(message),
            )
            for message in messages
        ]
    )
    bundle.finalize()
    return [str(trytes) for trytes in bundle.as_tryte_strings()]


class FakeClock:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1000
        return self.now


def test_attach_to_tangle_chains_a_pyota_bundle(iota: ModuleType) -> None:
    sent = pyota_bundle_trytes(iota, ["first", "second", "third"])
    clock = FakeClock(1_700_000_000_000)

    attached = attach_to_tangle(TRUNK, BRANCH, 4, sent, now_ms=clock)

    transactions = [iota.Transaction.from_tryte_string(t) for t in attached]
    assert [t.current_index for t in transactions] == [0, 1, 2]
    head = transactions[-1]
    assert str(head.trunk_transaction_hash) == TRUNK
    assert str(head.branch_transaction_hash) == BRANCH
    for current, following in pairwise(transactions):
        assert current.trunk_transaction_hash == following.hash
        assert str(current.branch_transaction_hash) == TRUNK
    for trytes in attached:
        assert pyota_weight(iota, trytes) >= 4
    # PyOTA sends the head first and IRI stamps in processing order.
    assert [t.attachment_timestamp for t in reversed(transactions)] == [
        1_700_000_001_000,
        1_700_000_002_000,
        1_700_000_003_000,
    ]
    for transaction in transactions:
        assert transaction.attachment_timestamp_lower_bound == 0
        assert transaction.attachment_timestamp_upper_bound == (
            MAX_TIMESTAMP_UPPER_BOUND
        )


def test_attach_to_tangle_keeps_the_signed_essence(iota: ModuleType) -> None:
    sent = pyota_bundle_trytes(iota, ["payload"])
    attached = attach_to_tangle(TRUNK, BRANCH, 5, sent, now_ms=lambda: 1)
    essence = slice(0, FIELDS["trunk_transaction"].start)
    assert attached[0][essence] == sent[0][essence]
    assert attached[0][FIELDS["tag"]] == sent[0][FIELDS["tag"]]
    bundle = iota.Bundle.from_tryte_strings(attached)
    validator = iota.transaction.validator.BundleValidator(bundle)
    assert validator.is_valid(), validator.errors


def test_attach_to_tangle_fills_an_empty_tag_from_the_obsolete_tag() -> None:
    fields = {name: "9" * (where.stop - where.start) for name, where in FIELDS.items()}
    fields["obsolete_tag"] = "OBSOLETE" + "9" * 19
    attached = attach_to_tangle(
        TRUNK, BRANCH, 3, ["".join(fields.values())], now_ms=lambda: 5
    )
    assert attached[0][FIELDS["tag"]] == fields["obsolete_tag"]
    assert trytes_to_int(attached[0][FIELDS["attachment_timestamp"]]) == 5


def test_attach_to_tangle_of_nothing_is_nothing() -> None:
    assert attach_to_tangle(TRUNK, BRANCH, 9, []) == []


def test_attach_to_tangle_uses_the_wall_clock_by_default(iota: ModuleType) -> None:
    attached = attach_to_tangle(TRUNK, BRANCH, 3, ["9" * 2673])
    stamp = iota.Transaction.from_tryte_string(attached[0]).attachment_timestamp
    assert stamp > 1_600_000_000_000  # milliseconds, not seconds


def test_attach_to_tangle_can_be_cancelled() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PowCancelled):
        attach_to_tangle(TRUNK, BRANCH, 9, ["9" * 2673], cancel=cancel)


@pytest.mark.parametrize(
    ("trunk", "branch", "weight", "trytes", "message"),
    [
        (TRUNK[:80], BRANCH, 9, ["9" * 2673], "trunk"),
        (TRUNK, BRANCH + "9", 9, ["9" * 2673], "branch"),
        (TRUNK, "b" * 81, 9, ["9" * 2673], "branch"),
        (TRUNK, BRANCH, 0, ["9" * 2673], "min_weight_magnitude"),
        (TRUNK, BRANCH, 9, ["9" * 2673, "9" * 10], r"trytes\[1\]"),
        (TRUNK, BRANCH, 9, ["9" * 2672 + "!"], r"trytes\[0\]"),
        (TRUNK, BRANCH, 9, "9" * 2673, "list"),
    ],
)
def test_attach_to_tangle_rejects_bad_input(
    trunk: str, branch: str, weight: int, trytes: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        attach_to_tangle(trunk, branch, weight, trytes)


def test_attach_to_tangle_rejects_a_clock_beyond_the_upper_bound() -> None:
    with pytest.raises(ValueError, match="attachment timestamp"):
        attach_to_tangle(
            TRUNK,
            BRANCH,
            3,
            ["9" * 2673],
            now_ms=lambda: MAX_TIMESTAMP_UPPER_BOUND + 1,
        )


def test_field_offsets_cover_the_transaction_in_pyota_order(
    iota: ModuleType,
) -> None:
    trytes = random_trytes(random.Random(21), 2673)
    parsed = iota.Transaction.from_tryte_string(trytes)
    assert str(parsed.address) == trytes[FIELDS["address"]]
    assert str(parsed.bundle_hash) == trytes[FIELDS["bundle"]]
    assert str(parsed.tag) == trytes[FIELDS["tag"]]
    assert str(parsed.nonce) == trytes[FIELDS["nonce"]]
    assert parsed.value == trytes_to_int(trytes[FIELDS["value"]])
    assert parsed.attachment_timestamp == trytes_to_int(
        trytes[FIELDS["attachment_timestamp"]]
    )
    assert "".join(trytes[where] for where in FIELDS.values()) == trytes
    assert int_to_trytes(parsed.current_index, 9) == trytes[FIELDS["current_index"]]


@pytest.mark.parametrize("stamp", [0, MAX_TIMESTAMP_UPPER_BOUND])
def test_attach_to_tangle_takes_both_ends_of_the_timestamp_range(stamp: int) -> None:
    attached = attach_to_tangle(TRUNK, BRANCH, 1, ["9" * 2673], now_ms=lambda: stamp)
    assert trytes_to_int(attached[0][FIELDS["attachment_timestamp"]]) == stamp


def test_attach_to_tangle_refuses_a_clock_before_1970() -> None:
    with pytest.raises(ValueError, match=r"^attachment timestamp -1 ms") as caught:
        attach_to_tangle(TRUNK, BRANCH, 1, ["9" * 2673], now_ms=lambda: -1)
    assert str(caught.value) == (
        f"attachment timestamp -1 ms is outside 0..{MAX_TIMESTAMP_UPPER_BOUND}"
    )


def test_the_wall_clock_is_read_in_whole_milliseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pow_module.time, "time_ns", lambda: 1_764_669_600_123_999_999)
    attached = attach_to_tangle(TRUNK, BRANCH, 1, ["9" * 2673])
    stamp = trytes_to_int(attached[0][FIELDS["attachment_timestamp"]])
    assert stamp == 1_764_669_600_123


@pytest.mark.parametrize(
    ("trunk", "branch", "trytes", "message"),
    [
        (TRUNK[:80], BRANCH, ["9" * 2673], "trunk must be a hash of 81 trytes"),
        (
            TRUNK,
            "b" * 81,
            ["9" * 2673],
            "branch holds characters outside the tryte alphabet",
        ),
        (
            TRUNK,
            BRANCH,
            "9" * 2673,
            "trytes must be a list of transactions, not one string",
        ),
    ],
)
def test_attach_to_tangle_says_what_is_wrong(
    trunk: str, branch: str, trytes: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as caught:
        attach_to_tangle(trunk, branch, 9, trytes)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("lanes", "digits"),
    [(1, 0), (2, 1), (3, 1), (4, 2), (9, 2), (10, 3), (729, 6), (730, 7), (4096, 8)],
)
def test_lane_digits_are_the_fewest_trits_telling_the_lanes_apart(
    lanes: int, digits: int
) -> None:
    # Too many or too few digits still find valid nonces (fewer counter
    # trits, or lanes trying the same nonce): only the count shows it.
    assert pow_module._lane_digits(lanes) == digits


def test_lane_words_are_encoding_a_in_every_lane() -> None:
    # -1, 0, 1 are (x, y) = (0, 1), (1, 1), (1, 0) in each of the mask's lanes.
    assert pow_module._lane_words([-1, 0, 1], 0b101) == (
        [0, 0b101, 0b101],
        [0b101, 0b101, 0],
    )


def test_search_nonce_names_the_transaction_it_refuses() -> None:
    with pytest.raises(ValueError, match=r"^trytes must be 2673 trytes, got 2672$"):
        search_nonce("9" * 2672, 9, cancel=stopped())


# --- the renamed coordinates of the one-hash Curl ----------------------------


def test_round_rotations_pair_each_trit_with_trit_plus_364() -> None:
    # Called here, not only at import, so that a change to it shows: in round
    # r bit u stands for trit (-2)**r * u, and its Curl partner x + 364 sits
    # at rotation[r] bits further, i.e. rotation[r] * (-2)**r = 364 (mod 729).
    rotations, order = pow_module._round_rotations()
    assert len(rotations) == 81
    assert rotations[0] == 364
    for round_index, rotation in enumerate(rotations):
        assert 0 <= rotation < 729
        assert rotation * (-2) ** round_index % 729 == 364
    assert sorted(order) == list(range(729))


def test_round_rotations_give_pyota_curl_hashes(
    iota: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hash computed with a fresh _round_rotations() result, instead of the
    # one taken at import, must still be PyOTA's.
    rotations, order = pow_module._round_rotations()
    monkeypatch.setattr(pow_module, "_ROTATIONS", rotations)
    monkeypatch.setattr(pow_module, "_restore_bits", itemgetter(*order))
    trytes = random_trytes(random.Random(31), 2673)
    assert transaction_hash(trytes) == pyota_curl_hash(iota, trytes)


# --- input checks, message by message -----------------------------------------


@pytest.mark.parametrize(
    ("trytes", "message"),
    [
        ("9" * 2672, "trytes must be 2673 trytes, got 2672"),
        ("9" * 2674, "trytes must be 2673 trytes, got 2674"),
        (b"9" * 2673, "trytes must be 2673 trytes, got bytes"),
        (None, "trytes must be 2673 trytes, got NoneType"),
        ("9" * 2672 + "a", "trytes holds characters outside the tryte alphabet"),
    ],
)
def test_transaction_hash_says_what_is_wrong(trytes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        transaction_hash(trytes)


@pytest.mark.parametrize(
    ("weight", "lanes", "message"),
    [
        (0, 1, "min_weight_magnitude must be an integer in 1..81, got 0"),
        (82, 1, "min_weight_magnitude must be an integer in 1..81, got 82"),
        (True, 1, "min_weight_magnitude must be an integer in 1..81, got True"),
        (9.0, 1, "min_weight_magnitude must be an integer in 1..81, got 9.0"),
        ("9", 1, "min_weight_magnitude must be an integer in 1..81, got '9'"),
        (9, 0, "lanes must be in 1..1048576, got 0"),
        (9, 1048577, "lanes must be in 1..1048576, got 1048577"),
        (9, True, "lanes must be in 1..1048576, got True"),
    ],
)
def test_search_nonce_says_what_is_wrong(weight: Any, lanes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        search_nonce("9" * 2673, weight, lanes=lanes, cancel=stopped())


@pytest.mark.parametrize("weight", [1, 81])
def test_attach_to_tangle_accepts_both_ends_of_the_weight_range(weight: int) -> None:
    # Nothing to attach, so even weight 81 costs nothing: only the check runs.
    assert attach_to_tangle(TRUNK, BRANCH, weight, []) == []


def test_search_nonce_takes_up_to_max_lanes(
    iota: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the real bound (2**20) one batch takes seconds: a bound of 8 shows
    # the same comparison, 8 lanes taken and 9 refused.
    monkeypatch.setattr(pow_module, "_MAX_LANES", 8)
    trytes = random_trytes(random.Random(32), 2673)
    assert pyota_weight(iota, search_nonce(trytes, 2, lanes=8)) >= 2
    with pytest.raises(ValueError, match=r"^lanes must be in 1\.\.8, got 9$"):
        search_nonce(trytes, 2, lanes=9, cancel=stopped())


# --- which nonce the search returns ---------------------------------------------


def lane_digit_count(lanes: int) -> int:
    """The fewest trits numbering ``lanes`` lanes: the least k with 3**k >= lanes."""
    digits = 0
    while 3**digits < lanes:
        digits += 1
    return digits


def candidate_nonce_trits(
    iota: ModuleType, lane: int, batch: int, digits: int
) -> list[int]:
    """Nonce of ``lane`` in ``batch``, as search_nonce's docstring numbers them."""
    lane_trits = []
    for _ in range(digits):
        lane_trits.append(-1 if lane % 3 == 2 else lane % 3)
        lane = lane // 3
    batch_trits = iota.trits.trits_from_int(batch, pad=81 - digits)
    return lane_trits + batch_trits + [0] * (81 - digits - len(batch_trits))


@cache
def pyota_curl_after(iota: ModuleType, blocks: str) -> Any:
    """PyOTA's Curl after absorbing ``blocks`` (copy it before going on)."""
    from iota.crypto.pycurl import Curl

    curl = Curl()
    curl.absorb(iota.TryteString(blocks).as_trits())
    return curl


def pyota_first_nonce(iota: ModuleType, trytes: str, weight: int, lanes: int) -> str:
    """The first candidate, batch by batch and lane by lane, whose PyOTA hash
    ends in ``weight`` zero trits (the last block is hashed per candidate)."""
    digits = lane_digit_count(lanes)
    prefix = pyota_curl_after(iota, trytes[:2592])
    head = iota.TryteString(trytes[2592:2646]).as_trits()
    for batch in count():
        for lane in range(lanes):
            nonce = candidate_nonce_trits(iota, lane, batch, digits)
            curl = deepcopy(prefix)
            curl.absorb(head + nonce)
            digest: list[int] = []
            curl.squeeze(digest)
            if not any(digest[243 - weight :]):
                return trytes[:2646] + str(iota.TryteString.from_trits(nonce))
    raise AssertionError("unreachable")


# Transactions (their 32 unchanging blocks absorbed once) and batch sizes
# where the answer is neither lane 0 nor batch 0, found in a few dozen
# candidates so that the PyOTA walk stays short: lane 14 of 4096 is nonce trits
# -1, 1, 1 (14 = 2 + 3 + 9), lane 2 of 10 and of 5 is -1, 0 (, 0), batch 11
# with one lane is -1, 1, 1. Seed 55 with two lanes finds nothing in four
# batches: a lane beyond the batch (a wrong lane mask) would show there.
@pytest.mark.parametrize(
    ("seed", "lanes", "lane", "batch"),
    [
        (50, 1, 0, 11),
        (50, 5, 2, 2),
        (50, 4096, 14, 0),
        (50, 10, 2, 2),
        (55, 2, 0, 4),
    ],
)
def test_search_nonce_returns_the_first_candidate_by_pyota(
    iota: ModuleType, seed: int, lanes: int, lane: int, batch: int
) -> None:
    trytes = random_trytes(random.Random(seed), 2673)
    expected = pyota_first_nonce(iota, trytes, 2, lanes)
    nonce = candidate_nonce_trits(iota, lane, batch, lane_digit_count(lanes))
    assert expected[FIELDS["nonce"]] == str(iota.TryteString.from_trits(nonce))
    assert search_nonce(trytes, 2, lanes=lanes) == expected


def test_search_nonce_cancelled_says_so() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PowCancelled, match=r"^proof of work cancelled$"):
        search_nonce("9" * 2673, 1, lanes=1, cancel=cancel)


def test_search_nonce_refuses_to_return_a_nonce_its_hash_disowns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The last line of defence: were the bit-sliced search wrong, the one-hash
    # Curl (here made to disagree: no trailing zero) stops the nonce.
    monkeypatch.setattr(pow_module, "transaction_hash", lambda trytes: "M" * 81)
    with pytest.raises(
        AssertionError, match=r"^nonce search produced an invalid nonce$"
    ):
        search_nonce(random_trytes(random.Random(33), 2673), 1, lanes=9)


@pytest.mark.parametrize(
    ("trunk", "branch", "trytes", "message"),
    [
        (None, BRANCH, ["9" * 2673], "trunk must be a hash of 81 trytes"),
        (TRUNK + "9", BRANCH, ["9" * 2673], "trunk must be a hash of 81 trytes"),
        (
            "t" * 81,
            BRANCH,
            ["9" * 2673],
            "trunk holds characters outside the tryte alphabet",
        ),
        (TRUNK, b"9" * 81, ["9" * 2673], "branch must be a hash of 81 trytes"),
        (TRUNK, BRANCH[:80], ["9" * 2673], "branch must be a hash of 81 trytes"),
        (
            TRUNK,
            BRANCH,
            ["9" * 2673, "9" * 10],
            "trytes[1] must be 2673 trytes, got 10",
        ),
        (
            TRUNK,
            BRANCH,
            ["9" * 2672 + "!"],
            "trytes[0] holds characters outside the tryte alphabet",
        ),
        (TRUNK, BRANCH, [None], "trytes[0] must be 2673 trytes, got NoneType"),
    ],
)
def test_attach_to_tangle_names_each_bad_argument(
    trunk: Any, branch: Any, trytes: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        attach_to_tangle(trunk, branch, 1, trytes)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (0, "min_weight_magnitude must be an integer in 1..81, got 0"),
        (82, "min_weight_magnitude must be an integer in 1..81, got 82"),
        (False, "min_weight_magnitude must be an integer in 1..81, got False"),
    ],
)
def test_attach_to_tangle_names_a_bad_weight(weight: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        attach_to_tangle(TRUNK, BRANCH, weight, [])


def encoding_a_words(lane_trits: list[list[int]]) -> tuple[list[int], list[int]]:
    """Encoding A, built by hand: -1, 0, 1 are (x, y) = (0, 1), (1, 1), (1, 0),
    bit ``lane`` of word ``pos`` holding trit ``pos`` of that lane's state."""
    xs, ys = [], []
    for pos in range(len(lane_trits[0])):
        xs.append(sum((t[pos] != -1) << lane for lane, t in enumerate(lane_trits)))
        ys.append(sum((t[pos] != 1) << lane for lane, t in enumerate(lane_trits)))
    return xs, ys


def test_zero_tail_lanes_are_the_lanes_whose_pyota_hash_ends_in_zeros(
    iota: ModuleType,
) -> None:
    # Nine lanes, each its own nonce after the same 32 blocks: the lanes the
    # bit-sliced rounds pick for weights 1, 2, 5, 6 are those whose PyOTA hash
    # ends in that many zero trits, every one of them.
    trytes = random_trytes(random.Random(50), 2673)
    prefix = pyota_curl_after(iota, trytes[:2592])
    head = iota.TryteString(trytes[2592:2646]).as_trits()
    states, weights = [], []
    for lane in range(9):
        nonce = candidate_nonce_trits(iota, 0, lane + 5, 0)
        states.append(head + nonce + prefix._state[243:])
        curl = deepcopy(prefix)
        curl.absorb(head + nonce)
        digest: list[int] = []
        curl.squeeze(digest)
        weights.append(243 - max(i + 1 for i, t in enumerate(digest) if t))
    xs, ys = encoding_a_words(states)
    # PyOTA's weights for this seed: lane 6 ends in 5 zeros, lane 7 in 1.
    assert weights == [0, 0, 0, 0, 0, 0, 5, 1, 0]
    for weight in (1, 2, 5, 6):
        expected = sum(1 << lane for lane in range(9) if weights[lane] >= weight)
        assert pow_module._zero_tail_lanes(xs, ys, 0b111111111, weight) == expected
