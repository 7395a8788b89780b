"""The outbox through the legacy rail: documents from before the rail interface.

``fixtures/outbox_v1_signed.json`` was written by the outbox as it was before
it drove a :class:`~custom_components.iota_energy.core.rail.Rail` (commit
05cfdbf), against a devtangle with this module's genesis: payment P000001
(12 i) signed from index 0 with its remainder reserved at index 1, stored and
not yet attached; P000002 (11 i) queued behind it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from custom_components.iota_energy.core.legacy_node import LegacyNode, NodeError, Tips
from custom_components.iota_energy.core.legacy_rail import FollowTimes, LegacyRail
from custom_components.iota_energy.core.outbox import Outbox
from custom_components.iota_energy.core.payments import (
    Attachment,
    OutboxState,
    PaymentStatus,
)
from custom_components.iota_energy.core.rail import (
    Advance,
    Funds,
    Progress,
    RailName,
    ReceiverError,
    Shortfall,
    SignedTransfer,
    TransferOrder,
)
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.units import Amount, Denomination
from custom_components.iota_energy.core.wallet import LegacyWallet
from devtangle.node import Limits
from devtangle.server import DevTangle

from .bill_on_tangle import message_of
from .conftest import (
    BOB_SEED,
    DAY,
    PAYER_FUNDS,
    PAYER_SEED,
    T0,
    TEST_MWM,
    Payer,
    address_of,
    funded_tangle,
    no_pow_limits,
    receiver,
    run_until,
    statement,
)
from .test_outbox import bundles_to

STORED = Path(__file__).parent / "fixtures" / "outbox_v1_signed.json"


def stored_text() -> str:
    return STORED.read_text(encoding="utf-8")


def all_confirmed(outbox: Outbox) -> bool:
    return all(p.status is PaymentStatus.CONFIRMED for p in outbox.state.payments)


def sign_five_iota(rail: LegacyRail) -> tuple[SignedTransfer, Mapping[str, Any]]:
    """P000001 of 5 i to the receiver, signed from index 0 of a fresh book."""
    book = {"next_index": 1, "deposit_index": 0, "spent_indexes": [], "reserved": None}
    order = TransferOrder("P000001", receiver(), Amount(5, Denomination.LEGACY_I))
    signed, after = rail.sign(order, book, lambda _: None)
    assert isinstance(signed, SignedTransfer)
    return signed, after


def test_the_stored_document_is_in_the_old_shape() -> None:
    """Guard: the fixture has none of the keys the rail interface added."""
    document = json.loads(stored_text())
    assert document["version"] == 1
    for payment in document["payments"]:
        assert not {"transfer", "fee", "superseded"} & payment.keys()
    signed, queued = OutboxState.from_dict(document).payments
    assert signed.status is PaymentStatus.SIGNED
    assert signed.remainder_index == 1
    assert signed.transfer is None
    assert queued.status is PaymentStatus.QUEUED


def test_a_payment_signed_by_the_old_outbox_finishes_with_the_same_bundle(
    payer: Payer,
) -> None:
    payer.store.text = stored_text()
    stored = OutboxState.from_dict(json.loads(stored_text()))
    signed_hash = stored.payments[0].bundle_hash
    outbox = payer.outbox()
    assert isinstance(outbox.rail, LegacyRail)

    run_until(outbox, all_confirmed, T0, milestones=payer.milestone)

    first, second = outbox.state.payments
    # The very bundle signed before the upgrade, never a second one for it.
    assert first.bundle_hash == signed_hash
    assert first.transfer_id == signed_hash
    assert first.signed_trytes == ()  # dropped once confirmed, as before
    bob = address_of(BOB_SEED, 0)
    assert set(bundles_to(payer, bob)) == {signed_hash, second.bundle_hash}
    assert payer.balance(bob) == 12 + 11
    # The remainder index reserved by the old code took the change, and the
    # second payment signed from it (never from index 0 again).
    assert {index for index, _ in second.inputs} == {1}
    assert 0 not in {index for index, _ in second.inputs}
    assert second.remainder_index not in {0, 1}
    assert second.remainder_index is not None
    assert payer.balance(address_of(PAYER_SEED, second.remainder_index)) == (
        PAYER_FUNDS - 23
    )
    assert outbox.state.paid_total == 23
    assert outbox.state.sent_by_day[DAY] == 23
    # And the document written now reads back to the same state.
    assert payer.store.load() == outbox.state


def test_a_signed_bundle_is_never_dead_on_the_legacy_rail(payer: Payer) -> None:
    """W-OTS: reattached with the same trytes, never given up and re-signed."""
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 5)], T0)
    assert payment is not None
    seen: list[Progress] = []
    rail = outbox.rail
    assert rail.name is RailName.LEGACY
    original = rail.advance

    def watched(*args: object) -> object:
        result = original(*args)  # type: ignore[arg-type]
        seen.append(result.progress)
        return result

    rail.advance = watched  # type: ignore[method-assign]
    # No milestones for 20 minutes: promoted, then reattached; then confirmed.
    now: datetime = T0
    now, _ = run_until(
        outbox,
        lambda o: len(o.state.payments[0].attachments) >= 2,
        now,
        step=timedelta(minutes=1),
    )
    run_until(
        outbox,
        lambda o: o.state.payments[0].status is PaymentStatus.CONFIRMED,
        now,
        milestones=payer.milestone,
    )
    assert Progress.DEAD not in seen
    assert Progress.CONFIRMED in seen
    assert len(set(bundles_to(payer, address_of(BOB_SEED, 0)))) == 1


def test_funds_and_deposit_address_as_the_wallet_sensors_show_them(
    tmp_path: Path,
) -> None:
    """Spent indexes count in the total only; indexes not handed out not at all.

    (Only the shell asks these, for its sensors; the outbox never does.)
    """
    with funded_tangle(tmp_path, {0: 10_000, 1: 300, 2: 45, 3: 7}) as tangle:
        wallet = LegacyWallet(PAYER_SEED, LegacyNode(tangle.url), mwm=TEST_MWM)
        rail = LegacyRail(wallet)
        book = {"next_index": 3, "deposit_index": 2, "spent_indexes": [1]}
        assert rail.funds(book) == Funds(
            spendable=Amount(10_045, Denomination.LEGACY_I),
            total=Amount(10_345, Denomination.LEGACY_I),
        )
        iota = import_pyota()
        assert rail.deposit_address(book) == str(
            iota.Address(address_of(PAYER_SEED, 2)).with_valid_checksum()
        )


def test_the_rails_settings_and_their_defaults() -> None:
    wallet = LegacyWallet(PAYER_SEED, LegacyNode("http://127.0.0.1:9"), mwm=TEST_MWM)
    rail = LegacyRail(wallet)
    assert (rail.wallet, rail.pow_mode, rail.follow) == (wallet, "auto", FollowTimes())
    assert FollowTimes() == FollowTimes(
        promote_interval=timedelta(seconds=30),
        promote_window=timedelta(minutes=11),
        depth=3,
    )
    follow = FollowTimes(depth=5)
    local = LegacyRail(wallet, pow_mode="local", follow=follow)
    assert (local.pow_mode, local.follow) == ("local", follow)
    with pytest.raises(
        ValueError, match=r"^pow_mode is one of \('auto', 'local', 'node'\)$"
    ):
        LegacyRail(wallet, pow_mode="remote")


def test_the_remainder_goes_to_a_fresh_index_the_node_never_saw_spent(
    tmp_path: Path,
) -> None:
    """Reserved indexes are reused; indexes spent by another wallet skipped.

    Another wallet holding the seed signed from indexes 1 to 5 (one bundle,
    unconfirmed): the node reports them spent, and the rail must not put a
    remainder there.
    """
    iota = import_pyota()
    funds = {0: 10_000} | dict.fromkeys(range(1, 6), 1)
    with funded_tangle(tmp_path, funds) as tangle:
        iota.Iota(tangle.url, seed=PAYER_SEED).send_transfer(
            transfers=[
                iota.ProposedTransaction(
                    address=iota.Address(address_of(BOB_SEED, 0)), value=5
                )
            ],
            inputs=[
                iota.Address(
                    address_of(PAYER_SEED, i),
                    balance=1,
                    key_index=i,
                    security_level=2,
                )
                for i in range(1, 6)
            ],
            min_weight_magnitude=TEST_MWM,
        )
        rail = LegacyRail(
            LegacyWallet(PAYER_SEED, LegacyNode(tangle.url), mwm=TEST_MWM)
        )
        order = TransferOrder("P000001", receiver(), Amount(5, Denomination.LEGACY_I))

        def sign(**book: Any) -> tuple[Any, dict[str, Any], list[Mapping[str, Any]]]:
            reserved: list[Mapping[str, Any]] = []
            stored = {"deposit_index": 0, "spent_indexes": [], "reserved": None}
            result, after = rail.sign(order, stored | book, reserved.append)
            return result, dict(after), reserved

        # The same node answer guards the receiver: a spent one (index 1 with
        # its checksum, as a user would enter it) is refused with its reason,
        # an unspent one comes back as entered.
        spent_receiver = str(
            iota.Address(address_of(PAYER_SEED, 1)).with_valid_checksum()
        )
        with pytest.raises(ReceiverError, match=r"^receiver_spent$") as refused:
            rail.check_receiver(spent_receiver)
        assert refused.value.reason == "receiver_spent"
        assert rail.check_receiver(receiver()) == receiver()

        # Every fresh index is spent: nothing signed, a node answer to retry.
        with pytest.raises(NodeError) as caught:
            sign(next_index=1)
        assert (caught.value.command, caught.value.kind, caught.value.detail) == (
            "wereAddressesSpentFrom",
            "garbage",
            "every fresh address is spent",
        )

        # 1 to 3 (funded) are no inputs and 4 and 5 no remainder: all are
        # recorded as spent; 6 takes the remainder, handed out durably
        # before signing.
        transfer, book, reserved = sign(next_index=4)
        assert transfer.record["remainder_index"] == 6
        assert reserved == [
            {
                "deposit_index": 0,
                "spent_indexes": [1, 2, 3, 4, 5],
                "reserved": 6,
                "next_index": 7,
            }
        ]
        # Signed from 0, the deposit moves to the next fresh index.
        assert book == {
            "deposit_index": 7,
            "spent_indexes": [0, 1, 2, 3, 4, 5],
            "reserved": 6,
            "next_index": 8,
        }

        # A remainder reserved before a crash is used, not handed out again.
        transfer, book, reserved = sign(next_index=7, reserved=6)
        assert transfer.record["remainder_index"] == 6
        assert reserved == []
        assert book["next_index"] == 8  # only the deposit moved
        # Unless it was signed from meanwhile.
        transfer, book, reserved = sign(next_index=7, reserved=6, spent_indexes=[6])
        assert transfer.record["remainder_index"] == 7
        assert [r["reserved"] for r in reserved] == [7]


def test_the_rail_alone_walks_signed_attached_broadcast_then_follows(
    payer: Payer,
) -> None:
    """The record's stage, as the module docstring names it, after each step.

    Driven without the outbox (which keeps a legacy payment's stage in its
    status): after the broadcast the stage is ``broadcast``, so the next step
    follows the bundle instead of broadcasting it again.
    """
    wallet = LegacyWallet(PAYER_SEED, LegacyNode(payer.tangle.url), mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode="local")
    signed, book = sign_five_iota(rail)
    assert signed.record["stage"] == "signed"

    attached = rail.advance(signed, book, T0)
    assert (attached.progress, attached.transfer.record["stage"]) == (
        Progress.SIGNED,
        "attached",
    )
    assert attached.book is None  # local proof of work, as configured: no change

    sent = rail.advance(attached.transfer, book, T0)
    assert (sent.progress, sent.transfer.record["stage"]) == (
        Progress.SENT,
        "broadcast",
    )
    # Each step keeps the transfer's identity and amount.
    for step in (attached.transfer, sent.transfer):
        assert (step.rail, step.transfer_id, step.amount) == (
            signed.rail,
            signed.transfer_id,
            signed.amount,
        )
    assert (
        sent.transfer.record["attachments"] == attached.transfer.record["attachments"]
    )

    # Following up: not confirmed yet, too early to promote, nothing changes.
    waiting = rail.advance(sent.transfer, book, T0 + timedelta(seconds=1))
    assert (waiting.progress, waiting.transfer, waiting.book) == (
        Progress.SENT,
        sent.transfer,
        None,
    )
    payer.milestone()
    confirmed = rail.advance(sent.transfer, book, T0 + timedelta(seconds=2))
    assert confirmed.progress is Progress.CONFIRMED
    # A confirmed bundle's trytes are never needed again: not kept.
    record = confirmed.transfer.record
    assert (record["signed_trytes"], record["attached_trytes"]) == ([], [])
    assert record["attachments"] == sent.transfer.record["attachments"]


class _RecordingNode(LegacyNode):
    """Keeps what the rail asks of tip selection, counts the node's proof of
    work asked for (which may fail with a given kind), keeps broadcasts."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.tip_requests: list[tuple[int, str | None]] = []
        self.broadcasts: list[list[str]] = []
        self.attach_calls = 0
        self.fail_attach: str | None = None

    @property
    def tip_depths(self) -> list[int]:
        return [depth for depth, _ in self.tip_requests]

    def tips(self, depth: int = 3, reference: str | None = None) -> Tips:
        self.tip_requests.append((depth, reference))
        return super().tips(depth, reference)

    def attach(self, tips: Tips, mwm: int, trytes: Sequence[str]) -> list[str]:
        self.attach_calls += 1
        if self.fail_attach is not None:
            raise NodeError("attachToTangle", self.fail_attach)
        return super().attach(tips, mwm, trytes)

    def broadcast(self, trytes: Sequence[str]) -> None:
        self.broadcasts.append(list(trytes))
        super().broadcast(trytes)


def test_a_bundle_is_promoted_within_the_window_and_attached_again_at_its_end(
    payer: Payer,
) -> None:
    """iota.js's max depth: an attachment younger than the promote window is
    promoted; one exactly as old is past it, and is attached again (new proof
    of work on the same signed trytes).

    A promotion approves the bundle's tail (tips asked with it as reference,
    at the rail's depth): a promotion beside the bundle would not help it.
    """
    node = _RecordingNode(payer.tangle.url)
    wallet = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode="local", follow=FollowTimes(depth=5))
    window = rail.follow.promote_window
    signed, book = sign_five_iota(rail)
    attached = rail.advance(signed, book, T0)
    sent = rail.advance(attached.transfer, book, T0).transfer

    young = rail.advance(sent, book, T0 + window - timedelta(microseconds=1))
    assert young.progress is Progress.SENT
    assert young.transfer.record["stage"] == "broadcast"
    (promoted,) = young.transfer.record["attachments"]
    assert promoted["promotions"] == 1
    tail = promoted["tail"]
    assert node.tip_requests[-1] == (5, tail)
    iota = import_pyota()
    (promotion,) = (
        iota.Transaction.from_tryte_string(iota.TransactionTrytes(trytes))
        for trytes in node.broadcasts[-1]
    )
    approved = {promotion.trunk_transaction_hash, promotion.branch_transaction_hash}
    assert tail in {str(hash_) for hash_ in approved}

    old = rail.advance(sent, book, T0 + window)
    assert old.progress is Progress.SIGNED
    assert old.transfer.record["stage"] == "signed"
    assert old.transfer.record["signed_trytes"] == signed.record["signed_trytes"]
    assert old.transfer.record["attachments"] == sent.record["attachments"]

    # Attached again: the first attachment is kept beside the new one.
    again = rail.advance(old.transfer, book, T0 + window)
    first, _ = again.transfer.record["attachments"]
    assert first == sent.record["attachments"][0]


def test_promotions_are_one_interval_apart(payer: Payer) -> None:
    """The first promotion waits one interval after the attachment, the next
    one interval after it (at exactly one interval: promoted)."""
    wallet = LegacyWallet(PAYER_SEED, LegacyNode(payer.tangle.url), mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode="local")
    interval = rail.follow.promote_interval
    signed, book = sign_five_iota(rail)
    attached = rail.advance(signed, book, T0)
    sent = rail.advance(attached.transfer, book, T0).transfer

    def promotions(advance: Advance) -> int:
        (attachment,) = advance.transfer.record["attachments"]
        return int(attachment["promotions"])

    early = rail.advance(sent, book, T0 + interval - timedelta(microseconds=1))
    assert (early.transfer, promotions(early)) == (sent, 0)
    first = rail.advance(sent, book, T0 + interval)
    assert promotions(first) == 1
    (attachment,) = first.transfer.record["attachments"]
    assert Attachment.from_dict(attachment).last_promoted_at == T0 + interval
    soon = rail.advance(first.transfer, book, T0 + 2 * interval - timedelta(seconds=1))
    assert soon.transfer == first.transfer
    second = rail.advance(first.transfer, book, T0 + 2 * interval)
    assert promotions(second) == 2

    # Only the latest attachment is promoted; the earlier ones stay as they were.
    (latest,) = sent.record["attachments"]
    earlier = {**latest, "attached_at": (T0 - timedelta(minutes=20)).isoformat()}
    reattached = SignedTransfer(
        sent.rail,
        sent.transfer_id,
        sent.amount,
        {**sent.record, "attachments": [earlier, latest]},
    )
    promoted = rail.advance(reattached, book, T0 + interval).transfer
    kept, newest = promoted.record["attachments"]
    assert kept == earlier
    assert newest["promotions"] == 1


class _OtherBundleNode(LegacyNode):
    """A node whose attachToTangle answers with another bundle's trytes."""

    other: list[str]

    def attach(self, tips: Tips, mwm: int, trytes: Sequence[str]) -> list[str]:
        return super().attach(tips, mwm, self.other)


def test_a_node_answering_with_another_bundle_is_a_garbage_answer(
    payer: Payer,
) -> None:
    node = _OtherBundleNode(payer.tangle.url)
    wallet = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM)
    node.other = wallet.promotion_trytes()  # a real bundle, but not this one
    rail = LegacyRail(wallet, pow_mode="node")
    signed, book = sign_five_iota(rail)
    with pytest.raises(NodeError) as caught:
        rail.advance(signed, book, T0)
    assert (caught.value.command, caught.value.kind, caught.value.detail) == (
        "attachToTangle",
        "garbage",
        "another bundle came back",
    )


FALLBACK_LINE = "The node refuses attachToTangle; doing proof of work locally"
LEGACY_RAIL_LOGGER = "custom_components.iota_energy.core.legacy_rail"


@pytest.mark.parametrize(
    ("pow_mode", "node_refuses", "refused_before", "expected"),
    [
        # expected: (how often the node is asked, whether it falls back)
        ("local", False, False, (0, False)),
        ("local", True, False, (0, False)),
        ("node", False, False, (1, False)),
        ("auto", False, False, (1, False)),
        # Refused: local proof of work at once, and remembered in the book.
        ("auto", True, False, (1, True)),
        # Remembered: the node is not asked again.
        ("auto", True, True, (0, False)),
    ],
)
def test_proof_of_work_by_mode_and_what_the_node_allows(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    pow_mode: str,
    node_refuses: bool,
    refused_before: bool,
    expected: tuple[int, bool],
) -> None:
    node_asked, falls_back = expected
    caplog.set_level(logging.INFO)
    limits = no_pow_limits() if node_refuses else Limits()
    with funded_tangle(tmp_path, limits=limits) as tangle:
        node = _RecordingNode(tangle.url)
        wallet = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM)
        rail = LegacyRail(wallet, pow_mode=pow_mode, follow=FollowTimes(depth=5))
        book: dict[str, Any] = {
            "next_index": 1,
            "deposit_index": 0,
            "spent_indexes": [],
            "reserved": None,
        }
        if refused_before:
            book["node_pow_refused"] = True
        order = TransferOrder("P000001", receiver(), Amount(5, Denomination.LEGACY_I))
        signed, book = rail.sign(order, book, lambda _: None)
        assert isinstance(signed, SignedTransfer)
        attached = rail.advance(signed, book, T0)
        sent = rail.advance(attached.transfer, book, T0)
        # A promotion does its proof of work by the same rule (the book as
        # before the attachment: each step says what it changed).
        promoted = rail.advance(sent.transfer, book, T0 + timedelta(seconds=30))

    assert node.attach_calls == 2 * node_asked
    assert node.tip_depths == [5, 5]
    assert attached.progress is Progress.SIGNED
    assert attached.transfer.record["stage"] == "attached"
    (attachment,) = promoted.transfer.record["attachments"]
    assert attachment["promotions"] == 1
    changed = {**book, "node_pow_refused": True} if falls_back else None
    assert (attached.book, promoted.book) == (changed, changed)
    logged = [
        (r.name, r.levelno) for r in caplog.records if r.getMessage() == FALLBACK_LINE
    ]
    assert logged == ([(LEGACY_RAIL_LOGGER, logging.INFO)] * 2 if falls_back else [])


@pytest.mark.parametrize(
    ("pow_mode", "kind"),
    [("node", "refused"), ("auto", "timeout"), ("auto", "unreachable")],
)
def test_a_node_pow_failure_is_raised_where_no_fallback_applies(
    payer: Payer, pow_mode: str, kind: str
) -> None:
    """Only ``auto`` falls back, and only when the node refuses: a node that
    is slow or gone is a node problem, retried later with the node."""
    node = _RecordingNode(payer.tangle.url)
    wallet = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode=pow_mode)
    signed, book = sign_five_iota(rail)
    node.fail_attach = kind
    with pytest.raises(NodeError) as caught:
        rail.advance(signed, book, T0)
    assert (caught.value.command, caught.value.kind) == ("attachToTangle", kind)
    assert node.attach_calls == 1


@pytest.fixture
def two_funded_indexes(tmp_path: Path) -> Iterator[DevTangle]:
    """The payer's indexes 0 and 1 funded with 3 i and 4 i."""
    with funded_tangle(tmp_path, {0: 3, 1: 4}) as tangle:
        yield tangle


@pytest.mark.parametrize(
    ("amount", "inputs", "remainder"),
    [
        (3, [[0, 3]], False),  # the oldest index covers it: no second input
        (4, [[0, 3], [1, 4]], True),  # oldest first, until covered
        (7, [[0, 3], [1, 4]], False),  # exactly everything: no change
    ],
)
def test_inputs_are_the_oldest_funded_indexes_until_the_amount_is_covered(
    two_funded_indexes: DevTangle, amount: int, inputs: list[list[int]], remainder: bool
) -> None:
    wallet = LegacyWallet(PAYER_SEED, LegacyNode(two_funded_indexes.url), mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode="local")
    book = {"next_index": 2, "deposit_index": 1, "spent_indexes": [], "reserved": None}
    reserved: list[Mapping[str, Any]] = []
    order = TransferOrder("P000001", receiver(), Amount(amount, Denomination.LEGACY_I))
    signed, after = rail.sign(order, book, reserved.append)
    assert isinstance(signed, SignedTransfer)
    assert signed.amount == Amount(amount, Denomination.LEGACY_I)
    assert signed.record["inputs"] == inputs
    assert (signed.record["remainder_index"] is not None) is remainder
    # A remainder index is handed out durably before signing; none without one.
    assert len(reserved) == int(remainder)
    assert after["spent_indexes"] == [index for index, _ in inputs]


def test_a_shortfall_names_exactly_what_is_missing(
    two_funded_indexes: DevTangle,
) -> None:
    wallet = LegacyWallet(PAYER_SEED, LegacyNode(two_funded_indexes.url), mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode="local")
    book = {"next_index": 2, "deposit_index": 1, "spent_indexes": [], "reserved": None}
    order = TransferOrder("P000001", receiver(), Amount(9, Denomination.LEGACY_I))
    waiting, after = rail.sign(order, book, lambda _: None)
    assert waiting == Shortfall(Amount(2, Denomination.LEGACY_I))
    assert after == book  # nothing signed, nothing reserved


@pytest.mark.parametrize("memo", ["HELLO9NEIGHBOUR", None])
def test_the_order_memo_is_the_bundles_message(payer: Payer, memo: str | None) -> None:
    wallet = LegacyWallet(PAYER_SEED, LegacyNode(payer.tangle.url), mwm=TEST_MWM)
    rail = LegacyRail(wallet, pow_mode="local")
    book = {"next_index": 1, "deposit_index": 0, "spent_indexes": [], "reserved": None}
    order = TransferOrder(
        "P000001", receiver(), Amount(5, Denomination.LEGACY_I), memo=memo
    )
    signed, _ = rail.sign(order, book, lambda _: None)
    assert isinstance(signed, SignedTransfer)
    iota = import_pyota()
    transactions = [
        iota.Transaction.from_tryte_string(iota.TransactionTrytes(trytes))
        for trytes in signed.record["signed_trytes"]
    ]
    (fragment,) = message_of(transactions)
    assert fragment == (memo or "").ljust(len(fragment), "9")
