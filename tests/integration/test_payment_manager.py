"""The payment shell's own logic, on a scripted rail: what it shows, fires and raises.

Home Assistant's real harness, the real metering and ledger; only the rail is
scripted (tests/core/test_outbox.py's ScriptedRail, with funds), so each
test says exactly which snapshot, event, repair issue, ledger state and
action error follows from each answer of the rail, in milliseconds. The
rails themselves pay for real in test_payments.py (devtangle) and
test_rebased_payments.py (devrebased).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
import threading
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
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
    CONF_CHAIN_ID,
    CONF_GRAPHQL_URL,
    CONF_MAX_PAYMENT,
    CONF_MNEMONIC,
    CONF_NETWORK,
    CONF_RAIL,
    CONF_RECEIVER,
    DOMAIN,
    NETWORK_CUSTOM,
    RAIL_REBASED,
)
from custom_components.iota_energy.core.legacy_node import NodeError
from custom_components.iota_energy.core.outbox import FollowSchedule, PaymentEventKind
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.rail import Funds, Progress
from custom_components.iota_energy.core.units import Amount, Denomination
from custom_components.iota_energy.payment_manager import (
    BALANCE_INTERVAL,
    NODE_ISSUE_AFTER,
    OUTBOX,
    PaymentManager,
    PaymentSnapshot,
)
from custom_components.iota_energy.persistence.document_slots import (
    StateCorruptError,
    slot_key,
)
from tests.core.test_outbox import ScriptedRail, short_of

from .helpers import call_action, set_up
from .test_payment_paths import (
    after_enqueue,
    count_steps,
    outbox_disk,
    pay_as_its_period_closes,
)
from .test_payments import close_a_period

NANOS = Denomination.NANOS
RECEIVER = "0x" + "b0" * 32
DEPOSIT = "0x" + "de" * 32
CHAIN = "6364aad5"
URL = "https://hotel:s3cret@graphql.example/graphql"


@dataclass
class FundedRail(ScriptedRail):
    """The scripted rail with a wallet: funds and a deposit address."""

    spendable: int = 7_000_999  # nanos: 7000 whole i
    total: int = 9_000_000
    funds_read: int = 0
    funds_error: Exception | None = None
    books: list[dict[str, Any]] = field(default_factory=list)
    deposit_books: list[dict[str, Any]] = field(default_factory=list)

    def deposit_address(self, book: Any) -> str:
        self.deposit_books.append(dict(book))
        return DEPOSIT

    def funds(self, book: Any) -> Funds:
        self.funds_read += 1
        self.books.append(dict(book))
        if self.funds_error is not None:
            raise self.funds_error
        return Funds(Amount(self.spendable, NANOS), Amount(self.total, NANOS))


@pytest.fixture
def rail(request: pytest.FixtureRequest) -> FundedRail:
    """A new rail for each test; a test may parametrize how it is built."""
    build: Callable[[], FundedRail] = getattr(request, "param", FundedRail)
    return build()


@pytest.fixture
def entry_data(entry_data: dict[str, Any]) -> dict[str, Any]:
    return entry_data | {
        CONF_RAIL: RAIL_REBASED,
        CONF_NETWORK: NETWORK_CUSTOM,
        CONF_GRAPHQL_URL: URL,
        CONF_MNEMONIC: "abandon " * 23 + "art",
        CONF_CHAIN_ID: CHAIN,
        CONF_RECEIVER: RECEIVER,
    }


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    return entry_options | {CONF_AUTO_PAY: False}


@pytest.fixture
def scripted(rail: FundedRail) -> Iterator[FundedRail]:
    with patch.object(PaymentManager, "_build_rail", lambda self: rail):
        yield rail


@pytest.fixture
def extra_options() -> dict[str, Any]:
    """Options on top of the entry's; a test may parametrize it."""
    return {}


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_options: dict[str, Any],
    extra_options: dict[str, Any],
    scripted: FundedRail,
) -> Any:
    ready = await set_up(hass, mock_config_entry, options=entry_options | extra_options)
    yield ready
    # Unloading waits for a tick in progress, never for ever.
    async with asyncio.timeout(60):
        assert await hass.config_entries.async_unload(ready.entry_id)
    await hass.async_block_till_done()


def manager(entry: MockConfigEntry) -> PaymentManager:
    payments = entry.runtime_data.payments
    assert payments is not None
    return payments


async def tick(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One tick, as if the check interval had passed."""
    payments = manager(entry)
    payments.outbox._follow.checked.clear()
    await payments._async_tick(reschedule=False)
    await hass.async_block_till_done()


def issue(
    hass: HomeAssistant, name: str, entry: MockConfigEntry
) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{name}_{entry.entry_id}")


def statement_state(entry: MockConfigEntry, statement_id: str) -> str:
    ledger = entry.runtime_data.coordinator.state.ledger
    return str(ledger.get(statement_id).payment_state.value)


async def test_a_new_wallet_shows_its_funds_and_nothing_else(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    await tick(hass, entry)
    assert manager(entry).snapshot() == PaymentSnapshot(
        state="idle",
        balance=7000,
        deposit_address=DEPOSIT,
        paid_total=0,
        last_paid_at=None,
        problem=None,
    )
    assert manager(entry).payments() == []
    # Read once, with the stored book, and not again within five minutes.
    assert rail.funds_read == 1
    assert rail.books[0]["reserved"] is None
    assert rail.deposit_books == rail.books == [manager(entry).outbox.book()]
    await tick(hass, entry)
    assert rail.funds_read == 1
    # The first step asked the network before anything else.
    assert rail.calls[0] == ("check_network", None)


async def test_a_payment_is_shown_fired_and_mirrored_at_every_step(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    sent = async_capture_events(hass, f"{DOMAIN}_payment_sent")
    confirmed = async_capture_events(hass, f"{DOMAIN}_payment_confirmed")
    heard: list[Any] = []
    remove = manager(entry).async_add_listener(heard.append)
    statement = await close_a_period(hass, entry)
    assert statement_state(entry, statement["id"]) == "due"

    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    payment = response["payment"]
    assert payment["status"] == "broadcast"
    assert payment["statement_ids"] == [statement["id"]]
    assert payment["amount_iota"] == statement["due_iota"] * 1000
    assert payment["amount_unit"] == "nanos"
    assert payment["transfer_id"] == "T1-P000001"
    assert statement_state(entry, statement["id"]) == "sending"
    assert manager(entry).snapshot().state == "broadcast"
    assert [e.data for e in sent] == [
        {"config_entry_id": entry.entry_id} | manager(entry).payments()[0].summary()
    ]
    assert [e.kind for e in heard] == [PaymentEventKind.SENT]

    rail.steps.append((Progress.CONFIRMED, Amount(1500, NANOS)))
    funds_read = rail.funds_read
    await tick(hass, entry)
    (done,) = manager(entry).payments()
    assert done.status is PaymentStatus.CONFIRMED
    assert [e.data["status"] for e in confirmed] == ["confirmed"]
    assert confirmed[0].data["config_entry_id"] == entry.entry_id
    assert confirmed[0].data["fee"] == 1500
    assert statement_state(entry, statement["id"]) == "paid"
    record = entry.runtime_data.coordinator.state.ledger.get(statement["id"])
    assert record.payment == {
        "payment_id": "P000001",
        "status": "confirmed",
        "transfer_id": "T1-P000001",
        "bundle_hash": None,
    }
    snapshot = manager(entry).snapshot()
    assert (snapshot.state, snapshot.paid_total, snapshot.last_paid_at) == (
        "confirmed",
        statement["due_iota"],
        done.confirmed_at,
    )
    assert snapshot.problem is None
    # A confirmation reads the balance again at once.
    assert rail.funds_read == funds_read + 1
    remove()
    assert [e.kind for e in heard] == [
        PaymentEventKind.SENT,
        PaymentEventKind.CONFIRMED,
    ]


async def test_a_shortfall_is_a_warning_issue_naming_what_is_missing(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    rail.signer = short_of(Amount(2500, NANOS))
    waiting = async_capture_events(hass, f"{DOMAIN}_payment_waiting")
    await close_a_period(hass, entry)
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "waiting_funds"
    assert response["payment"]["missing_iota"] == 2500
    assert manager(entry).snapshot().problem == "insufficient_funds"
    found = issue(hass, "insufficient_funds", entry)
    assert found is not None
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.translation_placeholders == {
        "missing": "0.000002500 IOTA",
        "payment_id": "P000001",
        "address": DEPOSIT,
    }
    assert [e.data["reason"] for e in waiting] == ["insufficient_funds"]
    rail.signer = None
    await tick(hass, entry)
    assert manager(entry).snapshot().state == "broadcast"
    assert manager(entry).snapshot().problem is None
    assert issue(hass, "insufficient_funds", entry) is None


@pytest.mark.parametrize("extra_options", [{CONF_MAX_PAYMENT: 1000}])
async def test_a_payment_over_its_cap_waits_for_the_approve_action(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    # The Rebased forms take caps in nanos: 1000 nanos is a cap of 1 i.
    await close_a_period(hass, entry)
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "awaiting_approval"
    assert response["payment"]["reason"] == "over_payment_cap"
    assert manager(entry).snapshot().problem == "awaiting_approval"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "approve_payment", config_entry_id=entry.entry_id, payment_id="P9"
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "payment_not_found"
    assert err.value.translation_placeholders == {"payment_id": "P9"}
    approved = await call_action(
        hass, "approve_payment", config_entry_id=entry.entry_id, payment_id="P000001"
    )
    assert approved["payment"]["status"] == "queued"
    assert approved["payment"]["approved"] is True
    await tick(hass, entry)
    assert manager(entry).snapshot().state == "broadcast"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass,
            "approve_payment",
            config_entry_id=entry.entry_id,
            payment_id="P000001",
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "payment_not_awaiting_approval"
    assert err.value.translation_placeholders == {"payment_id": "P000001"}


async def test_a_failed_payment_says_why_and_its_statement_can_be_paid_again(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    failed = async_capture_events(hass, f"{DOMAIN}_payment_failed")
    rail.receiver_errors[RECEIVER] = "receiver_format"
    statement = await close_a_period(hass, entry)
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "failed"
    assert [e.data["reason"] for e in failed] == ["receiver_format"]
    assert statement_state(entry, statement["id"]) == "failed"
    assert manager(entry).snapshot().problem == "receiver_format"
    assert manager(entry).snapshot().state == "failed"
    rail.receiver_errors.clear()
    again = await call_action(
        hass,
        "pay",
        config_entry_id=entry.entry_id,
        statement_ids=[statement["id"]],
    )
    assert again["payment"]["payment_id"] == "P000002"
    assert again["payment"]["status"] == "broadcast"
    assert manager(entry).snapshot().problem is None


async def test_the_pay_action_refuses_what_it_cannot_pay(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "nothing_to_pay"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "pay", config_entry_id=entry.entry_id, statement_ids=["S404"]
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "statement_not_found"
    assert err.value.translation_placeholders == {"statement_id": "S404"}
    statement = await close_a_period(hass, entry)
    await call_action(hass, "pay", config_entry_id=entry.entry_id)

    async def refused(ids: list[str] | None) -> ServiceValidationError:
        extra = {} if ids is None else {"statement_ids": ids}
        with pytest.raises(ServiceValidationError) as err:
            await call_action(hass, "pay", config_entry_id=entry.entry_id, **extra)
        assert err.value.translation_domain == DOMAIN
        return err.value

    def not_payable(state: str) -> dict[str, str]:
        return {"statement_id": statement["id"], "state": state}

    sending = await refused([statement["id"]])
    assert sending.translation_key == "statement_not_payable"
    assert sending.translation_placeholders == not_payable("sending")
    assert (await refused(None)).translation_key == "nothing_to_pay"
    # Paid: out of every open payment, and still nothing to pay.
    rail.steps.append(Progress.CONFIRMED)
    await tick(hass, entry)
    assert statement_state(entry, statement["id"]) == "paid"
    assert (await refused(None)).translation_key == "nothing_to_pay"
    paid = await refused([statement["id"]])
    assert paid.translation_key == "statement_not_payable"
    assert paid.translation_placeholders == not_payable("paid")
    assert [p.status for p in manager(entry).payments()] == [PaymentStatus.CONFIRMED]


DOWN = NodeError("chainIdentifier", "unreachable", "connection refused")


@pytest.mark.parametrize(
    "rail", [lambda: FundedRail(network=[DOWN] * 40)], ids=["down"], indirect=True
)
async def test_an_unreachable_node_fails_the_action_and_is_an_issue_after_10_min(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    await tick(hass, entry)
    problem = manager(entry).outbox.node_problem
    assert problem is not None
    assert problem.last_error is DOWN
    snapshot = manager(entry).snapshot()
    assert (snapshot.problem, snapshot.balance) == ("node_unreachable", None)
    assert rail.funds_read == 0  # not asked while the node is down
    delay = manager(entry)._next_delay()
    assert 0.5 <= delay <= (problem.retry_at - dt_util.utcnow()).total_seconds() + 0.1
    # The next tick is at the node's retry time, never sooner than 0.5 s.
    retry_at = problem.retry_at
    problem.retry_at = dt_util.utcnow() + timedelta(seconds=42)
    assert 41 <= manager(entry)._next_delay() <= 42
    problem.retry_at = dt_util.utcnow() - timedelta(seconds=1)
    assert manager(entry)._next_delay() == 0.5
    problem.retry_at = retry_at
    await close_a_period(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "payment_node_unreachable"
    assert err.value.translation_placeholders == {
        "payment_id": "P000001",
        "error": "chainIdentifier: unreachable (connection refused)",
    }
    # Down for a minute under ten: no issue yet; for ten: the issue.
    problem = manager(entry).outbox.node_problem
    assert problem is not None
    problem.since = dt_util.utcnow() - NODE_ISSUE_AFTER + timedelta(minutes=1)
    await tick(hass, entry)
    assert issue(hass, "node_unreachable", entry) is None
    problem.since = dt_util.utcnow() - NODE_ISSUE_AFTER
    await tick(hass, entry)
    found = issue(hass, "node_unreachable", entry)
    assert found is not None
    assert found.translation_placeholders == {
        "url": "https://graphql.example/graphql",
        "since": dt_util.as_local(problem.since).isoformat(),
    }
    rail.network.clear()
    problem.retry_at = dt_util.utcnow()
    await tick(hass, entry)
    assert manager(entry).outbox.node_problem is None
    assert issue(hass, "node_unreachable", entry) is None
    assert manager(entry).snapshot().problem is None
    assert manager(entry).snapshot().balance == 7000
    assert manager(entry)._next_delay() == 5.0


WRONG = NodeError("chainIdentifier", "wrong_network", "4c78adac")


@pytest.mark.parametrize(
    "rail", [lambda: FundedRail(network=[WRONG] * 40)], ids=["wrong"], indirect=True
)
async def test_a_service_of_another_network_is_its_own_issue_at_once(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    await tick(hass, entry)
    assert manager(entry).snapshot().problem == "wrong_network"
    found = issue(hass, "wrong_network", entry)
    assert found is not None
    assert found.translation_placeholders == {
        "title": "Garden lights",
        "url": "https://graphql.example/graphql",
        "expected": CHAIN,
        "served": "4c78adac",
    }
    await close_a_period(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "payment_wrong_network"
    assert err.value.translation_placeholders == {"payment_id": "P000001"}
    rail.network.clear()
    manager(entry).outbox.node_problem = None
    await tick(hass, entry)
    assert issue(hass, "wrong_network", entry) is None


@pytest.mark.parametrize(
    "rail",
    [lambda: FundedRail(funds_error=NodeError("coins", "timeout"))],
    ids=["timeout"],
    indirect=True,
)
async def test_a_balance_that_cannot_be_read_is_shown_as_unknown(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    rail: FundedRail,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    await tick(hass, entry)
    snapshot = manager(entry).snapshot()
    assert (snapshot.balance, snapshot.deposit_address) == (None, None)
    assert "Balance not read: NodeError" in [r.getMessage() for r in caplog.records]
    # Not remembered as read: the next tick asks again.
    reads = rail.funds_read
    await tick(hass, entry)
    assert rail.funds_read == reads + 1
    rail.funds_error = None
    await tick(hass, entry)
    assert manager(entry).snapshot().balance == 7000


@pytest.mark.parametrize("extra_options", [{CONF_AUTO_PAY: True}])
async def test_automatic_payment_pays_each_closed_period(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    (payment,) = manager(entry).payments()
    assert payment.statement_ids == (statement["id"],)
    assert payment.status is PaymentStatus.BROADCAST


@pytest.mark.parametrize("extra_options", [{CONF_MAX_PAYMENT: 1000}])
async def test_an_approval_goes_ahead_at_once(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Approving schedules a tick now, not at the next check."""
    await close_a_period(hass, entry)
    await call_action(hass, "pay", config_entry_id=entry.entry_id)
    await call_action(
        hass, "approve_payment", config_entry_id=entry.entry_id, payment_id="P000001"
    )
    assert manager(entry).snapshot().state == "queued"
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert manager(entry).snapshot().state == "broadcast"


@pytest.mark.parametrize("extra_options", [{CONF_MAX_PAYMENT: 1000}])
async def test_actions_on_a_full_disk_change_nothing_and_say_so(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    statement = await close_a_period(hass, entry)
    with outbox_disk() as disk:
        disk.full = True
        with pytest.raises(HomeAssistantError) as err:
            await call_action(hass, "pay", config_entry_id=entry.entry_id)
        assert err.value.translation_domain == DOMAIN
        assert err.value.translation_key == "outbox_not_written"
        assert manager(entry).payments() == []
        assert statement_state(entry, statement["id"]) == "due"
    await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert manager(entry).snapshot().state == "awaiting_approval"
    with outbox_disk() as disk:
        disk.full = True
        with pytest.raises(HomeAssistantError) as err:
            await call_action(
                hass,
                "approve_payment",
                config_entry_id=entry.entry_id,
                payment_id="P000001",
            )
        assert err.value.translation_domain == DOMAIN
        assert err.value.translation_key == "outbox_not_written"
        (waiting,) = manager(entry).payments()
        assert (waiting.status, waiting.approved) == (
            PaymentStatus.AWAITING_APPROVAL,
            False,
        )


@pytest.mark.parametrize("extra_options", [{CONF_AUTO_PAY: True}])
async def test_a_period_closed_on_a_full_disk_is_paid_once_there_is_room(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    with outbox_disk() as disk:
        disk.full = True
        first = await close_a_period(hass, entry)
        await hass.async_block_till_done()
        assert manager(entry).payments() == []
        await tick(hass, entry)  # still full: still nothing queued
        assert manager(entry).payments() == []
    second = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await tick(hass, entry)
    queued = sorted(s for p in manager(entry).payments() for s in p.statement_ids)
    assert queued == sorted([first["id"], second["id"]])
    assert statement_state(entry, first["id"]) == "sending"


async def test_a_pay_action_behind_a_payment_in_flight_waits_for_it(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    """It waits one check interval (5 s, real time), then pays, within its deadline."""
    earlier = await close_a_period(hass, entry)
    statement = await close_a_period(hass, entry)
    first = await call_action(
        hass, "pay", config_entry_id=entry.entry_id, statement_ids=[earlier["id"]]
    )
    assert first["payment"]["status"] == "broadcast"
    rail.steps.append(Progress.CONFIRMED)
    loop = hass.loop
    started = loop.time()
    second = await call_action(
        hass, "pay", config_entry_id=entry.entry_id, statement_ids=[statement["id"]]
    )
    assert loop.time() - started >= 4.5
    assert second["payment"]["statement_ids"] == [statement["id"]]
    assert second["payment"]["status"] == "broadcast"
    assert [p.status for p in manager(entry).payments()] == [
        PaymentStatus.CONFIRMED,
        PaymentStatus.BROADCAST,
    ]


async def test_a_pay_action_behind_a_stuck_payment_answers_at_its_deadline(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    rail: FundedRail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not before its deadline, with the payment still queued: it pays later."""
    earlier = await close_a_period(hass, entry)
    statement = await close_a_period(hass, entry)
    await call_action(
        hass, "pay", config_entry_id=entry.entry_id, statement_ids=[earlier["id"]]
    )
    # The deadline spans several checks of the payment in flight.
    monkeypatch.setattr(payment_manager, "PAY_ACTION_TIMEOUT_S", 1.5)
    payments = manager(entry)
    payments._schedule = FollowSchedule(check_interval=timedelta(seconds=0.25))
    loop = hass.loop
    started = loop.time()
    async with asyncio.timeout(60):
        second = await call_action(
            hass, "pay", config_entry_id=entry.entry_id, statement_ids=[statement["id"]]
        )
    assert loop.time() - started >= 1.5
    assert second["payment"]["payment_id"] == "P000002"
    assert second["payment"]["statement_ids"] == [statement["id"]]
    assert second["payment"]["status"] == "queued"
    assert [p.status for p in payments.payments()] == [
        PaymentStatus.BROADCAST,
        PaymentStatus.QUEUED,
    ]
    assert len(rail.asked("sign")) == 1
    # What was sent counts towards the local day's cap.
    (day,) = payments.outbox.state.sent_by_day
    assert day == dt_util.now().date().isoformat()


@pytest.mark.parametrize("extra_options", [{CONF_AUTO_PAY: True}])
async def test_a_statement_queued_by_automatic_payment_meanwhile_is_not_paid_twice(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    """The pay action finds it due, then waits for the queueing that takes it."""
    statement, error = await pay_as_its_period_closes(hass, entry)
    assert error.translation_domain == DOMAIN
    assert error.translation_key == "nothing_to_pay"
    assert error.translation_placeholders is None
    await tick(hass, entry)
    (payment,) = manager(entry).payments()
    assert payment.statement_ids == (statement["id"],)
    assert len(rail.asked("sign")) == 1


async def test_a_stopped_manager_takes_no_more_steps(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, scripted: FundedRail
) -> None:
    entry = await set_up(hass, mock_config_entry)
    payments = manager(entry)
    await tick(hass, entry)
    calls = len(scripted.calls)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await payments._async_tick(reschedule=True)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10))
    await hass.async_block_till_done()
    assert len(scripted.calls) == calls
    assert payments._timer is None


async def test_a_pay_action_whose_signature_cannot_be_written_says_so(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    """Queued, then the disk fills: nothing is signed; the user is told which one."""
    await close_a_period(hass, entry)
    with outbox_disk() as disk:
        after_enqueue(manager(entry).outbox, lambda: setattr(disk, "full", True))
        with pytest.raises(HomeAssistantError) as err:
            await call_action(hass, "pay", config_entry_id=entry.entry_id)
        # The background tick fails the same way and still arms the next.
        failed = disk.failed
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
        await hass.async_block_till_done()
        assert disk.failed > failed
        assert manager(entry)._timer is not None
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "payment_not_written"
    assert err.value.translation_placeholders == {"payment_id": "P000001"}
    (payment,) = manager(entry).payments()
    assert payment.status is PaymentStatus.QUEUED
    assert payment.transfer is None


async def test_a_manager_started_again_goes_on_from_its_outbox(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    """The entry's own document, read back; the schedule it was given."""
    await close_a_period(hass, entry)
    await call_action(hass, "pay", config_entry_id=entry.entry_id)
    running = manager(entry)
    schedule = FollowSchedule(check_interval=timedelta(seconds=7))
    again = PaymentManager(
        hass, running.coordinator, running.settings, schedule=schedule
    )
    with pytest.raises(RuntimeError, match=r"^payments are not started$"):
        again.outbox  # noqa: B018
    await again.async_start()
    try:
        assert again.payments() == running.payments()
        assert [p.status for p in again.payments()] == [PaymentStatus.BROADCAST]
        assert again.outbox.schedule is schedule
    finally:
        await again.async_stop()


def _damage(storage: Path, entry_id: str) -> None:
    for slot in "ab":
        (storage / slot_key(entry_id, OUTBOX, slot)).write_text("{", "utf-8")


async def test_an_outbox_that_cannot_be_read_is_not_started_empty(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    rail: FundedRail,
    private_config_dir: Path,
) -> None:
    """Starting afresh could pay a statement twice: it refuses, and says so."""
    await close_a_period(hass, entry)
    await call_action(hass, "pay", config_entry_id=entry.entry_id)
    running = manager(entry)
    _damage(private_config_dir / ".storage", entry.entry_id)
    again = PaymentManager(hass, running.coordinator, running.settings)
    with pytest.raises(StateCorruptError) as err:
        await again.async_start()
    assert err.value.translation_key == "state_corrupt"
    for slot in "ab":
        raised = ir.async_get(hass).async_get_issue(
            DOMAIN, f"state_corrupt_{entry.entry_id}_{OUTBOX}_{slot}"
        )
        assert raised is not None
        assert raised.translation_key == "state_corrupt"
        assert raised.severity is ir.IssueSeverity.ERROR


async def test_a_manager_started_with_automatic_payment_pays_what_is_due_at_once(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    """Periods closed while it was off are queued at start; the first tick is now."""
    statement = await close_a_period(hass, entry)
    running = manager(entry)
    assert running.payments() == []
    settings = replace(running.settings, auto_pay=True)
    again = PaymentManager(hass, running.coordinator, settings)
    await again.async_start()
    try:
        (queued,) = again.payments()
        assert queued.statement_ids == (statement["id"],)
        assert queued.status is PaymentStatus.QUEUED
        async_fire_time_changed(hass, dt_util.utcnow())
        await hass.async_block_till_done()
        (sent,) = again.payments()
        assert sent.status is PaymentStatus.BROADCAST
    finally:
        await again.async_stop()


async def test_a_new_entry_writes_its_outbox_before_any_payment(
    hass: HomeAssistant, entry: MockConfigEntry, private_config_dir: Path
) -> None:
    """The key bookkeeping is on disk before any key is used."""
    storage = private_config_dir / ".storage"
    names = {path.name for path in await hass.async_add_executor_job(storage.iterdir)}
    assert {slot_key(entry.entry_id, OUTBOX, slot) for slot in "ab"} <= names


async def test_the_background_tick_always_arms_the_next(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    payments = manager(entry)
    armed = payments._timer
    assert armed is not None
    steps = count_steps(payments.outbox)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()
    assert payments._timer is not None
    assert payments._timer is not armed
    # Nothing to do: one step that changes nothing ends the tick.
    assert steps == [1]


async def test_stopping_waits_for_every_tick_in_progress(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    """Not only for the last one to start: a tick that began first may end last."""
    gate, entered = threading.Event(), threading.Event()
    read = rail.funds
    calls: list[None] = []

    def funds(book: Any) -> Funds:
        calls.append(None)
        if len(calls) == 1:
            entered.set()
            gate.wait(30)
        return read(book)

    rail.funds = funds  # type: ignore[method-assign]
    payments = manager(entry)
    payments._funds_at = None  # both ticks read the funds
    first = hass.async_create_task(payments._async_tick(reschedule=False))
    try:
        assert await hass.async_add_executor_job(entered.wait, 10)
        await payments._async_tick(reschedule=False)
        stopping = hass.async_create_task(payments.async_stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()
    finally:
        gate.set()
    await first
    await stopping
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("age", "read_again"),
    [(BALANCE_INTERVAL - timedelta(microseconds=1), False), (BALANCE_INTERVAL, True)],
    ids=["just_under", "five_minutes"],
)
async def test_the_balance_is_read_again_after_five_minutes(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    rail: FundedRail,
    monkeypatch: pytest.MonkeyPatch,
    age: timedelta,
    *,
    read_again: bool,
) -> None:
    payments = manager(entry)
    await tick(hass, entry)
    now = dt_util.utcnow()
    clock = SimpleNamespace(utcnow=lambda: now, as_local=dt_util.as_local)
    monkeypatch.setattr(payment_manager, "dt_util", clock)
    payments._funds_at = now - age
    reads = rail.funds_read
    await tick(hass, entry)
    assert rail.funds_read == reads + read_again


async def test_a_failure_without_a_reason_is_shown_as_a_failed_payment(
    hass: HomeAssistant, entry: MockConfigEntry, rail: FundedRail
) -> None:
    rail.receiver_errors[RECEIVER] = ""
    await close_a_period(hass, entry)
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "failed"
    assert manager(entry).snapshot().problem == "payment_failed"
