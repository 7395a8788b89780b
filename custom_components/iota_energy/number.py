"""The virtual circuit's potentiometer, so the demo's power can be turned by hand."""

from __future__ import annotations

from homeassistant.components.number import NumberMode, RestoreNumber
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IotaEnergyCoordinator
from .core.circuit import TutorialCircuit
from .entity import IotaEnergyEntity
from .runtime import IotaEnergyConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotaEnergyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the potentiometer when the entry meters the tutorial circuit."""
    circuit = entry.runtime_data.circuit
    if isinstance(circuit, TutorialCircuit):
        async_add_entities(
            [PotentiometerNumber(entry.runtime_data.coordinator, circuit)]
        )


class PotentiometerNumber(IotaEnergyEntity, RestoreNumber):
    """The simulated potentiometer, turned up like a dimmer.

    100 % puts none of its resistance in the loop (the LED is brightest),
    0 % all of it (the LED glows faintly). The circuit model counts the
    wiper the other way round: position 0 is no resistance.
    """

    _attr_translation_key = "potentiometer"
    _attr_native_min_value = 0.0
    _attr_native_max_value = 100.0
    _attr_native_step = 1.0
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_mode = NumberMode.SLIDER
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(
        self, coordinator: IotaEnergyCoordinator, circuit: TutorialCircuit
    ) -> None:
        """Bind the entity to the simulated circuit."""
        super().__init__(coordinator, "potentiometer")
        self._circuit = circuit

    async def async_added_to_hass(self) -> None:
        """Turn the knob back to where the user left it."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_number_data()) is not None and (
            value := last.native_value
        ) is not None:
            self._circuit.set_potentiometer(_position(value))

    @property
    def available(self) -> bool:
        """The knob can always be turned, even while the chip is unreadable."""
        return True

    @property
    def native_value(self) -> float:
        """Current position in percent."""
        return round((1.0 - self._circuit.potentiometer) * 100.0, 1)

    async def async_set_native_value(self, value: float) -> None:
        """Turn the knob; the next samples see the new current."""
        self._circuit.set_potentiometer(_position(value))
        self.async_write_ha_state()


def _position(percent: float) -> float:
    """Wiper position of the circuit model for a dimmer percentage."""
    return min(1.0, max(0.0, 1.0 - percent / 100.0))
