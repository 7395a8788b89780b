"""A problem sensor that turns on when payments cannot go on by themselves."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IotaEnergyCoordinator
from .entity import IotaEnergyEntity
from .payment_manager import PaymentManager
from .runtime import IotaEnergyConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotaEnergyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the payment problem sensor when the entry pays."""
    runtime = entry.runtime_data
    if runtime.payments is not None:
        async_add_entities([PaymentProblem(runtime.coordinator, runtime.payments)])


class PaymentProblem(IotaEnergyEntity, BinarySensorEntity):
    """On while a payment waits for the node, funds or approval, or failed."""

    _attr_translation_key = "payment_problem"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(
        self, coordinator: IotaEnergyCoordinator, payments: PaymentManager
    ) -> None:
        """Create the sensor."""
        super().__init__(coordinator, "payment_problem")
        self._payments = payments

    @property
    def available(self) -> bool:
        """Payments go on whether or not the chip answers."""
        return True

    @property
    def is_on(self) -> bool:
        """Whether something needs attention."""
        return self._payments.snapshot().problem is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Why (a stable key; it changes only when the problem does)."""
        return {"reason": self._payments.snapshot().problem}
