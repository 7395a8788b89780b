"""The coordinator's own bookkeeping: payment states and the price entity.

The payment tests drive payment states through whole payments; here the
coordinator is handed the updates directly, so each rule of
``async_set_payment_states`` is seen on its own: unknown or unchanged
statements are skipped, a change is recorded and written once, and it
survives a reload.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
import time
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.iota_energy import coordinator as coordinator_module
from custom_components.iota_energy.const import (
    CONF_PERIOD,
    CONF_PERIOD_SECONDS,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PUBLISH_INTERVAL,
    EVENT_PERIOD_CLOSED,
)
from custom_components.iota_energy.core.energy_account import (
    EnergyAccount,
)
from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.pricing import PriceQuote
from custom_components.iota_energy.persistence.entry_state import EntryState

from .helpers import (
    call_action,
    close_at_boundary,
    entity_id,
    refresh,
    set_up,
    wait_for_more_energy,
    wait_for_samples,
)

TARIFF = "sensor.tariff"


async def test_payment_states_are_recorded_and_written_only_when_changed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    # A high price: a statement owes IOTA after a moment's metering.
    options = dict(mock_config_entry.options) | {CONF_PRICE: "720000000000"}
    entry = await set_up(hass, mock_config_entry, options=options)
    coordinator = entry.runtime_data.coordinator
    while coordinator.state.engine.open_period.owed() < 2:
        await wait_for_more_energy(entry)
        await refresh(hass, entry)  # bills what was metered
    response = await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    statement_id = response["statement"]["id"]
    ledger = coordinator.state.ledger
    assert ledger.get(statement_id).payment_state is PaymentState.DUE

    persistence = coordinator._persistence
    original = persistence.async_record_payment_states
    writes: list[EntryState] = []

    async def counted(state: EntryState) -> bool:
        writes.append(state)
        return await original(state)

    def paid(record: dict[str, Any]) -> tuple[PaymentState, dict[str, Any]]:
        return PaymentState.PAID, record

    with patch.object(persistence, "async_record_payment_states", counted):
        # An unknown (pruned) statement first: skipped, the next one still taken.
        await coordinator.async_set_payment_states(
            {
                "no-such-statement": paid({"tx": "0"}),
                statement_id: (PaymentState.SENDING, {"tx": "1"}),
            }
        )
        current = ledger.get(statement_id)
        assert (current.payment_state, current.payment) == (
            PaymentState.SENDING,
            {"tx": "1"},
        )
        assert writes == [coordinator.state]

        # The same state and record again: nothing to write.
        await coordinator.async_set_payment_states(
            {statement_id: (PaymentState.SENDING, {"tx": "1"})}
        )
        assert len(writes) == 1
        # Only unknown statements: nothing to write.
        await coordinator.async_set_payment_states(
            {"no-such-statement": paid({"tx": "0"})}
        )
        assert len(writes) == 1

        # Same state, new record: written.
        await coordinator.async_set_payment_states(
            {statement_id: (PaymentState.SENDING, {"tx": "2"})}
        )
        assert ledger.get(statement_id).payment == {"tx": "2"}
        assert len(writes) == 2
        # New state, same record: written.
        await coordinator.async_set_payment_states({statement_id: paid({"tx": "2"})})
        assert ledger.get(statement_id).payment_state is PaymentState.PAID
        assert len(writes) == 3

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    reloaded = entry.runtime_data.coordinator.state.ledger.get(statement_id)
    assert (reloaded.payment_state, reloaded.payment) == (
        PaymentState.PAID,
        {"tx": "2"},
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_price_entity_not_there_yet_bills_the_static_price_flagged(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    options = dict(mock_config_entry.options) | {CONF_PRICE_ENTITY: TARIFF}
    entry = await set_up(hass, mock_config_entry, options=options)
    prices = entry.runtime_data.coordinator.state.prices
    assert prices.current() == PriceQuote(Fraction(720_000_000), "fallback")

    hass.states.async_set(TARIFF, "3", {"unit_of_measurement": "IOTA/Wh"})
    await hass.async_block_till_done()
    assert prices.current() == PriceQuote(Fraction(3000), "entity")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_price_entity_there_at_start_is_read_with_its_unit(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    hass.states.async_set(TARIFF, "2.5", {"unit_of_measurement": "IOTA/Wh"})
    options = dict(mock_config_entry.options) | {CONF_PRICE_ENTITY: TARIFF}
    entry = await set_up(hass, mock_config_entry, options=options)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.state.prices.current() == PriceQuote(Fraction(2500), "entity")
    assert coordinator.name == "iota_energy Garden lights"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_second_close_at_the_same_instant_is_refused_at_once(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The period began this instant: nothing to close, and nothing to wait for."""
    entry = await set_up(hass, mock_config_entry)
    await wait_for_samples(entry, 2)
    real = EnergyAccount.close_now
    calls: list[datetime] = []

    def counted(account: EnergyAccount, now: datetime, now_ns: int) -> Any:
        calls.append(now)
        return real(account, now, now_ns)

    now = dt_util.utcnow()
    with patch.object(dt_util, "utcnow", return_value=now):
        await call_action(hass, "close_period", config_entry_id=entry.entry_id)
        with (
            patch.object(EnergyAccount, "close_now", counted),
            pytest.raises(HomeAssistantError) as err,
        ):
            await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "period_just_started"
    # Asked once: a boundary still waiting for the meter would be asked again.
    assert calls == [now]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_the_boundary_timer_alone_closes_and_publishes(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> None:
    """Publishing an hour apart: the close at a 60 s boundary is the timer's own."""
    entry = await set_up(
        hass,
        mock_config_entry,
        data=entry_data | {CONF_PERIOD: "fixed", CONF_PERIOD_SECONDS: 60},
        options=entry_options | {CONF_PUBLISH_INTERVAL: 3600},
    )
    coordinator = entry.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    await wait_for_samples(entry, 5)
    boundary = coordinator.state.engine.next_boundary()

    closes = await close_at_boundary(hass, entry, events, boundary)

    assert len(closes) == 1
    data = closes[0].data
    assert coordinator.state.ledger.statements[-1].id == data["id"]
    # Announced in Home Assistant's time zone.
    local = boundary.astimezone(dt_util.get_default_time_zone())
    assert data["period_end"] == local.isoformat()
    assert local.utcoffset() != timedelta(0)
    # Published at once, not at the next publish tick an hour later.
    assert coordinator.data.period.start == boundary
    outstanding = hass.states.get(entity_id(hass, entry, "outstanding"))
    assert int(outstanding.state) == data["due_iota"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_stalled_sampler_reads_as_unavailable(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Nothing heard for longer than a gap: no reading, the period not complete."""
    entry = await set_up(hass, mock_config_entry)
    coordinator = entry.runtime_data.coordinator
    await wait_for_samples(entry, 2)
    assert await hass.async_add_executor_job(entry.runtime_data.sampler.stop, 5)
    await refresh(hass, entry)
    assert coordinator.data.reading is not None
    # A new period, begun now.
    assert coordinator.state.account.period_complete(time.monotonic_ns()) is False

    an_hour_later = time.monotonic_ns() + 3600 * 10**9
    with patch.object(
        coordinator_module, "time", SimpleNamespace(monotonic_ns=lambda: an_hour_later)
    ):
        await refresh(hass, entry)
    assert coordinator.data.reading is None
    assert coordinator.state.account.period_complete(an_hour_later) is False
    assert await hass.config_entries.async_unload(entry.entry_id)
