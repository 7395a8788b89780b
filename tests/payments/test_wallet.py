"""The legacy wallet alone against a devtangle: addresses, funds, inputs, signing.

The rail and outbox tests drive the wallet through whole payments; these pin
what it answers for one state of the Tangle at a time, with devtangle's own
address derivation and PyOTA's transaction parser as the oracles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import time
from typing import Any

import pytest

from custom_components.iota_energy.core import wallet_work
from custom_components.iota_energy.core.legacy_node import LegacyNode, NodeError
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.wallet import (
    PROMOTION_ADDRESS,
    Candidate,
    Funds,
    LegacyWallet,
    tail_hash,
)
from custom_components.iota_energy.core.wallet_work import (
    BundleOrder,
    InputKey,
    SignedBundle,
    WalletError,
)
from custom_components.iota_energy.core.worker_pool import run_here
from devtangle import crypto
from devtangle.server import DevTangle
from devtangle.transaction import Transaction as DevTransaction

from .conftest import PAYER_FUNDS, PAYER_SEED, TEST_MWM, address_of, free_port

TAG = "HOTELIOTA"
SEED_RULE = r"^the seed must be 81 trytes \(A-Z and 9\)$"
TAG_RULE = "^the tag must be at most 27 trytes$"


@dataclass
class RecordingRunner:
    """Runs here, and keeps which work was asked for (never the seed)."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __call__(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        # The seed is the first argument of derivation and signing: left out.
        kept = (
            args[1:]
            if fn in (wallet_work.derive_addresses, wallet_work.sign_bundle)
            else args
        )
        self.calls.append((fn.__name__, kept))
        return run_here(fn, *args)

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def wallet(tangle: DevTangle, runner: RecordingRunner) -> LegacyWallet:
    node = LegacyNode(tangle.url, timeout_s=10)
    return LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM, tag=TAG, run=runner)


def offline_wallet(runner: RecordingRunner | None = None) -> LegacyWallet:
    """A wallet whose node is a closed port: any node call fails."""
    node = LegacyNode(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    return LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM, run=runner or run_here)


def parsed(trytes: str) -> Any:
    iota = import_pyota()
    return iota.Transaction.from_tryte_string(iota.TransactionTrytes(trytes))


def send(wallet: LegacyWallet, trytes: tuple[str, ...] | list[str]) -> list[str]:
    """Attach (the node's proof of work) and broadcast; the attached trytes."""
    node = wallet.node
    attached = wallet.attach(trytes, node.tips(), local=False)
    node.broadcast(attached)
    return attached


def transfer(
    wallet: LegacyWallet, source: Candidate, to: int, amount: int, change: int | None
) -> SignedBundle:
    return wallet.sign(wallet.address(to), amount, "", [source], change)


def message_only_bundle(address: str) -> list[str]:
    """A 0-value bundle to ``address`` (a note, no value moves)."""
    iota = import_pyota()
    bundle = iota.ProposedBundle()
    bundle.add_transaction(
        iota.ProposedTransaction(
            address=iota.Address(address),
            value=0,
            message=iota.TryteString.from_unicode("hello"),
        )
    )
    bundle.finalize()
    return [str(t) for t in bundle.as_tryte_strings()]


# --- construction ------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "tag", "message"),
    [
        pytest.param(PAYER_SEED[:80], "", SEED_RULE, id="short"),
        pytest.param(PAYER_SEED + "A", "", SEED_RULE, id="long"),
        pytest.param(PAYER_SEED.lower(), "", SEED_RULE, id="lower"),
        pytest.param(PAYER_SEED[:80] + "!", "", SEED_RULE, id="char"),
        pytest.param(PAYER_SEED, "T" * 28, TAG_RULE, id="long_tag"),
        pytest.param(PAYER_SEED, "HOTEL IOTA", TAG_RULE, id="tag_char"),
    ],
)
def test_a_bad_seed_or_tag_is_refused_without_showing_the_seed(
    seed: str, tag: str, message: str
) -> None:
    with pytest.raises(WalletError, match=message) as err:
        LegacyWallet(seed, LegacyNode("http://127.0.0.1:9"), mwm=TEST_MWM, tag=tag)
    leaked = PAYER_SEED[:20] in str(err.value).upper()
    assert not leaked, "the error message shows the seed"


def test_the_tag_is_padded_and_the_seed_in_no_repr() -> None:
    wallet = LegacyWallet(
        PAYER_SEED, LegacyNode("http://127.0.0.1:9"), mwm=TEST_MWM, tag="T" * 27
    )
    assert wallet.tag == "T" * 27
    assert offline_wallet().tag == "9" * 27
    assert repr(wallet) == "LegacyWallet(node='http://127.0.0.1:9')"
    assert repr(wallet._seed) == str(wallet._seed) == "<seed>"
    leaked = PAYER_SEED in repr(vars(wallet))
    assert not leaked, "an attribute's repr shows the seed"


# --- addresses -----------------------------------------------------------------


def test_addresses_are_the_seeds_derived_once_each(runner: RecordingRunner) -> None:
    wallet = offline_wallet(runner)
    expected = [address_of(PAYER_SEED, i) for i in (2, 0, 2)]
    assert wallet.addresses([2, 0, 2]) == expected
    # One call for both missing indexes, each once, in the order asked.
    assert runner.of("derive_addresses") == [((2, 0),)]
    assert wallet.address(0) == expected[1]
    assert wallet.addresses([0, 3]) == [expected[1], address_of(PAYER_SEED, 3)]
    assert runner.of("derive_addresses") == [((2, 0),), ((3,),)]


def test_the_address_with_checksum_is_the_one_a_user_would_copy() -> None:
    iota = import_pyota()
    shown = offline_wallet().address_with_checksum(1)
    assert len(shown) == 90
    assert shown[:81] == address_of(PAYER_SEED, 1)
    assert iota.Address(shown).is_checksum_valid()


# --- funds and inputs ----------------------------------------------------------


def test_no_index_handed_out_asks_the_node_nothing() -> None:
    wallet = offline_wallet()  # the node is down: any call would raise
    assert wallet.funds(0, set()) == Funds(0, 0)
    assert wallet.candidates(0, set()) == ([], set())
    assert wallet.candidates(2, {0, 1}) == ([], set())


def test_funds_count_the_indexes_handed_out_and_leave_out_spent_ones(
    tangle: DevTangle, wallet: LegacyWallet
) -> None:
    tangle.node.fund(address_of(PAYER_SEED, 1), 20, "test")
    tangle.node.fund(address_of(PAYER_SEED, 2), 3, "test")
    tangle.node.fund(address_of(PAYER_SEED, 3), 500, "test")  # not handed out
    assert wallet.funds(3, set()) == Funds(
        spendable=PAYER_FUNDS + 23, total=PAYER_FUNDS + 23
    )
    assert wallet.funds(3, {1}) == Funds(
        spendable=PAYER_FUNDS + 3, total=PAYER_FUNDS + 23
    )
    assert wallet.funds(3, {0, 2}) == Funds(spendable=20, total=PAYER_FUNDS + 23)
    assert wallet.funds(4, {0}) == Funds(spendable=523, total=PAYER_FUNDS + 523)


def test_candidates_are_funded_unspent_and_settled_indexes(
    tangle: DevTangle, wallet: LegacyWallet
) -> None:
    """One Tangle walked through the states an index can be in."""
    tangle.node.fund(address_of(PAYER_SEED, 2), 3, "test")
    tangle.node.fund(address_of(PAYER_SEED, 3), 40, "test")
    # Index 1 is empty; everything funded and never signed from is usable.
    assert wallet.candidates(4, set()) == (
        [Candidate(0, PAYER_FUNDS), Candidate(2, 3), Candidate(3, 40)],
        set(),
    )
    assert wallet.candidates(4, {2}) == (
        [Candidate(0, PAYER_FUNDS), Candidate(3, 40)],
        set(),
    )

    # 0 pays 5 to 3, change to 4; broadcast, not yet confirmed.
    pay = transfer(wallet, Candidate(0, PAYER_FUNDS), 3, 5, 4)
    send(wallet, pay.trytes)
    # The node now knows 0 as spent from; 3 has value on its way: both out.
    assert wallet.candidates(5, set()) == ([Candidate(2, 3)], {0})
    # An index the wallet already knows it signed from is not news.
    assert wallet.candidates(5, {0}) == ([Candidate(2, 3)], set())

    tangle.node.issue_milestone()
    assert wallet.candidates(5, {0}) == (
        [Candidate(2, 3), Candidate(3, 45), Candidate(4, PAYER_FUNDS - 5)],
        set(),
    )

    # The same bundle attached again after it confirmed: that copy never
    # confirms, and must not keep index 3 busy for ever.
    send(wallet, pay.trytes)
    # A note without value to index 2 does not make it busy either.
    send(wallet, message_only_bundle(address_of(PAYER_SEED, 2)))
    assert wallet.candidates(5, {0}) == (
        [Candidate(2, 3), Candidate(3, 45), Candidate(4, PAYER_FUNDS - 5)],
        set(),
    )

    # A second value bundle to 3, pending, next to the confirmed one: busy.
    second = transfer(wallet, Candidate(4, PAYER_FUNDS - 5), 3, 1, 5)
    send(wallet, second.trytes)
    assert wallet.candidates(6, {0}) == ([Candidate(2, 3)], {4})


def test_a_pending_transfer_alone_on_a_fresh_index_keeps_it_busy(
    tangle: DevTangle, wallet: LegacyWallet
) -> None:
    tangle.node.fund(address_of(PAYER_SEED, 1), 7, "test")
    # 0 pays 2 to 1 (funded, no transaction confirmed on it yet).
    send(wallet, transfer(wallet, Candidate(0, PAYER_FUNDS), 1, 2, 2).trytes)
    assert wallet.candidates(3, {0}) == ([], set())
    tangle.node.issue_milestone()
    assert wallet.candidates(3, {0}) == (
        [Candidate(1, 9), Candidate(2, PAYER_FUNDS - 2)],
        set(),
    )


# --- signing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "amount", "remainder"),
    [
        pytest.param([Candidate(0, 4)], 5, None, id="short"),
        pytest.param([Candidate(0, 4)], 5, 1, id="short_with_remainder"),
        pytest.param([Candidate(0, 6)], 5, None, id="change_without_remainder"),
        pytest.param([Candidate(0, 5)], 5, 1, id="remainder_without_change"),
        pytest.param([], 1, None, id="no_inputs"),
    ],
)
def test_inputs_and_remainder_that_do_not_fit_sign_nothing(
    runner: RecordingRunner,
    inputs: list[Candidate],
    amount: int,
    remainder: int | None,
) -> None:
    wallet = offline_wallet(runner)
    with pytest.raises(
        WalletError, match=r"^inputs and remainder do not fit the amount$"
    ):
        wallet.sign(address_of(PAYER_SEED, 9), amount, "", inputs, remainder)
    assert runner.calls == []


def test_the_order_signed_is_the_one_asked_for(runner: RecordingRunner) -> None:
    wallet = offline_wallet(runner)
    receiver_with_checksum = str(
        import_pyota().Address(address_of(PAYER_SEED, 9)).with_valid_checksum()
    )
    before = int(time.time())
    signed = wallet.sign(
        receiver_with_checksum,
        7,
        "BILL",
        [Candidate(1, 3), Candidate(0, 6)],
        4,
    )
    after = int(time.time())
    ((order,),) = runner.of("sign_bundle")
    assert isinstance(order, BundleOrder)
    assert order.receiver == address_of(PAYER_SEED, 9)  # the checksum cut off
    assert (order.amount, order.message, order.tag) == (7, "BILL", "9" * 27)
    assert order.inputs == (
        InputKey(1, address_of(PAYER_SEED, 1), 3),
        InputKey(0, address_of(PAYER_SEED, 0), 6),
    )
    assert order.remainder_address == address_of(PAYER_SEED, 4)
    assert before <= order.timestamp <= after
    # And the bundle is that order: every transaction carries its timestamp.
    assert {int(parsed(t).timestamp) for t in signed.trytes} == {order.timestamp}
    assert signed.inputs == ((1, 3), (0, 6))


def test_an_exact_payment_has_no_remainder_address(runner: RecordingRunner) -> None:
    wallet = offline_wallet(runner)
    wallet.sign(
        address_of(PAYER_SEED, 9), 9, "", [Candidate(0, 4), Candidate(2, 5)], None
    )
    ((order,),) = runner.of("sign_bundle")
    assert order.remainder_address is None
    assert [key.index for key in order.inputs] == [0, 2]


# --- promotion, proof of work, tails ------------------------------------------


def test_a_promotion_is_one_unsigned_zero_value_transaction() -> None:
    wallet = LegacyWallet(
        PAYER_SEED, LegacyNode("http://127.0.0.1:9"), mwm=TEST_MWM, tag=TAG
    )
    (trytes,) = wallet.promotion_trytes()
    transaction = parsed(trytes)
    assert str(transaction.address) == PROMOTION_ADDRESS
    assert int(transaction.value) == 0
    assert str(transaction.tag) == TAG.ljust(27, "9")
    assert (int(transaction.current_index), int(transaction.last_index)) == (0, 0)
    assert set(str(transaction.signature_message_fragment)) == {"9"}
    # Finalized: the bundle hash is the Kerl hash of its essence.
    essence = DevTransaction.parse(trytes, "9" * 81).essence
    assert str(transaction.bundle_hash) == crypto.kerl_hash(essence)


@pytest.mark.parametrize("local", [False, True], ids=["node_pow", "local_pow"])
def test_proof_of_work_approves_the_tips_at_the_wallets_weight(
    tangle: DevTangle, wallet: LegacyWallet, runner: RecordingRunner, local: bool
) -> None:
    tips = wallet.node.tips()
    (attached,) = wallet.attach(wallet.promotion_trytes(), tips, local=local)
    transaction = parsed(attached)
    assert (
        str(transaction.trunk_transaction_hash),
        str(transaction.branch_transaction_hash),
    ) == (
        tips.trunk,
        tips.branch,
    )
    # The weight asked for, in trailing 0 trits of the hash (and the node takes it).
    trits = import_pyota().TryteString(str(transaction.hash)).as_trits()
    assert trits[-TEST_MWM:] == [0] * TEST_MWM
    wallet.node.broadcast([attached])
    assert wallet.node.trytes([str(transaction.hash)]) == [attached]
    assert len(runner.of("proof_of_work")) == (1 if local else 0)
    if local:
        ((trunk, branch, mwm, sent),) = runner.of("proof_of_work")
        assert (trunk, branch, mwm) == (tips.trunk, tips.branch, TEST_MWM)
        assert isinstance(sent, tuple)


def test_the_tail_is_found_wherever_it_is_in_the_list(
    wallet: LegacyWallet,
) -> None:
    signed = transfer(wallet, Candidate(0, PAYER_FUNDS), 3, 5, 4)
    attached = wallet.attach(signed.trytes, wallet.node.tips(), local=False)
    transactions = [parsed(t) for t in attached]
    (tail,) = [t for t in transactions if int(t.current_index) == 0]
    assert len(attached) > 2
    for order in (attached, attached[::-1], attached[1:] + attached[:1]):
        assert tail_hash(order) == str(tail.hash)


def test_attached_trytes_without_a_tail_are_a_garbage_answer(
    wallet: LegacyWallet,
) -> None:
    signed = transfer(wallet, Candidate(0, PAYER_FUNDS), 3, 5, 4)
    attached = wallet.attach(signed.trytes, wallet.node.tips(), local=False)
    no_tail = [t for t in attached if int(parsed(t).current_index) != 0]
    for answer in (no_tail, []):
        with pytest.raises(NodeError) as err:
            tail_hash(answer)
        assert (err.value.command, err.value.kind, err.value.detail) == (
            "attachToTangle",
            "garbage",
            "no tail transaction",
        )
