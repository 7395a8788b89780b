"""The circuits that drive the virtual INA219: their parts and checks."""

from __future__ import annotations

from dataclasses import fields
import re

import pytest

from custom_components.iota_energy.core.circuit import (
    ProfileCircuit,
    TutorialCircuit,
    TutorialParts,
)
from custom_components.iota_energy.core.load_profiles import LoadProfile

PROFILE = LoadProfile.constant(1.0)


def test_the_loop_adds_every_resistance_once() -> None:
    parts = TutorialParts()
    # 0.3 + 0.1 + 47 + half of 1000 + 10 ohms.
    assert parts.loop_ohms(0.5) == pytest.approx(557.4)
    assert parts.loop_ohms(0.0) == pytest.approx(57.4)


@pytest.mark.parametrize("name", [f.name for f in fields(TutorialParts)])
@pytest.mark.parametrize("bad", [-0.001, float("inf"), float("nan")])
def test_every_part_is_finite_and_not_negative(name: str, bad: float) -> None:
    parts = TutorialParts(**{name: bad})
    message = f"{name} must be a finite number >= 0"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parts.validate()
    TutorialParts(**{name: 0.0}).validate()  # zero is a part left out


def test_the_loop_needs_some_resistance_at_the_knobs_zero() -> None:
    no_ohms = dict.fromkeys(
        ("battery_internal_ohms", "shunt_ohms", "series_ohms", "led_dynamic_ohms"),
        0.0,
    )
    # All resistance in the potentiometer: none left with the knob at 0.
    with pytest.raises(
        ValueError, match=r"^the circuit needs some resistance in its loop$"
    ):
        TutorialParts(**no_ohms).validate()
    # Half an ohm is enough.
    TutorialParts(**(no_ohms | {"shunt_ohms": 0.5})).validate()


def test_a_position_outside_the_knobs_range_says_so() -> None:
    circuit = TutorialCircuit()
    with pytest.raises(
        ValueError, match=r"^potentiometer position must be between 0 and 1$"
    ):
        circuit.set_potentiometer(1.5)


def test_a_profile_circuit_runs_at_5_v_unless_told() -> None:
    circuit = ProfileCircuit(PROFILE, clock=lambda: 0.0)
    assert circuit.operating_point() == (5.0, 0.2)
    low = ProfileCircuit(PROFILE, bus_voltage_v=0.5, clock=lambda: 0.0)
    assert low.operating_point() == (0.5, 2.0)


@pytest.mark.parametrize("volts", [0.0, -5.0, float("inf"), float("nan")])
def test_a_profile_circuit_needs_a_positive_bus_voltage(volts: float) -> None:
    with pytest.raises(ValueError, match=r"^bus_voltage_v must be a positive number$"):
        ProfileCircuit(PROFILE, bus_voltage_v=volts, clock=lambda: 0.0)
