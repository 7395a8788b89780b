"""The Rebased rail's forms as the user sees them, and what its checks log.

The flow tests submit these forms; here each field's kind, default and
selector (bounds, step, unit, input type, translated choices) is read as the
frontend receives it, and the checks' log lines are matched in full.
"""

from __future__ import annotations

import logging
from unittest.mock import AsyncMock

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.config_flow_rebased import _probe_errors
from custom_components.iota_energy.core.legacy_node import NodeError
from custom_components.iota_energy.core.rebased_sdk import SdkMissingError
from devrebased.ledger import CHAIN_ID
from devrebased.server import DevRebased

from .test_chip_form import _fields
from .test_payment_config_flow import configure
from .test_rebased_config_flow import (
    NEIGHBOUR,
    chain,
    loopback_sockets,
    mock_setup_entry,
    payer,
    to_wallet_step,
    wallet_input,
)

__all__ = ["chain", "loopback_sockets", "mock_setup_entry", "payer"]

FLOW_LOGGER = "custom_components.iota_energy.config_flow_rebased"
# Amounts on the Rebased rail are u64 nanos, typed in a box (the selector
# holds its bounds as floats).
NANOS = {
    "mode": "box",
    "step": 1,
    "max": float(2**64 - 1),
    "unit_of_measurement": "nanos",
}


async def test_the_wallet_form_offers_each_field_with_its_selector(
    hass: HomeAssistant,
) -> None:
    result = await to_wallet_step(hass)
    assert result["errors"] == {}
    fields = _fields(result)
    assert fields == {
        "network": (
            "required",
            "mainnet",
            {
                "options": ["mainnet", "testnet", "devnet", "custom"],
                "mode": "dropdown",
                "translation_key": "network",
                "custom_value": False,
                "multiple": False,
                "sort": False,
            },
        ),
        "graphql_url": (
            "optional",
            None,
            {"type": "url", "multiline": False, "multiple": False},
        ),
        # A password field the browser neither shows nor offers to fill.
        "mnemonic": (
            "optional",
            None,
            {
                "type": "password",
                "autocomplete": "off",
                "multiline": False,
                "multiple": False,
            },
        ),
        "key_path": ("optional", None, {"multiline": False, "multiple": False}),
        # A transaction needs some gas: the cap starts at 1 nano.
        "max_gas_budget": ("required", 50_000_000, NANOS | {"min": 1}),
    }


async def test_the_receiver_form_takes_the_caps_in_nanos_and_automatic_payment(
    hass: HomeAssistant, chain: DevRebased, mock_setup_entry: AsyncMock
) -> None:
    result = await configure(hass, await to_wallet_step(hass), wallet_input(chain.url))
    assert result["step_id"] == "rebased_receiver"
    assert _fields(result) == {
        "receiver": ("required", None, {"multiline": False, "multiple": False}),
        "auto_pay": ("required", None, {}),
        # 0 is "no cap".
        "max_payment_iota": ("required", None, NANOS | {"min": 0}),
        "max_daily_iota": ("required", None, NANOS | {"min": 0}),
    }
    result = await configure(
        hass,
        result,
        {
            "receiver": NEIGHBOUR,
            "auto_pay": True,
            "max_payment_iota": 7.0,
            "max_daily_iota": 0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    options = result["result"].options
    policy = {
        key: options[key] for key in ("auto_pay", "max_payment_iota", "max_daily_iota")
    }
    assert policy == {"auto_pay": True, "max_payment_iota": 7, "max_daily_iota": 0}
    assert type(policy["max_payment_iota"]) is int


async def test_a_checked_service_is_logged_with_its_chain(
    hass: HomeAssistant,
    chain: DevRebased,
    mock_setup_entry: AsyncMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=FLOW_LOGGER)
    result = await configure(hass, await to_wallet_step(hass), wallet_input(chain.url))
    assert result["step_id"] == "rebased_receiver"
    logged = [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == FLOW_LOGGER
    ]
    assert logged == [
        (logging.DEBUG, f"IOTA Rebased service {chain.url} serves chain {CHAIN_ID}")
    ]


@pytest.mark.parametrize(
    ("error", "form_error", "logged"),
    [
        (
            NodeError("chainIdentifier", "timeout"),
            {"base": "graphql_cannot_connect"},
            (
                logging.DEBUG,
                "The IOTA Rebased service cannot be used: chainIdentifier: timeout",
            ),
        ),
        (
            NodeError("chainIdentifier", "unreachable", "refused"),
            {"base": "graphql_cannot_connect"},
            (
                logging.DEBUG,
                "The IOTA Rebased service cannot be used: "
                "chainIdentifier: unreachable (refused)",
            ),
        ),
        (
            NodeError("chainIdentifier", "garbage"),
            {"base": "not_graphql_service"},
            (
                logging.DEBUG,
                "The IOTA Rebased service cannot be used: chainIdentifier: garbage",
            ),
        ),
        (
            SdkMissingError("iota-sdk==3.0.0b1 is not installed"),
            {"base": "rebased_sdk_missing"},
            (
                logging.ERROR,
                "The IOTA Rebased SDK cannot be used: "
                "iota-sdk==3.0.0b1 is not installed",
            ),
        ),
        (
            ValueError("the SDK refused the URL"),
            {"graphql_url": "invalid_graphql_url"},
            None,
        ),
    ],
    ids=["timeout", "unreachable", "garbage", "sdk_missing", "url_refused"],
)
def test_each_refusal_has_its_form_error_and_log_line(
    error: Exception,
    form_error: dict[str, str],
    logged: tuple[int, str] | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=FLOW_LOGGER)
    assert _probe_errors(error) == form_error
    lines = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert lines == ([logged] if logged else [])
