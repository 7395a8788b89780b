"""What a loaded config entry holds while it runs, and the entry's type."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import IotaEnergyCoordinator
from .core.circuit import Circuit
from .core.ina219_model import VirtualIna219
from .core.sampler import Sampler
from .payment_manager import PaymentManager


@dataclass(slots=True)
class IotaEnergyRuntime:
    """What a loaded entry holds while it runs."""

    coordinator: IotaEnergyCoordinator
    sampler: Sampler
    # The simulated hardware, when the entry meters the virtual INA219.
    circuit: Circuit | None
    chip: VirtualIna219 | None
    # None when the entry only meters and bills, or payments are stopped.
    payments: PaymentManager | None = None
    # Why a paying entry's payments are stopped: the translation key of the
    # repair issue that says so (the actions answer with it too).
    payments_stopped_by: str | None = None


type IotaEnergyConfigEntry = ConfigEntry[IotaEnergyRuntime]
