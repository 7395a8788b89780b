"""Base entity: one device per config entry, names from translations."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_ADDRESS, CONF_BUSNUM, CONF_SOURCE, DOMAIN, SOURCE_VIRTUAL
from .coordinator import IotaEnergyCoordinator


class IotaEnergyEntity(CoordinatorEntity[IotaEnergyCoordinator]):
    """An entity of the IOTA Energy meter device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: IotaEnergyCoordinator, key: str) -> None:
        """Bind the entity to the entry's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        virtual = entry.data[CONF_SOURCE] == SOURCE_VIRTUAL
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Texas Instruments" if not virtual else "IOTA Energy",
            model="INA219" if not virtual else "Virtual INA219",
            serial_number=(
                f"i2c-{entry.data[CONF_BUSNUM]}-{int(entry.data[CONF_ADDRESS]):#04x}"
            ),
        )
