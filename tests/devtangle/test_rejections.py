"""What devtangle refuses, and what it never confirms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtangle import crypto
from devtangle.server import DevTangle

from .conftest import (
    ALICE_FUNDS,
    ALICE_SEED,
    BOB_SEED,
    TEST_MWM,
    address_of,
    signed_bundle,
)
from .http_client import post

BUNDLE_HASH = slice(2349, 2430)


def _replace(trytes: str, where: slice, text: str) -> str:
    return trytes[: where.start] + text + trytes[where.stop :]


def _payment(iota: Any, to: str, value: int, claimed: int = ALICE_FUNDS) -> list[Any]:
    return signed_bundle(
        iota,
        ALICE_SEED,
        inputs=[(0, claimed)],
        outputs=[(to, value)],
        change=address_of(ALICE_SEED, 1) if claimed > value else None,
    )


def _tail_of(iota: Any, trytes: list[Any]) -> Any:
    txs = [iota.Transaction.from_tryte_string(t) for t in trytes]
    return next(tx.hash for tx in txs if tx.current_index == 0)


def test_bad_signature_is_rejected(alice: Any, iota: Any) -> None:
    trytes = [str(t) for t in _payment(iota, address_of(BOB_SEED, 0), 10)]
    txs = [iota.Transaction.from_tryte_string(t) for t in trytes]
    spend = next(i for i, tx in enumerate(txs) if tx.value < 0)
    flipped = "A" if trytes[spend][0] != "A" else "B"
    trytes[spend] = flipped + trytes[spend][1:]
    with pytest.raises(iota.BadApiResponse, match="Invalid bundle signature"):
        alice.send_trytes(trytes, depth=3, min_weight_magnitude=TEST_MWM)
    assert alice.get_balances([address_of(BOB_SEED, 0)])["balances"] == [0]
    assert alice.were_addresses_spent_from([address_of(ALICE_SEED, 0)])["states"] == [
        False
    ]


def test_tampered_bundle_hash_is_rejected(alice: Any, iota: Any) -> None:
    trytes = [str(t) for t in _payment(iota, address_of(BOB_SEED, 0), 10)]
    forged = "FORGED9BUNDLE".ljust(81, "9")
    trytes = [_replace(t, BUNDLE_HASH, forged) for t in trytes]
    with pytest.raises(iota.BadApiResponse, match="Invalid bundle hash"):
        alice.send_trytes(trytes, depth=3, min_weight_magnitude=TEST_MWM)
    assert alice.find_transactions(bundles=[iota.BundleHash(forged)])["hashes"] == []


def test_insufficient_balance_never_confirms(
    alice: Any, iota: Any, milestone: Callable[[], int]
) -> None:
    # Correctly signed, but spends more than the address holds.
    trytes = _payment(iota, address_of(BOB_SEED, 0), 5 * ALICE_FUNDS, 5 * ALICE_FUNDS)
    sent = alice.send_trytes(trytes, depth=3, min_weight_magnitude=TEST_MWM)
    tail = _tail_of(iota, sent["trytes"])
    consistency = alice.check_consistency([tail])
    assert consistency["state"] is False
    assert "inconsistent ledger" in consistency["info"]

    milestone()

    assert alice.get_latest_inclusion([tail])["states"][tail] is False
    balances = alice.get_balances([address_of(ALICE_SEED, 0), address_of(BOB_SEED, 0)])
    assert balances["balances"] == [ALICE_FUNDS, 0]


def test_double_spend_confirms_at_most_one(
    alice: Any, iota: Any, milestone: Callable[[], int]
) -> None:
    to_bob = _payment(iota, address_of(BOB_SEED, 0), ALICE_FUNDS)
    to_bob_too = _payment(iota, address_of(BOB_SEED, 1), ALICE_FUNDS)
    sent = [
        alice.send_trytes(trytes, depth=3, min_weight_magnitude=TEST_MWM)["trytes"]
        for trytes in (to_bob, to_bob_too)
    ]
    first, second = (_tail_of(iota, trytes) for trytes in sent)

    milestone()
    milestone()

    states = alice.get_latest_inclusion([first, second])["states"]
    assert states == {first: True, second: False}
    assert alice.check_consistency([second])["state"] is False
    bob = [address_of(BOB_SEED, 0), address_of(BOB_SEED, 1)]
    assert alice.get_balances([address_of(ALICE_SEED, 0), *bob])["balances"] == [
        0,
        ALICE_FUNDS,
        0,
    ]


def test_weight_below_mwm_is_rejected(node: DevTangle, alice: Any, iota: Any) -> None:
    bundle = iota.ProposedBundle()
    bundle.add_transaction(
        iota.ProposedTransaction(address=iota.Address(address_of(BOB_SEED, 0)), value=0)
    )
    bundle.finalize()
    head_first = [str(t) for t in bundle.as_tryte_strings()]
    milestone_hash = node.store.latest_milestone().hash
    # A weight-1 search; retry in the rare case it lands on the node's MWM.
    while True:
        attached = crypto.attach_to_tangle(
            milestone_hash, milestone_hash, 1, head_first
        )
        if crypto.trailing_zero_trits(crypto.transaction_hash(attached[0])) < TEST_MWM:
            break
    with pytest.raises(iota.BadApiResponse, match="Invalid transaction hash"):
        alice.broadcast_transactions(attached)
    # The same transaction with enough weight goes in.
    heavy = crypto.attach_to_tangle(
        milestone_hash, milestone_hash, TEST_MWM, head_first
    )
    alice.broadcast_transactions(heavy)
    assert node.store.contains(crypto.transaction_hash(heavy[0]))


@pytest.mark.parametrize(
    ("trytes", "message"),
    [
        (["abc" * 891], "Invalid trytes input"),  # lower case
        (["A" * 2672], "Invalid trytes input"),  # one short
        (["A" * 2674], "Invalid trytes input"),  # one long
        ("A" * 2673, "Invalid trytes input"),  # not a list
        ([], "Invalid trytes input"),
        ([None], "Invalid trytes input"),
    ],
)
def test_malformed_trytes_are_rejected(
    node: DevTangle, trytes: object, message: str
) -> None:
    for command in ("broadcastTransactions", "storeTransactions"):
        status, answer = post(node.url, {"command": command, "trytes": trytes})
        assert (status, answer["error"]) == (400, message)
    # Still serving.
    status, answer = post(node.url, {"command": "getNodeInfo"})
    assert status == 200
    assert answer["appName"] == "devtangle"
