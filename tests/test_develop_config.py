"""The demo that scripts/develop runs: config/ and scripts/lib/develop_ha.py.

scripts/develop itself needs a real Home Assistant and takes about half a
minute (``scripts/develop --check``); these tests catch the cheap mistakes
early: a configuration Home Assistant rejects, a dashboard naming entities
the integration does not create, demo inputs its config flow refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
import importlib.util
from ipaddress import ip_network
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from homeassistant.components.http import HTTP_SCHEMA
from homeassistant.components.sensor.const import UNIT_CONVERTERS
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import slugify
from homeassistant.util.yaml import load_yaml
import pytest

from custom_components.iota_energy.const import DOMAIN
from custom_components.iota_energy.core.addresses import validate_receiver
from custom_components.iota_energy.sensor import SENSORS
from devtangle.crypto import seed_address
from devtangle.genesis import load_genesis
from devtangle.server import DevTangle
from tests.devtangle.conftest import loopback_sockets  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
INTEGRATION = ROOT / "custom_components" / DOMAIN


def _load_develop_ha() -> ModuleType:
    """scripts/lib/develop_ha.py is a script, not a package: load it by path."""
    path = ROOT / "scripts" / "lib" / "develop_ha.py"
    spec = importlib.util.spec_from_file_location("develop_ha", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


develop_ha = _load_develop_ha()


@pytest.fixture(name="configuration")
def configuration_fixture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """configuration.yaml as Home Assistant reads it, without a port override."""
    monkeypatch.delenv("IOTA_ENERGY_HA_PORT", raising=False)
    loaded = load_yaml(CONFIG / "configuration.yaml")
    assert isinstance(loaded, dict)
    return loaded


def test_home_assistant_listens_on_loopback_only(configuration: dict[str, Any]) -> None:
    """HTTP binds 127.0.0.1 and ::1 on port 8123 (scripts/develop --port changes it)."""
    http = HTTP_SCHEMA(configuration["http"])
    assert http["server_port"] == 8123
    assert http["server_host"]
    assert all(ip_network(host).is_loopback for host in http["server_host"])


def test_localhost_logs_in_without_a_password(configuration: dict[str, Any]) -> None:
    """trusted_networks (loopback only, bypassing the login) before the account."""
    providers = configuration["homeassistant"]["auth_providers"]
    assert [provider["type"] for provider in providers] == [
        "trusted_networks",
        "homeassistant",
    ]
    trusted = providers[0]
    assert trusted["allow_bypass_login"] is True
    networks = [ip_network(net) for net in trusted["trusted_networks"]]
    assert networks
    assert all(net.is_loopback for net in networks)


def test_no_default_config(configuration: dict[str, Any]) -> None:
    """default_config brings network discovery and cloud: not on a loopback demo."""
    assert "default_config" not in configuration
    assert DOMAIN not in configuration  # config entries only


def _entity_ids(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "entity" and isinstance(value, str):
                yield value
            elif key == "entities" and isinstance(value, list):
                # Cards like the logbook list plain entity ids.
                yield from (item for item in value if isinstance(item, str))
                yield from _entity_ids([i for i in value if not isinstance(i, str)])
            else:
                yield from _entity_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _entity_ids(item)


def test_dashboard_shows_entities_the_integration_creates(
    configuration: dict[str, Any],
) -> None:
    """Each entity id on the dashboard is one the demo meter gets."""
    dashboards = configuration["lovelace"]["dashboards"]
    files = [CONFIG / board["filename"] for board in dashboards.values()]
    assert all(path.is_file() for path in files)
    translations = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    device = slugify(develop_ha.METER_NAME)
    created = {
        f"{platform}.{device}_{slugify(entity['name'])}"
        for platform, entities in translations["entity"].items()
        for entity in entities.values()
    }
    # The demo's own REST sensors (the neighbour's balance on devtangle).
    demo_sensors = {
        f"sensor.{slugify(sensor['name'])}"
        for rest in configuration.get("rest", [])
        for sensor in rest.get("sensor", [])
    }
    shown = {entity_id for path in files for entity_id in _entity_ids(load_yaml(path))}
    assert shown
    missing = shown - created - demo_sensors
    assert not missing, f"not created by the integration or the demo: {missing}"
    # The payments are on the dashboard, and the neighbour's balance too.
    assert {
        f"sensor.{device}_total_paid",
        f"sensor.{device}_wallet_balance",
        f"event.{device}_payments",
        "sensor.neighbour_balance",
    } <= shown


def test_demo_units_fit_the_sensors() -> None:
    """The display units develop_ha.py sets are valid for each sensor."""
    sensors = {description.key: description for description in SENSORS}
    for key, options in develop_ha.DEMO_UNITS.items():
        description = sensors[key]
        assert description.device_class is not None
        converter = UNIT_CONVERTERS[description.device_class]
        assert options["unit_of_measurement"] in converter.VALID_UNITS


@pytest.fixture
def demo_tangle(tmp_path: Path) -> Iterator[DevTangle]:
    """devtangle with the demo genesis, as scripts/develop starts it."""
    genesis = load_genesis(CONFIG / "devtangle-genesis.json")
    with DevTangle(
        tmp_path / "t.sqlite3", genesis=genesis, port=0, mwm=9, milestone_interval=None
    ) as tangle:
        yield tangle


def test_the_demo_wallet_is_funded_and_pays_the_neighbour() -> None:
    """The demo seed's index 0 holds the genesis; the receiver is the neighbour's."""
    genesis = load_genesis(CONFIG / "devtangle-genesis.json")
    assert [g.address for g in genesis] == [seed_address(develop_ha.DEMO_SEED, 0, 2)]
    neighbour = seed_address(
        "DEVTANGLE9DEMO9NEIGHBOUR9PUBLIC9NEVER9USE9FOR9REAL9FUNDS".ljust(81, "9"), 0, 2
    )
    assert validate_receiver(develop_ha.NEIGHBOUR_ADDRESS)[:81] == neighbour
    assert neighbour in (CONFIG / "configuration.yaml").read_text()


async def test_demo_inputs_create_the_demo_entry(
    hass: HomeAssistant, demo_tangle: DevTangle
) -> None:
    """develop_ha.py's config flow and options flow answers are accepted."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    for step_id, answer in develop_ha.FLOW_STEPS:
        assert result["type"] in (FlowResultType.FORM, FlowResultType.MENU)
        assert result["step_id"] == step_id
        body = answer | {"node_url": demo_tangle.url} if step_id == "node" else answer
        result = await hass.config_entries.flow.async_configure(result["flow_id"], body)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == develop_ha.METER_NAME
    entry = result["result"]
    await hass.async_block_till_done()

    form = await hass.config_entries.options.async_init(entry.entry_id)
    assert form["type"] is FlowResultType.FORM
    # As develop_ha.py does over REST: keep the suggested values, change a few.
    schema = form["data_schema"]
    assert schema is not None
    answer = {
        str(key): key.description["suggested_value"]
        for key in schema.schema
        if key.description and key.description.get("suggested_value") is not None
    }
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], answer | develop_ha.DEMO_OPTIONS
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    for key, value in develop_ha.DEMO_OPTIONS.items():
        assert entry.options[key] == value
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


# --- the demo on the IOTA Rebased rail (scripts/develop --rail rebased) ------

# The BIP-39 test vector of entropy 0x7f x 32 (public).
NEIGHBOUR_MNEMONIC = (
    "legal winner thank year wave sausage worth useful legal winner thank year "
    "wave sausage worth useful legal winner thank year wave sausage worth title"
)


def test_the_demo_rebased_wallet_is_funded_and_pays_the_neighbour() -> None:
    """devrebased's demo genesis funds the demo mnemonic's first address; the
    receiver is the neighbour mnemonic's, whose balance the demo shows."""
    pytest.importorskip("iota_sdk", reason="iota-sdk==3.0.0b1 is not installed")
    from custom_components.iota_energy.core.rebased_keys import RebasedKey
    from devrebased.__main__ import load_genesis as load_rebased_genesis

    payer = RebasedKey.from_mnemonic(develop_ha.DEMO_MNEMONIC).address
    genesis = load_rebased_genesis(CONFIG / "devrebased-genesis.json")
    assert list(genesis) == [payer]
    # Enough for many payments of the demo and their gas.
    assert sum(genesis[payer]) >= 10**9
    neighbour = RebasedKey.from_mnemonic(NEIGHBOUR_MNEMONIC).address
    assert neighbour == develop_ha.NEIGHBOUR_REBASED_ADDRESS
    assert neighbour in (CONFIG / "configuration.yaml").read_text()
    (receiver,) = [
        answer["receiver"]
        for step_id, answer in develop_ha.REBASED_FLOW_STEPS
        if step_id == "rebased_receiver"
    ]
    assert receiver == neighbour
    assert develop_ha.NEIGHBOUR_SENSORS["rebased"] == (
        "sensor.neighbour_balance_rebased"
    )


def test_a_bad_devrebased_genesis_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("iota_sdk", reason="iota-sdk==3.0.0b1 is not installed")
    from devrebased.__main__ import GenesisError, load_genesis as load_rebased_genesis

    bad_word = " ".join(["abandon"] * 23 + ["zzz"])
    for document in (
        {},
        {"wallets": [{"mnemonic": develop_ha.DEMO_MNEMONIC, "coins": []}]},
        {"wallets": [{"mnemonic": develop_ha.DEMO_MNEMONIC, "coins": [0]}]},
        {"wallets": [{"mnemonic": bad_word, "coins": [1]}]},
        {"wallets": [{"address": "0x12", "coins": [1]}]},
    ):
        path = tmp_path / "genesis.json"
        path.write_text(json.dumps(document))
        with pytest.raises(GenesisError) as caught:
            load_rebased_genesis(path)
        assert "zzz" not in str(caught.value)


async def test_demo_inputs_create_the_rebased_demo_entry(hass: HomeAssistant) -> None:
    """develop_ha.py's Rebased answers are accepted against devrebased with the
    demo genesis, as scripts/develop --rail rebased starts it."""
    pytest.importorskip("iota_sdk", reason="iota-sdk==3.0.0b1 is not installed")
    from devrebased.__main__ import load_genesis as load_rebased_genesis
    from devrebased.server import DevRebased

    node = DevRebased(load_rebased_genesis(CONFIG / "devrebased-genesis.json"))
    node.start()
    try:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}
        )
        for step_id, answer in develop_ha.REBASED_FLOW_STEPS:
            assert result["type"] in (FlowResultType.FORM, FlowResultType.MENU)
            assert result["step_id"] == step_id
            url = {"graphql_url": node.url} if step_id == "rebased" else {}
            body = answer | url
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], body
            )
            assert not result.get("errors"), (step_id, result.get("errors"))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        assert entry.data["rail"] == "rebased"
        assert entry.data["receiver"] == develop_ha.NEIGHBOUR_REBASED_ADDRESS
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        node.stop()
