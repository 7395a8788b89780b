"""Circuits that drive the virtual INA219.

A circuit answers one question: at this moment, what voltage does the chip see
on its bus pin (the load side of the shunt) and what current flows through
the shunt. The chip model turns that into register values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import threading
import time
from typing import Protocol, runtime_checkable

from .load_profiles import LoadProfile


class Circuit(Protocol):
    """Anything that can tell the chip its operating point."""

    def operating_point(self) -> tuple[float, float]:
        """Return ``(bus voltage V at the load side, current A)``."""
        ...


@runtime_checkable
class RecordedCircuit(Circuit, Protocol):
    """A circuit that can also say what its operating point was a moment ago.

    The chip's averaging modes take many conversions spread over up to
    68 ms; a circuit that knows its recent past lets the chip model average
    over that window, as the real chip does, instead of converting once.
    """

    def operating_point_at(self, seconds_ago: float) -> tuple[float, float]:
        """The operating point ``seconds_ago`` seconds before now."""
        ...


@dataclass(frozen=True, slots=True)
class TutorialParts:
    """Component values of the tutorial's breadboard.

    The defaults are two AA cells (3.0 V, about 0.3 ohm together), the INA219
    breakout's 0.1 ohm shunt, a 47 ohm series resistor, a 1 kilo-ohm linear
    potentiometer and a red LED (1.9 V, about 10 ohm dynamic resistance).
    The LED then draws about 19 mA with the potentiometer at 0 and about
    1 mA at 1: the range the tutorial's video shows.
    """

    battery_v: float = 3.0
    battery_internal_ohms: float = 0.3
    shunt_ohms: float = 0.1
    series_ohms: float = 47.0
    potentiometer_ohms: float = 1000.0
    led_forward_v: float = 1.9
    led_dynamic_ohms: float = 10.0

    def validate(self) -> None:
        for name in (
            "battery_v",
            "battery_internal_ohms",
            "shunt_ohms",
            "series_ohms",
            "potentiometer_ohms",
            "led_forward_v",
            "led_dynamic_ohms",
        ):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0")
        if self.loop_ohms(0.0) <= 0:
            raise ValueError("the circuit needs some resistance in its loop")

    def loop_ohms(self, potentiometer: float) -> float:
        return (
            self.battery_internal_ohms
            + self.shunt_ohms
            + self.series_ohms
            + potentiometer * self.potentiometer_ohms
            + self.led_dynamic_ohms
        )


class TutorialCircuit:
    """Battery, shunt, resistor, potentiometer and LED in one loop.

    The LED is a threshold diode with a series dynamic resistance: no current
    below its forward voltage, then linear. That is coarse but gives the right
    milliamps for a demo and a smooth response to the potentiometer.
    """

    def __init__(self, parts: TutorialParts | None = None, potentiometer: float = 0.5):
        self._parts = parts or TutorialParts()
        self._parts.validate()
        self._lock = threading.Lock()
        self._potentiometer = _check_position(potentiometer)

    @property
    def parts(self) -> TutorialParts:
        return self._parts

    @property
    def potentiometer(self) -> float:
        """Wiper position, 0 (no resistance) to 1 (full resistance)."""
        with self._lock:
            return self._potentiometer

    def set_potentiometer(self, position: float) -> None:
        """Turn the knob; safe to call from any thread (the HA event loop)."""
        checked = _check_position(position)
        with self._lock:
            self._potentiometer = checked

    def operating_point(self) -> tuple[float, float]:
        with self._lock:
            position = self._potentiometer
        parts = self._parts
        current = max(0.0, (parts.battery_v - parts.led_forward_v))
        current /= parts.loop_ohms(position)
        # The chip's bus pin sits after the battery's internal drop and the shunt.
        load_side_v = parts.battery_v - current * (
            parts.battery_internal_ohms + parts.shunt_ohms
        )
        return load_side_v, current


class ProfileCircuit:
    """Replays a load profile at a fixed bus voltage, looping it.

    ``clock`` returns seconds; the profile starts at the clock's value when the
    circuit is created (or at ``start_s`` if given).
    """

    def __init__(
        self,
        profile: LoadProfile,
        *,
        bus_voltage_v: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        start_s: float | None = None,
    ) -> None:
        if not math.isfinite(bus_voltage_v) or bus_voltage_v <= 0:
            raise ValueError("bus_voltage_v must be a positive number")
        self._profile = profile
        self._bus_voltage_v = bus_voltage_v
        self._clock = clock
        self._start_s = clock() if start_s is None else start_s

    @property
    def profile(self) -> LoadProfile:
        return self._profile

    def elapsed_s(self) -> float:
        return self._clock() - self._start_s

    def operating_point(self) -> tuple[float, float]:
        return self.operating_point_at(0.0)

    def operating_point_at(self, seconds_ago: float) -> tuple[float, float]:
        power = self._profile.power_at(self.elapsed_s() - seconds_ago)
        return self._bus_voltage_v, power / self._bus_voltage_v


def _check_position(position: float) -> float:
    if not (math.isfinite(position) and 0.0 <= position <= 1.0):
        raise ValueError("potentiometer position must be between 0 and 1")
    return float(position)
