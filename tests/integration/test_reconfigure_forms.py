"""The meter's reconfigure form as the user sees it, and what it checks.

Each field's selector and the value it suggests: the entry's own settings
(the address as the dropdown writes it), or what the user just typed when
the form comes back with an error. The flow tests submit this form; here it
is read as the frontend receives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import DOMAIN
from devtangle.server import DevTangle
from tests.conftest import VIRTUAL_ENTRY_DATA

from .test_chip_form import ADDRESSES, _fields, _suggested
from .test_config_flow import REAL_CHIP_ENTRY_DATA, _reconfigure_meter
from .test_payment_config_flow import (
    MWM,
    RECEIVER,
    configure,
    loopback_sockets,
    node,
    node_input,
    paying_entry,
)

__all__ = ["loopback_sockets", "node"]

TEXT = {"multiline": False, "multiple": False}
DROPDOWN = {"mode": "dropdown", "custom_value": False, "multiple": False, "sort": False}
BOX = {"mode": "box", "step": 1.0}
PERIOD_FIELDS = {
    "period": (
        "required",
        "hourly",
        DROPDOWN
        | {
            "options": ["fixed", "hourly", "daily", "weekly", "monthly"],
            "translation_key": "period",
        },
    ),
    "period_seconds": (
        "optional",
        3600,
        BOX | {"min": 60.0, "max": 86400.0, "unit_of_measurement": "s"},
    ),
    "weekday": (
        "optional",
        "0",
        DROPDOWN
        | {"options": [str(day) for day in range(7)], "translation_key": "weekday"},
    ),
    "billing_day": ("optional", 1, BOX | {"min": 1.0, "max": 31.0}),
}
# A weekly period from Thursday, away from every default.
WEEKLY = {"period": "weekly", "period_seconds": 7200, "weekday": 3, "billing_day": 15}
STEADY_PROFILE = "# interpolation: step\ntime_s,power_w\n0,2.5\n3600,2.5\n"


def _virtual_entry(**data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=VIRTUAL_ENTRY_DATA | {"address": 0x44} | WEEKLY | data,
        unique_id="virtual-1-0x44",
    )


async def test_a_virtual_meter_s_form_offers_its_address_profile_and_period(
    hass: HomeAssistant,
) -> None:
    entry = _virtual_entry(load_profile="steady.csv")
    entry.add_to_hass(hass)

    result = await _reconfigure_meter(hass, entry)

    assert result["errors"] == {}
    fields = _fields(result)
    assert (
        fields
        == {
            "address": ("required", None, DROPDOWN | {"options": ADDRESSES}),
            "load_profile": ("optional", None, TEXT),
        }
        | PERIOD_FIELDS
    )
    assert _suggested(result) == {
        "address": "0x44",
        "load_profile": "steady.csv",
        "period": "weekly",
        "period_seconds": 7200,
        "weekday": "3",
        "billing_day": 15,
    }


async def test_a_real_chip_s_form_offers_its_wiring_and_period(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=REAL_CHIP_ENTRY_DATA
        | {"address": 0x41, "shunt_ohms": 0.05, "max_expected_amps": 2.5}
        | {"voltage_range": 16, "gain": "80mV", "adc": "64samples"}
        | WEEKLY,
        unique_id="ina219-1-0x41",
    )
    entry.add_to_hass(hass)

    result = await _reconfigure_meter(hass, entry)

    assert result["errors"] == {}
    fields = _fields(result)
    assert list(fields) == [
        "busnum",
        "address",
        "shunt_ohms",
        "max_expected_amps",
        "voltage_range",
        "gain",
        "adc",
        *PERIOD_FIELDS,
    ]
    assert {key: fields[key] for key in PERIOD_FIELDS} == PERIOD_FIELDS
    assert _suggested(result) == {
        "busnum": 1,
        "address": "0x41",
        "shunt_ohms": 0.05,
        "max_expected_amps": 2.5,
        "voltage_range": "16",
        "gain": "80mV",
        "adc": "64samples",
        "period": "weekly",
        "period_seconds": 7200,
        "weekday": "3",
        "billing_day": 15,
    }


async def test_an_entry_stored_without_a_weekday_suggests_monday(
    hass: HomeAssistant,
) -> None:
    """Entries from before weekly periods have no weekday: Monday, as billed."""
    entry = _virtual_entry(period="daily")
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={k: v for k, v in entry.data.items() if k != "weekday"}
    )

    result = await _reconfigure_meter(hass, entry)

    assert _suggested(result)["weekday"] == "0"


async def test_a_profile_that_cannot_be_read_keeps_what_the_user_typed(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The form comes back with the error and the user's input; once the
    profile is readable, it is stored with the new address and period."""
    hass.config.config_dir = str(tmp_path)
    entry = _virtual_entry()
    entry.add_to_hass(hass)
    typed = {
        "address": "0x45",
        "load_profile": "steady.csv",
        "period": "daily",
        "period_seconds": 3600,
        "weekday": "0",
        "billing_day": 1,
    }
    result = await _reconfigure_meter(hass, entry)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"load_profile": "invalid_load_profile"}
    assert _suggested(result) == typed
    assert entry.data["address"] == 0x44

    (tmp_path / "steady.csv").write_text(STEADY_PROFILE, encoding="utf-8")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == "virtual-1-0x45"
    assert {
        key: entry.data.get(key)
        for key in ("address", "load_profile", "period", "weekday")
    } == {
        "address": 0x45,
        "load_profile": "steady.csv",
        "period": "daily",
        "weekday": 0,
    }
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def _legacy_entry(
    node: DevTangle,
    *,
    options: dict[str, Any] | None = None,
    unstored: tuple[str, ...] = (),
) -> MockConfigEntry:
    """A paying entry on the legacy rail: some options changed, some keys
    of its data or options never stored (as in entries made by older versions)."""
    stored = paying_entry(node)
    return MockConfigEntry(
        domain=DOMAIN,
        data={k: v for k, v in stored.data.items() if k not in unstored},
        options={
            k: v
            for k, v in (dict(stored.options) | (options or {})).items()
            if k not in unstored
        },
        unique_id=stored.unique_id,
    )


async def _open_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> Any:
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await configure(hass, result, {"next_step_id": step})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    assert result["errors"] == {}
    return result


async def test_the_node_form_suggests_the_entry_s_node_weight_and_work(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """Shown again with an error, it keeps what the user typed instead."""
    entry = _legacy_entry(node, options={"pow_mode": "local"})
    result = await _open_step(hass, entry, "node")

    assert _suggested(result) == node_input(node.url, "local", MWM)

    typed = node_input("mailto:node@example.org", "node", 9)
    result = await configure(hass, result, typed)

    assert result["errors"] == {"node_url": "invalid_url"}
    assert _suggested(result) == typed


async def test_an_entry_stored_without_weight_or_work_suggests_the_defaults(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """Mainnet's weight (14) and automatic proof of work."""
    entry = _legacy_entry(node, unstored=("min_weight_magnitude", "pow_mode"))
    result = await _open_step(hass, entry, "node")

    assert _suggested(result) == node_input(node.url, "auto", 14)


async def test_the_receiver_form_suggests_the_entry_s_receiver(
    hass: HomeAssistant, node: DevTangle
) -> None:
    """Only the receiver (the policy is in the options); a refused one stays
    in the field to be corrected."""
    result = await _open_step(hass, _legacy_entry(node), "receiver")

    assert _fields(result) == {"receiver": ("required", None, TEXT)}
    assert _suggested(result) == {"receiver": RECEIVER}

    typo = RECEIVER[:-1] + ("A" if RECEIVER[-1] != "A" else "B")
    result = await configure(hass, result, {"receiver": typo})

    assert result["errors"] == {"receiver": "receiver_checksum"}
    assert _suggested(result) == {"receiver": typo}
