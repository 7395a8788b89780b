"""Payments inside Home Assistant: a devtangle node over real HTTP, real PyOTA.

The payer's seed is a test constant; every test that could leak it checks
that it appears nowhere a user or a bug report could see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any

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

from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_MAX_PAYMENT,
    CONF_MWM,
    CONF_NODE_URL,
    CONF_RECEIVER,
    CONF_SEED,
    CONF_TAG,
)
from custom_components.iota_energy.core.legacy_node import LegacyNode
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.worker_pool import WorkerLost
from custom_components.iota_energy.diagnostics import (
    async_get_config_entry_diagnostics,
)
from devtangle.server import DevTangle
from tests.devtangle.conftest import (  # noqa: F401 - loopback_sockets is a fixture
    BOB_SEED,
    TEST_MWM,
    address_of,
    loopback_sockets,
)
from tests.payments.conftest import PAYER_FUNDS, PAYER_SEED, funded_tangle, receiver

from .helpers import call_action, entity_id, refresh, set_up, wait_for_more_energy

BOB = address_of(BOB_SEED, 0)


@pytest.fixture
def tangle(tmp_path: Path) -> Iterator[DevTangle]:
    with funded_tangle(tmp_path) as node:
        yield node


@pytest.fixture
def entry_data(entry_data: dict[str, Any], tangle: DevTangle) -> dict[str, Any]:
    return entry_data | {
        CONF_NODE_URL: tangle.url,
        CONF_SEED: PAYER_SEED,
        CONF_RECEIVER: receiver(),
        CONF_MWM: TEST_MWM,
    }


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    return entry_options | {CONF_AUTO_PAY: True, CONF_TAG: "HOTELIOTA"}


@pytest.fixture
def paying(init_integration: MockConfigEntry) -> MockConfigEntry:
    """The entry, set up with payments on."""
    return init_integration


async def tick(hass: HomeAssistant, seconds: float = 6) -> None:
    """Let the payment timer run as if ``seconds`` had passed."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


async def until(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    status: PaymentStatus,
    tangle: DevTangle | None = None,
) -> None:
    payments = entry.runtime_data.payments
    assert payments is not None
    for _ in range(60):
        current = payments.outbox.state.payments
        if current and current[-1].status is status:
            return
        if tangle is not None:
            tangle.node.issue_milestone()
        # As if the 5 s check interval had passed (real time barely moves here).
        payments.outbox._follow.checked.clear()
        await payments._async_tick(reschedule=False)
        await hass.async_block_till_done()
    raise AssertionError(f"never {status}: {payments.outbox.state.payments}")


async def close_a_period(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    meter = entry.runtime_data.coordinator.state.meter
    start = meter.snapshot().energy_j
    # 0.02 J is 4 IOTA at the test price: something is due.
    while meter.snapshot().energy_j - start < Fraction(1, 50):
        await wait_for_more_energy(entry)
    response = await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    statement: dict[str, Any] = response["statement"]
    assert statement["due_iota"] > 0
    return statement


def bob_balance(tangle: DevTangle) -> int:
    return LegacyNode(tangle.url).balances([BOB])[0]


async def test_a_closed_period_is_paid_automatically(
    hass: HomeAssistant,
    paying: MockConfigEntry,
    tangle: DevTangle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sent = async_capture_events(hass, "iota_energy_payment_sent")
    confirmed = async_capture_events(hass, "iota_energy_payment_confirmed")
    statement = await close_a_period(hass, paying)
    await hass.async_block_till_done()

    await until(hass, paying, PaymentStatus.BROADCAST)
    assert len(sent) == 1
    assert sent[0].data["statement_ids"] == [statement["id"]]
    assert sent[0].data["amount_iota"] == statement["due_iota"]
    assert sent[0].data["amount_unit"] == "i"
    bundle_hash = sent[0].data["bundle_hash"]
    assert len(bundle_hash) == 81

    await until(hass, paying, PaymentStatus.CONFIRMED, tangle)
    assert len(confirmed) == 1
    assert confirmed[0].data["bundle_hash"] == bundle_hash
    assert bob_balance(tangle) == statement["due_iota"]

    # The ledger knows: paid, with the bundle hash.
    response = await call_action(
        hass, "get_statements", config_entry_id=paying.entry_id
    )
    (shown,) = [s for s in response["statements"] if s["id"] == statement["id"]]
    assert shown["payment_state"] == "paid"
    assert shown["payment"]["bundle_hash"] == bundle_hash

    # The dashboard knows.
    paying.runtime_data.payments._funds_at = None
    await paying.runtime_data.payments._async_refresh_funds()
    await refresh(hass, paying)
    assert hass.states.get(entity_id(hass, paying, "total_paid")).state == str(
        statement["due_iota"]
    )
    assert (
        hass.states.get(entity_id(hass, paying, "payment_state")).state == "confirmed"
    )
    assert hass.states.get(entity_id(hass, paying, "last_payment")).state not in (
        "unknown",
        "unavailable",
    )
    assert hass.states.get(entity_id(hass, paying, "wallet_balance")).state == str(
        PAYER_FUNDS - statement["due_iota"]
    )
    problem = hass.states.get(
        entity_id(hass, paying, "payment_problem", "binary_sensor")
    )
    assert problem.state == "off"
    event_state = hass.states.get(entity_id(hass, paying, "payments", "event"))
    assert event_state.attributes["event_type"] == "confirmed"
    assert event_state.attributes["bundle_hash"] == bundle_hash
    assert event_state.attributes["amount_unit"] == "i"

    # The seed is nowhere a user or a bug report could see it.
    diagnostics = await async_get_config_entry_diagnostics(hass, paying)
    visible = [
        json.dumps(diagnostics),
        caplog.text,
        json.dumps([e.data for e in sent + confirmed]),
        json.dumps(
            [dict(s.attributes) | {"state": s.state} for s in hass.states.async_all()],
            default=str,
        ),
        repr(paying.runtime_data.payments.settings),
        repr(paying.runtime_data.payments.outbox.wallet),
    ]
    leaks = [index for index, text in enumerate(visible) if PAYER_SEED in text]
    # Says where, never what: a failing test must not print the seed either.
    assert leaks == [], f"the seed leaked into item(s) {leaks}"
    assert diagnostics["entry"]["data"][CONF_SEED] == "**REDACTED**"
    assert diagnostics["payments"]["recent"][0]["bundle_hash"] == bundle_hash


async def test_pay_action_answers_with_the_bundle(
    hass: HomeAssistant,
    entry_options: dict[str, Any],
    tangle: DevTangle,
    mock_config_entry: MockConfigEntry,
) -> None:
    entry = await set_up(
        hass, mock_config_entry, options=entry_options | {CONF_AUTO_PAY: False}
    )
    first = await close_a_period(hass, entry)
    second = await close_a_period(hass, entry)
    payments = entry.runtime_data.payments
    assert payments is not None
    assert payments.outbox.state.payments == []  # automatic payment is off

    response = await call_action(
        hass, "pay", config_entry_id=entry.entry_id, statement_ids=[second["id"]]
    )
    payment = response["payment"]
    assert payment["statement_ids"] == [second["id"]]
    assert payment["amount_iota"] == second["due_iota"]
    assert payment["status"] == "broadcast"
    assert len(payment["bundle_hash"]) == 81

    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "pay", config_entry_id=entry.entry_id, statement_ids=[second["id"]]
        )
    assert err.value.translation_key == "statement_not_payable"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "pay", config_entry_id=entry.entry_id, statement_ids=["S999999"]
        )
    assert err.value.translation_key == "statement_not_found"

    await until(hass, entry, PaymentStatus.CONFIRMED, tangle)
    rest = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert rest["payment"]["statement_ids"] == [first["id"]]
    await until(hass, entry, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == first["due_iota"] + second["due_iota"]
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "nothing_to_pay"
    history = await call_action(hass, "get_payments", config_entry_id=entry.entry_id)
    assert [p["status"] for p in history["payments"]] == ["confirmed", "confirmed"]
    newest = await call_action(
        hass, "get_payments", config_entry_id=entry.entry_id, limit=1
    )
    assert newest["payments"] == history["payments"][1:]
    assert newest["payments"][0]["statement_ids"] == [first["id"]]
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def capped_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    return entry_options | {CONF_MAX_PAYMENT: 1}


async def test_a_payment_over_the_cap_waits_for_approval(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    capped_options: dict[str, Any],
    tangle: DevTangle,
) -> None:
    entry = await set_up(hass, mock_config_entry, options=capped_options)
    waiting = async_capture_events(hass, "iota_energy_payment_waiting")
    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.AWAITING_APPROVAL)
    await refresh(hass, entry)
    problem = hass.states.get(
        entity_id(hass, entry, "payment_problem", "binary_sensor")
    )
    assert problem.state == "on"
    assert problem.attributes["reason"] == "awaiting_approval"
    assert waiting[0].data["reason"] == "over_payment_cap"
    payment_id = waiting[0].data["payment_id"]
    assert bob_balance(tangle) == 0

    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass,
            "approve_payment",
            config_entry_id=entry.entry_id,
            payment_id="P999999",
        )
    assert err.value.translation_key == "payment_not_found"
    approved = await call_action(
        hass, "approve_payment", config_entry_id=entry.entry_id, payment_id=payment_id
    )
    assert approved["payment"]["payment_id"] == payment_id
    assert approved["payment"]["amount_iota"] == statement["due_iota"]
    assert approved["payment"]["status"] == "queued"
    await until(hass, entry, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == statement["due_iota"]
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass,
            "approve_payment",
            config_entry_id=entry.entry_id,
            payment_id=payment_id,
        )
    assert err.value.translation_key == "payment_not_awaiting_approval"
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_restart_mid_payment_resumes_the_same_bundle(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    statement = await close_a_period(hass, paying)
    await hass.async_block_till_done()
    await until(hass, paying, PaymentStatus.BROADCAST)
    payments = paying.runtime_data.payments
    bundle_hash = payments.outbox.state.payments[-1].bundle_hash

    assert await hass.config_entries.async_reload(paying.entry_id)
    await hass.async_block_till_done()

    resumed = paying.runtime_data.payments
    assert resumed is not payments
    assert resumed.outbox.state.payments[-1].bundle_hash == bundle_hash
    await until(hass, paying, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == statement["due_iota"]
    ledger = paying.runtime_data.coordinator.state.ledger
    assert ledger.get(statement["id"]).payment_state.value == "paid"


async def test_insufficient_funds_and_a_lasting_outage_raise_repairs(
    hass: HomeAssistant,
    tmp_path: Path,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
) -> None:
    # A wallet with nothing in it, on a node of its own.
    empty = DevTangle(
        tmp_path / "empty.sqlite3",
        genesis=[],
        port=0,
        mwm=TEST_MWM,
        milestone_interval=None,
    ).start()
    entry = await set_up(
        hass, mock_config_entry, data=entry_data | {CONF_NODE_URL: empty.url}
    )
    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.WAITING_FUNDS)
    issues = ir.async_get(hass)
    payments = entry.runtime_data.payments
    await payments._async_tick(reschedule=False)
    issue = issues.async_get_issue(
        "iota_energy", f"insufficient_funds_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders["missing"] == f"{statement['due_iota']} i"
    deposit = issue.translation_placeholders["address"]
    assert deposit[:81] == address_of(PAYER_SEED, 0)
    empty.stop()
    # The node is gone: retried, and after ten minutes a repair issue.
    payments.outbox._follow.checked.clear()  # the next funds check is due
    await payments._async_tick(reschedule=False)
    problem = payments.outbox.node_problem
    assert problem is not None
    assert problem.last_error.kind == "unreachable"
    assert (
        issues.async_get_issue("iota_energy", f"node_unreachable_{entry.entry_id}")
        is None
    )
    problem.since -= timedelta(minutes=11)
    await payments._async_tick(reschedule=False)
    node_issue = issues.async_get_issue(
        "iota_energy", f"node_unreachable_{entry.entry_id}"
    )
    assert node_issue is not None
    waiting = payments.outbox.state.payments[-1]
    assert waiting.status is PaymentStatus.WAITING_FUNDS
    with pytest.raises(HomeAssistantError):
        await call_action(
            hass, "pay", config_entry_id=entry.entry_id, statement_ids=["nope"]
        )
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_the_wallet_works_in_its_own_process_and_stops_with_the_entry(
    hass: HomeAssistant,
    paying: MockConfigEntry,
    tangle: DevTangle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Signing and address derivation break in Home Assistant's process: the
    # payment still goes through, so they ran in the worker.
    iota = import_pyota()

    def not_here(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the wallet's CPU-bound work ran in this process")

    monkeypatch.setattr(iota.ProposedBundle, "sign_inputs", not_here)
    addresses = importlib.import_module("iota.crypto.addresses")
    monkeypatch.setattr(addresses.AddressGenerator, "get_addresses", not_here)
    statement = await close_a_period(hass, paying)
    await hass.async_block_till_done()
    await until(hass, paying, PaymentStatus.CONFIRMED, tangle)
    assert bob_balance(tangle) == statement["due_iota"]

    payments = paying.runtime_data.payments
    worker = payments._worker
    assert worker is not None
    assert worker.starts == 1
    pid = await hass.async_add_executor_job(worker.run, os.getpid)
    assert pid != os.getpid()

    assert await hass.config_entries.async_unload(paying.entry_id)
    await hass.async_block_till_done()

    assert not worker.started
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped
    with pytest.raises(WorkerLost):
        await hass.async_add_executor_job(worker.run, os.getpid)


@pytest.fixture
def short_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox keeps one finished payment, so three cross the boundary."""
    monkeypatch.setattr("custom_components.iota_energy.core.outbox.HISTORY_LIMIT", 1)


async def test_a_restart_after_pruning_pays_no_statement_twice(
    hass: HomeAssistant,
    short_history: None,
    paying: MockConfigEntry,
    tangle: DevTangle,
) -> None:
    statements = []
    for _ in range(3):
        statement = await close_a_period(hass, paying)
        await hass.async_block_till_done()
        payments = paying.runtime_data.payments
        assert payments.outbox.state.payments[-1].statement_ids == (statement["id"],)
        await until(hass, paying, PaymentStatus.CONFIRMED, tangle)
        statements.append(statement)
    paid = sum(s["due_iota"] for s in statements)
    assert bob_balance(tangle) == paid
    assert [p.id for p in payments.outbox.state.payments] == ["P000003"]

    assert await hass.config_entries.async_reload(paying.entry_id)
    await hass.async_block_till_done()
    resumed = paying.runtime_data.payments
    assert resumed is not payments
    for _ in range(5):
        tangle.node.issue_milestone()
        await tick(hass)
    # Nothing queued again: the ledger, not the pruned document, says paid.
    assert [p.id for p in resumed.outbox.state.payments] == ["P000003"]
    assert bob_balance(tangle) == paid
    assert resumed.snapshot().paid_total == paid
    response = await call_action(
        hass, "get_statements", config_entry_id=paying.entry_id
    )
    shown = {s["id"]: s for s in response["statements"]}
    for number, statement in enumerate(statements, start=1):
        assert shown[statement["id"]]["payment_state"] == "paid"
        assert shown[statement["id"]]["payment"]["payment_id"] == f"P{number:06d}"
        with pytest.raises(ServiceValidationError) as err:
            await call_action(
                hass,
                "pay",
                config_entry_id=paying.entry_id,
                statement_ids=[statement["id"]],
            )
        assert err.value.translation_key == "statement_not_payable"
    history = await call_action(hass, "get_payments", config_entry_id=paying.entry_id)
    assert [p["payment_id"] for p in history["payments"]] == ["P000003"]
    await hass.config_entries.async_unload(paying.entry_id)
    await hass.async_block_till_done()
