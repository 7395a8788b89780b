"""Payments on the IOTA Rebased rail inside Home Assistant.

The real iota-sdk against devrebased over HTTP on 127.0.0.1. The payer's
mnemonic is a test constant; the test checks it appears nowhere a user or a
bug report could see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
import json
import logging
from pathlib import Path
import socket
import sys
import types
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_CHAIN_ID,
    CONF_GRAPHQL_URL,
    CONF_KEY_PATH,
    CONF_MAX_DAILY,
    CONF_MAX_GAS_BUDGET,
    CONF_MAX_PAYMENT,
    CONF_MNEMONIC,
    CONF_NETWORK,
    CONF_RAIL,
    CONF_RECEIVER,
    DOMAIN,
    NETWORK_CUSTOM,
    RAIL_REBASED,
)
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.rebased_keys import DEFAULT_PATH, RebasedKey
from custom_components.iota_energy.core.rebased_node import RebasedNode
from custom_components.iota_energy.core.rebased_rail import RebasedRail
from custom_components.iota_energy.payment_manager import PaymentSettings
from devrebased.ledger import CHAIN_ID, REFERENCE_GAS_PRICE, TRANSFER_GAS_UNITS
from tests.devrebased.conftest import (  # noqa: F401 - loopback_sockets is a fixture
    PAYER_COINS,
    PAYER_MNEMONIC,
    RECEIVER,
    loopback_sockets,
)

from .helpers import call_action, entity_id, refresh, set_up, wait_for_samples
from .test_payments import close_a_period, until

GAS_FEE = TRANSFER_GAS_UNITS * REFERENCE_GAS_PRICE
INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / DOMAIN


@pytest.fixture
def coins() -> list[int]:
    """The payer's coin objects (nanos); a test may parametrize it."""
    return list(PAYER_COINS)


@pytest.fixture
def chain(coins: list[int]) -> Iterator[Any]:
    from devrebased.server import DevRebased

    payer = RebasedKey.from_mnemonic(PAYER_MNEMONIC)
    node = DevRebased({payer.address: coins}).start()
    yield node
    node.stop()


@pytest.fixture
def graphql_url(chain: Any) -> str:
    """Where the entry pays; a test may parametrize it."""
    url: str = chain.url
    return url


@pytest.fixture
def receiver() -> str:
    """Whom the entry pays; a test may parametrize it."""
    return RECEIVER


@pytest.fixture
def chain_id() -> str:
    """The chain the entry was set up on; a test may parametrize it."""
    return CHAIN_ID


@pytest.fixture
def mnemonic() -> str:
    """The mnemonic the entry stores; a test may parametrize it."""
    return PAYER_MNEMONIC


@pytest.fixture
def key_path() -> str:
    """The key path the entry stores; a test may parametrize it."""
    return DEFAULT_PATH


@pytest.fixture
def entry_data(
    entry_data: dict[str, Any],
    graphql_url: str,
    receiver: str,
    chain_id: str,
    mnemonic: str,
    key_path: str,
) -> dict[str, Any]:
    return entry_data | {
        CONF_KEY_PATH: key_path,
        CONF_CHAIN_ID: chain_id,
        CONF_RAIL: RAIL_REBASED,
        CONF_NETWORK: NETWORK_CUSTOM,
        CONF_GRAPHQL_URL: graphql_url,
        CONF_MNEMONIC: mnemonic,
        CONF_RECEIVER: receiver,
        CONF_MAX_GAS_BUDGET: 10**8,
    }


@pytest.fixture
def entry_options(entry_options: dict[str, Any]) -> dict[str, Any]:
    return entry_options | {CONF_AUTO_PAY: True}


async def test_a_closed_period_is_paid_on_rebased(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    chain: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    entry = init_integration
    payments = entry.runtime_data.payments
    assert payments is not None
    assert isinstance(payments.outbox.rail, RebasedRail)
    sent = async_capture_events(hass, "iota_energy_payment_sent")
    confirmed = async_capture_events(hass, "iota_energy_payment_confirmed")

    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.CONFIRMED)

    nanos = statement["due_iota"] * 1000  # 1 legacy i = 1000 nanos
    (digest,) = chain.ledger.executed
    assert [e.data["transfer_id"] for e in sent + confirmed] == [digest, digest]
    data = confirmed[0].data
    assert data["statement_ids"] == [statement["id"]]
    assert (data["amount_iota"], data["amount_unit"]) == (nanos, "nanos")
    assert (data["fee"], data["fee_unit"]) == (GAS_FEE, "nanos")
    assert data["bundle_hash"] is None
    client = RebasedNode(chain.url)
    payer = RebasedKey.from_mnemonic(PAYER_MNEMONIC)
    balance = client.balance
    assert await hass.async_add_executor_job(balance, RECEIVER) == nanos
    assert await hass.async_add_executor_job(balance, payer.address) == (
        sum(PAYER_COINS) - nanos - GAS_FEE
    )

    # The bill on the chain: the statement names the digest that paid it.
    response = await call_action(hass, "get_statements", config_entry_id=entry.entry_id)
    (shown,) = [s for s in response["statements"] if s["id"] == statement["id"]]
    assert shown["payment_state"] == "paid"
    assert shown["payment"]["transfer_id"] == digest
    answer = await call_action(hass, "get_payments", config_entry_id=entry.entry_id)
    assert answer["payments"][-1]["transfer_id"] == digest

    # The dashboard knows (amounts in whole legacy i, like every entity).
    payments._funds_at = None
    await payments._async_refresh_funds()
    await refresh(hass, entry)
    assert hass.states.get(entity_id(hass, entry, "payment_state")).state == (
        "confirmed"
    )
    assert hass.states.get(entity_id(hass, entry, "total_paid")).state == str(
        statement["due_iota"]
    )
    assert hass.states.get(entity_id(hass, entry, "wallet_balance")).state == str(
        (sum(PAYER_COINS) - nanos - GAS_FEE) // 1000
    )
    assert hass.states.get(entity_id(hass, entry, "deposit_address")).state == (
        payer.address
    )
    event_state = hass.states.get(entity_id(hass, entry, "payments", "event"))
    assert event_state.attributes["event_type"] == "confirmed"
    assert event_state.attributes["transfer_id"] == digest
    assert event_state.attributes["amount_unit"] == "nanos"

    # The mnemonic is nowhere a user or a bug report could see it.
    visible = [
        caplog.text,
        json.dumps([e.data for e in sent + confirmed]),
        json.dumps(
            [dict(s.attributes) | {"state": s.state} for s in hass.states.async_all()],
            default=str,
        ),
        json.dumps(response),
        repr(payments.settings),
        repr(payments.outbox.rail),
        json.dumps(payments.outbox.state.to_dict()),
    ]
    words = PAYER_MNEMONIC.split()
    leaks = [
        index
        for index, text in enumerate(visible)
        if PAYER_MNEMONIC in text or " ".join(words[:3]) in text
    ]
    # Says where, never what: a failing test must not print the mnemonic.
    assert leaks == [], f"the mnemonic leaked into item(s) {leaks}"


@pytest.mark.parametrize("coins", [[1_000_000]])
async def test_missing_funds_are_named_in_todays_iota(
    hass: HomeAssistant, init_integration: MockConfigEntry, chain: Any
) -> None:
    """The repair issue's "{missing}" is in today's IOTA and says so."""
    entry = init_integration
    await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.WAITING_FUNDS)
    payments = entry.runtime_data.payments
    assert payments is not None
    waiting = payments.outbox.state.payments[-1]
    assert waiting.unit.value == "nanos"
    assert waiting.missing > 0
    assert waiting.transfer is None
    assert chain.ledger.executed == {}
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"insufficient_funds_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    number, unit = issue.translation_placeholders["missing"].split()
    assert unit == "IOTA"
    missing = Decimal(number)
    assert missing * 10**9 == waiting.missing
    assert issue.translation_placeholders["address"] == (
        RebasedKey.from_mnemonic(PAYER_MNEMONIC).address
    )


def _closed_port_url() -> str:
    # Chosen at import, so a new port in every process: the tests using it name
    # it "closed_port" in their ids, which a rerun by node id (--lf, the
    # mutation tester's fork server) must find again.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"


@pytest.mark.parametrize("graphql_url", [_closed_port_url()], ids=["closed_port"])
async def test_pay_with_the_node_down_is_a_clear_error_and_keeps_the_payment(
    hass: HomeAssistant,
    entry_options: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    entry = await set_up(
        hass, mock_config_entry, options=entry_options | {CONF_AUTO_PAY: False}
    )
    statement = await close_a_period(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "payment_node_unreachable"
    payments = entry.runtime_data.payments
    assert payments is not None
    (queued,) = payments.outbox.state.payments
    assert queued.status is PaymentStatus.QUEUED
    assert queued.statement_ids == (statement["id"],)
    problem = hass.states.get(
        entity_id(hass, entry, "payment_problem", "binary_sensor")
    )
    assert problem.state == "on"
    assert problem.attributes["reason"] == "node_unreachable"
    assert PAYER_MNEMONIC.split()[0] not in str(err.value)
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("graphql_url", [_closed_port_url()], ids=["closed_port"])
async def test_a_stardust_sdk_stops_payments_not_metering(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """iota-sdk 1.x in place of the pin: an issue, metering on, nothing lost."""
    caplog.set_level(logging.DEBUG)
    entry = mock_config_entry
    entry.add_to_hass(hass)
    issue_id = f"rebased_sdk_missing_{entry.entry_id}"
    # The Stardust SDK's module: the same import name, none of Rebased's types.
    stardust = types.ModuleType("iota_sdk")
    with patch.dict(sys.modules, {"iota_sdk": stardust}):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.payments is None
    assert (
        "Garden lights: payments stopped: "
        "iota_sdk is not the Rebased SDK (iota-sdk==3.0.0b1)"
    ) in [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.translation_key == "rebased_sdk_missing"
    assert issue.translation_placeholders == {
        "title": "Garden lights",
        "error": "iota_sdk is not the Rebased SDK (iota-sdk==3.0.0b1)",
    }
    strings = json.loads((INTEGRATION / "strings.json").read_text("utf-8"))
    description = strings["issues"]["rebased_sdk_missing"]["description"]
    assert "{title}" in description
    assert "{error}" in description
    # Metering and billing go on; the statement stays owed.
    await wait_for_samples(entry, 2)
    statement = await close_a_period(hass, entry)
    # The pay action points at the cause, not at a missing configuration.
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "payments_stopped_rebased_sdk_missing"
    assert err.value.translation_placeholders == {"title": "Garden lights"}

    # The SDK back (what Home Assistant's next start installs): the owed
    # statement is queued, the issue is gone.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    payments = entry.runtime_data.payments
    assert payments is not None
    assert isinstance(payments.outbox.rail, RebasedRail)
    assert [p.statement_ids for p in payments.outbox.state.payments] == [
        (statement["id"],)
    ]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert PAYER_MNEMONIC.split()[0] not in caplog.text
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("receiver", [RebasedKey.from_mnemonic(PAYER_MNEMONIC).address])
async def test_paying_the_wallet_itself_fails_before_signing(
    hass: HomeAssistant, init_integration: MockConfigEntry, chain: Any
) -> None:
    entry = init_integration
    failed = async_capture_events(hass, "iota_energy_payment_failed")
    await close_a_period(hass, entry)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.FAILED)
    assert [e.data["reason"] for e in failed] == ["receiver_is_wallet"]
    assert chain.ledger.executed == {}
    await refresh(hass, entry)
    problem = hass.states.get(
        entity_id(hass, entry, "payment_problem", "binary_sensor")
    )
    assert problem.state == "on"
    assert problem.attributes["reason"] == "receiver_is_wallet"


def test_settings_of_a_rebased_entry() -> None:
    """Well-known networks use the SDK's GraphQL services; custom its URL."""
    base = {
        CONF_RAIL: RAIL_REBASED,
        CONF_MNEMONIC: PAYER_MNEMONIC,
        CONF_RECEIVER: RECEIVER,
    }
    for network, host in [
        ("mainnet", "graphql.mainnet.iota.cafe"),
        ("testnet", "graphql.testnet.iota.cafe"),
        ("devnet", "graphql.devnet.iota.cafe"),
    ]:
        settings = PaymentSettings.from_entry(base | {CONF_NETWORK: network}, {})
        assert settings is not None
        assert settings.node_url == f"https://{host}"
        assert settings.rail == RAIL_REBASED
        assert PAYER_MNEMONIC not in repr(settings)
    custom = PaymentSettings.from_entry(
        base
        | {
            CONF_NETWORK: NETWORK_CUSTOM,
            CONF_GRAPHQL_URL: "http://127.0.0.1:1/graphql",
        },
        {CONF_MAX_GAS_BUDGET: 123},
    )
    assert custom is not None
    assert custom.node_url == "http://127.0.0.1:1/graphql"
    assert custom.max_gas_budget == 123
    # A Rebased entry without a mnemonic does not pay (meters and bills).
    assert PaymentSettings.from_entry({CONF_RAIL: RAIL_REBASED}, {}) is None


def test_caps_of_a_rebased_entry_are_nanos_counted_in_i() -> None:
    """The Rebased forms take the caps in nanos; the outbox holds them in i
    (1 i = 1000 nanos), rounded down, a cap under one i still a cap."""
    data = {
        CONF_RAIL: RAIL_REBASED,
        CONF_NETWORK: "testnet",
        CONF_MNEMONIC: PAYER_MNEMONIC,
        CONF_RECEIVER: RECEIVER,
    }
    cases = [
        ({CONF_MAX_PAYMENT: 1_500_999, CONF_MAX_DAILY: 7_000_000}, (1_500, 7_000)),
        ({CONF_MAX_PAYMENT: 500, CONF_MAX_DAILY: 0}, (1, 0)),
        ({}, (0, 0)),
    ]
    for options, (max_payment, max_daily) in cases:
        settings = PaymentSettings.from_entry(data, options)
        assert settings is not None
        assert (settings.policy.max_payment, settings.policy.max_daily) == (
            max_payment,
            max_daily,
        ), options


MAINNET_CHAIN_ID = "6364aad5"


@pytest.mark.parametrize("chain_id", [MAINNET_CHAIN_ID])
async def test_a_service_of_another_network_pauses_payments_until_it_is_right(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    chain: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Set up on mainnet, the URL now answers devrebased's chain: nothing is
    paid there, the meter meters, a repair issue says why; once the service
    serves the entry's chain again the queued payment goes out, once."""
    caplog.set_level(logging.DEBUG)
    entry = init_integration
    payments = entry.runtime_data.payments
    assert payments is not None
    issues = ir.async_get(hass)
    issue_id = f"wrong_network_{entry.entry_id}"
    # The start already asked the service, with nothing to pay yet.
    await hass.async_block_till_done()
    problem = payments.outbox.node_problem
    assert problem is not None
    assert (problem.last_error.kind, problem.last_error.detail) == (
        "wrong_network",
        CHAIN_ID,
    )
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "wrong_network"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "title": entry.title,
        "url": chain.url,
        "expected": MAINNET_CHAIN_ID,
        "served": CHAIN_ID,
    }

    # Metering and billing go on; the statement's payment waits, unsigned.
    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    for _ in range(3):
        problem = payments.outbox.node_problem
        assert problem is not None
        problem.retry_at = dt_util.utcnow()  # as if the back-off had passed
        await payments._async_tick(reschedule=False)
    (queued,) = payments.outbox.state.payments
    assert queued.status is PaymentStatus.QUEUED
    assert queued.transfer is None
    assert queued.statement_ids == (statement["id"],)
    assert chain.ledger.executed == {}
    assert entry.state is ConfigEntryState.LOADED
    await refresh(hass, entry)
    problem_state = hass.states.get(
        entity_id(hass, entry, "payment_problem", "binary_sensor")
    )
    assert problem_state.state == "on"
    assert problem_state.attributes["reason"] == "wrong_network"
    assert issues.async_get_issue(DOMAIN, f"node_unreachable_{entry.entry_id}") is None

    # The service serves the entry's chain again: the payment goes out.
    chain.operations.chain_id = MAINNET_CHAIN_ID
    problem = payments.outbox.node_problem
    assert problem is not None
    problem.retry_at = dt_util.utcnow()
    await until(hass, entry, PaymentStatus.CONFIRMED)
    assert len(chain.ledger.executed) == 1
    assert payments.outbox.node_problem is None
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert PAYER_MNEMONIC.split()[0] not in caplog.text


@pytest.mark.parametrize("chain_id", [MAINNET_CHAIN_ID])
async def test_pay_on_a_service_of_another_network_is_a_clear_error(
    hass: HomeAssistant,
    entry_options: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    chain: Any,
) -> None:
    entry = await set_up(
        hass, mock_config_entry, options=entry_options | {CONF_AUTO_PAY: False}
    )
    await close_a_period(hass, entry)
    payments = entry.runtime_data.payments
    assert payments is not None
    problem = payments.outbox.node_problem
    assert problem is not None
    problem.retry_at = dt_util.utcnow()
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "payment_wrong_network"
    assert chain.ledger.executed == {}
    (queued,) = payments.outbox.state.payments
    assert queued.status is PaymentStatus.QUEUED
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("graphql_url", [_closed_port_url()], ids=["closed_port"])
async def test_a_node_down_at_start_is_no_setup_failure(
    hass: HomeAssistant, init_integration: MockConfigEntry, chain: Any
) -> None:
    """The meter starts and meters; payments wait for the node, nothing lost,
    and once it answers (and serves the entry's chain) they go on."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    payments = entry.runtime_data.payments
    assert payments is not None
    await hass.async_block_till_done()
    problem = payments.outbox.node_problem
    assert problem is not None
    assert problem.last_error.kind == "unreachable"
    statement = await close_a_period(hass, entry)
    await hass.async_block_till_done()
    (queued,) = payments.outbox.state.payments
    assert queued.status is PaymentStatus.QUEUED
    assert queued.statement_ids == (statement["id"],)
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"wrong_network_{entry.entry_id}") is None

    # The node is back (here: the entry is pointed at it, as after a
    # reconfigure); the payment queued meanwhile is paid, once.
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(
        entry, data=entry.data | {CONF_GRAPHQL_URL: chain.url}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await until(hass, entry, PaymentStatus.CONFIRMED)
    assert len(chain.ledger.executed) == 1
    paid = entry.runtime_data.payments
    assert paid is not None
    (confirmed,) = paid.outbox.state.payments
    assert confirmed.statement_ids == (statement["id"],)


_WORDS = PAYER_MNEMONIC.split()
# The stored mnemonic and key path, and the reason the log names.
DAMAGED_WALLETS = {
    # Two words swapped: every word valid, the checksum not.
    "checksum": (
        " ".join([_WORDS[1], _WORDS[0], *_WORDS[2:]]),
        DEFAULT_PATH,
        "mnemonic_checksum",
    ),
    "unknown_word": (
        " ".join([*_WORDS[:-1], _WORDS[-1] + "x"]),
        DEFAULT_PATH,
        "mnemonic_unknown_word",
    ),
    "word_count": (" ".join(_WORDS[:-1]), DEFAULT_PATH, "mnemonic_word_count"),
    "key_path": (PAYER_MNEMONIC, "m/44'/784'/0'/0'/0'", "invalid_key_path"),
}


@pytest.mark.parametrize(
    ("mnemonic", "key_path", "reason"),
    DAMAGED_WALLETS.values(),
    ids=DAMAGED_WALLETS.keys(),
)
async def test_a_damaged_stored_wallet_stops_payments_not_the_meter(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    chain: Any,
    mnemonic: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A translated issue without a word of the mnemonic; reconfiguring the
    wallet (possible: the entry is loaded) brings the payments back."""
    caplog.set_level(logging.DEBUG)
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.payments is None
    issue_id = f"wallet_unreadable_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "wallet_unreadable"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"title": entry.title}
    # The entry was set up before the test ran: its log is the setup phase's.
    setup_log = "\n".join(r.getMessage() for r in caplog.get_records("setup"))
    assert (
        f"The wallet stored for {entry.title} cannot be read ({reason}); "
        "payments are off until it is reconfigured"
    ) in setup_log.splitlines()
    # Metering and billing go on.
    statement = await close_a_period(hass, entry)
    assert statement["payment_state"] == "due"
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "get_payments", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "payments_stopped_wallet_unreadable"

    # Reconfigure: type the wallet's mnemonic again (the path: the default).
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rebased"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NETWORK: NETWORK_CUSTOM,
            CONF_GRAPHQL_URL: chain.url,
            CONF_MNEMONIC: PAYER_MNEMONIC,
            CONF_KEY_PATH: "",
            CONF_MAX_GAS_BUDGET: 10**8,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await until(hass, entry, PaymentStatus.CONFIRMED)
    assert len(chain.ledger.executed) == 1

    # Neither phrase is anywhere a user or a bug report could see it.
    visible = [
        setup_log,
        caplog.text,
        json.dumps(issue.translation_placeholders),
        json.dumps(
            [dict(s.attributes) | {"state": s.state} for s in hass.states.async_all()],
            default=str,
        ),
    ]
    leaks = [
        index
        for index, text in enumerate(visible)
        for phrase in (mnemonic, PAYER_MNEMONIC)
        if " ".join(phrase.split()[:3]) in text or phrase.split()[-1] in text.split()
    ]
    assert leaks == [], f"a mnemonic leaked into item(s) {leaks}"


@pytest.mark.parametrize("mnemonic", [DAMAGED_WALLETS["checksum"][0]])
def test_a_damaged_wallet_error_says_why_and_nothing_else(mnemonic: str) -> None:
    from custom_components.iota_energy.payment_manager import (
        WalletUnreadableError,
        build_rebased_rail,
    )

    settings = PaymentSettings.from_entry(
        {
            CONF_RAIL: RAIL_REBASED,
            CONF_NETWORK: NETWORK_CUSTOM,
            CONF_GRAPHQL_URL: "http://127.0.0.1:1/graphql",
            CONF_MNEMONIC: mnemonic,
            CONF_RECEIVER: RECEIVER,
        },
        {},
    )
    assert settings is not None
    with pytest.raises(WalletUnreadableError) as caught:
        build_rebased_rail(settings)
    assert caught.value.reason == "mnemonic_checksum"
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    text = f"{caught.value!s} {caught.value!r}"
    assert not any(word in text.split() for word in mnemonic.split())
