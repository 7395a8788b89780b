"""The payment outbox: every due statement paid exactly once.

The outbox owns the durable :class:`~.payments.OutboxState` and advances one
payment one step per :meth:`Outbox.step` call. Each step first writes the
state it is about to act on through ``persist`` (which must be durable when
it returns, or raise), and only then acts; a failed write leaves memory as
it was and acts on nothing. So after a crash at any point the stored state
is at most one step behind what happened, and every step is safe to repeat:

========== ============================================ =====================
status     the step                                     repeated after crash
========== ============================================ =====================
queued     check caps, receiver, funds; reserve the     signs again: the lost
           remainder index (written), sign; write       signature never left
           ``signed`` with the trytes and the inputs    the machine
           marked spent
signed     proof of work (node or local) on the stored  new PoW on the same
           signed trytes; write ``attached``            signed trytes
attached   broadcast and store; write ``broadcast``     rebroadcast the same
broadcast  follow it (schedule below) until confirmed   -
========== ============================================ =====================

The follow schedule (:class:`FollowSchedule`), after the legacy wallets:
check inclusion every ``check_interval`` (5 s); while the newest attachment
is younger than ``promote_window`` (11 min, iota.js ``isAboveMaxDepth``) and
``checkConsistency`` holds, promote it every ``promote_interval`` (30 s);
otherwise reattach (new proof of work on the same signed trytes, back to
``signed``). Any attachment confirming confirms the payment.

One bundle is in flight at a time: a payment is signed only when no other
payment is signed and unconfirmed (its remainder would be pending anyway).
Node failures retry with exponential back-off (5 s doubling to 5 min) and
never change what is stored. A wallet worker process that dies mid-step
(:class:`~.worker_pool.WorkerLost`: killed while signing, deriving or doing
proof of work) leaves the step undone and unwritten; the next step repeats
it, as after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
import json
import logging

from .bill_message import bill_statements, encode_bill, trytes_to_ascii
from .ledger import Statement
from .legacy_node import NodeError, Tips
from .payments import (
    IN_FLIGHT,
    UNSIGNED,
    Attachment,
    OutboxState,
    Payment,
    PaymentStatus,
)
from .pow import FIELDS
from .wallet import Candidate, LegacyWallet, tail_hash
from .wallet_work import WalletError
from .worker_pool import WorkerLost

_LOGGER = logging.getLogger(__name__)

POW_MODES = ("auto", "local", "node")
MAX_REMAINDER_TRIES = 5


class PaymentEventKind(StrEnum):
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """Something the world should hear about a payment."""

    kind: PaymentEventKind
    payment: Payment


@dataclass(frozen=True, slots=True)
class PaymentPolicy:
    """Who is paid and within which limits (0 = no cap)."""

    receiver: str
    max_payment: int = 0
    max_daily: int = 0
    pow_mode: str = "auto"

    def __post_init__(self) -> None:
        if self.pow_mode not in POW_MODES:
            raise ValueError(f"pow_mode is one of {POW_MODES}")
        if min(self.max_payment, self.max_daily) < 0:
            raise ValueError("caps are >= 0")


@dataclass(frozen=True, slots=True)
class FollowSchedule:
    """How a broadcast payment is followed and how failures are retried."""

    check_interval: timedelta = timedelta(seconds=5)
    promote_interval: timedelta = timedelta(seconds=30)
    promote_window: timedelta = timedelta(minutes=11)
    funds_interval: timedelta = timedelta(seconds=60)
    depth: int = 3
    backoff_first: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(minutes=5)


@dataclass(slots=True)
class NodeProblem:
    """The node has been failing since ``since`` (kept in memory only)."""

    since: datetime
    failures: int
    last_error: NodeError
    retry_at: datetime


@dataclass(slots=True)
class _Follow:
    """When each in-flight payment was last checked (memory only)."""

    checked: dict[str, datetime] = field(default_factory=dict)


class Outbox:
    """Drives payments through their steps; see the module docstring."""

    def __init__(
        self,
        state: OutboxState,
        wallet: LegacyWallet,
        policy: PaymentPolicy,
        persist: Callable[[OutboxState], None],
        schedule: FollowSchedule | None = None,
    ) -> None:
        self._state = state
        self.wallet = wallet
        self.policy = policy
        self._persist = persist
        self.schedule = schedule or FollowSchedule()
        self.node_problem: NodeProblem | None = None
        self.workers_lost = 0  # in a row; the next step starts a new worker
        self._follow = _Follow()

    @property
    def state(self) -> OutboxState:
        return self._state

    # --- commands --------------------------------------------------------------

    def enqueue(self, statements: Sequence[Statement], now: datetime) -> Payment | None:
        """Queue ``statements`` (those with IOTA due, not already queued).

        They join the newest queued payment if it is still unsigned and
        unapproved (one bundle instead of many after an outage); otherwise
        they become a new payment. Returns the payment, or None when there
        is nothing to pay.
        """
        taken = self._state.statement_ids_in_open_payments()
        fresh = [s for s in statements if s.due_iota > 0 and s.id not in taken]
        if not fresh:
            return None
        draft = self._draft()
        last = draft.payments[-1] if draft.payments else None
        if (
            last is not None
            and last.status in {PaymentStatus.QUEUED, PaymentStatus.WAITING_FUNDS}
            and not last.approved
            and last.receiver == self.policy.receiver
        ):
            entries = _bill_entries(last) + bill_statements(fresh)
            amount = last.amount + sum(s.due_iota for s in fresh)
            payment = last.evolve(
                statement_ids=last.statement_ids + tuple(s.id for s in fresh),
                amount=amount,
                message=encode_bill(last.id, amount, entries),
            )
        else:
            payment_id = draft.new_payment_id()
            amount = sum(s.due_iota for s in fresh)
            payment = Payment(
                id=payment_id,
                statement_ids=tuple(s.id for s in fresh),
                amount=amount,
                receiver=self.policy.receiver,
                message=encode_bill(payment_id, amount, bill_statements(fresh)),
                created_at=now,
            )
        draft.put(payment)
        self._commit(draft)
        return payment

    def approve(self, payment_id: str) -> Payment:
        """Let a payment over a cap go ahead. KeyError / ValueError if it cannot."""
        payment = self._state.payment(payment_id)
        if payment is None:
            raise KeyError(payment_id)
        if payment.status is not PaymentStatus.AWAITING_APPROVAL:
            raise ValueError(f"payment {payment_id} does not await approval")
        draft = self._draft()
        approved = payment.evolve(
            approved=True, status=PaymentStatus.QUEUED, reason=None
        )
        draft.put(approved)
        self._commit(draft)
        return approved

    # --- the step --------------------------------------------------------------

    def step(self, now: datetime, day: str) -> list[PaymentEvent]:
        """Advance the payment that can move by one step.

        ``day`` is the local date (for the daily cap). Returns what happened
        worth telling. Node failures are absorbed (retry later); a failing
        ``persist`` raises and nothing was acted on.
        """
        problem = self.node_problem
        if problem is not None and now < problem.retry_at:
            return []
        payment = self._workable()
        if payment is None:
            return []
        try:
            events = self._advance(payment, now, day)
        except NodeError as err:
            self._node_failed(err, now)
            return []
        except WorkerLost as err:
            if not self.workers_lost:
                _LOGGER.warning("Payment %s: %s; the step is repeated", payment.id, err)
            self.workers_lost += 1
            return []
        self.workers_lost = 0
        if self.node_problem is not None:
            _LOGGER.info("The IOTA node answers again")
            self.node_problem = None
        return events

    def busy(self) -> bool:
        """True while a payment can still move without outside help."""
        return self._workable() is not None

    def _workable(self) -> Payment | None:
        open_payments = self._state.open_payments()
        for payment in open_payments:
            if payment.status in IN_FLIGHT:
                return payment
        for payment in open_payments:
            if payment.status in {PaymentStatus.QUEUED, PaymentStatus.WAITING_FUNDS}:
                return payment
        return None

    def _advance(self, payment: Payment, now: datetime, day: str) -> list[PaymentEvent]:
        if payment.status in UNSIGNED:
            return self._sign(payment, now, day)
        if payment.status is PaymentStatus.SIGNED:
            return self._attach(payment, now)
        if payment.status is PaymentStatus.ATTACHED:
            return self._broadcast(payment, now)
        return self._follow_up(payment, now)

    # queued -> signed ---------------------------------------------------------

    def _sign(self, payment: Payment, now: datetime, day: str) -> list[PaymentEvent]:
        state = self._state
        if payment.status is PaymentStatus.WAITING_FUNDS and not self._due(
            payment.id, now, self.schedule.funds_interval
        ):
            return []
        if payment.receiver != self.policy.receiver:
            # Reconfigured since it was queued: nothing signed yet, pay the new one.
            payment = payment.evolve(receiver=self.policy.receiver)
        if not payment.approved and (reason := self._over_cap(payment, day)):
            return self._wait(payment, PaymentStatus.AWAITING_APPROVAL, reason, 0)
        wallet = self.wallet
        if wallet.node.spent([payment.receiver])[0]:
            return self._fail(payment, "receiver_spent")
        candidates, newly_spent = wallet.candidates(
            state.next_index, state.spent_indexes
        )
        chosen = _choose(candidates, payment.amount)
        draft = self._draft()
        draft.spent_indexes |= newly_spent
        if draft.deposit_index in draft.spent_indexes:
            draft.deposit_index = draft.reserve_index()
        if chosen is None:
            missing = payment.amount - sum(c.balance for c in candidates)
            return self._wait(
                payment,
                PaymentStatus.WAITING_FUNDS,
                "insufficient_funds",
                missing,
                draft,
            )
        remainder = payment.remainder_index
        if sum(c.balance for c in chosen) > payment.amount:
            remainder = self._fresh_remainder(draft, remainder)
            if remainder != payment.remainder_index:
                draft.put(payment.evolve(remainder_index=remainder))
                # The index is durably handed out before anything uses it.
                self._commit(draft)
                draft = self._draft()
        else:
            remainder = None
        try:
            signed = wallet.sign(
                payment.receiver, payment.amount, payment.message, chosen, remainder
            )
        except WalletError as err:
            _LOGGER.error("Payment %s could not be signed: %s", payment.id, err)
            return self._fail(payment, "signing_failed")
        draft.spent_indexes |= {index for index, _ in signed.inputs}
        if draft.deposit_index in draft.spent_indexes:
            draft.deposit_index = draft.reserve_index()
        draft.sent_by_day[day] = draft.sent_by_day.get(day, 0) + payment.amount
        draft.put(
            payment.evolve(
                status=PaymentStatus.SIGNED,
                reason=None,
                missing=0,
                remainder_index=remainder,
                inputs=signed.inputs,
                bundle_hash=signed.bundle_hash,
                signed_trytes=signed.trytes,
                signed_at=now,
            )
        )
        # Written before any of it leaves the machine: never signed twice.
        self._commit(draft)
        return []

    def _fresh_remainder(self, draft: OutboxState, reserved: int | None) -> int:
        """A remainder index reserved for this payment, never signed from."""
        index = reserved
        for _ in range(MAX_REMAINDER_TRIES):
            if index is None or index in draft.spent_indexes:
                index = draft.reserve_index()
            if not self.wallet.node.spent([self.wallet.address(index)])[0]:
                return index
            draft.spent_indexes.add(index)
            index = None
        raise NodeError(
            "wereAddressesSpentFrom", "garbage", "every fresh address is spent"
        )

    def _over_cap(self, payment: Payment, day: str) -> str | None:
        policy = self.policy
        if policy.max_payment and payment.amount > policy.max_payment:
            return "over_payment_cap"
        sent = self._state.sent_by_day.get(day, 0)
        if policy.max_daily and sent + payment.amount > policy.max_daily:
            return "over_daily_cap"
        return None

    # signed -> attached -> broadcast --------------------------------------------

    def _attach(self, payment: Payment, now: datetime) -> list[PaymentEvent]:
        attached, draft = self._pow(list(payment.signed_trytes))
        if any(_bundle_field(t) != payment.bundle_hash for t in attached):
            raise NodeError("attachToTangle", "garbage", "another bundle came back")
        attachment = Attachment(tail=tail_hash(attached), attached_at=now)
        draft.put(
            payment.evolve(
                status=PaymentStatus.ATTACHED,
                attached_trytes=tuple(attached),
                attachments=(*payment.attachments, attachment),
            )
        )
        self._commit(draft)
        return []

    def _broadcast(self, payment: Payment, now: datetime) -> list[PaymentEvent]:
        self.wallet.node.broadcast(payment.attached_trytes)
        first = payment.sent_at is None
        sent = payment.evolve(
            status=PaymentStatus.BROADCAST, sent_at=payment.sent_at or now
        )
        draft = self._draft()
        draft.put(sent)
        self._commit(draft)
        self._follow.checked[payment.id] = now
        return [PaymentEvent(PaymentEventKind.SENT, sent)] if first else []

    # broadcast -> confirmed ------------------------------------------------------

    def _follow_up(self, payment: Payment, now: datetime) -> list[PaymentEvent]:
        schedule = self.schedule
        if not self._due(payment.id, now, schedule.check_interval):
            return []
        node = self.wallet.node
        if any(node.confirmed(payment.tails)):
            confirmed = payment.evolve(
                status=PaymentStatus.CONFIRMED,
                confirmed_at=now,
                signed_trytes=(),
                attached_trytes=(),
            )
            draft = self._draft()
            draft.put(confirmed)
            draft.paid_total += confirmed.amount
            draft.trim_history()
            self._commit(draft)
            self._follow.checked.pop(payment.id, None)
            return [PaymentEvent(PaymentEventKind.CONFIRMED, confirmed)]
        latest = payment.attachments[-1]
        if now - latest.attached_at < schedule.promote_window and node.consistent(
            [latest.tail]
        ):
            # The first promotion waits an interval too: most bundles confirm
            # with the next milestone and need none.
            since = latest.last_promoted_at or latest.attached_at
            if now - since >= schedule.promote_interval:
                self._promote(payment, latest, now)
            return []
        # Too old or inconsistent: new proof of work on the same signed trytes.
        draft = self._draft()
        draft.put(payment.evolve(status=PaymentStatus.SIGNED))
        self._commit(draft)
        return []

    def _promote(self, payment: Payment, latest: Attachment, now: datetime) -> None:
        node = self.wallet.node
        tips = node.tips(self.schedule.depth, reference=latest.tail)
        attached, draft = self._pow(self.wallet.promotion_trytes(), tips)
        node.broadcast(attached)
        promoted = replace(
            latest, promotions=latest.promotions + 1, last_promoted_at=now
        )
        draft.put(payment.evolve(attachments=(*payment.attachments[:-1], promoted)))
        self._commit(draft)

    def _pow(
        self, trytes: list[str], tips: Tips | None = None
    ) -> tuple[list[str], OutboxState]:
        """Proof of work as the policy says; auto falls back to local once refused."""
        node = self.wallet.node
        chosen = tips if tips is not None else node.tips(self.schedule.depth)
        draft = self._draft()
        mode = self.policy.pow_mode
        local = mode == "local" or (mode == "auto" and draft.node_pow_refused)
        try:
            return self.wallet.attach(trytes, chosen, local=local), draft
        except NodeError as err:
            if local or mode != "auto" or err.kind != "refused":
                raise
        _LOGGER.info("The node refuses attachToTangle; doing proof of work locally")
        draft.node_pow_refused = True
        return self.wallet.attach(trytes, chosen, local=True), draft

    # --- helpers -------------------------------------------------------------------

    def _wait(
        self,
        payment: Payment,
        status: PaymentStatus,
        reason: str,
        missing: int,
        draft: OutboxState | None = None,
    ) -> list[PaymentEvent]:
        draft = draft or self._draft()
        waiting = payment.evolve(status=status, reason=reason, missing=missing)
        draft.put(waiting)
        self._commit(draft)
        if (payment.status, payment.reason, payment.missing) == (
            status,
            reason,
            missing,
        ):
            return []
        return [PaymentEvent(PaymentEventKind.WAITING, waiting)]

    def _fail(self, payment: Payment, reason: str) -> list[PaymentEvent]:
        draft = self._draft()
        failed = payment.evolve(status=PaymentStatus.FAILED, reason=reason)
        draft.put(failed)
        draft.trim_history()
        self._commit(draft)
        return [PaymentEvent(PaymentEventKind.FAILED, failed)]

    def _due(self, payment_id: str, now: datetime, interval: timedelta) -> bool:
        last = self._follow.checked.get(payment_id)
        if last is not None and now - last < interval:
            return False
        self._follow.checked[payment_id] = now
        return True

    def _node_failed(self, err: NodeError, now: datetime) -> None:
        problem = self.node_problem
        failures = 1 if problem is None else problem.failures + 1
        delay = min(
            self.schedule.backoff_first * 2 ** min(failures - 1, 16),
            self.schedule.backoff_max,
        )
        if problem is None:
            _LOGGER.warning("The IOTA node failed (%s); payments retry", err)
        self.node_problem = NodeProblem(
            since=now if problem is None else problem.since,
            failures=failures,
            last_error=err,
            retry_at=now + delay,
        )

    def _draft(self) -> OutboxState:
        state = self._state
        return replace(
            state,
            payments=list(state.payments),
            spent_indexes=set(state.spent_indexes),
            sent_by_day=dict(state.sent_by_day),
        )

    def _commit(self, draft: OutboxState) -> None:
        """Durable first; only then is the new state the outbox's."""
        self._persist(draft)
        self._state = draft


def _choose(candidates: Sequence[Candidate], amount: int) -> list[Candidate] | None:
    """Oldest funded indexes first, until they cover ``amount``."""
    chosen: list[Candidate] = []
    total = 0
    for candidate in sorted(candidates, key=lambda c: c.index):
        if total >= amount:
            break
        chosen.append(candidate)
        total += candidate.balance
    return chosen if total >= amount else None


def _bill_entries(payment: Payment) -> list[dict[str, object]]:
    document = json.loads(trytes_to_ascii(payment.message))
    entries: list[dict[str, object]] = document["st"]
    return entries


def _bundle_field(trytes: str) -> str:
    return trytes[FIELDS["bundle"]]
