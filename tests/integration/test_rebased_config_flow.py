"""The config flow's IOTA Rebased rail: network, wallet, receiver, reconfigure, options.

Every check goes through the real iota-sdk to the development Rebased node
(devrebased) on a loopback port, a closed port, or a small HTTP server that
is no GraphQL service. The public networks' services are never contacted:
where a flow would use one, its URL is pointed at devrebased. Creating an
entry patches the integration's ``async_setup_entry`` as Home Assistant's
own flow tests do; reconfiguring and the privacy test load entries for real.
The mnemonics are test constants; no assertion message contains one.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import logging
import sys
import types
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol

pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.config_flow_rebased import payments_in_flight
from custom_components.iota_energy.const import (
    CONF_ADDRESS,
    CONF_SOURCE,
    DEFAULT_MAX_GAS_BUDGET,
    DEFAULT_SAMPLE_RATE,
    DOMAIN,
    SOURCE_VIRTUAL,
)
from custom_components.iota_energy.core.rebased_keys import (
    DEFAULT_PATH,
    RebasedKey,
    generate_mnemonic,
)
from custom_components.iota_energy.core.rebased_network import CHAIN_IDS
from devrebased.ledger import CHAIN_ID
from devrebased.server import DevRebased
from tests.conftest import ENTRY_OPTIONS, VIRTUAL_ENTRY_DATA
from tests.devrebased.conftest import PAYER_MNEMONIC

from .test_payment_config_flow import (
    BILLING_INPUT,
    assert_kept_nowhere,
    assert_translated,
    closed_port_url,
    configure,
    loopback_sockets,
    schema_keys,
    strings,
    to_payments_menu,
    web_server,
)

__all__ = ["loopback_sockets"]

FLOW = "custom_components.iota_energy.config_flow"
NEIGHBOUR = "0x" + "ab" * 32
OTHER_NEIGHBOUR = "0x" + "cd" * 32
SECOND_PATH = "m/44'/4218'/0'/0'/1'"
POLICY_INPUT: dict[str, Any] = {
    "auto_pay": False,
    "max_payment_iota": 2_000_000_000,
    "max_daily_iota": 5_000_000_000,
}


@pytest.fixture(scope="module")
def payer() -> RebasedKey:
    return RebasedKey.from_mnemonic(PAYER_MNEMONIC)


@pytest.fixture
def chain(payer: RebasedKey) -> Iterator[DevRebased]:
    node = DevRebased({payer.address: [5_000_000_000]}).start()
    yield node
    node.stop()


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Creating an entry does not set it up (Home Assistant's flow tests do so)."""
    with patch(
        "custom_components.iota_energy.async_setup_entry", return_value=True
    ) as setup:
        yield setup


def serve_chain(node: DevRebased, chain_id: str) -> None:
    """Make devrebased answer another chain identifier (as another network would)."""
    node.operations.chain_identifier_query = (  # type: ignore[method-assign]
        lambda _variables: {"chainIdentifier": chain_id}
    )


def wallet_input(url: str, **changes: Any) -> dict[str, Any]:
    return {
        "network": "custom",
        "graphql_url": url,
        "mnemonic": PAYER_MNEMONIC,
        "key_path": "",
        "max_gas_budget": 20_000_000,
    } | changes


def without_mnemonic(data: dict[str, Any]) -> dict[str, Any]:
    """An assertion's label: what was typed, less the mnemonic (never printed)."""
    return {key: value for key, value in data.items() if key != "mnemonic"} | (
        {"mnemonic": "<typed>"} if "mnemonic" in data else {}
    )


def suggestions(result: Any) -> dict[str, Any]:
    return {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }


async def to_wallet_step(hass: HomeAssistant) -> Any:
    result = await configure(
        hass, await to_payments_menu(hass), {"next_step_id": "rebased"}
    )
    assert result["step_id"] == "rebased"
    return result


def rebased_entry(node: DevRebased, payer: RebasedKey, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=VIRTUAL_ENTRY_DATA
        | {
            "rail": "rebased",
            "network": "custom",
            "graphql_url": node.url,
            "mnemonic": PAYER_MNEMONIC,
            "key_path": DEFAULT_PATH,
            "max_gas_budget": 20_000_000,
            "chain_id": CHAIN_ID,
            "receiver": NEIGHBOUR,
        }
        | data,
        options=ENTRY_OPTIONS
        | {"auto_pay": True, "max_payment_iota": 0, "max_daily_iota": 0},
        unique_id="virtual-1-0x40",
    )


async def test_rebased_entry_with_a_typed_mnemonic(
    hass: HomeAssistant,
    chain: DevRebased,
    payer: RebasedKey,
    mock_setup_entry: AsyncMock,
) -> None:
    """Network, typed mnemonic, receiver and caps: exactly the rail's keys stored."""
    menu = await to_payments_menu(hass)
    assert menu["menu_options"] == ["rebased", "node", "bill_only"]
    result = await configure(hass, menu, {"next_step_id": "rebased"})
    assert schema_keys(result) == {
        "network",
        "graphql_url",
        "mnemonic",
        "key_path",
        "max_gas_budget",
    }
    typed = "  " + PAYER_MNEMONIC.upper().replace(" ", "   ") + "\n"
    result = await configure(
        hass, result, wallet_input(f" {chain.url} ", mnemonic=typed)
    )
    assert result["step_id"] == "rebased_receiver"
    assert schema_keys(result) == {
        "receiver",
        "auto_pay",
        "max_payment_iota",
        "max_daily_iota",
    }
    result = await configure(
        hass, result, {"receiver": NEIGHBOUR.upper().replace("0X", "0x")} | POLICY_INPUT
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data == VIRTUAL_ENTRY_DATA | {
        "rail": "rebased",
        "network": "custom",
        "graphql_url": chain.url,
        "mnemonic": PAYER_MNEMONIC,
        "key_path": DEFAULT_PATH,
        "max_gas_budget": 20_000_000,
        "chain_id": CHAIN_ID,
        "receiver": NEIGHBOUR,
        "period": "monthly",
        "period_seconds": 3600,
    }
    assert entry.options == {
        "price": "720000000",
        "min_payment": 1,
        "sample_rate": DEFAULT_SAMPLE_RATE,
        "publish_interval": 10,
        "flush_interval": 60,
        "statement_retention": 1000,
        "auto_pay": False,
        "max_payment_iota": 2_000_000_000,
        "max_daily_iota": 5_000_000_000,
    }
    assert mock_setup_entry.call_count == 1


async def test_a_generated_mnemonic_is_shown_once_then_stored(
    hass: HomeAssistant, chain: DevRebased, mock_setup_entry: AsyncMock
) -> None:
    result = await configure(
        hass,
        await to_wallet_step(hass),
        wallet_input(chain.url, mnemonic="", key_path=SECOND_PATH),
    )
    assert result["step_id"] == "mnemonic_backup"
    assert result["data_schema"].schema == {}
    shown = result["description_placeholders"]["mnemonic"]
    assert len(shown.split()) == 24
    wallet = RebasedKey.from_mnemonic(shown, SECOND_PATH)
    assert "{mnemonic}" in strings()["config"]["step"]["mnemonic_backup"]["description"]
    result = await configure(hass, result, {})
    assert result["step_id"] == "rebased_receiver"
    assert not result.get("description_placeholders")
    # The new wallet cannot be its own receiver.
    result = await configure(hass, result, {"receiver": wallet.address} | POLICY_INPUT)
    assert result["errors"] == {"receiver": "receiver_is_wallet"}
    result = await configure(hass, result, {"receiver": NEIGHBOUR} | POLICY_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored_is_shown = result["result"].data["mnemonic"] == shown
    assert stored_is_shown
    assert result["result"].data["key_path"] == SECOND_PATH
    assert result["result"].data["max_gas_budget"] == 20_000_000


async def test_the_gas_cap_is_suggested(hass: HomeAssistant) -> None:
    result = await to_wallet_step(hass)
    defaults = {
        str(key): key.default()
        for key in result["data_schema"].schema
        if key.default is not vol.UNDEFINED
    }
    assert defaults == {"network": "mainnet", "max_gas_budget": DEFAULT_MAX_GAS_BUDGET}


async def test_wallet_form_errors_each_have_their_message(
    hass: HomeAssistant, chain: DevRebased
) -> None:
    """Offline checks first, then the mnemonic, then the service."""
    words = PAYER_MNEMONIC.split()
    swapped = " ".join([words[1], words[0], *words[2:]])
    result = await to_wallet_step(hass)
    for data, errors in (
        ({"graphql_url": ""}, {"graphql_url": "graphql_url_required"}),
        (
            {"graphql_url": "ftp://127.0.0.1/graphql"},
            {"graphql_url": "invalid_graphql_url"},
        ),
        ({"graphql_url": "127.0.0.1:9125"}, {"graphql_url": "invalid_graphql_url"}),
        (
            {"graphql_url": "http://127.0.0.1:port/"},
            {"graphql_url": "invalid_graphql_url"},
        ),
        # A host name the SDK's own URL parser refuses.
        (
            {"graphql_url": "http://exa mple.org/graphql"},
            {"graphql_url": "invalid_graphql_url"},
        ),
        ({"key_path": "m/44'/784'/0'/0'/0'"}, {"key_path": "invalid_key_path"}),
        ({"key_path": "m/44'/4218'/0'/0/0"}, {"key_path": "invalid_key_path"}),
        ({"mnemonic": " ".join(words[:11])}, {"mnemonic": "mnemonic_word_count"}),
        (
            {"mnemonic": " ".join([*words[:23], "iotaa"])},
            {"mnemonic": "mnemonic_unknown_word"},
        ),
        ({"mnemonic": swapped}, {"mnemonic": "mnemonic_checksum"}),
        ({"graphql_url": closed_port_url()}, {"base": "graphql_cannot_connect"}),
        # devrebased serves its own chain, not mainnet's or testnet's.
        (
            {"network": "mainnet", "graphql_url": chain.url},
            {"network": "wrong_network"},
        ),
        (
            {"network": "testnet", "graphql_url": chain.url},
            {"network": "wrong_network"},
        ),
    ):
        result = await configure(hass, result, wallet_input(chain.url, **data))
        assert result["step_id"] == "rebased"
        assert result["errors"] == errors, without_mnemonic(data)
        assert_translated(result["errors"])
        # The form keeps what was typed, except the mnemonic.
        assert (
            "mnemonic" not in suggestions(result) or not suggestions(result)["mnemonic"]
        )
        assert suggestions(result)["network"] == data.get("network", "custom")
    with web_server() as url:
        result = await configure(hass, result, wallet_input(url))
    assert result["errors"] == {"base": "not_graphql_service"}
    assert_translated(result["errors"])
    # Devnet is reset now and then (its chain identifier changes), but it
    # never serves mainnet or testnet.
    serve_chain(chain, CHAIN_IDS["mainnet"])
    result = await configure(hass, result, wallet_input(chain.url, network="devnet"))
    assert result["errors"] == {"network": "wrong_network"}
    result = await configure(hass, result, wallet_input(chain.url, network="mainnet"))
    assert result["step_id"] == "rebased_receiver"
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_devnet_is_whatever_chain_it_serves_now(
    hass: HomeAssistant, chain: DevRebased, mock_setup_entry: AsyncMock
) -> None:
    result = await configure(
        hass, await to_wallet_step(hass), wallet_input(chain.url, network="devnet")
    )
    result = await configure(hass, result, {"receiver": NEIGHBOUR} | POLICY_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["network"] == "devnet"
    assert result["result"].data["chain_id"] == CHAIN_ID


async def test_a_public_network_without_url_uses_its_well_known_service(
    hass: HomeAssistant, chain: DevRebased, mock_setup_entry: AsyncMock
) -> None:
    """Mainnet's service, pointed at devrebased serving mainnet's chain id."""
    serve_chain(chain, CHAIN_IDS["mainnet"])
    with patch.dict(
        "custom_components.iota_energy.core.rebased_network.WELL_KNOWN_URLS",
        {"mainnet": chain.url},
    ):
        result = await configure(
            hass,
            await to_wallet_step(hass),
            {
                key: value
                for key, value in wallet_input("", network="mainnet").items()
                if key != "graphql_url"
            },
        )
    result = await configure(hass, result, {"receiver": NEIGHBOUR} | POLICY_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["graphql_url"] == chain.url
    assert result["result"].data["chain_id"] == CHAIN_IDS["mainnet"]


async def test_the_stardust_sdk_of_the_same_name_is_refused(
    hass: HomeAssistant, chain: DevRebased
) -> None:
    """iota-sdk 1.x installs the module ``iota_sdk`` too, without Rebased's types."""
    result = await to_wallet_step(hass)
    stardust = types.ModuleType("iota_sdk")
    with patch.dict(sys.modules, {"iota_sdk": stardust}):
        result = await configure(hass, result, wallet_input(chain.url))
    assert result["errors"] == {"base": "rebased_sdk_missing"}
    assert_translated(result["errors"])


async def test_receiver_errors_each_have_their_message(
    hass: HomeAssistant, chain: DevRebased, payer: RebasedKey
) -> None:
    result = await configure(hass, await to_wallet_step(hass), wallet_input(chain.url))
    for receiver, error in (
        ("ab" * 32, "receiver_format"),
        (NEIGHBOUR[:-1], "receiver_format"),
        (NEIGHBOUR + "0", "receiver_format"),
        ("0x" + "g" * 64, "receiver_format"),
        (
            "iota1qpg2xkj66wwgn8p2ggnp7p582gj8g6p79us5hve2tsudzpsr2ap4skprwjg",
            "receiver_format",
        ),
        ("0x" + "0" * 64, "receiver_zero"),
        (payer.address, "receiver_is_wallet"),
        (payer.address.upper().replace("0X", "0x"), "receiver_is_wallet"),
    ):
        result = await configure(hass, result, {"receiver": receiver} | POLICY_INPUT)
        assert result["step_id"] == "rebased_receiver"
        assert result["errors"] == {"receiver": error}, receiver
        assert_translated(result["errors"])
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_reconfigure_network_wallet_and_receiver(
    hass: HomeAssistant, chain: DevRebased, payer: RebasedKey
) -> None:
    """A loaded Rebased entry: URL and gas cap, the mnemonic kept or replaced."""
    entry = rebased_entry(chain, payer)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "reconfigure_meter",
        "rebased",
        "rebased_receiver",
    ]

    result = await configure(hass, result, {"next_step_id": "rebased"})
    assert suggestions(result) == {
        "network": "custom",
        "graphql_url": chain.url,
        "key_path": DEFAULT_PATH,
        "max_gas_budget": 20_000_000,
    }
    result = await configure(hass, result, wallet_input(closed_port_url(), mnemonic=""))
    assert result["errors"] == {"base": "graphql_cannot_connect"}
    # Empty: the mnemonic is kept; the gas cap and the URL change.
    url = chain.url.replace("127.0.0.1", "localhost")
    result = await configure(
        hass, result, wallet_input(url, mnemonic="", max_gas_budget=30_000_000)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    kept = entry.data["mnemonic"] == PAYER_MNEMONIC
    assert kept
    assert entry.data["graphql_url"] == url
    assert entry.data["max_gas_budget"] == 30_000_000
    assert entry.state is ConfigEntryState.LOADED

    # A new mnemonic: nothing is in flight, so the wallet may change.
    replacement = generate_mnemonic()
    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": "rebased"})
    result = await configure(hass, result, wallet_input(url, mnemonic=replacement))
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    replaced = entry.data["mnemonic"] == replacement
    assert replaced
    assert entry.data["chain_id"] == CHAIN_ID

    # The receiver: checked against the (new) wallet.
    wallet = RebasedKey.from_mnemonic(replacement)
    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": "rebased_receiver"})
    assert schema_keys(result) == {"receiver"}
    assert suggestions(result) == {"receiver": NEIGHBOUR}
    for receiver, error in (
        (wallet.address, "receiver_is_wallet"),
        ("0x1234", "receiver_format"),
    ):
        result = await configure(hass, result, {"receiver": receiver})
        assert result["errors"] == {"receiver": error}
    result = await configure(hass, result, {"receiver": OTHER_NEIGHBOUR})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["receiver"] == OTHER_NEIGHBOUR
    assert entry.options["auto_pay"] is True
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_wallet_and_chain_stay_while_a_payment_is_in_flight(
    hass: HomeAssistant, chain: DevRebased, payer: RebasedKey
) -> None:
    """Refused while a signed payment may still execute, or while nobody can tell.

    Which payments are in flight is read from the loaded entry's outbox
    (``payments_in_flight``, tested on a real outbox in test_flow_paths);
    here it answers "in flight" at the flow's seam.
    """
    entry = rebased_entry(chain, payer)
    entry.add_to_hass(hass)
    other = generate_mnemonic()

    async def submit(**changes: Any) -> Any:
        result = await entry.start_reconfigure_flow(hass)
        result = await configure(hass, result, {"next_step_id": "rebased"})
        return await configure(hass, result, wallet_input(chain.url, **changes))

    # Not loaded: whether a payment is in flight cannot be known.
    result = await submit(mnemonic=other)
    assert result["errors"] == {"base": "payments_unknown"}
    assert_translated(result["errors"])
    # Changing nothing that a payment is bound to needs no such knowledge.
    result = await submit(mnemonic="", max_gas_budget=40_000_000)
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["max_gas_budget"] == 40_000_000
    # The update reloads the entry: loaded now.
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    with patch(f"{FLOW}.payments_in_flight", return_value=True):
        for changes in (
            {"mnemonic": other},
            {"mnemonic": "", "key_path": SECOND_PATH},
        ):
            result = await submit(**changes)
            assert result["errors"] == {"base": "payments_in_flight"}, sorted(changes)
            assert_translated(result["errors"])
        serve_chain(chain, "0badc0de")
        result = await submit(mnemonic="")
        assert result["errors"] == {"base": "payments_in_flight"}
    unchanged = entry.data["mnemonic"] == PAYER_MNEMONIC
    assert unchanged
    assert entry.data["chain_id"] == CHAIN_ID
    # A wallet whose address is the receiver would pay itself.
    result = await submit(mnemonic=PAYER_MNEMONIC, key_path=SECOND_PATH)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    second = RebasedKey.from_mnemonic(PAYER_MNEMONIC, SECOND_PATH)
    hass.config_entries.async_update_entry(
        entry, data=entry.data | {"receiver": payer.address}
    )
    result = await submit(mnemonic="", key_path=DEFAULT_PATH)
    assert result["errors"] == {"base": "receiver_is_wallet"}
    assert_translated(result["errors"])
    assert entry.data["key_path"] == SECOND_PATH
    assert second.address != payer.address
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_receiver_needs_the_sdk(
    hass: HomeAssistant,
    chain: DevRebased,
    payer: RebasedKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The form says so; the log says why, for the user who reads it."""
    entry = rebased_entry(chain, payer)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": "rebased_receiver"})
    with patch.dict(sys.modules, {"iota_sdk": types.ModuleType("iota_sdk")}):
        result = await configure(hass, result, {"receiver": OTHER_NEIGHBOUR})
    assert result["errors"] == {"base": "rebased_sdk_missing"}
    assert entry.data["receiver"] == NEIGHBOUR
    logged = [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == "custom_components.iota_energy.config_flow"
    ]
    assert logged == [
        (
            logging.ERROR,
            "The IOTA Rebased SDK cannot be used: "
            "iota_sdk is not the Rebased SDK (iota-sdk==3.0.0b1)",
        )
    ]


async def test_reconfigure_turns_rebased_payments_on(
    hass: HomeAssistant, chain: DevRebased, init_integration: MockConfigEntry
) -> None:
    """A bill-only entry gets a new Rebased wallet, a receiver and a policy."""
    entry = init_integration
    assert payments_in_flight(entry) is False  # loaded, and it does not pay
    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": "enable_payments"})
    assert result["menu_options"] == ["rebased", "node"]
    result = await configure(hass, result, {"next_step_id": "rebased"})
    assert suggestions(result) == {}
    result = await configure(hass, result, wallet_input(chain.url, mnemonic=""))
    assert result["step_id"] == "mnemonic_backup"
    shown = result["description_placeholders"]["mnemonic"]
    result = await configure(hass, result, {})
    assert {"auto_pay", "max_payment_iota"} <= schema_keys(result)
    result = await configure(hass, result, {"receiver": NEIGHBOUR} | POLICY_INPUT)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    stored_is_shown = entry.data["mnemonic"] == shown
    assert stored_is_shown
    assert entry.data == VIRTUAL_ENTRY_DATA | {
        "rail": "rebased",
        "network": "custom",
        "graphql_url": chain.url,
        "mnemonic": entry.data["mnemonic"],
        "key_path": DEFAULT_PATH,
        "max_gas_budget": 20_000_000,
        "chain_id": CHAIN_ID,
        "receiver": NEIGHBOUR,
    }
    assert entry.options == ENTRY_OPTIONS | POLICY_INPUT
    assert entry.state is ConfigEntryState.LOADED


async def test_options_of_a_rebased_entry(
    hass: HomeAssistant, chain: DevRebased, payer: RebasedKey
) -> None:
    """Automatic payment and caps in nanos; no tag, no proof of work."""
    entry = rebased_entry(chain, payer)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    keys = schema_keys(result)
    assert {"auto_pay", "max_payment_iota", "max_daily_iota"} <= keys
    assert not {"tag", "pow_mode"} & keys
    units = {
        str(key): value.config.get("unit_of_measurement")
        for key, value in result["data_schema"].schema.items()
    }
    assert units["max_payment_iota"] == units["max_daily_iota"] == "nanos"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], dict(ENTRY_OPTIONS) | POLICY_INPUT
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == ENTRY_OPTIONS | POLICY_INPUT
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_mnemonic_reaches_no_browser_log_or_diagnostics(
    hass: HomeAssistant,
    chain: DevRebased,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both wallet paths over Home Assistant's HTTP API, as the UI drives them.

    A typed mnemonic is in no answer; a generated one in exactly one, the
    backup step's placeholder. No record at DEBUG holds either, and the
    diagnostics of the loaded entries redact them.
    """
    caplog.set_level(logging.DEBUG)
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    flow_url = "/api/config/config_entries/flow"

    async def post(url: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = await client.post(url, json=data)
        assert response.status == 200
        text = await response.text()
        return text, json.loads(text)

    async def to_wallet(address: str) -> tuple[list[str], str]:
        texts: list[str] = []
        text, answer = await post(flow_url, {"handler": DOMAIN})
        texts.append(text)
        for data in (
            {CONF_NAME: "Garden lights", CONF_SOURCE: SOURCE_VIRTUAL},
            {CONF_ADDRESS: address},
            BILLING_INPUT,
            {"next_step_id": "rebased"},
        ):
            text, answer = await post(f"{flow_url}/{answer['flow_id']}", data)
            texts.append(text)
        assert answer["step_id"] == "rebased"
        return texts, f"{flow_url}/{answer['flow_id']}"

    words = PAYER_MNEMONIC.split()
    wrong = " ".join([words[1], words[0], *words[2:]])
    texts, flow = await to_wallet("0x41")
    for data in (
        wallet_input(chain.url, mnemonic=wrong),
        wallet_input(chain.url),
        {"receiver": NEIGHBOUR} | POLICY_INPUT,
    ):
        text, answer = await post(flow, data)
        texts.append(text)
    assert answer["type"] == "create_entry"
    typed_in_answers = [
        PAYER_MNEMONIC in text or wrong in text or words[5] in text for text in texts
    ]
    assert not any(typed_in_answers)

    texts, flow = await to_wallet("0x42")
    text, backup = await post(flow, wallet_input(chain.url, mnemonic=""))
    generated = backup["description_placeholders"]["mnemonic"]
    elsewhere = text.replace(f'"mnemonic":"{generated}"', "").replace(
        f'"mnemonic": "{generated}"', ""
    )
    in_backup_elsewhere = generated in elsewhere
    assert not in_backup_elsewhere
    for data in ({}, {"receiver": NEIGHBOUR} | POLICY_INPUT):
        text, answer = await post(flow, data)
        texts.append(text)
    assert answer["type"] == "create_entry"
    generated_in_answers = [generated in text for text in texts]
    assert not any(generated_in_answers)

    await assert_kept_nowhere(hass, caplog, "mnemonic", PAYER_MNEMONIC, generated)


async def test_every_rebased_form_menu_and_choice_is_translated(
    hass: HomeAssistant, chain: DevRebased
) -> None:
    """The forms' fields, the menus' options and the network choices have text."""
    config = strings()["config"]["step"]
    menu = await to_payments_menu(hass)
    assert set(menu["menu_options"]) <= set(config["payments"]["menu_options"])
    result = await configure(hass, menu, {"next_step_id": "rebased"})
    assert schema_keys(result) <= set(config["rebased"]["data"])
    assert schema_keys(result) <= set(config["rebased"]["data_description"])
    result = await configure(hass, result, wallet_input(chain.url, mnemonic=""))
    assert config["mnemonic_backup"]["description"]
    result = await configure(hass, result, {})
    assert schema_keys(result) <= set(config["rebased_receiver"]["data"])
    networks = strings()["selector"]["network"]["options"]
    assert set(networks) == {"mainnet", "testnet", "devnet", "custom"}
    assert {"node", "rebased"} <= set(config["enable_payments"]["menu_options"])
    assert {"rebased", "rebased_receiver"} <= set(config["reconfigure"]["menu_options"])


def _units(result: Any) -> dict[str, str | None]:
    """Each number field's unit as the form shows it next to the box."""
    return {
        str(key): getattr(value, "config", {}).get("unit_of_measurement")
        for key, value in result["data_schema"].schema.items()
    }


async def test_every_amount_states_its_unit_on_either_rail(
    hass: HomeAssistant, chain: DevRebased, payer: RebasedKey
) -> None:
    """Prices and bills count legacy i on both rails; the Rebased caps and gas
    nanos. Every amount field names its unit, by its box or its label, and no
    form calls an amount of i "IOTA" (today's IOTA is 10^6 i)."""
    texts = strings()
    billing_labels = texts["config"]["step"]["billing"]["data"]
    assert billing_labels["price"] == "Price (i/kWh)"
    assert texts["options"]["step"]["init"]["data"]["price"] == "Price (i/kWh)"

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "user"}
    )
    result = await configure(
        hass, result, {CONF_NAME: "Garden lights", CONF_SOURCE: SOURCE_VIRTUAL}
    )
    result = await configure(hass, result, {CONF_ADDRESS: "0x40"})
    assert result["step_id"] == "billing"
    assert _units(result)["min_payment"] == "i"
    result = await configure(hass, result, BILLING_INPUT)
    result = await configure(hass, result, {"next_step_id": "rebased"})
    assert _units(result)["max_gas_budget"] == "nanos"
    result = await configure(hass, result, wallet_input(chain.url))
    assert result["step_id"] == "rebased_receiver"
    units = _units(result)
    assert units["max_payment_iota"] == units["max_daily_iota"] == "nanos"

    entry = rebased_entry(chain, payer)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    units = _units(result)
    assert units["min_payment"] == "i"
    assert units["max_payment_iota"] == units["max_daily_iota"] == "nanos"

    # The legacy rail's caps: i.
    from custom_components.iota_energy.config_flow import _policy_fields

    legacy = {str(k): v for k, v in _policy_fields().items()}
    assert legacy["max_payment_iota"].config["unit_of_measurement"] == "i"
    assert legacy["max_daily_iota"].config["unit_of_measurement"] == "i"

    # Nothing in the forms reads "IOTA/kWh" as a unit of its own (only where
    # it explains that a sensor's "IOTA/kWh" means i/kWh).
    for section in ("config", "options"):
        for step_id, step in texts[section]["step"].items():
            for part in ("data", "data_description"):
                for key, text in step.get(part, {}).items():
                    if "IOTA/kWh" in text:
                        assert "is read as i/kWh" in text, (section, step_id, key)


async def test_the_receiver_is_checked_against_the_wallet_at_its_own_key_path(
    hass: HomeAssistant, chain: DevRebased, payer: RebasedKey
) -> None:
    """The wallet's address comes from the stored mnemonic and key path."""
    entry = rebased_entry(chain, payer, key_path=SECOND_PATH)
    entry.add_to_hass(hass)
    wallet = RebasedKey.from_mnemonic(PAYER_MNEMONIC, SECOND_PATH)
    assert wallet.address != payer.address
    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": "rebased_receiver"})
    result = await configure(hass, result, {"receiver": wallet.address})
    assert result["errors"] == {"receiver": "receiver_is_wallet"}
    # The same mnemonic's first address is another wallet: a fine receiver.
    result = await configure(hass, result, {"receiver": payer.address})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["receiver"] == payer.address
    # The update reloads (sets up) the entry: unloaded before the node stops.
    await hass.async_block_till_done()
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_service_is_asked_with_the_integrations_timeout(
    hass: HomeAssistant, chain: DevRebased
) -> None:
    """A service that never answers cannot hold the form for ever."""
    from custom_components.iota_energy import config_flow_rebased
    from custom_components.iota_energy.const import NODE_TIMEOUT_S

    real = config_flow_rebased.RebasedNode
    timeouts: list[Any] = []

    def node(url: str, **kwargs: Any) -> Any:
        timeouts.append(kwargs.get("timeout_s"))
        return real(url, **kwargs)

    with patch.object(config_flow_rebased, "RebasedNode", node):
        result = await configure(
            hass, await to_wallet_step(hass), wallet_input(chain.url)
        )
    assert result["step_id"] == "rebased_receiver"
    assert timeouts == [NODE_TIMEOUT_S]
    assert 0 < NODE_TIMEOUT_S < 120
