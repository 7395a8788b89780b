"""The options form as the user sees it: each field's selector (bounds, step,
unit, choices) and the value it suggests, read as the frontend receives it.

The flow tests submit this form; here it is only opened. The suggested values
are the entry's options, or the defaults where an option was never stored.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import DOMAIN
from devtangle.server import DevTangle
from tests.conftest import VIRTUAL_ENTRY_DATA

from .test_chip_form import _fields, _suggested
from .test_payment_config_flow import loopback_sockets, node, paying_entry

__all__ = ["loopback_sockets", "node"]

BOX = {"mode": "box", "step": 1.0}
# A price may follow a sensor, an input number or a number entity.
PRICE_ENTITY = {"domain": ["sensor", "input_number", "number"], "multiple": False}
METER_FIELDS = {
    "sample_rate": (
        "required",
        None,
        BOX | {"min": 1.0, "max": 50.0, "unit_of_measurement": "Hz"},
    ),
    "publish_interval": (
        "required",
        None,
        BOX | {"min": 1.0, "max": 3600.0, "unit_of_measurement": "s"},
    ),
    "flush_interval": (
        "required",
        None,
        BOX | {"min": 5.0, "max": 3600.0, "unit_of_measurement": "s"},
    ),
    "price": ("required", None, {"multiline": False, "multiple": False}),
    "price_entity": ("optional", None, PRICE_ENTITY),
    "min_payment": (
        "required",
        None,
        BOX | {"min": 1.0, "max": 1e15, "unit_of_measurement": "i"},
    ),
    "statement_retention": ("required", None, BOX | {"min": 10.0, "max": 100000.0}),
}
# The total supply of IOTA: no cap can exceed what exists.
SUPPLY = 2_779_530_283_277_761.0
POLICY_FIELDS = {
    "pow_mode": (
        "required",
        None,
        {
            "options": ["auto", "local", "node"],
            "mode": "dropdown",
            "translation_key": "pow_mode",
            "multiple": False,
            "sort": False,
            "custom_value": False,
        },
    ),
    "tag": ("required", None, {"multiline": False, "multiple": False}),
    "auto_pay": ("required", None, {}),
    "max_payment_iota": (
        "required",
        None,
        BOX | {"min": 0.0, "max": SUPPLY, "unit_of_measurement": "i"},
    ),
    "max_daily_iota": (
        "required",
        None,
        BOX | {"min": 0.0, "max": SUPPLY, "unit_of_measurement": "i"},
    ),
}
# Every option away from its default: a suggestion read from elsewhere shows.
METER_OPTIONS: dict[str, Any] = {
    "sample_rate": 25.0,
    "publish_interval": 30,
    "flush_interval": 120,
    "price": "0.5",
    "price_entity": "sensor.neighbour_tariff",
    "min_payment": 7,
    "statement_retention": 500,
}
POLICY_OPTIONS: dict[str, Any] = {
    "pow_mode": "local",
    "tag": "GARDEN9LIGHTS",
    "auto_pay": False,
    "max_payment_iota": 11,
    "max_daily_iota": 22,
}


def _paying(node: DevTangle, options: dict[str, Any]) -> MockConfigEntry:
    """A paying entry on the legacy rail holding exactly these options."""
    stored = paying_entry(node)
    return MockConfigEntry(
        domain=DOMAIN,
        data=dict(stored.data),
        options=options,
        unique_id=stored.unique_id,
    )


async def _open(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {}
    return result


async def test_a_meter_s_form_offers_each_field_with_its_selector_and_value(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, data=VIRTUAL_ENTRY_DATA, options=METER_OPTIONS
    )
    result = await _open(hass, entry)

    assert _fields(result) == METER_FIELDS
    assert _suggested(result) == METER_OPTIONS


async def test_a_meter_without_stored_options_is_offered_the_defaults(
    hass: HomeAssistant,
) -> None:
    """An entry whose options were never stored: the defaults, no policy."""
    result = await _open(hass, MockConfigEntry(domain=DOMAIN, data=VIRTUAL_ENTRY_DATA))

    assert _suggested(result) == {
        "sample_rate": 10.0,
        "publish_interval": 10,
        "flush_interval": 60,
        "price": "720000000",
        "price_entity": None,
        "min_payment": 1,
        "statement_retention": 1000,
    }


async def test_a_paying_entry_s_form_adds_the_payment_policy(
    hass: HomeAssistant, node: DevTangle
) -> None:
    result = await _open(hass, _paying(node, METER_OPTIONS | POLICY_OPTIONS))

    assert _fields(result) == METER_FIELDS | POLICY_FIELDS
    assert _suggested(result) == METER_OPTIONS | POLICY_OPTIONS


async def test_a_paying_entry_without_a_stored_policy_is_offered_the_defaults(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """Payments turned on before the policy was stored: the default policy."""
    result = await _open(hass, _paying(node, METER_OPTIONS))

    assert _suggested(result) == METER_OPTIONS | {
        "pow_mode": "auto",
        "tag": "HOTELIOTA",
        "auto_pay": True,
        "max_payment_iota": 0,
        "max_daily_iota": 0,
    }


async def test_a_price_entity_left_empty_is_removed(hass: HomeAssistant) -> None:
    """The price follows the typed value again once its entity is cleared."""
    entry = MockConfigEntry(
        domain=DOMAIN, data=VIRTUAL_ENTRY_DATA, options=METER_OPTIONS
    )
    result = await _open(hass, entry)
    typed = dict(METER_OPTIONS)
    del typed["price_entity"]

    result = await hass.config_entries.options.async_configure(result["flow_id"], typed)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(entry.options) == typed
    await _unload(hass, entry)


async def test_a_bad_price_and_a_bad_tag_are_shown_together(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """Every field's error at once, the typed values kept, nothing stored."""
    entry = paying_entry(node)
    before = dict(entry.options)
    result = await _open(hass, entry)

    typed = METER_OPTIONS | POLICY_OPTIONS | {"price": "cheap", "tag": "ÄÖ"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], typed)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"price": "invalid_price", "tag": "invalid_tag"}
    assert _suggested(result) == typed

    # A switch to the node's proof of work that cannot be checked, as well.
    node.stop()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], typed | {"pow_mode": "node"}
    )

    assert result["errors"] == {
        "price": "invalid_price",
        "tag": "invalid_tag",
        "base": "cannot_connect",
    }
    assert dict(entry.options) == before


async def _unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The options' reload may have set the entry up: take it down again."""
    await hass.async_block_till_done()
    if entry.state.recoverable:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_only_a_switch_to_the_node_s_proof_of_work_asks_the_node(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """The node is down: a switch to local work, or a change of anything while
    the node's work stays chosen, is stored without asking it."""
    entry = paying_entry(node)
    node.stop()
    result = await _open(hass, entry)
    submitted = METER_OPTIONS | POLICY_OPTIONS

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], submitted | {"pow_mode": "local"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await _unload(hass, entry)
    hass.config_entries.async_update_entry(
        entry, options=dict(entry.options) | {"pow_mode": "node"}
    )

    result = await hass.config_entries.options.async_init(entry.entry_id)
    changed = {"pow_mode": "node", "tag": "NIGHT", "auto_pay": True}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], submitted | changed
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(entry.options) == submitted | changed
    await _unload(hass, entry)
