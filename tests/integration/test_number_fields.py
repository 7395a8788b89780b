"""Number fields of the forms: whole counts up to their bounds, exactly.

Home Assistant's NumberSelector lets NaN through and reads every value as a
float; ``FiniteNumberSelector`` (number_selector.py) refuses NaN and
fractions in fields of ones and keeps counts whole. Checked through the
options flow, as the frontend submits it: a refused field is marked with
the reason.
"""

from __future__ import annotations

import math
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import CONF_STATEMENT_RETENTION

OPTIONS: dict[str, Any] = {
    "sample_rate": 10,
    "publish_interval": 10,
    "flush_interval": 60,
    "price": "720000000",
    "min_payment": 1,
    CONF_STATEMENT_RETENTION: 1000,
}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (9, "Value 9 is out of range"),
        (100001, "Value 100001 is out of range"),
        (10.5, "Value 10.5 is not a whole number"),
        (math.nan, "Value is not a number"),
    ],
    ids=["below_10", "above_100000", "a_fraction", "nan"],
)
async def test_a_bad_count_is_refused_with_its_reason(
    hass: HomeAssistant, init_integration: MockConfigEntry, value: float, reason: str
) -> None:
    """Statements kept: 10 to 100 000, whole; the options stay as they were."""
    before = dict(init_integration.options)
    flow = await hass.config_entries.options.async_init(init_integration.entry_id)

    with pytest.raises(InvalidData) as err:
        await hass.config_entries.options.async_configure(
            flow["flow_id"], OPTIONS | {CONF_STATEMENT_RETENTION: value}
        )

    assert err.value.schema_errors == {CONF_STATEMENT_RETENTION: reason}
    assert dict(init_integration.options) == before


@pytest.mark.parametrize("value", [10, 100000, 250.0], ids=["min", "max", "float"])
async def test_counts_up_to_their_bounds_are_stored_whole(
    hass: HomeAssistant, init_integration: MockConfigEntry, value: float
) -> None:
    """Both bounds are allowed; a whole float is stored as a count."""
    flow = await hass.config_entries.options.async_init(init_integration.entry_id)

    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], OPTIONS | {CONF_STATEMENT_RETENTION: value}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = init_integration.options[CONF_STATEMENT_RETENTION]
    assert stored == value
    assert type(stored) is int
