"""The outbox's own logic against a scripted rail: every decision, every write.

The rail here answers from a script in microseconds and records what it was
asked, so each test can say exactly what the outbox asked, stored and told.
The outbox paying for real (PyOTA against a devtangle, iota-sdk against
devrebased) is in tests/payments/test_outbox.py and
tests/devrebased/test_rebased_outbox.py; this file is what makes each line of
core/outbox.py answer for itself (scripts/mutation core/outbox.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import json
import logging
import re
from typing import Any

import pytest

from custom_components.iota_energy.core.bill_message import (
    bill_statements,
    decode_bill,
    encode_bill,
)
from custom_components.iota_energy.core.ledger import (
    PaymentState,
    PriceSlice,
    Statement,
)
from custom_components.iota_energy.core.legacy_node import LegacyNode, NodeError
from custom_components.iota_energy.core.legacy_rail import (
    POW_MODES,
    FollowTimes,
    LegacyRail,
)
from custom_components.iota_energy.core.outbox import (
    FollowSchedule,
    NodeProblem,
    Outbox,
    PaymentEvent,
    PaymentEventKind,
    PaymentPolicy,
)
from custom_components.iota_energy.core.payments import (
    HISTORY_LIMIT,
    Attachment,
    OutboxState,
    Payment,
    PaymentStatus,
    signed_transfer_of,
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
from custom_components.iota_energy.core.rebased_wallet import TransferError
from custom_components.iota_energy.core.units import Amount, Denomination
from custom_components.iota_energy.core.wallet import LegacyWallet
from custom_components.iota_energy.core.wallet_work import WalletError
from custom_components.iota_energy.core.worker_pool import WorkerLost
from tests.payments.conftest import PRICE, statement

T0 = datetime(2026, 12, 2, 10, tzinfo=UTC)
DAY = "2026-12-02"
BOB = "0xb0b"
CAROL = "0xca201"
NANOS = Denomination.NANOS
LEGACY_I = Denomination.LEGACY_I
LOGGER = "custom_components.iota_energy.core.outbox"

# What the scripted rail's advance does next: a progress (the stored record
# unchanged), that and a fee, a full Advance, or an exception to raise.
Step = Progress | tuple[Progress, Amount] | Advance | Exception
Signed = tuple[SignedTransfer | Shortfall, Mapping[str, Any]]
Signer = Callable[
    [TransferOrder, Mapping[str, Any], Callable[[Mapping[str, Any]], None]], Signed
]


@dataclass
class ScriptedRail:
    """A rail that answers from a script and records every call."""

    name: RailName = RailName.REBASED
    unit: Denomination = NANOS
    network: list[Exception] = field(default_factory=list)  # raised first, in turn
    receiver_errors: dict[str, str] = field(default_factory=dict)
    signer: Signer | None = None
    steps: list[Step] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    signed: int = 0

    def check_network(self) -> None:
        self.calls.append(("check_network", None))
        if self.network:
            raise self.network.pop(0)

    def check_receiver(self, receiver: str) -> str:
        self.calls.append(("check_receiver", receiver))
        if receiver in self.receiver_errors:
            raise ReceiverError(self.receiver_errors[receiver])
        return receiver.upper()  # canonical form: the outbox must use this

    def deposit_address(self, book: Mapping[str, Any]) -> str:
        raise AssertionError("the outbox never asks for the deposit address")

    def funds(self, book: Mapping[str, Any]) -> Funds:
        raise AssertionError("the outbox never asks for the funds")

    def sign(
        self,
        order: TransferOrder,
        book: Mapping[str, Any],
        reserve: Callable[[Mapping[str, Any]], None],
    ) -> Signed:
        self.calls.append(("sign", (order, dict(book))))
        if self.signer is not None:
            return self.signer(order, book, reserve)
        self.signed += 1
        return transfer_for(order, self.signed), book

    def advance(
        self, transfer: SignedTransfer, book: Mapping[str, Any], now: datetime
    ) -> Advance:
        self.calls.append(("advance", (transfer.transfer_id, dict(book), now)))
        step = self.steps.pop(0) if self.steps else Progress.SENT
        if isinstance(step, Exception):
            raise step
        if isinstance(step, Advance):
            return step
        if isinstance(step, tuple):
            return Advance(transfer, step[0], fee=step[1])
        return Advance(transfer, step)

    def asked(self, call: str) -> list[Any]:
        return [args for name, args in self.calls if name == call]


def transfer_for(order: TransferOrder, number: int) -> SignedTransfer:
    return SignedTransfer(
        RailName.REBASED,
        f"T{number}-{order.payment_id}",
        order.amount,
        {"receiver": order.receiver},
    )


@dataclass
class Disk:
    """The stored document: every write kept as JSON; a write can fail."""

    writes: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def persist(self, state: OutboxState) -> None:
        if self.fail:
            raise OSError("disk full")
        self.writes.append(json.loads(json.dumps(state.to_dict())))

    def stored(self) -> OutboxState:
        return OutboxState.from_dict(self.writes[-1])


def outbox_of(
    rail: ScriptedRail | None = None,
    *,
    policy: PaymentPolicy | None = None,
    schedule: FollowSchedule | None = None,
    state: OutboxState | None = None,
    disk: Disk | None = None,
    history: int | None = None,
) -> tuple[Outbox, ScriptedRail, Disk]:
    rail = rail or ScriptedRail()
    disk = disk or Disk()
    outbox = Outbox(
        state or OutboxState(),
        rail,
        policy or PaymentPolicy(receiver=BOB),
        disk.persist,
        schedule,
        history=history,
    )
    return outbox, rail, disk


def only(outbox: Outbox) -> Payment:
    [payment] = outbox.state.payments
    return payment


def kinds(events: list[PaymentEvent]) -> list[PaymentEventKind]:
    return [e.kind for e in events]


def nothing_due(number: int) -> Statement:
    """A statement owing half an i: nothing due, the half carried on."""
    half = statement(number, 1).energy_j / 2
    return replace(
        statement(number, 1),
        energy_j=half,
        slices=(PriceSlice(PRICE, half, "static"),),
        owed=Fraction(1, 2),
        due_iota=0,
        carried_out=Fraction(1, 2),
        payment_state=PaymentState.NOTHING_DUE,
    )


def node_down(kind: str = "unreachable") -> NodeError:
    return NodeError("getNodeInfo", kind)


def short_of(*missing: Amount | Exception) -> Signer:
    """A signer that comes up short by each of ``missing`` (or raises it) in turn."""
    queue = list(missing)

    def sign(order: TransferOrder, book: Mapping[str, Any], reserve: Any) -> Signed:
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, Exception):
            raise outcome
        return Shortfall(outcome), book

    return sign


# --- policy and schedule ------------------------------------------------------


@pytest.mark.parametrize("pow_mode", POW_MODES)
def test_a_policy_takes_every_proof_of_work_mode(pow_mode: str) -> None:
    assert PaymentPolicy(BOB, pow_mode=pow_mode).pow_mode == pow_mode


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"pow_mode": "gpu"}, "pow_mode is one of ('auto', 'local', 'node')"),
        ({"max_payment": -1}, "caps are >= 0"),
        ({"max_daily": -1}, "caps are >= 0"),
    ],
)
def test_a_policy_refuses_what_it_cannot_mean(
    changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(complaint)}$"):
        PaymentPolicy(BOB, **changes)


def test_a_policy_without_caps_is_the_default() -> None:
    policy = PaymentPolicy(BOB)
    assert (policy.max_payment, policy.max_daily, policy.pow_mode) == (0, 0, "auto")


def test_the_follow_schedule_defaults_and_its_legacy_part() -> None:
    assert FollowSchedule() == FollowSchedule(
        check_interval=timedelta(seconds=5),
        promote_interval=timedelta(seconds=30),
        promote_window=timedelta(minutes=11),
        funds_interval=timedelta(seconds=60),
        depth=3,
        backoff_first=timedelta(seconds=5),
        backoff_max=timedelta(minutes=5),
    )
    schedule = FollowSchedule(
        promote_interval=timedelta(seconds=7),
        promote_window=timedelta(minutes=3),
        depth=9,
    )
    assert schedule.legacy() == FollowTimes(
        promote_interval=timedelta(seconds=7),
        promote_window=timedelta(minutes=3),
        depth=9,
    )


# --- construction -------------------------------------------------------------


def test_a_new_outbox_starts_idle_with_the_defaults() -> None:
    policy = PaymentPolicy(BOB, max_daily=50)
    outbox, rail, disk = outbox_of(policy=policy)
    assert outbox.rail is rail
    assert outbox.policy is policy
    assert outbox.schedule == FollowSchedule()
    assert outbox.history == HISTORY_LIMIT
    assert outbox.node_problem is None
    assert outbox.workers_lost == 0
    assert not outbox.busy()
    assert disk.writes == []


def test_history_keeps_at_least_the_newest_finished_payment() -> None:
    with pytest.raises(ValueError, match=r"^history keeps at least the newest"):
        outbox_of(history=0)
    outbox, _, _ = outbox_of(history=1)
    assert outbox.history == 1


def test_a_legacy_wallet_is_paid_through_a_legacy_rail_with_the_policy() -> None:
    wallet = LegacyWallet("A" * 81, LegacyNode("http://127.0.0.1:9"), mwm=1)
    schedule = FollowSchedule(promote_interval=timedelta(seconds=11), depth=4)
    outbox = Outbox(
        OutboxState(),
        wallet,
        PaymentPolicy(BOB, pow_mode="local"),
        Disk().persist,
        schedule,
    )
    rail = outbox.rail
    assert isinstance(rail, LegacyRail)
    assert rail.wallet is wallet
    assert outbox.wallet is wallet
    assert rail.pow_mode == "local"
    assert rail.follow == schedule.legacy()


def test_only_the_legacy_rail_has_a_wallet() -> None:
    outbox, _, _ = outbox_of()
    with pytest.raises(
        AttributeError, match=r"^only the legacy rail has a LegacyWallet$"
    ):
        _ = outbox.wallet


def test_the_book_is_the_documents_key_bookkeeping() -> None:
    state = OutboxState(
        next_index=9, deposit_index=4, spent_indexes={7, 2, 5}, node_pow_refused=True
    )
    outbox, _, _ = outbox_of(state=state)
    assert outbox.book() == {
        "next_index": 9,
        "deposit_index": 4,
        "spent_indexes": [2, 5, 7],
        "node_pow_refused": True,
        "reserved": None,
    }


# --- enqueue ------------------------------------------------------------------


def test_statements_become_one_payment_in_the_rails_unit() -> None:
    outbox, _, disk = outbox_of()
    payment = outbox.enqueue([statement(1, 12), statement(2, 30)], T0)
    assert payment is not None
    assert payment == Payment(
        id="P000001",
        statement_ids=("S000001", "S000002"),
        amount=42_000,
        unit=NANOS,
        receiver=BOB,
        message=payment.message,
        created_at=T0,
    )
    bill = decode_bill(payment.message)
    assert (bill.payment_id, bill.amount_iota) == ("P000001", 42)
    assert [(s.id, s.due_iota) for s in bill.statements] == [
        ("S000001", 12),
        ("S000002", 30),
    ]
    assert outbox.state.payments == [payment]
    assert outbox.state.next_payment_number == 2
    assert disk.stored() == outbox.state
    assert len(disk.writes) == 1
    assert outbox.busy()


def test_a_legacy_rail_is_paid_in_i() -> None:
    outbox, _, _ = outbox_of(ScriptedRail(RailName.LEGACY, LEGACY_I))
    payment = outbox.enqueue([statement(1, 12)], T0)
    assert payment is not None
    assert (payment.amount, payment.unit) == (12, LEGACY_I)


def test_nothing_due_or_already_queued_is_not_queued() -> None:
    outbox, _, disk = outbox_of()
    assert outbox.enqueue([], T0) is None
    assert outbox.enqueue([nothing_due(1)], T0) is None
    assert disk.writes == []
    first = outbox.enqueue([statement(1, 5), nothing_due(2)], T0)
    assert first is not None
    assert first.statement_ids == ("S000001",)
    assert outbox.enqueue([statement(1, 5)], T0) is None
    assert len(disk.writes) == 1


def test_statements_join_the_newest_unsigned_payment() -> None:
    outbox, _, disk = outbox_of()
    outbox.enqueue([statement(1, 5)], T0)
    joined = outbox.enqueue([statement(1, 5), statement(2, 7)], T0 + timedelta(hours=1))
    assert joined is not None
    assert joined.id == "P000001"
    assert joined.statement_ids == ("S000001", "S000002")
    assert (joined.amount, joined.unit) == (12_000, NANOS)
    assert joined.created_at == T0
    bill = decode_bill(joined.message)
    assert (bill.payment_id, bill.amount_iota) == ("P000001", 12)
    assert [(s.id, s.due_iota) for s in bill.statements] == [
        ("S000001", 5),
        ("S000002", 7),
    ]
    assert outbox.state.payments == [joined]
    assert outbox.state.next_payment_number == 2
    assert disk.stored() == outbox.state


def test_a_payment_waiting_for_funds_takes_new_statements_too() -> None:
    outbox, rail, _ = outbox_of()
    rail.signer = short_of(Amount(3, LEGACY_I))
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.WAITING_FUNDS
    joined = outbox.enqueue([statement(2, 7)], T0)
    assert joined is not None
    assert joined.id == "P000001"
    assert joined.amount == 12_000
    assert joined.status is PaymentStatus.WAITING_FUNDS


def _awaiting(outbox: Outbox) -> Payment:
    """Make the first payment (3 i) wait for approval: a cap of 2 i, then 4 i again."""
    outbox.policy = replace(outbox.policy, max_payment=2)
    outbox.step(T0, DAY)
    payment = outbox.state.payments[0]
    assert payment.status is PaymentStatus.AWAITING_APPROVAL
    outbox.policy = replace(outbox.policy, max_payment=4)
    return payment


@pytest.mark.parametrize(
    "after_first",
    [
        pytest.param(lambda o: o.step(T0, DAY), id="signed"),
        pytest.param(
            lambda o: o.approve(_awaiting(o).id),
            id="approved",
        ),
        pytest.param(_awaiting, id="awaiting-approval"),
        pytest.param(
            lambda o: setattr(o, "policy", PaymentPolicy(CAROL)),
            id="another-receiver",
        ),
    ],
)
def test_statements_start_a_new_payment_when_the_newest_cannot_take_them(
    after_first: Callable[[Outbox], object],
) -> None:
    outbox, _, _ = outbox_of(policy=PaymentPolicy(BOB, max_payment=4))
    outbox.enqueue([statement(1, 3)], T0)
    after_first(outbox)
    second = outbox.enqueue([statement(2, 2)], T0)
    assert second is not None
    assert second.id == "P000002"
    assert second.statement_ids == ("S000002",)
    assert second.amount == 2_000
    assert decode_bill(second.message).amount_iota == 2
    assert [p.id for p in outbox.state.payments] == ["P000001", "P000002"]
    first = outbox.state.payment("P000001")
    assert first is not None
    assert first.statement_ids == ("S000001",)


def test_a_statement_of_a_failed_payment_can_be_queued_again() -> None:
    outbox, rail, _ = outbox_of()
    rail.receiver_errors[BOB] = "receiver_spent"
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.FAILED
    again = outbox.enqueue([statement(1, 5)], T0)
    assert again is not None
    assert (again.id, again.statement_ids) == ("P000002", ("S000001",))


# --- approve ------------------------------------------------------------------


def test_approve_lets_a_capped_payment_go_and_stores_it() -> None:
    outbox, rail, disk = outbox_of(policy=PaymentPolicy(BOB, max_payment=4))
    outbox.enqueue([statement(1, 5)], T0)
    assert kinds(outbox.step(T0, DAY)) == [PaymentEventKind.WAITING]
    waiting = only(outbox)
    assert (waiting.status, waiting.reason) == (
        PaymentStatus.AWAITING_APPROVAL,
        "over_payment_cap",
    )
    assert rail.asked("sign") == []
    writes = len(disk.writes)
    approved = outbox.approve(waiting.id)
    assert approved == waiting.evolve(
        approved=True, status=PaymentStatus.QUEUED, reason=None
    )
    assert only(outbox) == approved
    assert len(disk.writes) == writes + 1
    assert disk.stored() == outbox.state
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.SIGNED


def test_approve_refuses_unknown_and_payments_not_waiting() -> None:
    outbox, _, disk = outbox_of()
    with pytest.raises(KeyError, match="P000001"):
        outbox.approve("P000001")
    outbox.enqueue([statement(1, 5)], T0)
    with pytest.raises(ValueError, match=r"^payment P000001 does not await approval$"):
        outbox.approve("P000001")
    assert len(disk.writes) == 1
    assert not only(outbox).approved


# --- the caps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "sent_today", "due", "reason"),
    [
        (PaymentPolicy(BOB, max_payment=5), 0, 5, None),
        (PaymentPolicy(BOB, max_payment=5), 0, 6, "over_payment_cap"),
        (PaymentPolicy(BOB, max_daily=10), 5, 5, None),
        (PaymentPolicy(BOB, max_daily=10), 5, 6, "over_daily_cap"),
        (PaymentPolicy(BOB, max_daily=10), 0, 11, "over_daily_cap"),
        (PaymentPolicy(BOB, max_payment=6, max_daily=10), 5, 6, "over_daily_cap"),
        (PaymentPolicy(BOB, max_payment=5, max_daily=10), 0, 6, "over_payment_cap"),
        (PaymentPolicy(BOB), 10**9, 10**6, None),
    ],
)
def test_the_caps_count_i_and_allow_up_to_the_limit(
    policy: PaymentPolicy, sent_today: int, due: int, reason: str | None
) -> None:
    state = OutboxState(sent_by_day={DAY: sent_today, "2026-12-01": 10**9})
    outbox, rail, _ = outbox_of(policy=policy, state=state)
    outbox.enqueue([statement(1, due)], T0)
    events = outbox.step(T0, DAY)
    payment = only(outbox)
    if reason is None:
        assert payment.status is PaymentStatus.SIGNED
        assert events == []
        assert outbox.state.sent_by_day[DAY] == sent_today + due
    else:
        assert (payment.status, payment.reason, payment.missing) == (
            PaymentStatus.AWAITING_APPROVAL,
            reason,
            0,
        )
        assert events == [PaymentEvent(PaymentEventKind.WAITING, payment)]
        assert rail.asked("sign") == []
        assert outbox.state.sent_by_day[DAY] == sent_today


def test_a_part_of_an_i_counts_as_a_whole_one_against_the_caps() -> None:
    # 5001 nanos are 5.001 i: over a cap of 5 i, and 6 i of the daily sum.
    outbox, _, _ = outbox_of(policy=PaymentPolicy(BOB, max_payment=5))
    outbox.state.put(Payment("P000001", ("S000001",), 5001, BOB, "", T0, unit=NANOS))
    outbox.step(T0, DAY)
    assert only(outbox).reason == "over_payment_cap"
    outbox.approve("P000001")
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.SIGNED
    assert outbox.state.sent_by_day == {DAY: 6}


def test_an_approved_payment_passes_every_cap() -> None:
    policy = PaymentPolicy(BOB, max_payment=1, max_daily=1)
    outbox, _, _ = outbox_of(policy=policy)
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    outbox.approve("P000001")
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.SIGNED
    assert outbox.state.sent_by_day == {DAY: 5}


# --- signing ------------------------------------------------------------------


def test_signing_asks_for_the_order_and_stores_the_signed_transfer() -> None:
    outbox, rail, disk = outbox_of(state=OutboxState(next_index=3, spent_indexes={1}))
    queued = outbox.enqueue([statement(1, 5)], T0)
    assert queued is not None
    now = T0 + timedelta(seconds=1)
    assert outbox.step(now, DAY) == []
    assert rail.asked("check_receiver") == [BOB]
    [(order, book)] = rail.asked("sign")
    assert order == TransferOrder(
        "P000001", BOB.upper(), Amount(5000, NANOS), queued.message
    )
    assert book == {
        "next_index": 3,
        "deposit_index": 0,
        "spent_indexes": [1],
        "node_pow_refused": False,
        "reserved": None,
    }
    signed = only(outbox)
    assert signed == queued.evolve(
        status=PaymentStatus.SIGNED,
        signed_at=now,
        transfer=transfer_for(order, 1),
    )
    assert outbox.state.sent_by_day == {DAY: 5}
    assert disk.stored() == outbox.state
    assert rail.asked("advance") == []


def test_a_queued_payment_pays_the_receiver_configured_now() -> None:
    outbox, rail, _ = outbox_of()
    outbox.enqueue([statement(1, 5)], T0)
    outbox.policy = PaymentPolicy(CAROL)
    outbox.step(T0, DAY)
    assert rail.asked("check_receiver") == [CAROL]
    payment = only(outbox)
    assert payment.receiver == CAROL
    assert rail.asked("sign")[0][0].receiver == CAROL.upper()


def test_a_payment_queued_on_another_rail_is_paid_in_this_rails_unit() -> None:
    state = OutboxState(
        payments=[Payment("P000001", ("S000001",), 5, BOB, "", T0, unit=LEGACY_I)],
        next_payment_number=2,
    )
    outbox, rail, _ = outbox_of(state=state)
    outbox.step(T0, DAY)
    assert rail.asked("sign")[0][0].amount == Amount(5000, NANOS)
    payment = only(outbox)
    assert (payment.amount, payment.unit) == (5000, NANOS)
    assert outbox.state.sent_by_day == {DAY: 5}


def test_an_unusable_receiver_fails_the_payment_before_signing() -> None:
    outbox, rail, disk = outbox_of(history=1)
    rail.receiver_errors[BOB] = "receiver_format"
    outbox.enqueue([statement(1, 5)], T0)
    events = outbox.step(T0, DAY)
    failed = only(outbox)
    assert (failed.status, failed.reason) == (PaymentStatus.FAILED, "receiver_format")
    [event] = events
    assert event.kind is PaymentEventKind.FAILED
    assert event.payment.settled() == failed
    assert rail.asked("sign") == []
    assert disk.stored() == outbox.state
    assert failed.message == ""  # settled in the same write
    assert not outbox.busy()


@pytest.mark.parametrize(
    ("error", "reason", "logged"),
    [
        (WalletError("no key"), "signing_failed", "no key"),
        (TransferError("gas_over_budget"), "gas_over_budget", "gas_over_budget"),
    ],
)
def test_a_refused_signature_fails_the_payment_with_its_reason(
    error: Exception, reason: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    outbox, rail, disk = outbox_of()

    def refuse(order: TransferOrder, book: Mapping[str, Any], reserve: Any) -> Signed:
        raise error

    rail.signer = refuse
    outbox.enqueue([statement(1, 5)], T0)
    with caplog.at_level(logging.ERROR, LOGGER):
        events = outbox.step(T0, DAY)
    failed = only(outbox)
    assert (failed.status, failed.reason) == (PaymentStatus.FAILED, reason)
    [event] = events
    assert event.kind is PaymentEventKind.FAILED
    assert event.payment.settled() == failed
    assert [r.getMessage() for r in caplog.records] == [
        f"Payment P000001 could not be signed: {logged}"
    ]
    assert outbox.state.sent_by_day == {}
    assert disk.stored() == outbox.state


def _reserving_signer(
    order: TransferOrder, book: Mapping[str, Any], reserve: Any
) -> Signed:
    """A legacy-like signer: hands out a remainder index, then signs."""
    index = book["reserved"]
    if index is None:
        index = book["next_index"]
        book = {**book, "next_index": index + 1, "reserved": index}
        reserve(book)
    spent = {*book["spent_indexes"], 1}
    return transfer_for(order, 1), {**book, "spent_indexes": sorted(spent)}


def test_what_the_rail_reserves_is_stored_before_it_signs() -> None:
    outbox, rail, disk = outbox_of(state=OutboxState(next_index=4))
    seen: list[OutboxState] = []

    def signer(order: TransferOrder, book: Mapping[str, Any], reserve: Any) -> Signed:
        def reserve_and_look(new_book: Mapping[str, Any]) -> None:
            reserve(new_book)
            seen.append(disk.stored())

        return _reserving_signer(order, book, reserve_and_look)

    rail.signer = signer
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    [reserved] = seen
    assert reserved.next_index == 5
    assert reserved.payments[0].remainder_index == 4
    assert reserved.payments[0].status is PaymentStatus.QUEUED
    signed = only(outbox)
    assert signed.status is PaymentStatus.SIGNED
    assert signed.remainder_index == 4
    assert outbox.state.next_index == 5
    assert outbox.state.spent_indexes == {1}
    assert len(disk.writes) == 3  # queued, reserved, signed


def test_a_crash_after_the_reservation_signs_with_the_same_index() -> None:
    disk = Disk()
    outbox, rail, _ = outbox_of(state=OutboxState(next_index=4), disk=disk)

    def crash_after_reserve(
        order: TransferOrder, book: Mapping[str, Any], reserve: Any
    ) -> Signed:
        index = book["next_index"]
        reserve({**book, "next_index": index + 1, "reserved": index})
        raise WorkerLost("power cut")

    rail.signer = crash_after_reserve
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    restarted, rail, _ = outbox_of(state=disk.stored(), disk=disk)
    rail.signer = _reserving_signer
    restarted.step(T0, DAY)
    [(_, book)] = rail.asked("sign")
    assert book["reserved"] == 4
    assert book["next_index"] == 5
    assert only(restarted).remainder_index == 4
    assert restarted.state.next_index == 5


def test_a_signature_refused_after_a_reservation_keeps_the_reservation() -> None:
    outbox, rail, disk = outbox_of(state=OutboxState(next_index=4))

    def reserve_then_refuse(
        order: TransferOrder, book: Mapping[str, Any], reserve: Any
    ) -> Signed:
        reserve({**book, "next_index": 5, "reserved": 4})
        raise WalletError("bad key")

    rail.signer = reserve_then_refuse
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    failed = only(outbox)
    assert (failed.status, failed.remainder_index) == (PaymentStatus.FAILED, 4)
    assert outbox.state.next_index == 5
    assert disk.stored() == outbox.state


def test_a_shortfall_waits_for_funds_and_tells_once() -> None:
    outbox, rail, disk = outbox_of(state=OutboxState(next_index=2))
    book_after = {
        "next_index": 3,
        "deposit_index": 2,
        "spent_indexes": [1],
        "node_pow_refused": True,
        "reserved": None,
    }
    rail.signer = lambda order, book, reserve: (
        Shortfall(Amount(7, LEGACY_I)),
        book_after,
    )
    outbox.enqueue([statement(1, 9)], T0)
    events = outbox.step(T0, DAY)
    waiting = only(outbox)
    assert (waiting.status, waiting.reason, waiting.missing) == (
        PaymentStatus.WAITING_FUNDS,
        "insufficient_funds",
        7000,
    )
    assert events == [PaymentEvent(PaymentEventKind.WAITING, waiting)]
    assert outbox.book() == book_after
    assert outbox.state.sent_by_day == {}
    assert disk.stored() == outbox.state
    # Not asked again before the funds interval; then asked, and quiet.
    assert outbox.step(T0 + timedelta(seconds=59), DAY) == []
    assert len(rail.asked("sign")) == 1
    assert outbox.step(T0 + timedelta(seconds=60), DAY) == []
    assert len(rail.asked("sign")) == 2
    # Less missing now: told again.
    rail.signer = short_of(Amount(2, LEGACY_I))
    events = outbox.step(T0 + timedelta(seconds=120), DAY)
    assert kinds(events) == [PaymentEventKind.WAITING]
    assert only(outbox).missing == 2000
    rail.signer = None
    assert outbox.step(T0 + timedelta(seconds=180), DAY) == []
    signed = only(outbox)
    assert (signed.status, signed.reason, signed.missing) == (
        PaymentStatus.SIGNED,
        None,
        0,
    )


def test_the_funds_interval_is_the_schedules() -> None:
    schedule = FollowSchedule(funds_interval=timedelta(seconds=10))
    outbox, rail, _ = outbox_of(schedule=schedule)
    rail.signer = short_of(Amount(1, NANOS))
    outbox.enqueue([statement(1, 9)], T0)
    outbox.step(T0, DAY)
    outbox.step(T0 + timedelta(seconds=9), DAY)
    assert len(rail.asked("sign")) == 1
    outbox.step(T0 + timedelta(seconds=10), DAY)
    assert len(rail.asked("sign")) == 2
    assert only(outbox).missing == 1


# --- sending and following --------------------------------------------------------


def signed_outbox(**options: Any) -> tuple[Outbox, ScriptedRail, Disk]:
    outbox, rail, disk = outbox_of(**options)
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.SIGNED
    return outbox, rail, disk


def test_sent_then_followed_every_check_interval_then_confirmed() -> None:
    outbox, rail, disk = signed_outbox(state=OutboxState(paid_total=100))
    signed = only(outbox)
    now = T0 + timedelta(seconds=1)
    events = outbox.step(now, DAY)
    sent = only(outbox)
    assert sent == signed.evolve(status=PaymentStatus.BROADCAST, sent_at=now)
    assert events == [PaymentEvent(PaymentEventKind.SENT, sent)]
    assert disk.stored() == outbox.state
    transfer_id, book, when = rail.asked("advance")[0]
    assert (transfer_id, book["reserved"], when) == ("T1-P000001", None, now)
    # Followed once per check interval (5 s), counted from the send.
    writes = len(disk.writes)
    assert outbox.step(now + timedelta(seconds=4), DAY) == []
    assert len(rail.asked("advance")) == 1
    assert outbox.step(now + timedelta(seconds=5), DAY) == []
    assert len(rail.asked("advance")) == 2
    assert len(disk.writes) == writes, "nothing changed, nothing written"
    assert outbox.step(now + timedelta(seconds=9), DAY) == []
    assert len(rail.asked("advance")) == 2
    rail.steps.append((Progress.CONFIRMED, Amount(20, NANOS)))
    done = now + timedelta(seconds=10)
    events = outbox.step(done, DAY)
    confirmed = only(outbox)
    assert confirmed == sent.evolve(
        status=PaymentStatus.CONFIRMED,
        confirmed_at=done,
        fee=Amount(20, NANOS),
        message="",
    )
    [event] = events
    assert event.kind is PaymentEventKind.CONFIRMED
    # The event carries the payment as it finished; the document keeps it settled.
    assert event.payment == confirmed.evolve(message=sent.message)
    assert outbox.state.paid_total == 105
    assert disk.stored() == outbox.state
    assert not outbox.busy()
    assert outbox.step(done + timedelta(minutes=1), DAY) == []
    assert len(rail.asked("advance")) == 3


def test_the_check_interval_is_the_schedules() -> None:
    schedule = FollowSchedule(check_interval=timedelta(seconds=30))
    outbox, rail, _ = signed_outbox(schedule=schedule)
    outbox.step(T0, DAY)
    outbox.step(T0 + timedelta(seconds=29), DAY)
    assert len(rail.asked("advance")) == 1
    outbox.step(T0 + timedelta(seconds=30), DAY)
    assert len(rail.asked("advance")) == 2


def test_confirmed_at_once_counts_as_sent_then() -> None:
    outbox, rail, _ = signed_outbox()
    rail.steps.append(Progress.CONFIRMED)
    now = T0 + timedelta(seconds=3)
    events = outbox.step(now, DAY)
    confirmed = only(outbox)
    assert (confirmed.sent_at, confirmed.confirmed_at, confirmed.fee) == (
        now,
        now,
        None,
    )
    assert kinds(events) == [PaymentEventKind.CONFIRMED]
    assert outbox.state.paid_total == 5


def test_a_signed_transfer_not_yet_sent_is_stored_as_it_moves() -> None:
    outbox, rail, disk = signed_outbox()
    signed = only(outbox)
    assert signed.transfer is not None
    moved = replace(signed.transfer, record={"receiver": BOB.upper(), "tries": 1})
    rail.steps += [Advance(moved, Progress.SIGNED), Progress.SIGNED]
    writes = len(disk.writes)
    assert outbox.step(T0, DAY) == []
    assert only(outbox) == signed.evolve(transfer=moved)
    assert len(disk.writes) == writes + 1
    assert disk.stored() == outbox.state
    # Advanced again at once (no interval before the send), unchanged: no write.
    assert outbox.step(T0, DAY) == []
    assert len(rail.asked("advance")) == 2
    assert len(disk.writes) == writes + 1


def test_a_book_changed_by_a_step_is_stored_with_it() -> None:
    outbox, rail, disk = signed_outbox()
    signed = only(outbox)
    assert signed.transfer is not None
    book = {**outbox.book(), "node_pow_refused": True, "next_index": 8}
    rail.steps.append(Advance(signed.transfer, Progress.SIGNED, book=book))
    outbox.step(T0, DAY)
    assert outbox.state.node_pow_refused is True
    assert outbox.state.next_index == 8
    assert only(outbox) == signed
    assert disk.stored() == outbox.state


def test_a_dead_transfer_is_signed_anew_and_remembered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, rail, disk = signed_outbox(policy=PaymentPolicy(BOB, max_daily=6))
    outbox.step(T0, DAY)
    sent = only(outbox)
    assert sent.transfer is not None
    rail.steps.append((Progress.DEAD, Amount(3, NANOS)))
    with caplog.at_level(logging.WARNING, LOGGER):
        events = outbox.step(T0 + timedelta(seconds=5), DAY)
    assert events == []
    queued = only(outbox)
    assert queued == sent.evolve(
        status=PaymentStatus.QUEUED,
        approved=True,
        transfer=None,
        superseded=("T1-P000001",),
        fee=Amount(3, NANOS),
        signed_at=None,
    )
    assert disk.stored() == outbox.state
    assert [r.getMessage() for r in caplog.records] == [
        "Payment P000001: transfer T1-P000001 can never execute; it is signed anew"
    ]
    # Signed again at once, past the daily cap it already counts in (5 + 5 > 6).
    later = T0 + timedelta(seconds=6)
    assert outbox.step(later, DAY) == []
    again = only(outbox)
    assert again.status is PaymentStatus.SIGNED
    assert again.transfer is not None
    assert again.transfer.transfer_id == "T2-P000001"
    assert again.signed_at == later
    assert again.superseded == ("T1-P000001",)
    assert outbox.state.sent_by_day == {DAY: 10}
    # The new transfer is sent at once; the payment was sent before: no event.
    assert outbox.step(later, DAY) == []
    assert only(outbox).status is PaymentStatus.BROADCAST
    assert only(outbox).sent_at == T0
    rail.steps.append((Progress.CONFIRMED, Amount(4, NANOS)))
    assert outbox.step(later + timedelta(seconds=4), DAY) == []
    confirmed = outbox.step(later + timedelta(seconds=5), DAY)
    assert kinds(confirmed) == [PaymentEventKind.CONFIRMED]
    assert only(outbox).fee == Amount(7, NANOS)
    assert outbox.state.paid_total == 5


def test_fees_add_up_in_the_first_fees_unit() -> None:
    outbox, rail, _ = signed_outbox()
    rail.steps += [
        (Progress.DEAD, Amount(2, LEGACY_I)),
        Progress.DEAD,
        (Progress.CONFIRMED, Amount(1000, NANOS)),
    ]
    outbox.step(T0, DAY)
    assert only(outbox).fee == Amount(2, LEGACY_I)
    outbox.step(T0, DAY)  # signed anew
    outbox.step(T0, DAY)  # dead again, no fee this time
    assert only(outbox).fee == Amount(2, LEGACY_I)
    assert only(outbox).superseded == ("T1-P000001", "T2-P000001")
    outbox.step(T0, DAY)
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.CONFIRMED
    assert only(outbox).fee == Amount(3, LEGACY_I)


# --- one at a time ------------------------------------------------------------


def test_one_transfer_in_flight_before_any_other_is_signed() -> None:
    outbox, rail, _ = signed_outbox()
    outbox.enqueue([statement(2, 3)], T0)  # joins nothing: the first is signed
    assert [p.status for p in outbox.state.payments] == [
        PaymentStatus.SIGNED,
        PaymentStatus.QUEUED,
    ]
    outbox.step(T0, DAY)  # sends the first, does not sign the second
    assert [p.status for p in outbox.state.payments] == [
        PaymentStatus.BROADCAST,
        PaymentStatus.QUEUED,
    ]
    assert len(rail.asked("sign")) == 1
    rail.steps.append(Progress.CONFIRMED)
    outbox.step(T0 + timedelta(seconds=5), DAY)
    outbox.step(T0 + timedelta(seconds=5), DAY)
    assert [p.status for p in outbox.state.payments] == [
        PaymentStatus.CONFIRMED,
        PaymentStatus.SIGNED,
    ]


def test_a_payment_awaiting_approval_does_not_block_the_next() -> None:
    outbox, _, _ = outbox_of(policy=PaymentPolicy(BOB, max_payment=5))
    outbox.enqueue([statement(1, 6)], T0)
    outbox.step(T0, DAY)
    outbox.enqueue([statement(2, 4)], T0)
    assert outbox.busy()
    outbox.step(T0, DAY)
    assert [p.status for p in outbox.state.payments] == [
        PaymentStatus.AWAITING_APPROVAL,
        PaymentStatus.SIGNED,
    ]


def test_an_outbox_with_only_payments_awaiting_approval_is_not_busy() -> None:
    outbox, _, _ = outbox_of(policy=PaymentPolicy(BOB, max_payment=5))
    outbox.enqueue([statement(1, 6)], T0)
    assert outbox.busy()
    outbox.step(T0, DAY)
    assert not outbox.busy()


# --- the node: network check, outages, back-off ------------------------------


def test_the_network_is_checked_before_the_first_step_only() -> None:
    outbox, rail, _ = outbox_of()
    assert outbox.step(T0, DAY) == []
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    outbox.step(T0, DAY)
    assert [name for name, _ in rail.calls] == [
        "check_network",
        "check_receiver",
        "sign",
        "advance",
    ]


def test_a_wrong_network_acts_on_nothing_and_is_asked_again() -> None:
    outbox, rail, disk = outbox_of()
    outbox.enqueue([statement(1, 5)], T0)
    rail.network.append(NodeError("getNodeInfo", "wrong_network"))
    assert outbox.step(T0, DAY) == []
    assert [name for name, _ in rail.calls] == ["check_network"]
    assert len(disk.writes) == 1
    problem = outbox.node_problem
    assert problem is not None
    assert problem.last_error.kind == "wrong_network"
    outbox.step(T0 + timedelta(seconds=5), DAY)
    assert [name for name, _ in rail.calls] == [
        "check_network",
        "check_network",
        "check_receiver",
        "sign",
    ]


def test_node_failures_back_off_exponentially_to_the_cap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, rail, _ = signed_outbox()
    errors = [NodeError("broadcastTransactions", "timeout", str(n)) for n in range(8)]
    rail.steps += list(errors)
    now = T0
    delays = []
    with caplog.at_level(logging.INFO, LOGGER):
        for n, error in enumerate(errors, start=1):
            assert outbox.step(now, DAY) == []
            problem = outbox.node_problem
            assert problem is not None
            assert problem == NodeProblem(
                since=T0, failures=n, last_error=error, retry_at=problem.retry_at
            )
            delays.append((problem.retry_at - now).total_seconds())
            # Nothing before the retry time: not even the network check.
            calls = len(rail.calls)
            assert outbox.step(problem.retry_at - timedelta(microseconds=1), DAY) == []
            assert len(rail.calls) == calls
            now = problem.retry_at
        assert delays == [5, 10, 20, 40, 80, 160, 300, 300]
        assert only(outbox).status is PaymentStatus.SIGNED
        events = outbox.step(now, DAY)
    assert kinds(events) == [PaymentEventKind.SENT]
    assert outbox.node_problem is None
    assert [r.getMessage() for r in caplog.records] == [
        "The IOTA node failed (broadcastTransactions: timeout (0)); payments retry",
        "The IOTA node answers again",
    ]
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    # Every failure asked the network again before the next step.
    assert len(rail.asked("check_network")) == 1 + len(errors)


def test_the_back_off_doubles_at_most_sixteen_times() -> None:
    schedule = FollowSchedule(
        backoff_first=timedelta(seconds=1), backoff_max=timedelta(days=365)
    )
    outbox, rail, _ = outbox_of(schedule=schedule)
    now = T0
    for _ in range(19):
        rail.network.append(node_down())
        outbox.step(now, DAY)
        problem = outbox.node_problem
        assert problem is not None
        delay = problem.retry_at - now
        now = problem.retry_at
    assert problem.failures == 19
    assert delay == timedelta(seconds=2**16)


def test_the_back_off_starts_and_stops_where_the_schedule_says() -> None:
    schedule = FollowSchedule(
        backoff_first=timedelta(seconds=2), backoff_max=timedelta(seconds=7)
    )
    outbox, rail, _ = outbox_of(schedule=schedule)
    rail.network += [node_down(), node_down(), node_down()]
    retries = []
    now = T0
    for _ in range(3):
        outbox.step(now, DAY)
        problem = outbox.node_problem
        assert problem is not None
        retries.append((problem.retry_at - now).total_seconds())
        now = problem.retry_at
    assert retries == [2, 4, 7]


def test_during_an_outage_every_retry_asks_the_node() -> None:
    """The back-off is the schedule: the check interval does not skip a retry."""
    schedule = FollowSchedule(check_interval=timedelta(seconds=30))
    outbox, rail, _ = signed_outbox(schedule=schedule)
    outbox.step(T0, DAY)  # sent; checked again from T0 + 30 s
    rail.steps.append(NodeError("getInclusionStates", "timeout"))
    outbox.step(T0 + timedelta(seconds=30), DAY)
    problem = outbox.node_problem
    assert problem is not None
    assert problem.retry_at == T0 + timedelta(seconds=35)
    # 5 s after the last check, well inside the check interval: asked anyway.
    outbox.step(problem.retry_at, DAY)
    assert len(rail.asked("advance")) == 3
    assert outbox.node_problem is None
    # The outage over, the interval counts again from that retry.
    outbox.step(problem.retry_at + timedelta(seconds=29), DAY)
    assert len(rail.asked("advance")) == 3


def test_an_outage_while_waiting_for_funds_lasts_until_the_node_answers() -> None:
    outbox, rail, _ = outbox_of()
    rail.signer = short_of(Amount(1, NANOS), node_down(), Amount(1, NANOS))
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    outbox.step(T0 + timedelta(seconds=60), DAY)
    problem = outbox.node_problem
    assert problem is not None
    assert problem.retry_at == T0 + timedelta(seconds=65)
    # 5 s after the last look at the funds, not 60: asked, and the outage ends.
    outbox.step(problem.retry_at, DAY)
    assert len(rail.asked("sign")) == 3
    assert outbox.node_problem is None


def test_a_lost_worker_repeats_the_step_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, rail, disk = signed_outbox()
    rail.steps += [WorkerLost("worker died"), WorkerLost("worker died")]
    writes = len(disk.writes)
    with caplog.at_level(logging.WARNING, LOGGER):
        assert outbox.step(T0, DAY) == []
        assert outbox.workers_lost == 1
        assert outbox.step(T0, DAY) == []
        assert outbox.workers_lost == 2
    assert only(outbox).status is PaymentStatus.SIGNED
    assert len(disk.writes) == writes
    assert outbox.node_problem is None
    assert [r.getMessage() for r in caplog.records] == [
        "Payment P000001: worker died; the step is repeated"
    ]
    assert kinds(outbox.step(T0, DAY)) == [PaymentEventKind.SENT]
    assert outbox.workers_lost == 0
    assert len(rail.asked("check_network")) == 1


def test_a_lost_worker_with_no_payment_names_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, rail, _ = outbox_of()
    rail.network.append(WorkerLost("gone"))
    with caplog.at_level(logging.WARNING, LOGGER):
        assert outbox.step(T0, DAY) == []
    assert [r.getMessage() for r in caplog.records] == [
        "Payment -: gone; the step is repeated"
    ]
    assert outbox.workers_lost == 1


def test_a_lost_worker_does_not_end_an_outage() -> None:
    outbox, rail, _ = signed_outbox()
    rail.steps += [node_down(), WorkerLost("died")]
    outbox.step(T0, DAY)
    problem = outbox.node_problem
    assert problem is not None
    outbox.step(problem.retry_at, DAY)
    assert outbox.node_problem == problem


# --- durability -------------------------------------------------------------------


def test_a_failed_write_acts_on_nothing_and_leaves_memory_as_it_was() -> None:
    outbox, rail, disk = outbox_of(state=OutboxState(next_index=4))
    rail.signer = _reserving_signer
    outbox.enqueue([statement(1, 5)], T0)
    before = json.dumps(outbox.state.to_dict())
    disk.fail = True
    with pytest.raises(OSError, match="disk full"):
        outbox.step(T0, DAY)
    assert json.dumps(outbox.state.to_dict()) == before
    with pytest.raises(OSError, match="disk full"):
        outbox.enqueue([statement(2, 5)], T0)
    assert json.dumps(outbox.state.to_dict()) == before
    disk.fail = False
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.SIGNED
    disk.fail = True
    before = json.dumps(outbox.state.to_dict())
    with pytest.raises(OSError, match="disk full"):
        outbox.step(T0, DAY)  # the send's write fails: memory unchanged
    assert json.dumps(outbox.state.to_dict()) == before


def test_a_failed_write_of_a_signature_keeps_the_sets_and_sums_untouched() -> None:
    state = OutboxState(spent_indexes={3}, sent_by_day={DAY: 1})
    outbox, _, disk = outbox_of(state=state)
    outbox.enqueue([statement(1, 5)], T0)
    kept = outbox.state
    spent, sums, payments = kept.spent_indexes, kept.sent_by_day, kept.payments
    disk.fail = True
    with pytest.raises(OSError, match="disk full"):
        outbox.step(T0, DAY)
    assert outbox.state is kept
    assert (spent, sums) == ({3}, {DAY: 1})
    assert [p.status for p in payments] == [PaymentStatus.QUEUED]


def test_finished_payments_beyond_the_history_are_dropped() -> None:
    outbox, rail, _ = outbox_of(history=2)
    for number in range(1, 5):
        outbox.enqueue([statement(number, number)], T0)
        if number == 2:
            rail.receiver_errors[BOB] = "receiver_spent"
            outbox.step(T0, DAY)
            rail.receiver_errors.clear()
            continue
        outbox.step(T0, DAY)
        rail.steps.append(Progress.CONFIRMED)
        outbox.step(T0, DAY)
    assert [(p.id, p.status) for p in outbox.state.payments] == [
        ("P000003", PaymentStatus.CONFIRMED),
        ("P000004", PaymentStatus.CONFIRMED),
    ]
    assert outbox.state.paid_total == 1 + 3 + 4


def test_a_failure_trims_the_history_too() -> None:
    outbox, rail, _ = outbox_of(history=1)
    rail.receiver_errors[BOB] = "receiver_spent"
    for number in (1, 2):
        outbox.enqueue([statement(number, number)], T0)
        outbox.step(T0, DAY)
    assert [(p.id, p.status) for p in outbox.state.payments] == [
        ("P000002", PaymentStatus.FAILED)
    ]


# --- what the first measurement left alive (scripts/mutation, run 15) ----------


def test_statements_joining_a_payment_of_another_rail_are_in_this_rails_unit() -> None:
    queued_in_i = Payment(
        "P000001", ("S000001",), 5, BOB, "", T0, unit=LEGACY_I
    ).evolve(message=_bill_of("P000001", [statement(1, 5)]))
    state = OutboxState(payments=[queued_in_i], next_payment_number=2)
    outbox, _, _ = outbox_of(state=state)
    joined = outbox.enqueue([statement(2, 7)], T0)
    assert joined is not None
    assert (joined.id, joined.amount, joined.unit) == ("P000001", 12_000, NANOS)
    assert decode_bill(joined.message).amount_iota == 12


def _bill_of(payment_id: str, statements: list[Statement]) -> str:
    entries = bill_statements(statements)
    return encode_bill(payment_id, sum(s.due_iota for s in statements), entries)


def test_the_daily_cap_counts_from_nothing_on_a_new_day() -> None:
    state = OutboxState(sent_by_day={"2026-12-01": 10})
    outbox, _, _ = outbox_of(policy=PaymentPolicy(BOB, max_daily=5), state=state)
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    assert only(outbox).status is PaymentStatus.SIGNED
    assert outbox.state.sent_by_day == {"2026-12-01": 10, DAY: 5}


def test_each_step_on_a_signed_transfer_sees_the_payments_reservation() -> None:
    outbox, rail, _ = outbox_of(state=OutboxState(next_index=4))
    rail.signer = _reserving_signer
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    rail.steps += [Progress.SIGNED, Progress.SENT]
    outbox.step(T0, DAY)
    outbox.step(T0, DAY)
    assert [book["reserved"] for _, book, _ in rail.asked("advance")] == [4, 4]
    assert only(outbox).status is PaymentStatus.BROADCAST


def test_a_finished_payment_leaves_nothing_behind_in_memory() -> None:
    """The follow-up times of finished payments go: memory does not grow."""
    outbox, rail, _ = signed_outbox()
    outbox.step(T0, DAY)
    # Private, but what a long run would accumulate.
    follow = outbox._follow.checked
    assert set(follow) == {"P000001"}
    rail.steps.append(Progress.CONFIRMED)
    outbox.step(T0 + timedelta(seconds=5), DAY)
    assert only(outbox).status is PaymentStatus.CONFIRMED
    assert follow == {}


def test_a_rail_that_drops_a_reservation_leaves_the_payment_without_one() -> None:
    state = OutboxState(
        payments=[
            Payment("P000001", ("S000001",), 5000, BOB, "", T0, unit=NANOS).evolve(
                remainder_index=4
            )
        ],
        next_index=5,
        next_payment_number=2,
    )
    outbox, rail, _ = outbox_of(state=state)

    def drop_reservation(
        order: TransferOrder, book: Mapping[str, Any], reserve: Any
    ) -> Signed:
        assert book["reserved"] == 4
        return transfer_for(order, 1), {**book, "reserved": None}

    rail.signer = drop_reservation
    outbox.step(T0, DAY)
    signed = only(outbox)
    assert (signed.status, signed.remainder_index) == (PaymentStatus.SIGNED, None)


def _legacy_record(stage: PaymentStatus) -> dict[str, Any]:
    attachments = (
        []
        if stage is PaymentStatus.SIGNED
        else [Attachment(tail="T" * 81, attached_at=T0).to_dict()]
    )
    return {
        "stage": stage.value,
        "inputs": [[1, 10]],
        "remainder_index": 2,
        "signed_trytes": ["S" * 2673],
        "attached_trytes": ["A" * 2673] if attachments else [],
        "attachments": attachments,
    }


def test_a_legacy_bundle_with_its_proof_of_work_done_is_attached() -> None:
    outbox, rail, disk = outbox_of(ScriptedRail(RailName.LEGACY, LEGACY_I))

    def sign_bundle(
        order: TransferOrder, book: Mapping[str, Any], reserve: Any
    ) -> Signed:
        record = _legacy_record(PaymentStatus.SIGNED)
        return SignedTransfer(RailName.LEGACY, "B" * 81, order.amount, record), book

    rail.signer = sign_bundle
    outbox.enqueue([statement(1, 5)], T0)
    outbox.step(T0, DAY)
    signed = only(outbox)
    assert (signed.status, signed.bundle_hash, signed.inputs) == (
        PaymentStatus.SIGNED,
        "B" * 81,
        ((1, 10),),
    )
    assert signed.transfer is None  # a legacy bundle lives in the payment's fields
    stored = signed_transfer_of(signed)
    assert stored is not None
    attached = replace(stored, record=_legacy_record(PaymentStatus.ATTACHED))
    rail.steps.append(Advance(attached, Progress.SIGNED))
    assert outbox.step(T0, DAY) == []
    payment = only(outbox)
    assert payment.status is PaymentStatus.ATTACHED
    assert payment.tails == ("T" * 81,)
    assert disk.stored() == outbox.state
    rail.steps.append(Advance(attached, Progress.SENT))
    assert kinds(outbox.step(T0, DAY)) == [PaymentEventKind.SENT]
    assert only(outbox).status is PaymentStatus.BROADCAST
