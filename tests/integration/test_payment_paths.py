"""The payment shell's rarer paths, on devtangle over real HTTP, real PyOTA.

A full disk while statements are queued, signed or approved; the entry
stopping in the middle of a tick or of a pay action; a pay action waiting
behind a payment in flight until its deadline; a period closing while the
user pays the same statement; a tick's step limit; a node outage's retry.
Faults are injected where they happen in life: in the store's writes (the
disk), in the node (stopped) and in the timing of Home Assistant's tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
import errno
import json
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.iota_energy import payment_manager
from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_NODE_URL,
)
from custom_components.iota_energy.core.outbox import Outbox
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.iota_energy.payment_manager import (
    PaymentManager,
    PaymentSettings,
)
from devtangle.server import DevTangle
from tests.devtangle import conftest as devtangle_tests

from . import test_payments
from .helpers import call_action, set_up
from .test_payments import bob_balance, close_a_period, until

# The payment tests' fixtures: devtangle on loopback, an entry paying into it.
loopback_sockets = devtangle_tests.loopback_sockets
tangle = test_payments.tangle
entry_data = test_payments.entry_data
entry_options = test_payments.entry_options
paying = test_payments.paying
# Automatic payment on, a cap of 1 i: every payment waits for approval.
capped_options = test_payments.capped_options

_real_save = Store.async_save


@dataclass
class OutboxDisk:
    """The outbox's slot files, as the store writes them: full, held or free.

    ``full``: every write fails as on a full disk. ``hold``: the next write
    waits until ``release`` (then fails if ``full``); ``entered`` tells
    that one is waiting. Writes of every other document go through.
    """

    full: bool = False
    hold: bool = False
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    failed: int = 0

    async def save(self, store: Store[Any], data: Any) -> None:
        if ".outbox." in store.key:
            if self.hold:
                self.hold = False
                self.entered.set()
                await self.release.wait()
            if self.full:
                self.failed += 1
                raise OSError(errno.ENOSPC, "No space left on device")
        await _real_save(store, data)


@contextlib.contextmanager
def outbox_disk() -> Iterator[OutboxDisk]:
    disk = OutboxDisk()

    async def save(store: Store[Any], data: Any) -> None:
        await disk.save(store, data)

    with patch.object(Store, "async_save", save):
        yield disk


def manager(entry: MockConfigEntry) -> PaymentManager:
    payments = entry.runtime_data.payments
    assert payments is not None
    return payments


def after_enqueue(outbox: Outbox, then: Callable[[], None]) -> None:
    """Run ``then`` (in the outbox's thread) once a statement was queued."""
    enqueue = outbox.enqueue

    def enqueue_then(*args: Any, **kwargs: Any) -> Any:
        payment = enqueue(*args, **kwargs)
        then()
        return payment

    outbox.enqueue = enqueue_then  # type: ignore[method-assign]


def count_steps(outbox: Outbox) -> list[int]:
    """A counter of the outbox's steps from now on (``[n]``)."""
    steps = [0]
    step = outbox.step

    def counted(*args: Any, **kwargs: Any) -> Any:
        steps[0] += 1
        return step(*args, **kwargs)

    outbox.step = counted  # type: ignore[method-assign]
    return steps


def storage_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(
        "iota_energy", f"state_write_failed_{entry.entry_id}_outbox"
    )


@pytest.fixture
def manual_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    return entry_options | {CONF_AUTO_PAY: False}


@pytest.fixture
async def manual(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    manual_options: dict[str, Any],
) -> MockConfigEntry:
    """The paying entry with automatic payment off: the pay action pays."""
    return await set_up(hass, mock_config_entry, options=manual_options)


async def paid_alone(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    tangle: DevTangle,
    statement: dict[str, Any],
) -> None:
    """Wait for the confirmation: one payment, of ``statement`` alone, in full."""
    await until(hass, entry, PaymentStatus.CONFIRMED, tangle)
    assert [p.statement_ids for p in manager(entry).outbox.state.payments] == [
        (statement["id"],)
    ]
    assert bob_balance(tangle) == statement["due_iota"]


async def unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_payments_are_not_there_before_they_start(
    hass: HomeAssistant, manual: MockConfigEntry
) -> None:
    """A manager built but not started has no outbox to show (no made-up state)."""
    settings = PaymentSettings.from_entry(dict(manual.data), dict(manual.options))
    assert settings is not None
    fresh = PaymentManager(hass, manager(manual).coordinator, settings)
    with pytest.raises(RuntimeError, match="payments are not started"):
        fresh.snapshot()
    with pytest.raises(RuntimeError, match="payments are not started"):
        fresh.payments()
    await unload(hass, manual)


async def test_a_period_closed_on_a_full_disk_is_queued_when_there_is_room(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    """Nothing is queued unwritten; each tick tries again; then it is paid."""
    payments = manager(paying)
    with outbox_disk() as disk:
        disk.full = True
        statement = await close_a_period(hass, paying)
        await hass.async_block_till_done()
        assert disk.failed > 0, "the outbox was never written"
        assert payments.outbox.state.payments == []
        issue = storage_issue(hass, paying)
        assert issue is not None
        assert issue.translation_key == "state_write_failed"
        # A tick on a still full disk: still nothing queued, nothing sent.
        failed = disk.failed
        await payments._async_tick(reschedule=False)
        assert disk.failed > failed
        assert payments.outbox.state.payments == []
        # The user's pay action is told why, in their language.
        with pytest.raises(HomeAssistantError) as err:
            await call_action(hass, "pay", config_entry_id=paying.entry_id)
        assert err.value.translation_key == "outbox_not_written"
        assert payments.outbox.state.payments == []
        ledger = paying.runtime_data.coordinator.state.ledger
        assert ledger.get(statement["id"]).payment_state.value == "due"
    # Room again: the next tick queues the remembered statement, and pays it.
    await paid_alone(hass, paying, tangle, statement)


async def test_a_disk_full_after_queueing_stops_the_pay_action_before_signing(
    hass: HomeAssistant, manual: MockConfigEntry, tangle: DevTangle
) -> None:
    """The sign step cannot write: nothing is signed or sent, the user is told."""
    payments = manager(manual)
    statement = await close_a_period(hass, manual)
    with outbox_disk() as disk:
        after_enqueue(payments.outbox, lambda: setattr(disk, "full", True))
        with pytest.raises(HomeAssistantError) as err:
            await call_action(hass, "pay", config_entry_id=manual.entry_id)
        assert err.value.translation_key == "payment_not_written"
        (payment,) = payments.outbox.state.payments
        assert err.value.translation_placeholders == {"payment_id": payment.id}
        assert payment.status is PaymentStatus.QUEUED
        assert payment.bundle_hash is None
        assert storage_issue(hass, manual) is not None
    assert bob_balance(tangle) == 0
    await until(hass, manual, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == statement["due_iota"]
    await unload(hass, manual)


async def test_an_approval_on_a_full_disk_changes_nothing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    capped_options: dict[str, Any],
    tangle: DevTangle,
) -> None:
    entry = await set_up(hass, mock_config_entry, options=capped_options)
    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.AWAITING_APPROVAL)
    payments = manager(entry)
    (waiting,) = payments.outbox.state.payments
    with outbox_disk() as disk:
        disk.full = True
        with pytest.raises(HomeAssistantError) as err:
            await call_action(
                hass,
                "approve_payment",
                config_entry_id=entry.entry_id,
                payment_id=waiting.id,
            )
        assert err.value.translation_key == "outbox_not_written"
        assert payments.outbox.state.payments == [waiting]
    await call_action(
        hass, "approve_payment", config_entry_id=entry.entry_id, payment_id=waiting.id
    )
    await until(hass, entry, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == statement["due_iota"]
    await unload(hass, entry)


@pytest.mark.parametrize("write", ["written", "disk full"])
async def test_a_stop_waits_for_the_step_in_progress_and_acts_no_further(
    hass: HomeAssistant, manual: MockConfigEntry, tangle: DevTangle, write: str
) -> None:
    """Unloading mid-step: the step's write ends first, nothing is sent after.

    The payment is then paid after the next start, with the bundle signed
    before the stop (when its write was done) and never signed twice.
    """
    payments = manager(manual)
    statement = await close_a_period(hass, manual)
    sent = async_capture_events(hass, "iota_energy_payment_sent")
    with outbox_disk() as disk:
        # The write after queueing is the signing step's: hold it there.
        after_enqueue(payments.outbox, lambda: setattr(disk, "hold", True))
        pay = hass.async_create_task(
            call_action(hass, "pay", config_entry_id=manual.entry_id)
        )
        await disk.entered.wait()
        # The timer's tick comes meanwhile and waits for the step's lock.
        waiting_tick = hass.async_create_task(payments._async_tick(reschedule=True))
        stopping = hass.async_create_task(
            hass.config_entries.async_unload(manual.entry_id)
        )
        for _ in range(20):
            await asyncio.sleep(0)
        assert not stopping.done(), "the stop did not wait for the step"
        disk.full = write == "disk full"
        steps = count_steps(payments.outbox)
        disk.release.set()
        assert await stopping
        assert waiting_tick.done()
        if write == "written":
            answer = await pay
            (payment,) = payments.outbox.state.payments
            # Signed before the stop; not sent after it.
            assert answer["payment"]["status"] == "signed"
            assert payment.status is PaymentStatus.SIGNED
            signed_bundle = payment.bundle_hash
            assert signed_bundle is not None
        else:
            with pytest.raises(HomeAssistantError) as err:
                await pay
            assert err.value.translation_key == "payment_not_written"
            (payment,) = payments.outbox.state.payments
            assert payment.status is PaymentStatus.QUEUED
            signed_bundle = None
        assert steps == [0]
        # A timer that fired just as the entry stopped does nothing either.
        await payments._async_timer(dt_util.utcnow())
        payments._schedule_tick(0)
        assert payments._timer is None
        assert steps == [0]
    assert sent == []
    assert bob_balance(tangle) == 0

    assert await hass.config_entries.async_setup(manual.entry_id)
    await hass.async_block_till_done()
    resumed = manager(manual)
    (payment,) = resumed.outbox.state.payments
    if signed_bundle is not None:
        assert payment.bundle_hash == signed_bundle
    await until(hass, manual, PaymentStatus.CONFIRMED, tangle)
    (paid,) = resumed.outbox.state.payments
    assert signed_bundle in (None, paid.bundle_hash)
    assert bob_balance(tangle) == statement["due_iota"]
    await unload(hass, manual)


async def _one_in_flight(
    hass: HomeAssistant, entry: MockConfigEntry
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pay one statement (sent, not confirmed), then close another."""
    first = await close_a_period(hass, entry)
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "broadcast"
    second = await close_a_period(hass, entry)
    return first, second


async def test_a_pay_action_behind_a_payment_in_flight_answers_at_its_deadline(
    hass: HomeAssistant,
    manual: MockConfigEntry,
    tangle: DevTangle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Queued behind an unconfirmed payment: the answer says queued; no busy loop."""
    first, second = await _one_in_flight(hass, manual)
    payments = manager(manual)
    monkeypatch.setattr(payment_manager, "PAY_ACTION_TIMEOUT_S", 0.2)
    steps = count_steps(payments.outbox)
    response = await call_action(
        hass, "pay", config_entry_id=manual.entry_id, statement_ids=[second["id"]]
    )
    assert response["payment"]["status"] == "queued"
    assert response["payment"]["statement_ids"] == [second["id"]]
    # A tick, a pause (for the check the payment in flight waits for), one
    # more tick; a step more if the payment in flight was checked or promoted
    # meanwhile: not a loop of steps that cannot move (dozens in 0.2 s).
    assert 1 <= steps[0] <= 5
    in_flight, queued = payments.outbox.state.payments
    assert in_flight.status is PaymentStatus.BROADCAST
    assert queued.status is PaymentStatus.QUEUED
    await until(hass, manual, PaymentStatus.CONFIRMED, tangle)
    assert [p.status for p in payments.outbox.state.payments] == [
        PaymentStatus.CONFIRMED,
        PaymentStatus.CONFIRMED,
    ]
    assert bob_balance(tangle) == first["due_iota"] + second["due_iota"]
    await unload(hass, manual)


async def test_a_stop_ends_a_pay_action_waiting_behind_a_payment_in_flight(
    hass: HomeAssistant, manual: MockConfigEntry, tangle: DevTangle
) -> None:
    """The action answers "queued" at the stop; no tick runs after it."""
    _first, second = await _one_in_flight(hass, manual)
    payments = manager(manual)
    queued = asyncio.Event()
    after_enqueue(payments.outbox, lambda: hass.loop.call_soon_threadsafe(queued.set))
    pay = hass.async_create_task(
        call_action(
            hass, "pay", config_entry_id=manual.entry_id, statement_ids=[second["id"]]
        )
    )
    await queued.wait()
    ticks_after_stop = 0
    tick = payments._async_tick

    async def counted_tick(*, reschedule: bool) -> None:
        nonlocal ticks_after_stop
        ticks_after_stop += payments._stopped
        await tick(reschedule=reschedule)

    payments._async_tick = counted_tick  # type: ignore[method-assign]
    assert await hass.config_entries.async_unload(manual.entry_id)
    steps = count_steps(payments.outbox)
    response = await pay
    assert response["payment"]["status"] == "queued"
    assert response["payment"]["statement_ids"] == [second["id"]]
    assert ticks_after_stop == 0
    assert steps == [0]


async def test_a_tick_takes_a_bounded_number_of_steps(
    hass: HomeAssistant,
    manual: MockConfigEntry,
    tangle: DevTangle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At the step limit a tick ends; the next one goes on where it stopped."""
    monkeypatch.setattr(payment_manager, "MAX_STEPS_PER_TICK", 1)
    payments = manager(manual)
    # This test ticks by hand: the periodic check's ticks would add steps.
    await hass.async_block_till_done()
    assert payments._timer is not None
    payments._timer()
    payments._timer = None
    statement = await close_a_period(hass, manual)
    response = await call_action(hass, "pay", config_entry_id=manual.entry_id)
    # One step (signing); sending would have been the next.
    assert response["payment"]["status"] == "signed"
    steps = count_steps(payments.outbox)
    await payments._async_tick(reschedule=False)
    # The next tick: one step on (attaching or sending), not the rest of it.
    assert steps == [1]
    assert payments.outbox.state.payments[0].status is not PaymentStatus.SIGNED
    assert payments.outbox.state.payments[0].status is not PaymentStatus.CONFIRMED
    await until(hass, manual, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == statement["due_iota"]
    await unload(hass, manual)


async def pay_as_its_period_closes(
    hass: HomeAssistant, entry: MockConfigEntry
) -> tuple[dict[str, Any], ServiceValidationError]:
    """Pay a statement while automatic payment's queueing of it is held mid-write.

    Returns the statement and the pay action's error.
    """
    with outbox_disk() as disk:
        disk.hold = True  # automatic payment's queueing, held while it writes
        statement = await close_a_period(hass, entry)
        await disk.entered.wait()
        pay = hass.async_create_task(
            call_action(
                hass,
                "pay",
                config_entry_id=entry.entry_id,
                statement_ids=[statement["id"]],
            )
        )
        for _ in range(20):
            await asyncio.sleep(0)
        assert not pay.done()
        disk.release.set()
        with pytest.raises(ServiceValidationError) as err:
            await pay
    return statement, err.value


async def test_paying_a_statement_as_its_period_closes_pays_it_once(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    """Automatic payment queues it first: the action is told it has nothing to pay."""
    statement, error = await pay_as_its_period_closes(hass, paying)
    assert error.translation_key == "nothing_to_pay"
    await paid_alone(hass, paying, tangle, statement)


async def test_a_node_outage_is_retried_when_its_backoff_ends(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    """The timer waits for the node's retry time, then asks again."""
    payments = manager(paying)
    await close_a_period(hass, paying)
    await hass.async_block_till_done()
    tangle.stop()
    payments.outbox._follow.checked.clear()
    await payments._async_tick(reschedule=True)
    problem = payments.outbox.node_problem
    assert problem is not None
    assert problem.failures == 1
    assert payments._timer is not None
    # The retry time is reached (real time barely moves in the test).
    problem.retry_at = dt_util.utcnow() - timedelta(seconds=1)
    payments.outbox._follow.checked.clear()  # and so is the next check
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done()
    retried = payments.outbox.node_problem
    assert retried is not None
    assert retried.failures == 2
    assert payments.snapshot().problem == "node_unreachable"
    await unload(hass, paying)


async def test_diagnostics_show_when_the_node_began_failing_and_why(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    """A bug report during an outage: its start and the node's last error."""
    payments = manager(paying)
    await close_a_period(hass, paying)
    await hass.async_block_till_done()
    shown = await async_get_config_entry_diagnostics(hass, paying)
    assert shown["payments"]["node_problem"] is None
    tangle.stop()
    payments.outbox._follow.checked.clear()
    await payments._async_tick(reschedule=False)
    problem = payments.outbox.node_problem
    assert problem is not None

    shown = await async_get_config_entry_diagnostics(hass, paying)

    error = str(problem.last_error)
    assert error
    assert error != "None"
    assert shown["payments"]["node_problem"] == {
        "since": problem.since.isoformat(),
        "error": error,
    }
    json.dumps(shown)
    await unload(hass, paying)


async def test_the_node_issue_shows_the_url_without_its_credentials(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    tangle: DevTangle,
) -> None:
    """A node behind a proxy: the repair issue names it, never its password."""
    entry = await set_up(
        hass,
        mock_config_entry,
        data=entry_data
        | {CONF_NODE_URL: tangle.url.replace("//", "//meter:n0de-pa55word@")},
    )
    payments = manager(entry)
    await close_a_period(hass, entry)
    await hass.async_block_till_done()
    tangle.stop()
    payments.outbox._follow.checked.clear()
    await payments._async_tick(reschedule=False)
    problem = payments.outbox.node_problem
    assert problem is not None
    problem.since -= timedelta(minutes=11)
    await payments._async_tick(reschedule=False)
    issue = ir.async_get(hass).async_get_issue(
        "iota_energy", f"node_unreachable_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["url"] == tangle.url
    assert "n0de-pa55word" not in json.dumps(issue.translation_placeholders)
    await unload(hass, entry)
