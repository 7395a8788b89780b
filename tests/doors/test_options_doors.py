"""Door 2: the options flow and the reconfigure flow, with bad values.

A refused form leaves the entry's data and options exactly as they were.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import random
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import DOMAIN
from tests.conftest import ENTRY_OPTIONS, VIRTUAL_ENTRY_DATA
from tests.integration.test_payment_config_flow import closed_port_url
from tests.payments.conftest import PAYER_SEED, receiver

from .bad_values import TEXTS, mutations
from .flows import submit
from .tally import Tally

CASES = 120
OPTIONS_INPUT: dict[str, Any] = {
    "sample_rate": 10,
    "publish_interval": 10,
    "flush_interval": 60,
    "price": "720000000",
    "min_payment": 1,
    "statement_retention": 1000,
}
POLICY_INPUT: dict[str, Any] = {
    "pow_mode": "auto",
    "tag": "HOTELIOTA",
    "auto_pay": False,
    "max_payment_iota": 500,
    "max_daily_iota": 2000,
}
METER_INPUT: dict[str, Any] = {
    "address": "0x40",
    "load_profile": "",
    "period": "fixed",
    "period_seconds": 60,
    "weekday": "0",
    "billing_day": 1,
}


@pytest.fixture(autouse=True)
async def no_setup(hass: HomeAssistant) -> AsyncIterator[None]:
    """Entries are configured, not run: a reload sets nothing up."""
    with (
        patch("custom_components.iota_energy.async_setup_entry", return_value=True),
        patch("custom_components.iota_energy.async_unload_entry", return_value=True),
    ):
        yield
        # Unloaded while the stand-ins are still in place.
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_remove(entry.entry_id)


def entry_of(data: dict[str, Any], options: dict[str, Any]) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=data,
        options=options,
        unique_id="virtual-1-0x40",
    )


async def options_door(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    tally: Tally,
    cases: Any,
    secrets: tuple[str, ...] = (PAYER_SEED[:30],),
) -> None:
    """Each case in a new options flow; refused ones change nothing."""
    entry.add_to_hass(hass)
    for case in cases:
        before = (dict(entry.data), dict(entry.options))
        result = await hass.config_entries.options.async_init(entry.entry_id)
        flow_id = result["flow_id"]
        moved = await submit(
            tally,
            hass.config_entries.options.async_configure,
            flow_id,
            "init",
            case,
            section="options",
            secrets=secrets,
        )
        if moved is None:
            assert (dict(entry.data), dict(entry.options)) == before
            hass.config_entries.options.async_abort(flow_id)
            continue
        await hass.async_block_till_done()
        # Accepted: every number stored is the number typed (0.5 is no 0).
        for key, typed in case.items():
            stored = entry.options[key]
            # (A switch takes any truthy value as on: Home Assistant's
            # BooleanSelector coerces; the frontend only sends booleans.)
            number = isinstance(typed, int | float) and not isinstance(stored, bool)
            if number and stored != typed:
                tally.unhandled.append(f"{key}: typed {typed}, stored {stored}")
        # Put the entry back for the next case.
        hass.config_entries.async_update_entry(entry, options=before[1])


async def test_options_of_a_billing_entry(hass: HomeAssistant) -> None:
    """Rates, price, minimum payment, retention: every field bad in turn."""
    tally = Tally("options flow: bill only")
    rng = random.Random(21)
    cases = [OPTIONS_INPUT | {"price": text} for text in TEXTS]
    cases += list(mutations(rng, OPTIONS_INPUT, CASES))
    entry = entry_of(dict(VIRTUAL_ENTRY_DATA), dict(ENTRY_OPTIONS))
    await options_door(hass, entry, tally, cases)
    tally.check()


@pytest.mark.usefixtures("loopback_sockets")
async def test_options_of_a_paying_entry(hass: HomeAssistant) -> None:
    """The payment policy too; "node" PoW asks a node that is not there."""
    tally = Tally("options flow: paying")
    rng = random.Random(22)
    data = VIRTUAL_ENTRY_DATA | {
        "node_url": closed_port_url(),
        "min_weight_magnitude": 9,
        "seed": PAYER_SEED,
        "receiver": receiver(),
    }
    options = ENTRY_OPTIONS | POLICY_INPUT | {"pow_mode": "auto"}
    cases = list(mutations(rng, OPTIONS_INPUT | POLICY_INPUT, CASES))
    await options_door(hass, entry_of(data, options), tally, cases)
    tally.check()


async def test_options_of_a_rebased_entry(hass: HomeAssistant) -> None:
    """The Rebased policy (nanos, up to 2**64 - 1) too; nothing is probed."""
    tally = Tally("options flow: rebased")
    rng = random.Random(25)
    mnemonic = " ".join(["abandon"] * 23 + ["art"])
    data = VIRTUAL_ENTRY_DATA | {
        "rail": "rebased",
        "network": "custom",
        "graphql_url": "http://127.0.0.1:1/graphql",
        "mnemonic": mnemonic,
        "key_path": "m/44'/4218'/0'/0'/0'",
        "max_gas_budget": 20_000_000,
        "chain_id": "00000000",
        "receiver": "0x" + "ab" * 32,
    }
    policy = {"auto_pay": False, "max_payment_iota": 2**63, "max_daily_iota": 0}
    options = ENTRY_OPTIONS | policy
    cases = [OPTIONS_INPUT | policy | {"max_daily_iota": 2**64}]
    # Counts a float cannot hold: stored exactly, or refused; never rounded.
    cases += [OPTIONS_INPUT | policy | {"max_payment_iota": 2**64}]
    cases += [OPTIONS_INPUT | policy | {"max_daily_iota": 2**53 + 1}]
    cases += [OPTIONS_INPUT | policy | {"max_payment_iota": 2**64 - 1}]
    cases += list(mutations(rng, OPTIONS_INPUT | policy, CASES))
    entry = entry_of(data, options)
    await options_door(hass, entry, tally, cases, (mnemonic,))
    tally.check()


async def test_reconfigure_meter(hass: HomeAssistant) -> None:
    """The meter form of the reconfigure flow; data stays unless accepted."""
    tally = Tally("reconfigure flow: meter")
    rng = random.Random(23)
    entry = entry_of(dict(VIRTUAL_ENTRY_DATA), dict(ENTRY_OPTIONS))
    entry.add_to_hass(hass)
    for case in mutations(rng, METER_INPUT, CASES):
        before = (dict(entry.data), dict(entry.options), entry.unique_id)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "reconfigure_meter"}
        )
        moved = await submit(
            tally,
            hass.config_entries.flow.async_configure,
            result["flow_id"],
            "reconfigure_meter",
            case,
        )
        if moved is None:
            assert (dict(entry.data), dict(entry.options), entry.unique_id) == before
            hass.config_entries.flow.async_abort(result["flow_id"])
            continue
        assert moved.get("type") is FlowResultType.ABORT, moved
        await hass.async_block_till_done()
        hass.config_entries.async_update_entry(
            entry, data=before[0], unique_id=before[2]
        )
    tally.check()


async def reconfigure_door(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    tally: Tally,
    step_id: str,
    cases: Any,
) -> None:
    """Each case in a new reconfigure flow at ``step_id``; data stays unless taken."""
    for case in cases:
        before = (dict(entry.data), dict(entry.options), entry.unique_id)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": step_id}
        )
        assert result["step_id"] == step_id
        moved = await submit(
            tally,
            hass.config_entries.flow.async_configure,
            result["flow_id"],
            step_id,
            case,
            secrets=(PAYER_SEED[:30],),
        )
        if moved is None:
            assert (dict(entry.data), dict(entry.options), entry.unique_id) == before
            hass.config_entries.flow.async_abort(result["flow_id"])
            continue
        await hass.async_block_till_done()
        hass.config_entries.async_update_entry(entry, data=before[0], options=before[1])


@pytest.mark.usefixtures("loopback_sockets")
async def test_reconfigure_node_and_receiver(
    hass: HomeAssistant, wallet_tangle: Any
) -> None:
    """A paying entry's node and receiver forms, against a real devtangle."""
    rng = random.Random(24)
    data = VIRTUAL_ENTRY_DATA | {
        "node_url": wallet_tangle.url,
        "min_weight_magnitude": 9,
        "seed": PAYER_SEED,
        "receiver": receiver(),
    }
    entry = entry_of(data, ENTRY_OPTIONS | POLICY_INPUT)
    entry.add_to_hass(hass)
    tally = Tally("reconfigure flow: node")
    node = {
        "node_url": wallet_tangle.url,
        "min_weight_magnitude": 9,
        "pow_mode": "auto",
    }
    cases = [node | {"node_url": text} for text in TEXTS]
    cases += list(mutations(rng, node, CASES // 2))
    await reconfigure_door(hass, entry, tally, "node", cases)
    tally.check()

    tally = Tally("reconfigure flow: receiver")
    cases = [{"receiver": text} for text in TEXTS]
    cases += list(mutations(rng, {"receiver": receiver()}, CASES // 2))
    await reconfigure_door(hass, entry, tally, "receiver", cases)
    tally.check()
