"""Payment configuration: node, wallet, receiver, policy options, reconfigure.

Every node check goes through PyOTA's real HTTP adapter to a real devtangle
on a loopback port, a closed port, or a small HTTP server that is no IOTA
node. The seeds here are test constants; assertions about them never put
the seed into an assertion message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
import http.server
import json
import logging
from pathlib import Path
import socket
import threading
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import pytest_socket

from custom_components.iota_energy.const import (
    CONF_ADDRESS,
    CONF_SOURCE,
    DEFAULT_SAMPLE_RATE,
    DOMAIN,
    SOURCE_VIRTUAL,
)
from custom_components.iota_energy.core.addresses import address_checksum
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.diagnostics import (
    async_get_config_entry_diagnostics,
)
from devtangle import crypto
from devtangle.genesis import Allocation
from devtangle.server import DevTangle
from tests.conftest import ENTRY_OPTIONS, VIRTUAL_ENTRY_DATA

MWM = 5
SEED = "PAYCONFIG9TEST9SEED9WALLET9NOT9A9REAL9ONE".ljust(81, "9")
FLOW_LOGGER = "custom_components.iota_energy.config_flow"
SPENDER_SEED = "PAYCONFIG9TEST9SEED9SPENDER".ljust(81, "9")
NEIGHBOUR = "HOTEL9OWNER9NEIGHBOUR9BATTERY".ljust(81, "9")
RECEIVER = NEIGHBOUR + address_checksum(NEIGHBOUR)
OTHER_ADDRESS = "SECOND9RECEIVER".ljust(81, "9")
OTHER_RECEIVER = OTHER_ADDRESS + address_checksum(OTHER_ADDRESS)
BILLING_INPUT: dict[str, Any] = {
    "period": "monthly",
    "period_seconds": 3600,
    "weekday": "0",
    "billing_day": 1,
    "price": "720000000",
    "min_payment": 1,
}
POLICY_INPUT: dict[str, Any] = {
    "tag": "hoteliota",
    "auto_pay": False,
    "max_payment_iota": 500,
    "max_daily_iota": 2000,
}


@cache
def spender_address(index: int) -> str:
    return crypto.seed_address(SPENDER_SEED, index, 2)


@pytest.fixture(autouse=True)
def loopback_sockets() -> Iterator[None]:
    """Home Assistant's test plugin blocks sockets; devtangle needs loopback."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    yield
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[DevTangle]:
    tangle = DevTangle(
        tmp_path / "tangle.sqlite3",
        genesis=[Allocation(spender_address(0), 1_000)],
        port=0,
        mwm=MWM,
        milestone_interval=None,
    ).start()
    yield tangle
    tangle.stop()


@pytest.fixture
def spent_receiver(node: DevTangle) -> str:
    """An address the node reports as spent from (a real signed transfer)."""
    iota = import_pyota()
    api = iota.Iota(node.url, seed=SPENDER_SEED)
    api.send_transfer(
        transfers=[iota.ProposedTransaction(address=iota.Address(NEIGHBOUR), value=10)],
        inputs=[
            iota.Address(
                spender_address(0), balance=1_000, key_index=0, security_level=2
            )
        ],
        change_address=iota.Address(spender_address(1)),
        depth=3,
        min_weight_magnitude=MWM,
    )
    node.node.issue_milestone()
    spent = spender_address(0)
    return spent + address_checksum(spent)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@contextmanager
def web_server() -> Iterator[str]:
    """A web server on loopback that is no IOTA node: it answers HTML."""
    body = b"<html><body>Router login</body></html>"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def without_remote_pow(node: DevTangle) -> None:
    """Make the real node advertise no proof of work, as public nodes did."""
    original = node.node.commands["getNodeInfo"]

    def answer(request: Mapping[str, Any]) -> dict[str, Any]:
        info = dict(original(request))
        info["features"] = [f for f in info["features"] if f != "RemotePOW"]
        return info

    node.node.commands["getNodeInfo"] = answer


def node_input(url: str, pow_mode: str = "auto", mwm: int = 9) -> dict[str, Any]:
    return {"node_url": url, "min_weight_magnitude": mwm, "pow_mode": pow_mode}


def schema_keys(result: Any) -> set[str]:
    return {str(key) for key in result["data_schema"].schema}


def strings() -> dict[str, Any]:
    path = Path(__file__).parents[2] / "custom_components/iota_energy/strings.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def assert_translated(errors: Mapping[str, str], section: str = "config") -> None:
    translated = strings()[section]["error"]
    for error in errors.values():
        assert error in translated, error


def flow_log(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The config flow's log lines: (level, message)."""
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == FLOW_LOGGER
    ]


async def configure(hass: HomeAssistant, result: Any, data: Any) -> Any:
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


async def to_payments_menu(hass: HomeAssistant, address: str = "0x40") -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await configure(
        hass, result, {CONF_NAME: "Garden lights", CONF_SOURCE: SOURCE_VIRTUAL}
    )
    result = await configure(hass, result, {CONF_ADDRESS: address})
    result = await configure(hass, result, BILLING_INPUT)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "payments"
    return result


async def to_node_step(hass: HomeAssistant) -> Any:
    result = await configure(
        hass, await to_payments_menu(hass), {"next_step_id": "node"}
    )
    assert result["step_id"] == "node"
    return result


async def to_receiver_step(hass: HomeAssistant, node: DevTangle) -> Any:
    result = await configure(hass, await to_node_step(hass), node_input(node.url))
    result = await configure(hass, result, {"seed": SEED})
    assert result["step_id"] == "receiver"
    return result


def paying_entry(node: DevTangle, url: str | None = None) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=VIRTUAL_ENTRY_DATA
        | {
            "node_url": url or node.url,
            "min_weight_magnitude": MWM,
            "seed": SEED,
            "receiver": RECEIVER,
        },
        options=ENTRY_OPTIONS
        | {
            "pow_mode": "auto",
            "tag": "HOTELIOTA",
            "auto_pay": True,
            "max_payment_iota": 0,
            "max_daily_iota": 0,
        },
        unique_id="virtual-1-0x40",
    )


async def test_paying_entry_with_a_typed_seed(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """Node, typed seed, receiver and policy: one entry that loads."""
    result = await to_node_step(hass)
    assert schema_keys(result) == {"node_url", "min_weight_magnitude", "pow_mode"}
    result = await configure(hass, result, node_input(f"  {node.url} ", "node"))
    assert result["step_id"] == "wallet"
    assert schema_keys(result) == {"seed", "generate_seed"}
    result = await configure(hass, result, {"seed": f" {SEED.lower()}\n"})
    assert result["step_id"] == "receiver"
    result = await configure(
        hass, result, {"receiver": RECEIVER.lower()} | POLICY_INPUT
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data == VIRTUAL_ENTRY_DATA | {
        "node_url": node.url,
        "min_weight_magnitude": 9,
        "seed": SEED,
        "receiver": RECEIVER,
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
        "pow_mode": "node",
        "tag": "HOTELIOTA",
        "auto_pay": False,
        "max_payment_iota": 500,
        "max_daily_iota": 2000,
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_generated_seed_is_shown_once_then_stored(
    hass: HomeAssistant, node: DevTangle
) -> None:
    result = await configure(hass, await to_node_step(hass), node_input(node.url))
    result = await configure(hass, result, {"generate_seed": True})
    assert result["step_id"] == "seed_backup"
    assert result["data_schema"].schema == {}
    shown = result["description_placeholders"]["seed"]
    assert len(shown) == 81
    assert set(shown) <= set("9ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert "{seed}" in strings()["config"]["step"]["seed_backup"]["description"]
    result = await configure(hass, result, {})
    assert result["step_id"] == "receiver"
    assert not result.get("description_placeholders")
    result = await configure(hass, result, {"receiver": RECEIVER} | POLICY_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored_is_shown = result["result"].data["seed"] == shown
    assert stored_is_shown
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_bill_only_entries_have_no_payment_settings(
    hass: HomeAssistant,
) -> None:
    result = await configure(
        hass, await to_payments_menu(hass), {"next_step_id": "bill_only"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert "node_url" not in entry.data
    assert "seed" not in entry.data
    assert "pow_mode" not in entry.options
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    options = await hass.config_entries.options.async_init(entry.entry_id)
    assert not {"pow_mode", "tag", "auto_pay"} & schema_keys(options)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_node_errors_each_have_their_message(
    hass: HomeAssistant, node: DevTangle, caplog: pytest.LogCaptureFixture
) -> None:
    """Each refusal its form error; what the node said, in the debug log."""
    caplog.set_level(logging.DEBUG, logger=FLOW_LOGGER)
    result = await to_node_step(hass)
    for url, errors in (
        ("ftp://127.0.0.1:14265", {"node_url": "invalid_url"}),
        ("127.0.0.1:14265", {"node_url": "invalid_url"}),
        ("http://127.0.0.1:port", {"node_url": "invalid_url"}),
        (closed_port_url(), {"base": "cannot_connect"}),
    ):
        result = await configure(hass, result, node_input(url))
        assert result["step_id"] == "node"
        assert result["errors"] == errors, url
        assert_translated(result["errors"])
    with web_server() as url:
        result = await configure(hass, result, node_input(url))
    assert result["errors"] == {"base": "not_iri_node"}
    assert_translated(result["errors"])

    without_remote_pow(node)
    result = await configure(hass, result, node_input(node.url, "node"))
    assert result["errors"] == {"pow_mode": "node_pow_refused"}
    assert_translated(result["errors"])
    # The form keeps what was typed, so it can be corrected.
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
    }
    assert suggested["node_url"] == node.url
    # The same node with local or automatic proof of work is fine.
    result = await configure(hass, result, node_input(node.url, "local"))
    assert result["step_id"] == "wallet"
    logged = flow_log(caplog)
    unusable = "The IOTA node cannot be used"
    assert logged == [
        (logging.DEBUG, f"{unusable}: get_node_info: ConnectionError"),
        (logging.DEBUG, f"{unusable}: get_node_info: BadApiResponse"),
        # Without remote PoW, then with local PoW: the node answered both times.
        (logging.DEBUG, "IOTA node devtangle 1.0.0 at milestone 1"),
        (logging.DEBUG, "IOTA node devtangle 1.0.0 at milestone 1"),
    ]


async def test_wallet_errors(hass: HomeAssistant, node: DevTangle) -> None:
    result = await configure(hass, await to_node_step(hass), node_input(node.url))
    for data, errors in (
        ({"seed": SEED[:80]}, {"seed": "invalid_seed"}),
        ({"seed": SEED[:80] + "1"}, {"seed": "invalid_seed"}),
        ({}, {"seed": "invalid_seed"}),
        ({"seed": SEED, "generate_seed": True}, {"base": "seed_or_generate"}),
    ):
        result = await configure(hass, result, data)
        assert result["step_id"] == "wallet"
        assert result["errors"] == errors
        assert_translated(result["errors"])
        # Nothing typed is sent back as a suggestion.
        echoed = any(
            key.description and key.description.get("suggested_value")
            for key in result["data_schema"].schema
        )
        assert not echoed
    result = await configure(hass, result, {"seed": SEED, "generate_seed": False})
    assert result["step_id"] == "receiver"


async def test_receiver_errors_each_have_their_message(
    hass: HomeAssistant,
    node: DevTangle,
    spent_receiver: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each refusal its form error; why the node could not check, in the log."""
    result = await to_receiver_step(hass, node)
    value_less = "9" * 80 + "M"
    typo = RECEIVER[:10] + ("A" if RECEIVER[10] != "A" else "B") + RECEIVER[11:]
    for data, errors in (
        ({"receiver": "NOT AN ADDRESS"}, {"receiver": "invalid_receiver"}),
        ({"receiver": RECEIVER[:85]}, {"receiver": "invalid_receiver"}),
        ({"receiver": NEIGHBOUR}, {"receiver": "receiver_no_checksum"}),
        ({"receiver": typo}, {"receiver": "receiver_checksum"}),
        (
            {"receiver": value_less + address_checksum(value_less)},
            {"receiver": "receiver_not_value_address"},
        ),
        ({"receiver": spent_receiver}, {"receiver": "receiver_spent"}),
        ({"receiver": RECEIVER, "tag": "HOTEL IOTA"}, {"tag": "invalid_tag"}),
        ({"receiver": RECEIVER, "tag": "A" * 28}, {"tag": "invalid_tag"}),
    ):
        result = await configure(hass, result, POLICY_INPUT | data)
        assert result["step_id"] == "receiver"
        assert result["errors"] == errors, data
        assert_translated(result["errors"])

    # The node answers garbage, then is gone: the receiver cannot be checked.
    caplog.set_level(logging.DEBUG, logger=FLOW_LOGGER)
    caplog.clear()
    spent_check = node.node.commands["wereAddressesSpentFrom"]
    node.node.commands["wereAddressesSpentFrom"] = lambda _request: {"states": 1}
    result = await configure(hass, result, POLICY_INPUT | {"receiver": RECEIVER})
    assert result["errors"] == {"base": "not_iri_node"}
    node.node.commands["wereAddressesSpentFrom"] = spent_check
    node.stop()
    result = await configure(hass, result, POLICY_INPUT | {"receiver": RECEIVER})
    assert result["errors"] == {"base": "cannot_connect"}
    assert hass.config_entries.async_entries(DOMAIN) == []
    logged = flow_log(caplog)
    reason = "The IOTA node cannot check the receiver"
    assert logged == [
        (logging.DEBUG, f"{reason}: wereAddressesSpentFrom: no list of states"),
        (logging.DEBUG, f"{reason}: were_addresses_spent_from: ConnectionError"),
    ]


async def test_options_flow_adds_the_payment_policy(
    hass: HomeAssistant, node: DevTangle
) -> None:
    entry = paying_entry(node)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert {"pow_mode", "tag", "auto_pay", "max_payment_iota"} <= schema_keys(result)
    base = dict(ENTRY_OPTIONS) | {
        "pow_mode": "auto",
        "tag": "HOTELIOTA",
        "auto_pay": True,
        "max_payment_iota": 0,
        "max_daily_iota": 0,
    }
    options = hass.config_entries.options

    result = await options.async_configure(result["flow_id"], base | {"tag": "ÄÖ"})
    assert result["errors"] == {"tag": "invalid_tag"}
    assert_translated(result["errors"], "options")

    without_remote_pow(node)
    result = await options.async_configure(
        result["flow_id"], base | {"pow_mode": "node"}
    )
    assert result["errors"] == {"pow_mode": "node_pow_refused"}
    assert_translated(result["errors"], "options")

    node.stop()
    result = await options.async_configure(
        result["flow_id"], base | {"pow_mode": "node"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert_translated(result["errors"], "options")

    # Changing anything but the proof of work does not need the node.
    result = await options.async_configure(
        result["flow_id"],
        base | {"tag": "garden9lights", "auto_pay": False, "max_daily_iota": 5000},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == base | {
        "tag": "GARDEN9LIGHTS",
        "auto_pay": False,
        "max_daily_iota": 5000,
    }
    assert entry.data["seed"] == SEED
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_flow_accepts_node_pow_from_a_node_that_offers_it(
    hass: HomeAssistant, node: DevTangle
) -> None:
    entry = paying_entry(node)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        dict(ENTRY_OPTIONS)
        | {
            "pow_mode": "node",
            "tag": "HOTELIOTA",
            "auto_pay": True,
            "max_payment_iota": 10,
            "max_daily_iota": 0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["pow_mode"] == "node"
    assert entry.options["max_payment_iota"] == 10
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_node_and_receiver(
    hass: HomeAssistant, node: DevTangle, spent_receiver: str
) -> None:
    entry = paying_entry(node)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["reconfigure_meter", "node", "receiver"]
    result = await configure(hass, result, {"next_step_id": "node"})
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
    }
    assert suggested == node_input(node.url, "auto", MWM)
    result = await configure(hass, result, node_input("mailto:node@example.org"))
    assert result["errors"] == {"node_url": "invalid_url"}
    result = await configure(hass, result, node_input(node.url, "node", 14))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["min_weight_magnitude"] == 14
    assert entry.options["pow_mode"] == "node"
    assert entry.options["price"] == ENTRY_OPTIONS["price"]

    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": "receiver"})
    assert schema_keys(result) == {"receiver"}
    for receiver, errors in (
        (RECEIVER[:-1] + ("A" if RECEIVER[-1] != "A" else "B"), "receiver_checksum"),
        (OTHER_ADDRESS, "receiver_no_checksum"),
        (spent_receiver, "receiver_spent"),
    ):
        result = await configure(hass, result, {"receiver": receiver})
        assert result["errors"] == {"receiver": errors}
    result = await configure(hass, result, {"receiver": OTHER_RECEIVER})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["receiver"] == OTHER_RECEIVER
    assert entry.data["seed"] == SEED
    assert entry.data[CONF_ADDRESS] == VIRTUAL_ENTRY_DATA[CONF_ADDRESS]
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_turns_payments_on(
    hass: HomeAssistant, node: DevTangle, init_integration: MockConfigEntry
) -> None:
    """A bill-only entry gets a node, a new wallet and a receiver."""
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["menu_options"] == ["reconfigure_meter", "enable_payments"]
    result = await configure(hass, result, {"next_step_id": "enable_payments"})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["rebased", "node"]
    result = await configure(hass, result, {"next_step_id": "node"})
    assert result["step_id"] == "node"
    result = await configure(hass, result, node_input(node.url, "local"))
    assert result["step_id"] == "wallet"
    result = await configure(hass, result, {"generate_seed": True})
    shown = result["description_placeholders"]["seed"]
    result = await configure(hass, result, {})
    assert result["step_id"] == "receiver"
    assert {"tag", "auto_pay", "max_payment_iota"} <= schema_keys(result)
    result = await configure(hass, result, {"receiver": RECEIVER} | POLICY_INPUT)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    stored_is_shown = entry.data["seed"] == shown
    assert stored_is_shown
    assert entry.data == VIRTUAL_ENTRY_DATA | {
        "node_url": node.url,
        "min_weight_magnitude": 9,
        "seed": entry.data["seed"],
        "receiver": RECEIVER,
    }
    assert entry.options == ENTRY_OPTIONS | {
        "pow_mode": "local",
        "tag": "HOTELIOTA",
        "auto_pay": False,
        "max_payment_iota": 500,
        "max_daily_iota": 2000,
    }
    assert entry.state is ConfigEntryState.LOADED


async def assert_kept_nowhere(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    field: str,
    *secrets: str,
) -> None:
    """The two entries the flows made load; ``secrets`` are in none's diagnostics
    (``field`` is redacted) and in no log record, text or arguments. Unloads them.
    """
    await hass.async_block_till_done()
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == 2
    for entry in entries:
        assert entry.state is ConfigEntryState.LOADED
        diagnostics = json.dumps(await async_get_config_entry_diagnostics(hass, entry))
        assert f'"{field}": "**REDACTED**"' in diagnostics
        leaked = [secret in diagnostics for secret in secrets]
        assert not any(leaked)
        assert await hass.config_entries.async_unload(entry.entry_id)

    logged = [secret in caplog.text for secret in secrets]
    assert not any(logged)
    record_args = " ".join(str(record.args) for record in caplog.records)
    in_arguments = [secret in record_args for secret in secrets]
    assert not any(in_arguments)
    assert caplog.text  # DEBUG records were captured: the check means something


async def test_the_seed_reaches_no_browser_log_or_diagnostics(
    hass: HomeAssistant,
    node: DevTangle,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Drive both wallet paths over Home Assistant's HTTP API, as the UI does.

    The typed seed is in no answer; a generated seed is in exactly one, the
    backup step's placeholder. Nothing is logged with it at DEBUG, and the
    diagnostics of the loaded entry redact it.
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

    async def to_wallet(address: str) -> tuple[list[str], dict[str, Any]]:
        texts: list[str] = []
        steps: list[dict[str, Any]] = [
            {CONF_NAME: "Garden lights", CONF_SOURCE: SOURCE_VIRTUAL},
            {CONF_ADDRESS: address},
            BILLING_INPUT,
            {"next_step_id": "node"},
            node_input(node.url),
        ]
        text, answer = await post(flow_url, {"handler": DOMAIN})
        texts.append(text)
        for data in steps:
            text, answer = await post(f"{flow_url}/{answer['flow_id']}", data)
            texts.append(text)
        assert answer["step_id"] == "wallet"
        return texts, answer

    # A typed seed: wrong first (too short), then right.
    texts, answer = await to_wallet("0x41")
    flow = f"{flow_url}/{answer['flow_id']}"
    for data in ({"seed": SEED[:80]}, {"seed": SEED}, {"receiver": RECEIVER}):
        text, answer = await post(
            flow, data | POLICY_INPUT if "receiver" in data else data
        )
        texts.append(text)
    assert answer["type"] == "create_entry"
    typed_in_answers = [SEED in text or SEED[:80] in text for text in texts]
    assert not any(typed_in_answers)

    # A generated seed: shown in the backup step only.
    texts, answer = await to_wallet("0x42")
    flow = f"{flow_url}/{answer['flow_id']}"
    text, backup = await post(flow, {"generate_seed": True})
    generated = backup["description_placeholders"]["seed"]
    text_without_placeholder = text.replace(f'"seed":"{generated}"', "").replace(
        f'"seed": "{generated}"', ""
    )
    in_backup_elsewhere = generated in text_without_placeholder
    assert not in_backup_elsewhere
    for data in ({}, {"receiver": RECEIVER} | POLICY_INPUT):
        text, answer = await post(flow, data)
        texts.append(text)
    assert answer["type"] == "create_entry"
    generated_in_answers = [generated in text for text in texts]
    assert not any(generated_in_answers)

    await assert_kept_nowhere(hass, caplog, "seed", SEED, generated)


async def test_diagnostics_redact_the_seed_and_a_password_in_the_node_url(
    hass: HomeAssistant, node: DevTangle
) -> None:
    url = node.url.replace("http://", "http://operator:hunter2@")
    entry = paying_entry(node, url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    data = diagnostics["entry"]["data"]
    assert data["seed"] == "**REDACTED**"
    assert data["node_url"] == url.replace("hunter2", "**REDACTED**")
    assert data["receiver"] == RECEIVER
    text = json.dumps(diagnostics)
    leaked = SEED in text or "hunter2" in text
    assert not leaked
    assert entry.data["node_url"] == url  # the entry itself is untouched
    assert await hass.config_entries.async_unload(entry.entry_id)
