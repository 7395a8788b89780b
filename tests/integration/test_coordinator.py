"""The coordinator's own bookkeeping: payment states and the price entity.

The payment tests drive payment states through whole payments; here the
coordinator is handed the updates directly, so each rule of
``async_set_payment_states`` is seen on its own: unknown or unchanged
statements are skipped, a change is recorded and written once, and it
survives a reload.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import CONF_PRICE, CONF_PRICE_ENTITY
from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.pricing import PriceQuote
from custom_components.iota_energy.persistence.entry_state import EntryState

from .helpers import call_action, refresh, set_up, wait_for_more_energy

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
