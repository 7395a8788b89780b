"""Event entities: billing (always) and payments (with a wallet)."""

from __future__ import annotations

from homeassistant.components.event import ATTR_EVENT_TYPE, ATTR_EVENT_TYPES
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from .helpers import call_action, entity_id
from .platform_snapshot import platform_snapshot
from .stepped_clock import SteppedClock


async def test_events(
    hass: HomeAssistant, metered_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """The scenario's statement closed incomplete at 13:00: one billing event."""
    assert platform_snapshot(hass, metered_entry.entry_id, "event") == snapshot


async def test_events_with_a_wallet(
    hass: HomeAssistant, paid_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """The payments event showed the confirmation last.

    A bundle hash covers the transactions' timestamps, which PyOTA takes from
    the real clock: it is checked against the outbox, then shown by name.
    """
    shown = platform_snapshot(hass, paid_entry.entry_id, "event")
    payment = paid_entry.runtime_data.payments.outbox.state.payments[-1]
    attributes = shown["entities"]["event.garden_lights_payments"]["state"][
        "attributes"
    ]
    assert attributes["bundle_hash"] == payment.bundle_hash
    # The legacy rail's transfer id is the bundle hash.
    assert attributes["transfer_id"] == payment.bundle_hash
    attributes["bundle_hash"] = f"<bundle hash of {payment.id}>"
    attributes["transfer_id"] = f"<bundle hash of {payment.id}>"
    assert shown == snapshot


async def test_billing_event_values(
    hass: HomeAssistant, metered_entry: MockConfigEntry, stepped_clock: SteppedClock
) -> None:
    """A period metered throughout fires ``period_closed`` with its statement."""
    billing = entity_id(hass, metered_entry, "billing", "event")
    state = hass.states.get(billing)
    assert state is not None
    assert state.attributes[ATTR_EVENT_TYPES] == [
        "period_closed",
        "period_closed_incomplete",
    ]
    assert state.attributes[ATTR_EVENT_TYPE] == "period_closed_incomplete"

    # The open period saw an outage: close it, then meter one clean period.
    await call_action(hass, "close_period", config_entry_id=metered_entry.entry_id)
    await stepped_clock.advance(30)
    response = await call_action(
        hass, "close_period", config_entry_id=metered_entry.entry_id
    )
    statement = response["statement"]
    assert statement["complete"] is True
    assert statement["due_iota"] > 0

    state = hass.states.get(billing)
    assert state is not None
    assert state.state == stepped_clock.utcnow().isoformat(timespec="milliseconds")
    assert state.attributes[ATTR_EVENT_TYPE] == "period_closed"
    assert state.attributes["statement_id"] == statement["id"]
    assert state.attributes["due_iota"] == statement["due_iota"]
    assert state.attributes["energy_wh"] == round(statement["energy_wh"], 6)
