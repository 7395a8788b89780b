"""Sensors: what the meter measures and what the current period costs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IotaEnergyCoordinator, IotaEnergyData
from .entity import IotaEnergyEntity
from .payment_manager import PAYMENT_STATES, PaymentManager, PaymentSnapshot
from .runtime import IotaEnergyConfigEntry

# Sensors only read coordinator data; the coordinator serialises updates.
PARALLEL_UPDATES = 0

UNIT_IOTA = "IOTA"
UNIT_IOTA_PER_KWH = "IOTA/kWh"
JOULES_PER_KWH = 3_600_000
JOULES_PER_WH = 3_600


def _joules_to(unit_joules: int) -> Callable[[Fraction], float]:
    def convert(energy_j: Fraction) -> float:
        # Exact until here; rounded only for display.
        return float(energy_j / unit_joules)

    return convert


def _number(value: Fraction) -> int | float:
    """Whole numbers as int (720000000, not 720000000.0), others as float."""
    return value.numerator if value.denominator == 1 else float(value)


_to_kwh = _joules_to(JOULES_PER_KWH)
_to_wh = _joules_to(JOULES_PER_WH)


@dataclass(frozen=True, kw_only=True)
class IotaEnergySensorDescription(SensorEntityDescription):
    """A sensor and how to read its value from the coordinator data."""

    value_fn: Callable[[IotaEnergyData], float | int | datetime | None]
    available_fn: Callable[[IotaEnergyData], bool] = lambda _data: True
    last_reset_fn: Callable[[IotaEnergyData], datetime | None] | None = None


def _has_reading(data: IotaEnergyData) -> bool:
    return data.reading is not None


SENSORS: tuple[IotaEnergySensorDescription, ...] = (
    IotaEnergySensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=4,
        available_fn=_has_reading,
        value_fn=lambda data: data.reading.power_w if data.reading else None,
    ),
    IotaEnergySensorDescription(
        key="current",
        translation_key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=4,
        available_fn=_has_reading,
        value_fn=lambda data: data.reading.current_a if data.reading else None,
    ),
    IotaEnergySensorDescription(
        key="bus_voltage",
        translation_key="bus_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=3,
        available_fn=_has_reading,
        value_fn=lambda data: data.reading.bus_voltage_v if data.reading else None,
    ),
    IotaEnergySensorDescription(
        key="shunt_voltage",
        translation_key="shunt_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.MILLIVOLT,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        available_fn=_has_reading,
        value_fn=lambda data: data.reading.shunt_voltage_mv if data.reading else None,
    ),
    IotaEnergySensorDescription(
        key="energy",
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=6,
        value_fn=lambda data: _to_kwh(data.energy_j),
    ),
    IotaEnergySensorDescription(
        key="period_energy",
        translation_key="period_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda data: _to_wh(data.period_energy_j),
        last_reset_fn=lambda data: data.period.start,
    ),
    IotaEnergySensorDescription(
        key="period_cost",
        translation_key="period_cost",
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UNIT_IOTA,
        suggested_display_precision=2,
        value_fn=lambda data: float(data.period_owed),
        last_reset_fn=lambda data: data.period.start,
    ),
    IotaEnergySensorDescription(
        key="outstanding",
        translation_key="outstanding",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNIT_IOTA,
        value_fn=lambda data: data.outstanding_iota,
    ),
    IotaEnergySensorDescription(
        key="carried",
        translation_key="carried",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNIT_IOTA,
        suggested_display_precision=4,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: float(data.carry),
    ),
    IotaEnergySensorDescription(
        key="price",
        translation_key="price",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UNIT_IOTA_PER_KWH,
        value_fn=lambda data: _number(data.price.iota_per_kwh),
    ),
    IotaEnergySensorDescription(
        key="period_end",
        translation_key="period_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.period.end,
    ),
    IotaEnergySensorDescription(
        key="coverage",
        translation_key="coverage",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        available_fn=lambda data: data.coverage_pct is not None,
        value_fn=lambda data: data.coverage_pct,
    ),
    IotaEnergySensorDescription(
        key="gaps",
        translation_key="gaps",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.gaps,
    ),
)


@dataclass(frozen=True, kw_only=True)
class PaymentSensorDescription(SensorEntityDescription):
    """A payment sensor and how to read it from the payments snapshot."""

    value_fn: Callable[[PaymentSnapshot], str | int | datetime | None]


PAYMENT_SENSORS: tuple[PaymentSensorDescription, ...] = (
    PaymentSensorDescription(
        key="wallet_balance",
        translation_key="wallet_balance",
        native_unit_of_measurement=UNIT_IOTA,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda snap: snap.balance,
    ),
    PaymentSensorDescription(
        key="total_paid",
        translation_key="total_paid",
        native_unit_of_measurement=UNIT_IOTA,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda snap: snap.paid_total,
    ),
    PaymentSensorDescription(
        key="last_payment",
        translation_key="last_payment",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda snap: snap.last_paid_at,
    ),
    PaymentSensorDescription(
        key="payment_state",
        translation_key="payment_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(PAYMENT_STATES),
        value_fn=lambda snap: snap.state,
    ),
    PaymentSensorDescription(
        key="deposit_address",
        translation_key="deposit_address",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snap: snap.deposit_address,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotaEnergyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the meter's sensors, and the payment sensors when it pays."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    sensors: list[SensorEntity] = [
        IotaEnergySensor(coordinator, description) for description in SENSORS
    ]
    if (payments := runtime.payments) is not None:
        sensors += [
            PaymentSensor(coordinator, payments, description)
            for description in PAYMENT_SENSORS
        ]
    async_add_entities(sensors)


class IotaEnergySensor(IotaEnergyEntity, SensorEntity):
    """A sensor fed from the coordinator's snapshot."""

    entity_description: IotaEnergySensorDescription

    def __init__(
        self,
        coordinator: IotaEnergyCoordinator,
        description: IotaEnergySensorDescription,
    ) -> None:
        """Create the sensor for one description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Unavailable rather than a made-up value (never 0 for a failed read)."""
        return super().available and self.entity_description.available_fn(
            self.coordinator.data
        )

    @property
    def native_value(self) -> float | int | datetime | None:
        """The value, straight from the snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def last_reset(self) -> datetime | None:
        """Start of the period for per-period totals."""
        if (reset_fn := self.entity_description.last_reset_fn) is None:
            return None
        return reset_fn(self.coordinator.data)


class PaymentSensor(IotaEnergyEntity, SensorEntity):
    """A sensor fed from the payments snapshot (refreshed with the coordinator)."""

    entity_description: PaymentSensorDescription

    def __init__(
        self,
        coordinator: IotaEnergyCoordinator,
        payments: PaymentManager,
        description: PaymentSensorDescription,
    ) -> None:
        """Create the sensor for one description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._payments = payments

    @property
    def available(self) -> bool:
        """Payments go on whether or not the chip answers."""
        return self.entity_description.value_fn(self._payments.snapshot()) is not None

    @property
    def native_value(self) -> str | int | datetime | None:
        """The value, straight from the snapshot."""
        return self.entity_description.value_fn(self._payments.snapshot())
