"""Real PyOTA 2.1.0 over HTTP against a running devtangle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtangle.genesis import Allocation
from devtangle.server import DevTangle

from .conftest import (
    ALICE_FUNDS,
    ALICE_SEED,
    BOB_SEED,
    TEST_MWM,
    address_of,
    genesis,
)


def _pay_bob(api: Any, iota: Any, value: int, mwm: int = TEST_MWM) -> Any:
    """Send ``value`` from Alice's genesis address to Bob, change to index 1."""
    result = api.send_transfer(
        transfers=[
            iota.ProposedTransaction(
                address=iota.Address(address_of(BOB_SEED, 0)), value=value
            )
        ],
        inputs=[
            iota.Address(
                address_of(ALICE_SEED, 0),
                balance=ALICE_FUNDS,
                key_index=0,
                security_level=2,
            )
        ],
        change_address=iota.Address(address_of(ALICE_SEED, 1)),
        depth=3,
        min_weight_magnitude=mwm,
    )
    return result["bundle"]


def _balances(api: Any, *addresses: str) -> list[int]:
    return list(api.get_balances(list(addresses))["balances"])


def test_get_node_info(alice: Any, node: DevTangle) -> None:
    info = alice.get_node_info()
    assert info["appName"] == "devtangle"
    assert info["latestMilestoneIndex"] == 1
    assert info["latestMilestone"] == info["latestSolidSubtangleMilestone"]
    assert str(info["latestMilestone"]) == node.store.latest_milestone().hash


def test_send_transfer_confirms_and_moves_balances(
    alice: Any, iota: Any, milestone: Callable[[], int]
) -> None:
    bundle = _pay_bob(alice, iota, 100)
    tail = bundle.tail_transaction.hash
    assert len(bundle) == 4  # output, input with two fragments, change
    assert alice.get_latest_inclusion([tail])["states"][tail] is False
    alice_0, bob, alice_1 = (
        address_of(ALICE_SEED, 0),
        address_of(BOB_SEED, 0),
        address_of(ALICE_SEED, 1),
    )
    assert _balances(alice, alice_0, bob, alice_1) == [ALICE_FUNDS, 0, 0]
    # The input counts as spent as soon as a valid bundle spends it.
    assert alice.were_addresses_spent_from([alice_0, bob])["states"] == [True, False]

    milestone()

    assert alice.get_latest_inclusion([tail])["states"][tail] is True
    assert _balances(alice, alice_0, bob, alice_1) == [0, 100, ALICE_FUNDS - 100]


def test_send_transfer_at_mwm_9(db_path: Path, iota: Any) -> None:
    with DevTangle(
        db_path, genesis=genesis(), port=0, mwm=9, milestone_interval=None
    ) as node:
        api = iota.Iota(node.url, seed=ALICE_SEED)
        bundle = _pay_bob(api, iota, 7, mwm=9)
        node.node.issue_milestone()
        tail = bundle.tail_transaction.hash
        assert api.get_latest_inclusion([tail])["states"][tail] is True
        assert _balances(api, address_of(BOB_SEED, 0)) == [7]


def test_replay_bundle_confirms_once(
    alice: Any, iota: Any, milestone: Callable[[], int]
) -> None:
    bundle = _pay_bob(alice, iota, 100)
    first_tail = bundle.tail_transaction.hash
    replayed = alice.replay_bundle(first_tail, depth=3, min_weight_magnitude=TEST_MWM)
    replay = [iota.Transaction.from_tryte_string(t) for t in replayed["trytes"]]
    replay_tail = next(tx for tx in replay if tx.current_index == 0)
    # Same signed bundle, new proof of work: same bundle hash, new tail.
    assert replay_tail.bundle_hash == bundle.hash
    assert replay_tail.hash != first_tail

    milestone()
    milestone()

    states = alice.get_latest_inclusion([first_tail, replay_tail.hash])["states"]
    assert sorted(states.values()) == [False, True]
    assert _balances(alice, address_of(BOB_SEED, 0)) == [100]


def test_promote_transaction(
    alice: Any, iota: Any, milestone: Callable[[], int]
) -> None:
    bundle = _pay_bob(alice, iota, 10)
    tail = bundle.tail_transaction.hash
    promoted = alice.promote_transaction(tail, depth=3, min_weight_magnitude=TEST_MWM)
    promotion = promoted["bundle"].tail_transaction
    # The promotion approves the tail (getTransactionsToApprove's reference).
    assert tail in {promotion.trunk_transaction_hash, promotion.branch_transaction_hash}
    assert alice.check_consistency([tail])["state"] is True

    milestone()

    states = alice.get_latest_inclusion([tail, promotion.hash])["states"]
    assert states == {tail: True, promotion.hash: True}


def test_find_transactions_and_get_trytes(alice: Any, iota: Any) -> None:
    bundle = _pay_bob(alice, iota, 1)
    by_bundle = alice.find_transactions(bundles=[bundle.hash])["hashes"]
    assert set(by_bundle) == {tx.hash for tx in bundle}
    by_address = alice.find_transactions(
        addresses=[iota.Address(address_of(BOB_SEED, 0))]
    )["hashes"]
    assert by_address == [bundle[0].hash]
    tail = bundle.tail_transaction
    by_approvee = alice.find_transactions(approvees=[bundle[1].hash])["hashes"]
    assert by_approvee == [tail.hash]
    trytes = alice.get_trytes([tail.hash])["trytes"]
    assert iota.Transaction.from_tryte_string(trytes[0]).hash == tail.hash


def test_restart_keeps_ledger_bundles_and_confirmations(
    db_path: Path, iota: Any
) -> None:
    with DevTangle(
        db_path, genesis=genesis(), port=0, mwm=TEST_MWM, milestone_interval=None
    ) as node:
        api = iota.Iota(node.url, seed=ALICE_SEED)
        bundle = _pay_bob(api, iota, 42)
        node.node.issue_milestone()
        before = api.get_node_info()["latestMilestoneIndex"]
    # A different genesis on restart must not touch the stored ledger.
    other_genesis = [Allocation(address_of(BOB_SEED, 0), 5)]
    with DevTangle(
        db_path, genesis=other_genesis, port=0, mwm=TEST_MWM, milestone_interval=None
    ) as node:
        api = iota.Iota(node.url, seed=ALICE_SEED)
        tail = bundle.tail_transaction.hash
        assert api.get_node_info()["latestMilestoneIndex"] == before
        assert api.get_latest_inclusion([tail])["states"][tail] is True
        found = api.find_transactions(bundles=[bundle.hash])["hashes"]
        assert set(found) == {tx.hash for tx in bundle}
        assert _balances(api, address_of(ALICE_SEED, 0), address_of(BOB_SEED, 0)) == [
            0,
            42,
        ]
        assert api.were_addresses_spent_from([address_of(ALICE_SEED, 0)])["states"] == [
            True
        ]
        # The node keeps working on the restored tangle.
        node.node.issue_milestone()
        assert api.get_node_info()["latestMilestoneIndex"] == before + 1
