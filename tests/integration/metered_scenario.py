"""One deterministic metering scenario, the input of the platform snapshots.

The real sampler reads the real driver over the virtual chip, on a clock the
test moves (``stepped_clock``). The entry bills hourly at 1 sample/s and is
set up at 12:59:00 UTC, a minute before the 12:00 period ends, then:

* 13:00:05  the 12:00 period has closed at its boundary, incomplete (the
  meter started at 12:59): one statement, one billing event;
* 13:00:25  the chip goes away for 15 s (a gap the meter cannot bridge);
* 13:01:00  the chip is back; the values published now are the snapshot.

So energy, the period's energy and cost, the outstanding amount, coverage
(well below 100 %) and the gap count all have values worth checking.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import (
    CONF_PERIOD,
    CONF_SAMPLE_RATE,
    DOMAIN,
)
from custom_components.iota_energy.core.payments import PaymentStatus
from devtangle.server import DevTangle

from .helpers import call_action, refresh
from .stepped_clock import SteppedClock

# Fixed, so unique ids, device identifiers and config entry ids are snapshot.
ENTRY_ID = "01JSNAPSHOTENTRY00000000000"
SCENARIO_DATA: dict[str, Any] = {CONF_PERIOD: "hourly"}
SCENARIO_OPTIONS: dict[str, Any] = {CONF_SAMPLE_RATE: 1.0}


def scenario_entry(data: dict[str, Any], options: dict[str, Any]) -> MockConfigEntry:
    """The entry the scenario meters (the shared fixtures' data and options)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=data | SCENARIO_DATA,
        options=options | SCENARIO_OPTIONS,
        unique_id="virtual-1-0x40",
        entry_id=ENTRY_ID,
        version=1,
        minor_version=1,
    )


async def run_scenario(
    hass: HomeAssistant, entry: MockConfigEntry, clock: SteppedClock
) -> None:
    """Set the entry up and meter as the module docstring says."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await clock.wait_idle()
    await clock.advance(65)
    await refresh(hass, entry)
    assert len(entry.runtime_data.coordinator.state.ledger.statements) == 1
    await clock.advance(20)
    chip = entry.runtime_data.chip
    chip.present = False
    await clock.advance(15)
    chip.present = True
    await clock.advance(20)
    await refresh(hass, entry)


async def pay_and_confirm(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    tangle: DevTangle,
    clock: SteppedClock,
) -> None:
    """Pay what the scenario owes (the ``pay`` action) at 13:01:00; confirmed
    at 13:01:05.

    The clock moves between the two payment events: from Home Assistant
    2026.10 an event entity moves an event at the same instant as the one
    before it a millisecond on, which would show in the snapshot.
    """
    response = await call_action(hass, "pay", config_entry_id=entry.entry_id)
    assert response["payment"]["status"] == "broadcast"
    await clock.advance(5)
    payments = entry.runtime_data.payments
    for _ in range(20):
        tangle.node.issue_milestone()
        # As if the follow-up interval had passed (the clock stands still).
        payments.outbox._follow.checked.clear()
        await payments._async_tick(reschedule=False)
        await hass.async_block_till_done()
        if payments.outbox.state.payments[-1].status is PaymentStatus.CONFIRMED:
            break
    else:
        raise AssertionError("the payment was never confirmed")
    # Read the balance now rather than at the next balance interval.
    payments._funds_at = None
    await payments._async_refresh_funds()
    await refresh(hass, entry)
