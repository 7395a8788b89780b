"""The coordinator: schedules the energy account, persists, publishes.

The sampler thread feeds the core's energy account at the sampling rate;
this coordinator runs on Home Assistant's loop at the (much slower) publish
interval, so the recorder never sees the sampling rate. Billing, period
closes and gap bookkeeping are the account's (``core/energy_account.py``);
the coordinator only tells it the time: at each publish tick, and by a timer
at each period boundary (again shortly after while the close waits for the
meter's reading across the boundary). It records the statements the account
hands out durably, then announces them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
import time
from typing import TYPE_CHECKING, Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import DOMAIN, EVENT_PERIOD_CLOSED, LOGGER
from .core.energy_account import CLOSE_RETRY_S
from .core.ledger import PaymentState, Statement
from .core.periods import Period
from .core.power_source import Reading
from .core.pricing import PriceQuote

# A manual close waits at most this many retries (5 s) for a boundary's cut.
MANUAL_CLOSE_WAITS = 20

if TYPE_CHECKING:
    from .persistence.entry_state import EntryState
    from .persistence.entry_store import EntryPersistence
    from .runtime import IotaEnergyConfigEntry


@dataclass(frozen=True, slots=True)
class IotaEnergyData:
    """What the entities show; one immutable snapshot per publish."""

    reading: Reading | None
    energy_j: Fraction
    period: Period
    period_energy_j: Fraction
    period_owed: Fraction
    outstanding_iota: int
    carry: Fraction
    price: PriceQuote
    gaps: int
    coverage_pct: float | None


@dataclass(frozen=True, slots=True)
class CoordinatorSettings:
    """The options that shape the coordinator's timing and retention."""

    publish_interval: timedelta
    flush_interval: timedelta
    statement_retention: int
    price_entity: str | None


class IotaEnergyCoordinator(DataUpdateCoordinator[IotaEnergyData]):
    """Bridges the metering and billing core to Home Assistant."""

    config_entry: IotaEnergyConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: IotaEnergyConfigEntry,
        state: EntryState,
        persistence: EntryPersistence,
        settings: CoordinatorSettings,
    ) -> None:
        """Set up the coordinator; timers start in ``async_start``."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=settings.publish_interval,
        )
        self.state = state
        self._persistence = persistence
        self._settings = settings
        self._lock = asyncio.Lock()
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._boundary_unsub: CALLBACK_TYPE | None = None
        self._statement_listeners: list[Callable[[Statement], None]] = []
        self._stopped = False

    # --- lifecycle -------------------------------------------------------

    async def async_start(self) -> None:
        """Catch up on missed periods, then arm the timers and listeners."""
        if (entity_id := self._settings.price_entity) is not None:
            self._apply_price_state(entity_id)
            self._unsubscribers.append(
                async_track_state_change_event(
                    self.hass, entity_id, self._async_price_changed
                )
            )
        async with self._lock:
            closed = self.state.account.start(dt_util.utcnow())
            await self._async_commit(closed)
        self._arm_boundary()
        self._unsubscribers.append(
            async_track_time_interval(
                self.hass,
                self._async_flush,
                self._settings.flush_interval,
                name=f"{DOMAIN} flush",
            )
        )

    async def async_stop(self) -> None:
        """Bill what was measured and write everything (clean stop)."""
        if self._stopped:
            return
        self._stopped = True
        for unsub in self._unsubscribers:
            unsub()
        self._unsubscribers.clear()
        if self._boundary_unsub is not None:
            self._boundary_unsub()
            self._boundary_unsub = None
        async with self._lock:
            self.state.account.bill_at_today_price()
            await self._persistence.async_save_all(self.state)
        await self.async_shutdown()

    # --- listeners for other parts of the shell ----------------------------

    @callback
    def async_add_statement_listener(
        self, listener: Callable[[Statement], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` with every statement closed from now on."""
        self._statement_listeners.append(listener)

        @callback
        def remove() -> None:
            self._statement_listeners.remove(listener)

        return remove

    async def async_set_payment_states(
        self, updates: Mapping[str, tuple[PaymentState, Mapping[str, Any]]]
    ) -> None:
        """Record payment states on statements (the payments code calls this).

        Statements already pruned are skipped; the ledger is written only
        when something changed.
        """
        async with self._lock:
            ledger = self.state.ledger
            changed = False
            for statement_id, (state, record) in updates.items():
                current = ledger.get(statement_id)
                if current is None or (
                    current.payment_state is state and current.payment == record
                ):
                    continue
                ledger.set_payment_state(statement_id, state, record)
                changed = True
            if changed:
                await self._persistence.async_record_payment_states(self.state)

    # --- the data path -------------------------------------------------------

    async def _async_update_data(self) -> IotaEnergyData:
        async with self._lock:
            closed = self.state.account.advance(dt_util.utcnow(), time.monotonic_ns())
            await self._async_commit(closed)
        if closed:
            self._arm_boundary()
        return self._build_data()

    async def async_close_period(self) -> Statement:
        """Close the open period now (the ``close_period`` action)."""
        async with self._lock:
            account = self.state.account
            closed = account.close_now(dt_util.utcnow(), time.monotonic_ns())
            # A boundary that passed a moment ago closes with the meter's next
            # reading (one sampling interval): wait for it rather than refuse.
            for _ in range(MANUAL_CLOSE_WAITS):
                if closed or not account.closing_pending(dt_util.utcnow()):
                    break
                await asyncio.sleep(CLOSE_RETRY_S)
                closed = account.close_now(dt_util.utcnow(), time.monotonic_ns())
            if not closed:
                raise HomeAssistantError(
                    translation_domain=DOMAIN, translation_key="period_just_started"
                )
            await self._async_commit(closed)
        self._arm_boundary()
        self.async_set_updated_data(self._build_data())
        return closed[-1]

    async def _async_commit(self, statements: list[Statement]) -> None:
        """Record closed statements durably, then tell the world about them."""
        if not statements:
            return
        ledger = self.state.ledger
        for statement in statements:
            ledger.add(statement)
        ledger.prune(self._settings.statement_retention)
        # Durable before it is announced: an automation may act on the event.
        await self._persistence.async_record_statements(self.state)
        for statement in statements:
            self.hass.bus.async_fire(
                EVENT_PERIOD_CLOSED,
                {"config_entry_id": self.config_entry.entry_id}
                | statement.to_event_data(dt_util.get_default_time_zone()),
            )
            for listener in list(self._statement_listeners):
                listener(statement)

    # --- timers ------------------------------------------------------------------

    @callback
    def _arm_boundary(self) -> None:
        if self._boundary_unsub is not None:
            self._boundary_unsub()
        if self._stopped:
            return
        account = self.state.account
        when = account.engine.next_boundary()
        now = dt_util.utcnow()
        if account.closing_pending(now):
            # The boundary passed; the close waits for the meter's next reading.
            when = now + timedelta(seconds=CLOSE_RETRY_S)
        self._boundary_unsub = async_track_point_in_utc_time(
            self.hass, self._async_boundary, when
        )

    async def _async_boundary(self, now: datetime) -> None:
        self._boundary_unsub = None
        async with self._lock:
            closed = self.state.account.advance(
                max(now, dt_util.utcnow()), time.monotonic_ns()
            )
            await self._async_commit(closed)
        self._arm_boundary()
        if closed:
            self.async_set_updated_data(self._build_data())

    async def _async_flush(self, _now: datetime) -> None:
        async with self._lock:
            self.state.account.bill_at_today_price()
            await self._persistence.async_flush(self.state)

    # --- prices ------------------------------------------------------------------

    @callback
    def _async_price_changed(self, event: Event[EventStateChangedData]) -> None:
        self._apply_price_state(event.data["entity_id"])

    @callback
    def _apply_price_state(self, entity_id: str) -> None:
        state = self.hass.states.get(entity_id)
        if state is None:
            self.state.account.update_price(None, None)
            return
        self.state.account.update_price(
            state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        )

    # --- publishing --------------------------------------------------------------

    def _build_data(self) -> IotaEnergyData:
        state = self.state
        now_ns = time.monotonic_ns()
        # With "now", a sampler that stalled also reads as unavailable.
        snapshot = state.meter.snapshot(now_ns)
        open_period = state.engine.open_period
        return IotaEnergyData(
            reading=snapshot.last_reading if snapshot.available else None,
            energy_j=snapshot.energy_j,
            period=open_period.period,
            period_energy_j=open_period.energy_j,
            period_owed=open_period.owed(),
            outstanding_iota=state.ledger.outstanding_iota(),
            carry=state.engine.carry,
            price=state.prices.current(),
            gaps=snapshot.gaps,
            coverage_pct=state.account.coverage_pct(dt_util.utcnow()),
        )
