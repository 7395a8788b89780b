"""The real chip's form as the user sees it: each field's default, bounds,
unit and translated choices (the flow tests only submit it)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import voluptuous as vol

from custom_components.iota_energy.const import SOURCE_INA219, SOURCE_VIRTUAL

from .test_config_flow import CHIP_INPUT, _start

ADDRESSES = [f"0x{address:02x}" for address in range(0x40, 0x50)]


def _suggested(result: Any) -> dict[str, Any]:
    """Field name: the value the form suggests (None: an empty field)."""
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


def _fields(result: Any) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    """Field name: (Required/Optional, default or None, selector config)."""
    fields = {}
    for key, value in result["data_schema"].schema.items():
        kind = "required" if isinstance(key, vol.Required) else "optional"
        default = None if key.default is vol.UNDEFINED else key.default()
        config = dict(value.config)
        # Newer Home Assistant releases write the entity selector's "reorder"
        # (off unless asked for) into its config; older ones leave it out.
        if config.get("reorder") is False:
            del config["reorder"]
        fields[str(key)] = (kind, default, config)
    return fields


async def test_the_chip_form_offers_the_drivers_settings(hass: HomeAssistant) -> None:
    result = await _start(hass, SOURCE_INA219)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ina219"
    box = {"mode": "box"}
    dropdown = {
        "mode": "dropdown",
        "custom_value": False,
        "multiple": False,
        "sort": False,
    }
    fields = _fields(result)
    assert fields == {
        "busnum": ("required", 1, box | {"min": 0, "max": 255, "step": 1}),
        "address": ("required", "0x40", dropdown | {"options": ADDRESSES}),
        "shunt_ohms": (
            "required",
            0.1,
            box
            | {"min": 0.0001, "max": 100, "step": "any", "unit_of_measurement": "Ω"},
        ),
        "max_expected_amps": (
            "optional",
            None,
            box | {"min": 0.001, "max": 100, "step": "any", "unit_of_measurement": "A"},
        ),
        "voltage_range": ("required", "16", dropdown | {"options": ["16", "32"]}),
        "gain": (
            "required",
            "auto",
            dropdown
            | {
                "options": ["auto", "40mV", "80mV", "160mV", "320mV"],
                "translation_key": "gain",
            },
        ),
        "adc": (
            "required",
            "12bit",
            dropdown
            | {
                "options": fields["adc"][2]["options"],
                "translation_key": "adc",
            },
        ),
    }
    assert "12bit" in fields["adc"][2]["options"]
    assert result["errors"] == {}


async def test_the_chip_form_keeps_what_the_user_typed_after_an_error(
    hass: HomeAssistant,
) -> None:
    """No I2C bus here: the chip is missing, the typed settings stay."""
    result = await _start(hass, SOURCE_INA219)
    typed = CHIP_INPUT | {"address": "0x4a", "shunt_ohms": 0.05, "gain": "80mV"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)

    assert result["errors"] == {"base": "chip_missing"}
    assert _suggested(result) == typed | {"max_expected_amps": None}


async def test_the_virtual_chip_form_keeps_what_the_user_typed_after_an_error(
    hass: HomeAssistant,
) -> None:
    result = await _start(hass, SOURCE_VIRTUAL)
    assert result["errors"] == {}
    assert _suggested(result) == {"address": None, "load_profile": None}
    typed = {"address": "0x47", "load_profile": "no/such.csv"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)

    assert result["errors"] == {"load_profile": "invalid_load_profile"}
    assert _suggested(result) == typed
