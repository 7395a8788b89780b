"""Pays closed statements: runs the core's outbox on Home Assistant's clock.

The outbox (core/outbox.py) decides and acts; this module only

* keeps its document in two-slot storage (written from the worker thread
  the outbox runs in, and waited for: durable before acting),
* runs its steps off the event loop, one at a time, on a timer,
* builds the entry's payment rail: legacy (a PyOTA wallet, with a worker
  process for its CPU-bound work: signing, address derivation, local proof
  of work, pure Python that would hold Home Assistant's GIL; started at the
  first payment and stopped with the entry) or IOTA Rebased (iota-sdk, whose
  signing takes a millisecond and needs no worker),
* queues statements as periods close (automatic payment) or on request,
* mirrors each payment's state into the ledger's statements,
* fires the payment events, raises and clears repair issues, and
* gives the entities one snapshot to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .const import (
    CONF_AUTO_PAY,
    CONF_CHAIN_ID,
    CONF_GRAPHQL_URL,
    CONF_KEY_PATH,
    CONF_MAX_DAILY,
    CONF_MAX_GAS_BUDGET,
    CONF_MAX_PAYMENT,
    CONF_MNEMONIC,
    CONF_MWM,
    CONF_NETWORK,
    CONF_NODE_URL,
    CONF_POW_MODE,
    CONF_RAIL,
    CONF_RECEIVER,
    CONF_SEED,
    CONF_TAG,
    DEFAULT_AUTO_PAY,
    DEFAULT_MAX_DAILY,
    DEFAULT_MAX_PAYMENT,
    DEFAULT_POW_MODE,
    DEFAULT_TAG,
    DOMAIN,
    EVENT_PAYMENT_PREFIX,
    LOGGER,
    NETWORK_CUSTOM,
    RAIL_LEGACY,
    RAIL_REBASED,
)
from .core.ledger import PaymentState, Statement
from .core.legacy_node import LegacyNode
from .core.legacy_rail import LegacyRail
from .core.outbox import (
    FollowSchedule,
    NodeProblem,
    Outbox,
    PaymentEvent,
    PaymentPolicy,
)
from .core.payments import (
    IN_FLIGHT,
    OutboxState,
    Payment,
    PaymentStatus,
    statement_state_of,
)
from .core.rail import Funds, Rail
from .core.rebased_keys import DEFAULT_PATH, MnemonicError, PathError, RebasedKey
from .core.rebased_node import NETWORK_URLS, RebasedNode
from .core.rebased_rail import DEFAULT_MAX_GAS_BUDGET, RebasedRail
from .core.units import NANOS_PER_LEGACY_I, Amount, Denomination
from .core.wallet import LegacyWallet
from .core.worker_pool import WorkerPool
from .issues import async_clear_issue, async_raise_issue
from .persistence.document_slots import DurableState

if TYPE_CHECKING:
    from .coordinator import IotaEnergyCoordinator

OUTBOX = "outbox"
# A node failing this long gets a repair issue (shorter outages only retry).
NODE_ISSUE_AFTER = timedelta(minutes=10)
BALANCE_INTERVAL = timedelta(minutes=5)
# Steps in one tick while each makes progress (then the timer takes over).
MAX_STEPS_PER_TICK = 20
PAY_ACTION_TIMEOUT_S = 120.0
PAYMENT_STATES = ("idle", *[s.value for s in PaymentStatus])
# The NodeError kind (and problem, issue and error key) of a service that
# serves another chain than the entry's.
WRONG_NETWORK = "wrong_network"


class OutboxWriteError(OSError):
    """The outbox document could not be written: the step does not act."""


class WalletUnreadableError(ValueError):
    """The entry's stored wallet cannot be read into a key.

    ``reason`` is a translation key (a ``rebased_keys`` mnemonic reason or
    ``invalid_key_path``); nothing of the mnemonic is in it, and it is
    raised without its cause.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """What the entry says about paying (secrets out of every repr)."""

    # The legacy node's URL, or the Rebased GraphQL service's.
    node_url: str
    receiver: str
    auto_pay: bool
    policy: PaymentPolicy
    rail: str = RAIL_LEGACY
    # Legacy rail.
    seed: str = field(default="", repr=False)
    mwm: int = 0
    tag: str = DEFAULT_TAG
    # Rebased rail.
    mnemonic: str = field(default="", repr=False)
    key_path: str = DEFAULT_PATH
    max_gas_budget: int = DEFAULT_MAX_GAS_BUDGET
    # The chain the service served at setup; None: not checked.
    chain_id: str | None = None

    @classmethod
    def from_entry(
        cls, data: dict[str, Any], options: dict[str, Any]
    ) -> PaymentSettings | None:
        """None when the entry does not pay (metering and billing only)."""
        rail = str(data.get(CONF_RAIL, RAIL_LEGACY))
        if rail == RAIL_REBASED:
            return cls._rebased(data, options)
        if not data.get(CONF_NODE_URL):
            return None
        return cls(
            node_url=str(data[CONF_NODE_URL]),
            seed=str(data[CONF_SEED]),
            receiver=str(data[CONF_RECEIVER]),
            mwm=int(data[CONF_MWM]),
            auto_pay=bool(options.get(CONF_AUTO_PAY, DEFAULT_AUTO_PAY)),
            policy=_policy(data, options),
            tag=str(options.get(CONF_TAG, DEFAULT_TAG)),
        )

    @classmethod
    def _rebased(
        cls, data: dict[str, Any], options: dict[str, Any]
    ) -> PaymentSettings | None:
        if not data.get(CONF_MNEMONIC):
            return None
        network = str(data.get(CONF_NETWORK, NETWORK_CUSTOM))
        url = (
            str(data[CONF_GRAPHQL_URL])
            if network == NETWORK_CUSTOM
            else NETWORK_URLS[network]
        )
        # The gas cap may be changed in the options; the flow sets it first.
        max_gas = options.get(CONF_MAX_GAS_BUDGET, data.get(CONF_MAX_GAS_BUDGET))
        return cls(
            rail=RAIL_REBASED,
            node_url=url,
            mnemonic=str(data[CONF_MNEMONIC]),
            key_path=str(data.get(CONF_KEY_PATH) or DEFAULT_PATH),
            max_gas_budget=int(max_gas or DEFAULT_MAX_GAS_BUDGET),
            chain_id=str(data[CONF_CHAIN_ID]) if data.get(CONF_CHAIN_ID) else None,
            receiver=str(data[CONF_RECEIVER]),
            auto_pay=bool(options.get(CONF_AUTO_PAY, DEFAULT_AUTO_PAY)),
            policy=_policy(data, options, caps_in_nanos=True),
        )


def _policy(
    data: dict[str, Any], options: dict[str, Any], *, caps_in_nanos: bool = False
) -> PaymentPolicy:
    max_payment = int(options.get(CONF_MAX_PAYMENT, DEFAULT_MAX_PAYMENT))
    max_daily = int(options.get(CONF_MAX_DAILY, DEFAULT_MAX_DAILY))
    if caps_in_nanos:
        # The Rebased forms take the caps in nanos; the outbox counts i.
        max_payment = _nanos_cap_in_i(max_payment)
        max_daily = _nanos_cap_in_i(max_daily)
    return PaymentPolicy(
        receiver=str(data[CONF_RECEIVER]),
        max_payment=max_payment,
        max_daily=max_daily,
        pow_mode=str(options.get(CONF_POW_MODE, DEFAULT_POW_MODE)),
    )


def _nanos_cap_in_i(nanos: int) -> int:
    """A cap in nanos as whole i, rounded down (a cap errs on the strict side).

    0 stays "no cap"; a cap below one i becomes 1 i, the smallest cap the
    outbox can hold (0 would lift it).
    """
    if nanos <= 0:
        return 0
    return max(1, nanos // NANOS_PER_LEGACY_I)


@dataclass(frozen=True, slots=True)
class PaymentSnapshot:
    """What the payment entities show."""

    state: str
    balance: int | None  # whole legacy i on either rail, like every entity amount
    deposit_address: str | None
    paid_total: int
    last_paid_at: datetime | None
    problem: str | None  # a translation key, or None


class PaymentManager:
    """One entry's payments; see the module docstring."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: IotaEnergyCoordinator,
        settings: PaymentSettings,
        *,
        schedule: FollowSchedule | None = None,
    ) -> None:
        """Prepare; nothing is read or started until ``async_start``."""
        self.hass = hass
        self.coordinator = coordinator
        self.settings = settings
        self._entry_id = coordinator.config_entry.entry_id
        self._schedule = schedule or FollowSchedule()
        self._store = DurableState[OutboxState, OutboxState](
            hass,
            self._entry_id,
            OUTBOX,
            encode=OutboxState.to_dict,
            decode=OutboxState.from_dict,
            required=True,
        )
        self._outbox: Outbox | None = None
        self._worker: WorkerPool | None = None
        self._lock = asyncio.Lock()
        self._timer: CALLBACK_TYPE | None = None
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._stopped = False
        self._stopping = asyncio.Event()  # set with _stopped, to be awaited
        self._funds: Funds | None = None
        self._funds_at: datetime | None = None
        self._deposit_address: str | None = None
        self._listeners: list[Callable[[PaymentEvent], None]] = []
        # Statements whose queueing could not be written (a full disk): they
        # are still due, and each tick tries to queue them again.
        self._unqueued: set[str] = set()
        # The last step could not write the outbox (nothing was acted on).
        self._write_failed = False
        # Cleared while a tick runs, so stopping can wait for it.
        self._ticks_running = 0
        self._ticks_done = asyncio.Event()
        self._ticks_done.set()

    # --- lifecycle -------------------------------------------------------------

    async def async_start(self) -> None:
        """Load the outbox, mirror it into the ledger, queue what is due, run."""
        loaded = await self._store.async_load()
        state = loaded.value or OutboxState()
        settings = self.settings
        rail = await self.hass.async_add_executor_job(self._build_rail)
        self._outbox = Outbox(
            state, rail, settings.policy, self._persist_blocking, self._schedule
        )
        if loaded.value is None:
            # The key bookkeeping must exist on disk before any key is used.
            await self._store.async_save_all(state)
        await self._async_mirror(state.payments)
        self._unsubscribers.append(
            self.coordinator.async_add_statement_listener(self._on_statement)
        )
        if settings.auto_pay:
            await self._async_enqueue_or_remember(self._payable_statements(None))
        self._schedule_tick(0)

    async def async_stop(self) -> None:
        """Stop the timer and wait for a tick in progress (its step is written)."""
        self._stopped = True
        self._stopping.set()
        for unsub in self._unsubscribers:
            unsub()
        self._unsubscribers.clear()
        if self._timer is not None:
            self._timer()
            self._timer = None
        await self._ticks_done.wait()
        if self._worker is not None:
            # Nothing runs in it now: the ticks are done.
            await self.hass.async_add_executor_job(self._worker.shutdown)

    def _build_rail(self) -> Rail:
        """The entry's rail (blocking: the SDK's import takes a second)."""
        settings = self.settings
        if settings.rail == RAIL_REBASED:
            return build_rebased_rail(settings)
        # Its process starts with the first job (the first balance read).
        self._worker = WorkerPool()
        wallet = LegacyWallet(
            settings.seed,
            LegacyNode(settings.node_url),
            mwm=settings.mwm,
            tag=settings.tag,
            run=self._worker.run,
        )
        return LegacyRail(
            wallet, pow_mode=settings.policy.pow_mode, follow=self._schedule.legacy()
        )

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            raise RuntimeError("payments are not started")
        return self._outbox

    # --- what entities and actions use ---------------------------------------------

    @callback
    def async_add_listener(
        self, listener: Callable[[PaymentEvent], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` with every payment event from now on."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    def snapshot(self) -> PaymentSnapshot:
        outbox = self.outbox
        state = outbox.state
        current = _current(state)
        last = state.last_confirmed()
        return PaymentSnapshot(
            state="idle" if current is None else current.status.value,
            balance=None if self._funds is None else _in_i(self._funds.spendable),
            deposit_address=self._deposit_address,
            paid_total=state.paid_total,
            last_paid_at=None if last is None else last.confirmed_at,
            problem=self._problem(),
        )

    def payments(self) -> list[Payment]:
        return list(self.outbox.state.payments)

    async def async_pay(self, statement_ids: list[str] | None) -> Payment:
        """Queue statements now and drive the payment until it is signed."""
        statements = self._payable_statements(statement_ids)
        if not statements:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="nothing_to_pay"
            )
        try:
            payment = await self._async_enqueue(statements)
        except OutboxWriteError:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="outbox_not_written"
            ) from None
        if payment is None:
            # Queued meanwhile by automatic payment (it held the lock).
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="nothing_to_pay"
            )
        loop = self.hass.loop
        deadline = loop.time() + PAY_ACTION_TIMEOUT_S
        # A stop ends the wait (the payment stays queued, durably): its ticks
        # no longer run, and waiting on would only spin.
        while not self._stopped:
            await self._async_tick(reschedule=False)
            current = self.outbox.state.payment(payment.id)
            assert current is not None
            if current.status not in {PaymentStatus.QUEUED}:
                return current
            if (problem := self.outbox.node_problem) is not None:
                if problem.last_error.kind == WRONG_NETWORK:
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="payment_wrong_network",
                        translation_placeholders={"payment_id": payment.id},
                    )
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="payment_node_unreachable",
                    translation_placeholders={
                        "payment_id": payment.id,
                        "error": str(problem.last_error),
                    },
                )
            if self._write_failed:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="payment_not_written",
                    translation_placeholders={"payment_id": payment.id},
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            # Behind a payment in flight: wait for its next check (or a
            # stop), not in a loop of steps that cannot move.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(),
                    min(remaining, self._schedule.check_interval.total_seconds()),
                )
        current = self.outbox.state.payment(payment.id)
        assert current is not None
        return current

    async def async_approve(self, payment_id: str) -> Payment:
        async with self._lock:
            try:
                payment = await self.hass.async_add_executor_job(
                    self.outbox.approve, payment_id
                )
            except KeyError:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="payment_not_found",
                    translation_placeholders={"payment_id": payment_id},
                ) from None
            except ValueError:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="payment_not_awaiting_approval",
                    translation_placeholders={"payment_id": payment_id},
                ) from None
            except OutboxWriteError:
                raise HomeAssistantError(
                    translation_domain=DOMAIN, translation_key="outbox_not_written"
                ) from None
        await self._async_mirror([payment])
        self._schedule_tick(0)
        return payment

    # --- queueing ----------------------------------------------------------------

    @callback
    def _on_statement(self, statement: Statement) -> None:
        if self.settings.auto_pay and statement.payment_state is PaymentState.DUE:
            self.hass.async_create_task(
                self._async_enqueue_and_run([statement]), eager_start=False
            )

    async def _async_enqueue_and_run(self, statements: list[Statement]) -> None:
        if await self._async_enqueue_or_remember(statements) is not None:
            self._schedule_tick(0)

    async def _async_enqueue_or_remember(
        self, statements: list[Statement]
    ) -> Payment | None:
        """Queue statements; if that cannot be written, retry at each tick."""
        try:
            return await self._async_enqueue(statements)
        except OutboxWriteError:
            # Nothing was queued (the storage repair issue says why).
            self._unqueued.update(s.id for s in statements)
            return None

    async def _async_retry_unqueued(self) -> None:
        """Queue again what a failed write left out, while it is still due."""
        ledger = self.coordinator.state.ledger
        retry = [
            s
            for s in ledger
            if s.id in self._unqueued and s.payment_state is PaymentState.DUE
        ]
        try:
            await self._async_enqueue(retry)
        except OutboxWriteError:
            return
        self._unqueued.clear()

    def _payable_statements(self, statement_ids: list[str] | None) -> list[Statement]:
        ledger = self.coordinator.state.ledger
        taken = self.outbox.state.statement_ids_in_open_payments()
        payable = {PaymentState.DUE, PaymentState.FAILED}
        if statement_ids is None:
            return [
                s for s in ledger if s.payment_state in payable and s.id not in taken
            ]
        found: list[Statement] = []
        for statement_id in statement_ids:
            statement = ledger.get(statement_id)
            if statement is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="statement_not_found",
                    translation_placeholders={"statement_id": statement_id},
                )
            if statement.payment_state not in payable or statement.id in taken:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="statement_not_payable",
                    translation_placeholders={
                        "statement_id": statement_id,
                        "state": statement.payment_state.value,
                    },
                )
            found.append(statement)
        return found

    async def _async_enqueue(self, statements: list[Statement]) -> Payment | None:
        if not statements:
            return None
        async with self._lock:
            payment = await self.hass.async_add_executor_job(
                self.outbox.enqueue, statements, dt_util.utcnow()
            )
        if payment is not None:
            await self._async_mirror([payment])
        return payment

    # --- the timer -----------------------------------------------------------------

    @callback
    def _schedule_tick(self, delay_s: float) -> None:
        if self._stopped:
            return
        if self._timer is not None:
            self._timer()
        self._timer = async_call_later(self.hass, delay_s, self._async_timer)

    async def _async_timer(self, _now: datetime) -> None:
        self._timer = None
        await self._async_tick(reschedule=True)

    async def _async_tick(self, *, reschedule: bool) -> None:
        """Step while steps make progress; then wait for the next check."""
        if self._stopped:
            return
        self._ticks_running += 1
        self._ticks_done.clear()
        try:
            await self._async_steps(reschedule=reschedule)
        finally:
            self._ticks_running -= 1
            if not self._ticks_running:
                self._ticks_done.set()

    async def _async_steps(self, *, reschedule: bool) -> None:
        outbox = self.outbox
        if self._unqueued:
            await self._async_retry_unqueued()
        for _ in range(MAX_STEPS_PER_TICK):
            before = outbox.state
            now = dt_util.utcnow()
            day = dt_util.as_local(now).date().isoformat()
            async with self._lock:
                # Checked holding the lock: a tick that waited for another
                # tick's step takes none after a stop that came meanwhile.
                if self._stopped:
                    return
                try:
                    events = await self.hass.async_add_executor_job(
                        outbox.step, now, day
                    )
                except OutboxWriteError:
                    # Nothing was acted on; the storage issue says why.
                    self._write_failed = True
                    break
            self._write_failed = False
            await self._async_handle(events)
            if outbox.state is before and not events:
                break
        if self._stopped:
            return
        await self._async_refresh_funds()
        self._update_issues()
        self.coordinator.async_update_listeners()
        if reschedule:
            self._schedule_tick(self._next_delay())

    def _next_delay(self) -> float:
        outbox = self.outbox
        problem = outbox.node_problem
        if problem is not None:
            return max(0.5, (problem.retry_at - dt_util.utcnow()).total_seconds())
        return self._schedule.check_interval.total_seconds()

    async def _async_handle(self, events: Iterable[PaymentEvent]) -> None:
        events = list(events)
        if not events:
            return
        await self._async_mirror([e.payment for e in events])
        for event in events:
            if event.payment.status is PaymentStatus.CONFIRMED:
                self._funds_at = None  # read the balance again
            self.hass.bus.async_fire(
                f"{EVENT_PAYMENT_PREFIX}{event.kind.value}",
                {"config_entry_id": self._entry_id} | event.payment.summary(),
            )
            for listener in list(self._listeners):
                listener(event)

    async def _async_mirror(self, payments: Iterable[Payment]) -> None:
        """Show each payment's state on its statements, durably."""
        updates: dict[str, tuple[PaymentState, dict[str, Any]]] = {}
        for payment in payments:
            # The bill on the chain: each statement names the transfer that
            # paid it (bundle hash or Rebased digest).
            record = {
                "payment_id": payment.id,
                "status": payment.status.value,
                "transfer_id": payment.transfer_id,
                "bundle_hash": payment.bundle_hash,
            }
            for statement_id in payment.statement_ids:
                updates[statement_id] = (statement_state_of(payment.status), record)
        await self.coordinator.async_set_payment_states(updates)

    async def _async_refresh_funds(self) -> None:
        now = dt_util.utcnow()
        if self._funds_at is not None and now - self._funds_at < BALANCE_INTERVAL:
            return
        if self.outbox.node_problem is not None:
            return
        rail = self.outbox.rail
        book = self.outbox.book()

        def read() -> tuple[Funds, str]:
            return rail.funds(book), rail.deposit_address(book)

        try:
            self._funds, self._deposit_address = await self.hass.async_add_executor_job(
                read
            )
        except Exception as err:
            LOGGER.debug("Balance not read: %s", type(err).__name__)
            return
        self._funds_at = now

    # --- problems ---------------------------------------------------------

    def _problem(self) -> str | None:
        outbox = self.outbox
        problem = outbox.node_problem
        if problem is not None:
            if problem.last_error.kind == WRONG_NETWORK:
                return WRONG_NETWORK
            return "node_unreachable"
        for payment in outbox.state.open_payments():
            if payment.status is PaymentStatus.WAITING_FUNDS:
                return "insufficient_funds"
            if payment.status is PaymentStatus.AWAITING_APPROVAL:
                return "awaiting_approval"
        last = outbox.state.payments[-1] if outbox.state.payments else None
        if last is not None and last.status is PaymentStatus.FAILED:
            return last.reason or "payment_failed"
        return None

    @callback
    def _update_issues(self) -> None:
        outbox = self.outbox
        problem = outbox.node_problem
        wrong = problem is not None and problem.last_error.kind == WRONG_NETWORK
        self._update_network_issue(problem if wrong else None)
        node_issue = f"node_unreachable_{self._entry_id}"
        now = dt_util.utcnow()
        if wrong:
            # Its own issue says more than "unreachable" would.
            async_clear_issue(self.hass, node_issue)
        elif problem is not None and now - problem.since >= NODE_ISSUE_AFTER:
            async_raise_issue(
                self.hass,
                node_issue,
                translation_key="node_unreachable",
                placeholders={
                    "url": shown_url(self.settings.node_url),
                    "since": dt_util.as_local(problem.since).isoformat(),
                },
            )
        elif problem is None:
            async_clear_issue(self.hass, node_issue)
        funds_issue = f"insufficient_funds_{self._entry_id}"
        waiting = next(
            (
                p
                for p in outbox.state.open_payments()
                if p.status is PaymentStatus.WAITING_FUNDS
            ),
            None,
        )
        if waiting is not None:
            async_raise_issue(
                self.hass,
                funds_issue,
                translation_key="insufficient_funds",
                placeholders={
                    "missing": _missing_text(waiting),
                    "payment_id": waiting.id,
                    "address": self._deposit_address or "",
                },
                severity=ir.IssueSeverity.WARNING,
            )
        else:
            async_clear_issue(self.hass, funds_issue)

    @callback
    def _update_network_issue(self, problem: NodeProblem | None) -> None:
        """Raised at once: waiting cannot fix a service of another network."""
        issue_id = f"{WRONG_NETWORK}_{self._entry_id}"
        if problem is None:
            async_clear_issue(self.hass, issue_id)
            return
        async_raise_issue(
            self.hass,
            issue_id,
            translation_key="wrong_network",
            placeholders={
                "title": self.coordinator.config_entry.title,
                "url": shown_url(self.settings.node_url),
                "expected": self.settings.chain_id or "",
                "served": problem.last_error.detail,
            },
        )

    # --- durability -------------------------------------------------------

    def _persist_blocking(self, state: OutboxState) -> None:
        """Write the outbox document from the outbox's worker thread; wait for it."""
        future = asyncio.run_coroutine_threadsafe(
            self._store.async_save_all(state), self.hass.loop
        )
        if not future.result():
            raise OutboxWriteError("the outbox document could not be written")


def build_rebased_rail(settings: PaymentSettings) -> Rail:
    """The Rebased rail of ``settings`` (blocking: imports the SDK).

    WalletUnreadableError if the stored mnemonic or key path is unusable.
    """
    try:
        key = RebasedKey.from_mnemonic(settings.mnemonic, settings.key_path)
    except MnemonicError as err:
        raise WalletUnreadableError(err.reason) from None
    except PathError:
        raise WalletUnreadableError("invalid_key_path") from None
    return RebasedRail(
        key,
        RebasedNode(settings.node_url),
        max_gas_budget=settings.max_gas_budget,
        chain_id=settings.chain_id,
    )


def shown_url(url: str) -> str:
    """``url`` without user name and password (a node behind a proxy)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _in_i(amount: Amount) -> int:
    """Whole legacy i (the unit the entities count on both rails)."""
    return amount.to_floor(Denomination.LEGACY_I)[0].value


def _missing_text(payment: Payment) -> str:
    """The repair issue's "{missing}", with its unit: i, or today's IOTA."""
    if payment.unit is Denomination.LEGACY_I:
        return f"{payment.missing} i"
    return f"{format(Amount(payment.missing, payment.unit).iota, 'f')} IOTA"


def _current(state: OutboxState) -> Payment | None:
    """The payment in flight, else the oldest open one, else the newest one."""
    open_payments = state.open_payments()
    for payment in open_payments:
        if payment.status in IN_FLIGHT:
            return payment
    if open_payments:
        return open_payments[0]
    return state.payments[-1] if state.payments else None
