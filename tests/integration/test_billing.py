"""Billing inside Home Assistant: periods close on time, events, actions, prices."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.iota_energy.const import (
    CONF_PERIOD,
    CONF_PERIOD_SECONDS,
    CONF_PRICE_ENTITY,
    DOMAIN,
    EVENT_PERIOD_CLOSED,
)

from .helpers import (
    call_action,
    close_at_boundary,
    entity_id,
    refresh,
    wait_for_more_energy,
    wait_for_samples,
)

PRICE_SENSOR = "sensor.neighbour_tariff"


@pytest.fixture
def entry_data(entry_data: dict[str, Any]) -> dict[str, Any]:
    """Bill in the tutorial's 60-second periods."""
    return entry_data | {CONF_PERIOD: "fixed", CONF_PERIOD_SECONDS: 60}


async def test_period_closes_at_its_boundary(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    """At the boundary a statement is recorded, announced, and the period restarts."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    await wait_for_samples(entry, 5)
    boundary = coordinator.state.engine.next_boundary()

    closes = await close_at_boundary(hass, entry, events, boundary)

    assert len(closes) == 1, [event.data["period_end"] for event in events]
    data = closes[0].data
    assert data["config_entry_id"] == entry.entry_id
    assert Fraction(data["energy_wh_exact"]) > 0
    owed = Fraction(data["owed_iota_exact"])
    carried_in = Fraction(data["carried_in_iota_exact"])
    # The tutorial's price: 720 000 000 IOTA/kWh, exact.
    assert owed == Fraction(data["energy_wh_exact"]) * 720_000
    assert data["due_iota"] == int(carried_in + owed)
    assert (
        Fraction(data["carried_out_iota_exact"]) == carried_in + owed - data["due_iota"]
    )
    assert coordinator.state.ledger.statements[-1].id == data["id"]
    assert coordinator.state.engine.next_boundary() == boundary + timedelta(seconds=60)

    # Durable before announced: the stored document already holds the statement.
    for slot in ("a", "b"):
        key = f"{DOMAIN}.{entry.entry_id}.ledger.{slot}"
        ledger = hass_storage[key]["data"]["state"]
        # Fewer statements than a chunk: all still in the head's open part.
        open_part = ledger["ledger"]["open"]["statements"]
        assert data["id"] in [s["id"] for s in open_part]
    outstanding = hass.states.get(entity_id(hass, entry, "outstanding"))
    assert int(outstanding.state) == data["due_iota"]
    billing_event = hass.states.get(entity_id(hass, entry, "billing", "event"))
    assert billing_event.attributes["statement_id"] == data["id"]


async def test_close_period_action_returns_the_statement(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """close_period closes now; get_statements finds it; energy restarts at 0."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    events = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    response = await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    statement = response["statement"]
    assert Fraction(statement["energy_wh_exact"]) > 0
    # (A 60 s boundary may pass during the test and close one more period.)
    assert events[-1].data["id"] == statement["id"]
    assert (
        entry.runtime_data.coordinator.state.engine.open_period.energy_j
        < Fraction(statement["energy_wh_exact"]) * 3600
    )

    listed = await call_action(hass, "get_statements", config_entry_id=entry.entry_id)
    ids = [s["id"] for s in listed["statements"]]
    assert ids == [event.data["id"] for event in events]
    assert ids[-1] == statement["id"]

    none_due = await call_action(
        hass,
        "get_statements",
        config_entry_id=entry.entry_id,
        states=["paid"],
    )
    assert none_due["statements"] == []


async def test_actions_reject_bad_input(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Wrong entries and time ranges are translated validation errors."""
    with pytest.raises(ServiceValidationError) as unknown:
        await call_action(hass, "close_period", config_entry_id="no_such_entry")
    assert unknown.value.translation_key == "entry_not_found"

    with pytest.raises(ServiceValidationError) as backwards:
        await call_action(
            hass,
            "get_statements",
            config_entry_id=init_integration.entry_id,
            start="2026-01-02T00:00:00+00:00",
            end="2026-01-01T00:00:00+00:00",
        )
    assert backwards.value.translation_key == "invalid_time_range"
    # Nothing was closed by the failed calls: any statement there is one a
    # 60 s boundary closed, ending on a whole minute.
    ledger = init_integration.runtime_data.coordinator.state.ledger
    assert all(s.period_end.timestamp() % 60 == 0 for s in ledger.statements)


async def test_actions_on_an_unloaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An unloaded meter is a clear error, not a crash."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "get_statements", config_entry_id=init_integration.entry_id
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_price_entity_is_applied_per_slice(
    hass: HomeAssistant, entry_data: dict[str, Any], entry_options: dict[str, Any]
) -> None:
    """Energy before a price change is billed at the old price, after it at the new.

    The price comes from a sensor (a tariff, or the tutorial's part-2 rule).
    Monthly periods: no boundary falls inside the test.
    """
    hass.states.async_set(PRICE_SENSOR, "1000", {"unit_of_measurement": "IOTA/kWh"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garden lights",
        data=entry_data | {CONF_PERIOD: "monthly"},
        options=entry_options | {CONF_PRICE_ENTITY: PRICE_SENSOR},
        unique_id="virtual-1-0x40",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    engine = entry.runtime_data.coordinator.state.engine

    await wait_for_more_energy(entry)
    hass.states.async_set(PRICE_SENSOR, "2.5", {"unit_of_measurement": "IOTA/Wh"})
    await hass.async_block_till_done()
    await wait_for_more_energy(entry)
    hass.states.async_set(PRICE_SENSOR, "unavailable")
    await hass.async_block_till_done()
    await wait_for_more_energy(entry)
    await refresh(hass, entry)

    slices = engine.open_period.slices
    prices = [(s.iota_per_kwh, s.source) for s in slices]
    assert prices == [
        (Fraction(1000), "entity"),
        (Fraction(2500), "entity"),
        (Fraction(2500), "last_valid"),
    ]
    assert all(s.energy_j > 0 for s in slices)
    assert engine.open_period.owed() == sum(
        (s.energy_j / 3_600_000 * s.iota_per_kwh for s in slices), Fraction(0)
    )
    price_state = hass.states.get(entity_id(hass, entry, "price"))
    assert float(price_state.state) == 2500

    response = await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    assert "last_valid" in response["statement"]["price_flags"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_missed_periods_are_closed_at_start_up(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Down across several 60 s boundaries: the open period closes with its
    energy, each missed one closes empty and incomplete, all announced."""
    entry = mock_config_entry
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for_samples(entry, 3)
    coordinator = entry.runtime_data.coordinator
    open_period = coordinator.state.engine.open_period.period
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    metered = coordinator.state.engine.open_period.energy_j
    assert metered > 0

    events = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    # Start again as if Home Assistant had been down for five more periods.
    # Only the wall clock moves: the sampler's monotonic clock must keep going.
    offset = open_period.end + timedelta(minutes=5, seconds=30) - dt_util.utcnow()
    real_utcnow = dt_util.utcnow
    with patch.object(dt_util, "utcnow", lambda: real_utcnow() + offset):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

    closed = [event.data for event in events]
    assert len(closed) == 6
    interrupted, *missed = closed
    assert dt_util.parse_datetime(interrupted["period_end"]) == open_period.end
    assert Fraction(interrupted["energy_wh_exact"]) * 3600 == metered
    assert interrupted["complete"] is False
    starts = [dt_util.parse_datetime(statement["period_start"]) for statement in missed]
    assert starts == [open_period.end + timedelta(minutes=n) for n in range(5)]
    for statement in missed:
        assert statement["periods_covered"] == 1
        assert Fraction(statement["energy_wh_exact"]) == 0
        assert statement["complete"] is False
    engine = entry.runtime_data.coordinator.state.engine
    assert engine.open_period.complete is False
    assert engine.open_period.period.start == open_period.end + timedelta(minutes=5)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_close_period_just_after_a_boundary_closes_both(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """If the boundary passed but its timer has not run, both periods close."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    engine = entry.runtime_data.coordinator.state.engine
    boundary = engine.next_boundary()
    events = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    with patch.object(dt_util, "utcnow", lambda: boundary + timedelta(milliseconds=5)):
        response = await call_action(
            hass, "close_period", config_entry_id=entry.entry_id
        )
    ends = [dt_util.parse_datetime(event.data["period_end"]) for event in events]
    assert ends == [boundary, boundary + timedelta(milliseconds=5)]
    assert response["statement"]["id"] == events[-1].data["id"]
