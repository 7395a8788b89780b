"""An event entity that fires when a billing period closes.

The bus event ``iota_energy_period_closed`` carries the whole statement for
automations; this entity makes the same moment visible on dashboards and in
the automation editor's entity triggers.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IotaEnergyCoordinator
from .core.ledger import Statement
from .core.outbox import PaymentEvent, PaymentEventKind
from .entity import IotaEnergyEntity
from .payment_manager import PaymentManager
from .runtime import IotaEnergyConfigEntry

PARALLEL_UPDATES = 0

EVENT_TYPE_COMPLETE = "period_closed"
EVENT_TYPE_INCOMPLETE = "period_closed_incomplete"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotaEnergyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the billing event entity, and the payments one when it pays."""
    runtime = entry.runtime_data
    entities: list[EventEntity] = [BillingEvent(runtime.coordinator)]
    if runtime.payments is not None:
        entities.append(PaymentsEvent(runtime.coordinator, runtime.payments))
    async_add_entities(entities)


class BillingEvent(IotaEnergyEntity, EventEntity):
    """Fires once per closed statement."""

    _attr_translation_key = "billing"

    def __init__(self, coordinator: IotaEnergyCoordinator) -> None:
        """Create the entity."""
        super().__init__(coordinator, "billing")
        self._attr_event_types = [EVENT_TYPE_COMPLETE, EVENT_TYPE_INCOMPLETE]

    async def async_added_to_hass(self) -> None:
        """Listen for statements while the entity exists."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_statement_listener(self._on_statement)
        )

    @property
    def available(self) -> bool:
        """Billing runs whether or not the chip answers."""
        return True

    @callback
    def _on_statement(self, statement: Statement) -> None:
        # Only stable, small figures as attributes: the recorder keeps them.
        self._trigger_event(
            EVENT_TYPE_COMPLETE if statement.complete else EVENT_TYPE_INCOMPLETE,
            {
                "statement_id": statement.id,
                "due_iota": statement.due_iota,
                "energy_wh": round(float(statement.energy_wh), 6),
            },
        )
        self.async_write_ha_state()


class PaymentsEvent(IotaEnergyEntity, EventEntity):
    """Fires when a payment is sent, confirmed, fails or starts waiting."""

    _attr_translation_key = "payments"

    def __init__(
        self, coordinator: IotaEnergyCoordinator, payments: PaymentManager
    ) -> None:
        """Create the entity."""
        super().__init__(coordinator, "payments")
        self._payments = payments
        self._attr_event_types = [kind.value for kind in PaymentEventKind]

    async def async_added_to_hass(self) -> None:
        """Listen for payment events while the entity exists."""
        await super().async_added_to_hass()
        self.async_on_remove(self._payments.async_add_listener(self._on_payment))

    @property
    def available(self) -> bool:
        """Payments go on whether or not the chip answers."""
        return True

    @callback
    def _on_payment(self, event: PaymentEvent) -> None:
        payment = event.payment
        self._trigger_event(
            event.kind.value,
            {
                "payment_id": payment.id,
                "amount_iota": payment.amount,
                "amount_unit": payment.unit.value,
                # The bill on the chain: bundle hash or Rebased digest.
                "transfer_id": payment.transfer_id,
                "bundle_hash": payment.bundle_hash,
                "reason": payment.reason,
            },
        )
        self.async_write_ha_state()
