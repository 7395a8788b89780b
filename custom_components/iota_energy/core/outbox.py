"""The payment outbox: every due statement paid exactly once, on any rail.

The outbox owns the durable :class:`~.payments.OutboxState` and advances one
payment one step per :meth:`Outbox.step` call, through a
:class:`~.rail.Rail` (legacy: :class:`~.legacy_rail.LegacyRail`; IOTA
Rebased: :class:`~.rebased_rail.RebasedRail`). Each step first writes the
state it is about to act on through ``persist`` (which must be durable when
it returns, or raise), and only then acts; a failed write leaves memory as
it was and acts on nothing. So after a crash at any point the stored state
is at most one step behind what happened, and every step is safe to repeat:

=========== ============================================ ====================
status      the step                                     repeated after crash
=========== ============================================ ====================
queued      check caps and receiver; ``rail.sign`` (the  signs again: the
            rail reserves what it hands out, written,    lost signature
            before signing); write ``signed`` with the   never left the
            signed transfer and the wallet's new book    machine
signed,     ``rail.advance`` on the stored transfer:     the same stored
attached    legacy proof of work or broadcast; Rebased   transfer again
            execution of the stored bytes
broadcast   ``rail.advance`` every ``check_interval``    -
            until confirmed (legacy: promote or
            reattach the same signed trytes; Rebased:
            effects looked up by digest)
=========== ============================================ ====================

A rail never signs a second transaction for a payment by itself; when
``advance`` answers ``DEAD`` (Rebased only: the stored transaction provably
can never execute) the payment goes back to ``queued``, its old transfer id
kept in ``superseded``, and is signed anew.

A payment that confirms or fails is settled in the same write (no trytes,
no bill) and only the newest finished payments stay in the document, so
its size does not grow with the payments made (see payments.py for what
keeps a statement from being paid twice once its payment has left).

One transfer is in flight at a time: a payment is signed only when no other
payment is signed and unconfirmed. The first step, and the first after a
node failure, asks the rail whether its node serves the entry's network
(``rail.check_network``). Node failures, a wrong network included, retry
with exponential back-off (5 s doubling to 5 min) and never change what is
stored; while they last, every retry asks the node (the intervals above wait
for the back-off instead), and only an answer ends the outage. A wallet
worker process that dies mid-step (:class:`~.worker_pool.WorkerLost`) leaves
the step undone and unwritten; the next step repeats it, as after a crash.

Statements owe legacy i; a payment is made in its rail's unit (exactly
converted: 1 i = 1000 nanos, docs/rebased.md). The caps, the daily sums and
``paid_total`` count i.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
import json
import logging
from typing import Any

from .bill_message import bill_statements, encode_bill, trytes_to_ascii
from .ledger import Statement
from .legacy_node import NodeError
from .legacy_rail import POW_MODES, FollowTimes, LegacyRail
from .payments import (
    HISTORY_LIMIT,
    IN_FLIGHT,
    UNSIGNED,
    OutboxState,
    Payment,
    PaymentStatus,
    signed_transfer_of,
    with_signed_transfer,
)
from .rail import Advance, Progress, Rail, ReceiverError, Shortfall, TransferOrder
from .rebased_wallet import TransferError
from .units import Amount, Denomination
from .wallet import LegacyWallet
from .wallet_work import WalletError
from .worker_pool import WorkerLost

_LOGGER = logging.getLogger(__name__)

LEGACY_I = Denomination.LEGACY_I


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
    """Who is paid and within which limits (0 = no cap; caps count i)."""

    receiver: str
    max_payment: int = 0
    max_daily: int = 0
    # Legacy rail only: where proof of work is done.
    pow_mode: str = "auto"

    def __post_init__(self) -> None:
        if self.pow_mode not in POW_MODES:
            raise ValueError(f"pow_mode is one of {POW_MODES}")
        if min(self.max_payment, self.max_daily) < 0:
            raise ValueError("caps are >= 0")


@dataclass(frozen=True, slots=True)
class FollowSchedule:
    """How a sent payment is followed and how failures are retried."""

    check_interval: timedelta = timedelta(seconds=5)
    promote_interval: timedelta = timedelta(seconds=30)
    promote_window: timedelta = timedelta(minutes=11)
    funds_interval: timedelta = timedelta(seconds=60)
    depth: int = 3
    backoff_first: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(minutes=5)

    def legacy(self) -> FollowTimes:
        """The legacy rail's part: promotion and reattachment times."""
        return FollowTimes(
            promote_interval=self.promote_interval,
            promote_window=self.promote_window,
            depth=self.depth,
        )


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
        rail: Rail | LegacyWallet,
        policy: PaymentPolicy,
        persist: Callable[[OutboxState], None],
        schedule: FollowSchedule | None = None,
        *,
        history: int | None = None,
    ) -> None:
        """``rail``: a LegacyWallet is paid through a LegacyRail over it.

        ``history``: how many finished payments the document keeps, settled
        (default ``HISTORY_LIMIT``; payments.py says why that is enough). At
        least one: the payment that just finished reaches the ledger only
        after its write, and a restart in between mirrors it from here.
        """
        history = HISTORY_LIMIT if history is None else history
        if history < 1:
            raise ValueError("history keeps at least the newest finished payment")
        self._state = state
        self.history = history
        self.policy = policy
        self._persist = persist
        self.schedule = schedule or FollowSchedule()
        if isinstance(rail, LegacyWallet):
            rail = LegacyRail(
                rail, pow_mode=policy.pow_mode, follow=self.schedule.legacy()
            )
        self.rail: Rail = rail
        self.node_problem: NodeProblem | None = None
        self.workers_lost = 0  # in a row; the next step starts a new worker
        self._follow = _Follow()
        self._network_checked = False

    @property
    def state(self) -> OutboxState:
        return self._state

    @property
    def wallet(self) -> LegacyWallet:
        """The legacy rail's wallet (AttributeError on another rail)."""
        rail = self.rail
        if not isinstance(rail, LegacyRail):
            raise AttributeError("only the legacy rail has a LegacyWallet")
        return rail.wallet

    def book(self) -> dict[str, Any]:
        """The wallet's bookkeeping as the rail reads it."""
        return _book(self._state)

    # --- commands --------------------------------------------------------------

    def enqueue(self, statements: Sequence[Statement], now: datetime) -> Payment | None:
        """Queue ``statements`` (those with IOTA due, not already queued).

        They join the newest queued payment if it is still unsigned and
        unapproved (one transfer instead of many after an outage); otherwise
        they become a new payment, in the rail's unit. Returns the payment,
        or None when there is nothing to pay.
        """
        taken = self._state.statement_ids_in_open_payments()
        fresh = [s for s in statements if s.due_iota > 0 and s.id not in taken]
        if not fresh:
            return None
        draft = self._draft()
        last = draft.payments[-1] if draft.payments else None
        unit = self.rail.unit
        if (
            last is not None
            and last.status in {PaymentStatus.QUEUED, PaymentStatus.WAITING_FUNDS}
            and not last.approved
            and last.receiver == self.policy.receiver
        ):
            entries = _bill_entries(last) + bill_statements(fresh)
            due_i = sum(int(str(e["due"])) for e in entries)
            payment = last.evolve(
                statement_ids=last.statement_ids + tuple(s.id for s in fresh),
                amount=Amount(due_i, LEGACY_I).to(unit).value,
                unit=unit,
                message=encode_bill(last.id, due_i, entries),
            )
        else:
            payment_id = draft.new_payment_id()
            due_i = sum(s.due_iota for s in fresh)
            payment = Payment(
                id=payment_id,
                statement_ids=tuple(s.id for s in fresh),
                amount=Amount(due_i, LEGACY_I).to(unit).value,
                unit=unit,
                receiver=self.policy.receiver,
                message=encode_bill(payment_id, due_i, bill_statements(fresh)),
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
        try:
            if not self._network_checked:
                # Before anything is read or sent: the node must serve the
                # entry's network (again after a failure: it may come back
                # as another service).
                self.rail.check_network()
                self._network_checked = True
            events = [] if payment is None else self._advance(payment, now, day)
        except NodeError as err:
            self._network_checked = False
            self._node_failed(err, now)
            return []
        except WorkerLost as err:
            if not self.workers_lost:
                which = "-" if payment is None else payment.id
                _LOGGER.warning("Payment %s: %s; the step is repeated", which, err)
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
        return self._send(payment, now)

    # queued -> signed ---------------------------------------------------------

    def _sign(self, payment: Payment, now: datetime, day: str) -> list[PaymentEvent]:
        if payment.status is PaymentStatus.WAITING_FUNDS and not self._due(
            payment.id, now, self.schedule.funds_interval
        ):
            return []
        rail = self.rail
        if payment.receiver != self.policy.receiver:
            # Reconfigured since it was queued: nothing signed yet, pay the new one.
            payment = payment.evolve(receiver=self.policy.receiver)
        if payment.unit is not rail.unit:
            # The rail changed since it was queued: the same IOTA, in its unit.
            amount = Amount(payment.amount, payment.unit).to(rail.unit)
            payment = payment.evolve(amount=amount.value, unit=amount.unit)
        if not payment.approved and (reason := self._over_cap(payment, day)):
            return self._wait(payment, PaymentStatus.AWAITING_APPROVAL, reason, 0)
        try:
            receiver = rail.check_receiver(payment.receiver)
        except ReceiverError as err:
            return self._fail(payment, err.reason)
        return self._sign_for(payment, receiver, now, day)

    def _sign_for(
        self, payment: Payment, receiver: str, now: datetime, day: str
    ) -> list[PaymentEvent]:
        """Sign ``payment`` (its checks passed); write it before it is sent."""
        rail = self.rail
        order = TransferOrder(
            payment.id, receiver, Amount(payment.amount, payment.unit), payment.message
        )
        reserving = payment

        def reserve(book: Mapping[str, Any]) -> None:
            # What the rail hands out is durable before it signs with it.
            nonlocal reserving
            draft = self._draft()
            reserving = _apply_book(draft, book, reserving)
            draft.put(reserving)
            self._commit(draft)

        try:
            result, book = rail.sign(order, _book(self._state, payment), reserve)
        except WalletError as err:
            _LOGGER.error("Payment %s could not be signed: %s", payment.id, err)
            return self._fail(reserving, "signing_failed")
        except TransferError as err:
            _LOGGER.error("Payment %s could not be signed: %s", payment.id, err)
            return self._fail(reserving, err.reason)
        draft = self._draft()
        payment = _apply_book(draft, book, reserving)
        if isinstance(result, Shortfall):
            # Funds are looked at again one funds interval from now.
            self._follow.checked[payment.id] = now
            missing = result.missing.to(payment.unit).value
            return self._wait(
                payment,
                PaymentStatus.WAITING_FUNDS,
                "insufficient_funds",
                missing,
                draft,
            )
        draft.sent_by_day[day] = draft.sent_by_day.get(day, 0) + _in_i(payment)
        signed = with_signed_transfer(
            payment.evolve(reason=None, missing=0, signed_at=now),
            result,
            PaymentStatus.SIGNED,
        )
        draft.put(signed)
        # Written before any of it leaves the machine: never signed twice.
        self._commit(draft)
        return []

    def _over_cap(self, payment: Payment, day: str) -> str | None:
        policy = self.policy
        amount = _in_i(payment)
        if policy.max_payment and amount > policy.max_payment:
            return "over_payment_cap"
        sent = self._state.sent_by_day.get(day, 0)
        if policy.max_daily and sent + amount > policy.max_daily:
            return "over_daily_cap"
        return None

    # signed -> sent -> confirmed --------------------------------------------------

    def _send(self, payment: Payment, now: datetime) -> list[PaymentEvent]:
        if payment.status is PaymentStatus.BROADCAST and not self._due(
            payment.id, now, self.schedule.check_interval
        ):
            return []
        transfer = signed_transfer_of(payment)
        if transfer is None:  # pragma: no cover - Payment refuses it
            raise ValueError(f"payment {payment.id} has no signed transfer")
        advance = self.rail.advance(transfer, _book(self._state, payment), now)
        if advance.progress is Progress.CONFIRMED:
            return self._confirmed(payment, advance, now)
        if advance.progress is Progress.DEAD:
            return self._superseded(payment, advance)
        status = _status_after(advance)
        moved = with_signed_transfer(payment, advance.transfer, status)
        first_sent = status is PaymentStatus.BROADCAST and payment.sent_at is None
        if first_sent:
            moved = moved.evolve(sent_at=now)
        if moved == payment and advance.book is None:
            return []
        draft = self._draft()
        if advance.book is not None:
            _apply_book(draft, advance.book, moved)
        draft.put(moved)
        self._commit(draft)
        if status is PaymentStatus.BROADCAST and payment.status is not status:
            self._follow.checked[payment.id] = now
        return [PaymentEvent(PaymentEventKind.SENT, moved)] if first_sent else []

    def _confirmed(
        self, payment: Payment, advance: Advance, now: datetime
    ) -> list[PaymentEvent]:
        confirmed = with_signed_transfer(
            payment, advance.transfer, PaymentStatus.CONFIRMED
        ).evolve(
            confirmed_at=now,
            sent_at=payment.sent_at or now,
            fee=_add_fee(payment.fee, advance.fee),
        )
        draft = self._draft()
        draft.put(confirmed)
        draft.paid_total += _in_i(confirmed)
        draft.trim_history(self.history)
        self._commit(draft)
        self._follow.checked.pop(payment.id, None)
        return [PaymentEvent(PaymentEventKind.CONFIRMED, confirmed)]

    def _superseded(self, payment: Payment, advance: Advance) -> list[PaymentEvent]:
        """The stored transfer can never execute: queue the payment anew.

        Its daily sum stays counted (a cap errs on the safe side); a gas fee
        charged for a failed execution stays on the payment.
        """
        _LOGGER.warning(
            "Payment %s: transfer %s can never execute; it is signed anew",
            payment.id,
            advance.transfer.transfer_id,
        )
        queued = payment.evolve(
            status=PaymentStatus.QUEUED,
            approved=True,  # its caps were checked when it was first signed
            transfer=None,
            superseded=(*payment.superseded, advance.transfer.transfer_id),
            fee=_add_fee(payment.fee, advance.fee),
            signed_at=None,
        )
        draft = self._draft()
        draft.put(queued)
        self._commit(draft)
        self._follow.checked.pop(payment.id, None)
        return []

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
        draft.trim_history(self.history)
        self._commit(draft)
        return [PaymentEvent(PaymentEventKind.FAILED, failed)]

    def _due(self, payment_id: str, now: datetime, interval: timedelta) -> bool:
        last = self._follow.checked.get(payment_id)
        # During an outage the backoff is the schedule: a retry that skipped
        # the node would end the outage unheard (and restart its clock).
        if self.node_problem is None and last is not None and now - last < interval:
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


def _book(state: OutboxState, payment: Payment | None = None) -> dict[str, Any]:
    """The wallet's book: the document's key bookkeeping (legacy rail).

    ``reserved`` is the remainder index handed out to ``payment``.
    """
    return {
        "next_index": state.next_index,
        "deposit_index": state.deposit_index,
        "spent_indexes": sorted(state.spent_indexes),
        "node_pow_refused": state.node_pow_refused,
        "reserved": None if payment is None else payment.remainder_index,
    }


def _apply_book(
    draft: OutboxState, book: Mapping[str, Any], payment: Payment
) -> Payment:
    """Write ``book`` into ``draft``; returns ``payment`` with its reservation."""
    draft.next_index = int(book["next_index"])
    draft.deposit_index = int(book["deposit_index"])
    draft.spent_indexes = {int(i) for i in book["spent_indexes"]}
    draft.node_pow_refused = bool(book["node_pow_refused"])
    reserved = book.get("reserved")
    if reserved == payment.remainder_index or payment.status not in UNSIGNED:
        return payment
    return payment.evolve(remainder_index=None if reserved is None else int(reserved))


def _status_after(advance: Advance) -> PaymentStatus:
    """The payment's status for a transfer still on its way."""
    if advance.progress is Progress.SENT:
        return PaymentStatus.BROADCAST
    # Legacy: proof of work done, not yet broadcast.
    if advance.transfer.record.get("stage") == PaymentStatus.ATTACHED.value:
        return PaymentStatus.ATTACHED
    return PaymentStatus.SIGNED


def _in_i(payment: Payment) -> int:
    """The payment's amount in legacy i, rounded up (for caps and sums)."""
    whole, rest = Amount(payment.amount, payment.unit).to_floor(LEGACY_I)
    return whole.value + (1 if rest else 0)


def _add_fee(old: Amount | None, new: Amount | None) -> Amount | None:
    if old is None or new is None:
        return new or old
    return Amount(old.value + new.to(old.unit).value, old.unit)


def _bill_entries(payment: Payment) -> list[dict[str, object]]:
    document = json.loads(trytes_to_ascii(payment.message))
    entries: list[dict[str, object]] = document["st"]
    return entries
