"""The forms of a new entry as the user sees them, step by step: each field's
kind, default and selector (bounds, step, unit, input type, translated
choices) and the value it suggests, read as the frontend receives it.

The flow tests submit these forms; the real chip's form is in
``test_chip_form.py``, the Rebased rail's in ``test_rebased_forms.py``.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.iota_energy.const import DOMAIN, SOURCE_VIRTUAL
from devtangle.server import DevTangle

from .test_chip_form import ADDRESSES, _fields, _suggested
from .test_config_flow import _start
from .test_options_forms import PRICE_ENTITY
from .test_payment_config_flow import (
    configure,
    loopback_sockets,
    node,
    node_input,
    to_payments_menu,
)
from .test_reconfigure_forms import BOX, DROPDOWN, PERIOD_FIELDS

__all__ = ["loopback_sockets", "node"]

TEXT = {"multiline": False, "multiple": False}
BILLING_FIELDS = PERIOD_FIELDS | {
    # The tutorial's price, in IOTA per kWh.
    "price": ("required", "720000000", TEXT),
    "price_entity": ("optional", None, PRICE_ENTITY),
    "min_payment": (
        "required",
        1,
        BOX | {"min": 1.0, "max": 1e15, "unit_of_measurement": "i"},
    ),
}
BILLING_INPUT: dict[str, Any] = {
    "period": "weekly",
    "period_seconds": 7200,
    "weekday": "4",
    "billing_day": 9,
    "price_entity": "sensor.neighbour_tariff",
    "min_payment": 25,
}


def _form(result: Any, step_id: str) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step_id
    return _fields(result)


async def test_the_first_form_names_the_entry_and_its_chip(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )

    assert result["errors"] == {}
    assert _form(result, "user") == {
        "name": ("required", "IOTA Energy", TEXT),
        "source": (
            "required",
            "ina219",
            DROPDOWN | {"options": ["ina219", "virtual"], "translation_key": "source"},
        ),
    }


async def test_the_virtual_chip_form_offers_an_address_and_a_profile(
    hass: HomeAssistant,
) -> None:
    result = await _start(hass, SOURCE_VIRTUAL)

    assert result["errors"] == {}
    assert _form(result, "virtual") == {
        "address": ("required", "0x40", DROPDOWN | {"options": ADDRESSES}),
        "load_profile": ("optional", None, TEXT),
    }


async def test_the_billing_form_offers_the_period_price_and_minimum(
    hass: HomeAssistant,
) -> None:
    """Shown again with an error, it keeps every value the user typed."""
    result = await _start(hass, SOURCE_VIRTUAL)
    result = await configure(hass, result, {"address": "0x40"})

    assert result["errors"] == {}
    assert _form(result, "billing") == BILLING_FIELDS
    assert set(_suggested(result).values()) == {None}

    typed = BILLING_INPUT | {"price": "cheap"}
    result = await configure(hass, result, typed)

    assert result["errors"] == {"price": "invalid_price"}
    assert _form(result, "billing") == BILLING_FIELDS
    assert _suggested(result) == typed


async def test_the_node_form_suggests_mainnet_s_weight_and_automatic_work(
    hass: HomeAssistant,
) -> None:
    menu = await to_payments_menu(hass)
    result = await configure(hass, menu, {"next_step_id": "node"})

    assert result["errors"] == {}
    assert _form(result, "node") == {
        "node_url": ("required", None, TEXT | {"type": "url"}),
        "min_weight_magnitude": ("required", None, BOX | {"min": 1.0, "max": 27.0}),
        "pow_mode": (
            "required",
            None,
            DROPDOWN
            | {"options": ["auto", "local", "node"], "translation_key": "pow_mode"},
        ),
    }
    assert _suggested(result) == {
        "node_url": None,
        "min_weight_magnitude": 14,
        "pow_mode": "auto",
    }


async def test_the_wallet_form_hides_the_seed_and_never_shows_it_back(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """A password field the browser must not remember; after a bad seed the
    form comes back empty (a secret is not sent back to the browser)."""
    menu = await to_payments_menu(hass)
    result = await configure(hass, menu, {"next_step_id": "node"})
    result = await configure(hass, result, node_input(node.url))
    wallet_fields = {
        "seed": ("optional", None, TEXT | {"type": "password", "autocomplete": "off"}),
        "generate_seed": ("required", False, {}),
    }

    assert result["errors"] == {}
    assert _form(result, "wallet") == wallet_fields

    result = await configure(
        hass, result, {"seed": "NOT9A9SEED", "generate_seed": False}
    )

    assert result["errors"] == {"seed": "invalid_seed"}
    assert _form(result, "wallet") == wallet_fields
    assert _suggested(result) == {"seed": None, "generate_seed": None}
