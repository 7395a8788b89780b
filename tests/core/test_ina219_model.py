"""The INA219 register model, on its own and under the real pi-ina219 driver."""

from __future__ import annotations

from dataclasses import dataclass
import errno
from math import trunc
import re
from typing import Any

import pytest

from custom_components.iota_energy.core.circuit import (
    ProfileCircuit,
    TutorialCircuit,
    TutorialParts,
)
from custom_components.iota_energy.core.ina219_datasheet import (
    REG_BUS_VOLTAGE,
    REG_CALIBRATION,
    REG_CONFIG,
    REG_CURRENT,
    REG_POWER,
    REG_SHUNT_VOLTAGE,
    adc_conversion_us,
)
from custom_components.iota_energy.core.ina219_model import (
    VirtualIna219,
)
from custom_components.iota_energy.core.load_profiles import LoadProfile

ADDRESS = 0x40
BUS = 1


@dataclass
class FixedCircuit:
    """An operating point the test sets directly."""

    bus_v: float = 5.0
    current_a: float = 0.01

    def operating_point(self) -> tuple[float, float]:
        return self.bus_v, self.current_a


class FakeClock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns

    def advance_us(self, microseconds: int) -> None:
        self.ns += microseconds * 1000


def read(chip: VirtualIna219, register: int) -> int:
    """A register through the SMBus interface, undoing SMBus byte order."""
    word = chip.i2c_interface(BUS).read_word_data(ADDRESS, register)
    return ((word & 0xFF) << 8) | (word >> 8)


def write(chip: VirtualIna219, register: int, value: int) -> None:
    chip.i2c_interface(BUS).write_i2c_block_data(
        ADDRESS, register, [value >> 8, value & 0xFF]
    )


def signed(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def test_power_on_registers_and_no_current_without_calibration() -> None:
    chip = VirtualIna219(FixedCircuit(bus_v=5.0, current_a=0.02))
    assert read(chip, REG_CONFIG) == 0x399F
    assert read(chip, REG_CALIBRATION) == 0
    # Uncalibrated, the chip still measures voltages but computes no current.
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == round(0.02 * 0.1 / 10e-6)
    assert read(chip, REG_BUS_VOLTAGE) >> 3 == round(5.0 / 4e-3)
    assert read(chip, REG_CURRENT) == 0
    assert read(chip, REG_POWER) == 0


def test_word_reads_are_lsb_first_like_smbus() -> None:
    chip = VirtualIna219(FixedCircuit())
    assert chip.i2c_interface(BUS).read_word_data(ADDRESS, REG_CONFIG) == 0x9F39


def test_current_and_power_follow_the_datasheet_arithmetic() -> None:
    circuit = FixedCircuit(bus_v=12.34, current_a=-0.123)
    chip = VirtualIna219(circuit, shunt_ohms=0.1)
    calibration = 20_000
    write(chip, REG_CALIBRATION, calibration)
    shunt = signed(read(chip, REG_SHUNT_VOLTAGE))
    bus = read(chip, REG_BUS_VOLTAGE) >> 3
    expected_current = trunc(shunt * calibration / 4096)
    assert shunt == round(-0.123 * 0.1 / 10e-6)
    assert signed(read(chip, REG_CURRENT)) == expected_current
    assert read(chip, REG_POWER) == trunc(abs(expected_current) * bus / 5000)


def test_calibration_bit_zero_is_read_only() -> None:
    chip = VirtualIna219(FixedCircuit())
    write(chip, REG_CALIBRATION, 0x1235)
    assert read(chip, REG_CALIBRATION) == 0x1234


def test_reset_bit_restores_power_on_values() -> None:
    chip = VirtualIna219(FixedCircuit())
    write(chip, REG_CALIBRATION, 4096)
    write(chip, REG_CONFIG, 0x019F)
    write(chip, REG_CONFIG, 0x8000)
    assert read(chip, REG_CONFIG) == 0x399F
    assert read(chip, REG_CALIBRATION) == 0


@pytest.mark.parametrize(
    ("gain", "full_scale"), [(0, 4000), (1, 8000), (2, 16000), (3, 32000)]
)
def test_shunt_voltage_clips_to_the_pga_range(gain: int, full_scale: int) -> None:
    circuit = FixedCircuit(current_a=5.0)  # 500 mV across 0.1 ohm: beyond every range
    chip = VirtualIna219(circuit)
    write(chip, REG_CONFIG, (1 << 13) | (gain << 11) | (3 << 7) | (3 << 3) | 7)
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == full_scale
    circuit.current_a = -5.0
    write(chip, REG_CONFIG, (1 << 13) | (gain << 11) | (3 << 7) | (3 << 3) | 7)
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == -full_scale


def test_math_overflow_sets_ovf_and_saturates_current() -> None:
    circuit = FixedCircuit(bus_v=5.0, current_a=0.3)  # 30 mV, inside 40 mV
    chip = VirtualIna219(circuit)
    write(chip, REG_CONFIG, (1 << 13) | (0 << 11) | (3 << 7) | (3 << 3) | 7)
    write(chip, REG_CALIBRATION, 0xFFFE)  # 3000 * 65534 / 4096 > 32767
    assert read(chip, REG_BUS_VOLTAGE) & 1 == 1
    assert signed(read(chip, REG_CURRENT)) == 32767
    write(chip, REG_CALIBRATION, 4096)
    assert read(chip, REG_BUS_VOLTAGE) & 1 == 0
    assert signed(read(chip, REG_CURRENT)) == 3000


@pytest.mark.parametrize(
    ("brng", "volts", "expected_v"),
    [(0, 20.0, 16.0), (1, 20.0, 20.0), (1, 40.0, 32.0), (1, -1.0, 0.0)],
)
def test_bus_voltage_range_clips(brng: int, volts: float, expected_v: float) -> None:
    chip = VirtualIna219(FixedCircuit(bus_v=volts))
    write(chip, REG_CONFIG, (brng << 13) | (3 << 11) | (3 << 7) | (3 << 3) | 7)
    assert (read(chip, REG_BUS_VOLTAGE) >> 3) * 4e-3 == pytest.approx(expected_v)


def test_cnvr_is_set_by_a_conversion_and_cleared_by_reading_power() -> None:
    clock = FakeClock()
    circuit = FixedCircuit(current_a=0.01)
    chip = VirtualIna219(circuit, clock_ns=clock)
    write(chip, REG_CALIBRATION, 4096)
    assert read(chip, REG_BUS_VOLTAGE) & 0b10  # converted on the first read
    read(chip, REG_POWER)
    assert not read(chip, REG_BUS_VOLTAGE) & 0b10
    # Nothing new until a shunt plus a bus conversion (12 bit: 2 x 532 us) passed.
    circuit.current_a = 0.02
    clock.advance_us(2 * adc_conversion_us(3) - 1)
    assert not read(chip, REG_BUS_VOLTAGE) & 0b10
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 100
    clock.advance_us(1)
    assert read(chip, REG_BUS_VOLTAGE) & 0b10
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 200
    write(chip, REG_CONFIG, 0x399F)
    assert chip.peek(REG_BUS_VOLTAGE) & 0b10 == 0  # a configuration write clears it


def test_triggered_mode_converts_once_and_power_down_holds_values() -> None:
    clock = FakeClock()
    circuit = FixedCircuit(current_a=0.01)
    chip = VirtualIna219(circuit, clock_ns=clock)
    write(chip, REG_CONFIG, 0x399B)  # mode 3: shunt and bus, triggered
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 100
    circuit.current_a = 0.03
    clock.advance_us(1_000_000)
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 100
    write(chip, REG_CONFIG, 0x399B)  # a new trigger
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 300
    write(chip, REG_CONFIG, 0x3998)  # power-down
    circuit.current_a = 0.04
    clock.advance_us(1_000_000)
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 300


def test_lower_adc_resolution_coarsens_the_shunt_reading() -> None:
    chip = VirtualIna219(FixedCircuit(current_a=0.0123))  # 123 counts at 12 bit
    write(chip, REG_CONFIG, (1 << 13) | (3 << 11) | (3 << 7) | (0 << 3) | 7)  # 9 bit
    shunt = signed(read(chip, REG_SHUNT_VOLTAGE))
    assert shunt % 8 == 0
    assert 123 - 8 < shunt <= 123


def test_missing_chip_and_wrong_address_do_not_answer() -> None:
    chip = VirtualIna219(FixedCircuit(), address=0x41)
    bus = chip.i2c_interface(BUS)
    with pytest.raises(OSError, match="Remote I/O") as wrong:
        bus.read_word_data(0x40, REG_CONFIG)
    assert wrong.value.errno == errno.EREMOTEIO
    chip.present = False
    with pytest.raises(OSError, match="Remote I/O") as gone:
        bus.write_i2c_block_data(0x41, REG_CALIBRATION, [0, 2])
    assert gone.value.errno == errno.EREMOTEIO


def test_a_returning_chip_has_been_power_cycled() -> None:
    chip = VirtualIna219(FixedCircuit())
    write(chip, REG_CALIBRATION, 4096)
    chip.present = False
    chip.present = True
    assert read(chip, REG_CALIBRATION) == 0


def test_transient_failures_then_recovery() -> None:
    chip = VirtualIna219(FixedCircuit())
    chip.fail_next_transfers(2)
    for _ in range(2):
        with pytest.raises(OSError, match="transfer failed") as err:
            read(chip, REG_CONFIG)
        assert err.value.errno == errno.EIO
    assert read(chip, REG_CONFIG) == 0x399F


def test_malformed_transfers_are_refused() -> None:
    chip = VirtualIna219(FixedCircuit())
    bus = chip.i2c_interface(BUS)
    with pytest.raises(OSError, match="two bytes"):
        bus.write_i2c_block_data(ADDRESS, REG_CONFIG, [1, 2, 3])
    with pytest.raises(OSError, match="no register"):
        bus.read_word_data(ADDRESS, 0x06)


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="address"):
        VirtualIna219(FixedCircuit(), address=0x50)
    with pytest.raises(ValueError, match="shunt_ohms"):
        VirtualIna219(FixedCircuit(), shunt_ohms=0)


# -- circuits -------------------------------------------------------------------


def test_tutorial_circuit_gives_led_currents_of_a_few_milliamps() -> None:
    circuit = TutorialCircuit(potentiometer=0.0)
    parts = circuit.parts
    bus_v, current = circuit.operating_point()
    expected = (parts.battery_v - parts.led_forward_v) / parts.loop_ohms(0.0)
    assert current == pytest.approx(expected)
    assert 0.010 < current < 0.025
    assert bus_v == pytest.approx(
        parts.battery_v - current * (parts.battery_internal_ohms + parts.shunt_ohms)
    )
    circuit.set_potentiometer(1.0)
    low = circuit.operating_point()[1]
    assert 0.0005 < low < 0.003
    assert circuit.potentiometer == 1.0


def test_tutorial_circuit_led_blocks_below_forward_voltage() -> None:
    circuit = TutorialCircuit(TutorialParts(battery_v=1.5))
    assert circuit.operating_point() == (1.5, 0.0)


@pytest.mark.parametrize("position", [-0.1, 1.1, float("nan")])
def test_potentiometer_position_is_validated(position: float) -> None:
    circuit = TutorialCircuit()
    with pytest.raises(ValueError, match="potentiometer"):
        circuit.set_potentiometer(position)


def test_profile_circuit_replays_power_at_its_bus_voltage() -> None:
    now = [100.0]
    profile = LoadProfile.steps([(2, 1.0), (3, 0.5)])
    circuit = ProfileCircuit(profile, bus_voltage_v=5.0, clock=lambda: now[0])
    assert circuit.operating_point() == (5.0, 0.2)
    now[0] += 2.5
    assert circuit.operating_point() == (5.0, 0.1)
    now[0] += 5  # one full loop later: the same point of the profile
    assert circuit.operating_point() == (5.0, 0.1)


@dataclass
class WindowCircuit:
    """A recorded circuit that logs when in its past the chip looked."""

    bus_v: float = 5.0
    current_a: float = 0.01
    asked_s_ago: list[float] | None = None

    def operating_point(self) -> tuple[float, float]:
        return self.bus_v, self.current_a

    def operating_point_at(self, seconds_ago: float) -> tuple[float, float]:
        if self.asked_s_ago is None:
            self.asked_s_ago = []
        self.asked_s_ago.append(seconds_ago)
        return self.bus_v, self.current_a


def _config(bus_adc: int, shunt_adc: int) -> int:
    return (1 << 13) | (3 << 11) | (bus_adc << 7) | (shunt_adc << 3) | 7


def test_averaging_samples_the_shunt_window_then_the_bus_window() -> None:
    circuit = WindowCircuit()
    chip = VirtualIna219(circuit, clock_ns=FakeClock())
    write(chip, REG_CONFIG, _config(bus_adc=0xA, shunt_adc=0xF))  # 4 and 128 samples
    read(chip, REG_SHUNT_VOLTAGE)
    asked = circuit.asked_s_ago
    assert asked is not None
    assert len(asked) == 4 + 128
    bus_window_s = adc_conversion_us(0xA) / 1e6
    shunt_window_s = adc_conversion_us(0xF) / 1e6
    shunt_times, bus_times = asked[:128], asked[128:]
    # Shunt samples fill the window before the bus window, evenly, mid-slot.
    slot = shunt_window_s / 128
    assert shunt_times == [bus_window_s + (k + 0.5) * slot for k in range(128)]
    assert all(0 < t < bus_window_s for t in bus_times)


def test_single_conversions_do_not_look_back() -> None:
    circuit = WindowCircuit()
    chip = VirtualIna219(circuit, clock_ns=FakeClock())
    write(chip, REG_CONFIG, _config(bus_adc=3, shunt_adc=3))  # 12 bit, no averaging
    read(chip, REG_SHUNT_VOLTAGE)
    assert circuit.asked_s_ago is None


def test_averaging_a_steady_level_gains_no_resolution() -> None:
    # 0.1 ohm x 1.234 mA = 123.4 uV: 12 counts at every sample, and so on average.
    chip = VirtualIna219(WindowCircuit(current_a=1.234e-3), clock_ns=FakeClock())
    write(chip, REG_CONFIG, _config(bus_adc=0xF, shunt_adc=0xF))
    assert read(chip, REG_SHUNT_VOLTAGE) == 12


@pytest.mark.parametrize("phase_s", [0.0, 0.0013, 0.0041, 0.0077])
def test_averaging_follows_a_load_faster_than_the_window(phase_s: float) -> None:
    # 97 Hz, 37 % duty, 100 mA peak through 0.1 ohm: 1000 counts when on.
    period_s, duty, on_counts = 0.0103, 0.37, 1000
    profile = LoadProfile.fast_switching(0.5, 0.0, period_s=period_s, duty=duty)
    clock = FakeClock()
    circuit = ProfileCircuit(
        profile, bus_voltage_v=5.0, clock=lambda: clock.ns / 1e9, start_s=-phase_s
    )
    chip = VirtualIna219(circuit, clock_ns=clock)
    write(chip, REG_CONFIG, _config(bus_adc=3, shunt_adc=3))
    single = read(chip, REG_SHUNT_VOLTAGE)
    assert single in (0, on_counts)  # one instant: fully on or fully off
    write(chip, REG_CONFIG, _config(bus_adc=3, shunt_adc=0xF))
    averaged = read(chip, REG_SHUNT_VOLTAGE)
    # The oracle: which of the 128 sample instants fall in the on part of the cycle.
    window_end = clock.ns / 1e9 + phase_s - adc_conversion_us(3) / 1e6
    slot = adc_conversion_us(0xF) / 1e6 / 128
    on = sum(
        1
        for k in range(128)
        if (window_end - (k + 0.5) * slot) % period_s < duty * period_s
    )
    assert averaged == round(on_counts * on / 128)
    # 6.6 cycles in the window: the mean is within one cycle's share of the duty.
    assert abs(averaged - duty * on_counts) <= on_counts * period_s / 0.0681


# -- registers at their bounds, errors as the bus reports them -----------------


def test_calibration_takes_any_16_bit_word_through_either_write() -> None:
    chip = VirtualIna219(FixedCircuit())
    bus = chip.i2c_interface(BUS)
    assert bus.busnum == BUS
    write(chip, REG_CALIBRATION, 0xFFFF)
    assert read(chip, REG_CALIBRATION) == 0xFFFE
    write(chip, REG_CALIBRATION, 0)
    assert read(chip, REG_CALIBRATION) == 0
    # SMBus word writes send the low byte first, as reads do.
    bus.write_word_data(ADDRESS, REG_CALIBRATION, 0x3412)
    assert chip.peek(REG_CALIBRATION) == 0x1234
    assert bus.read_i2c_block_data(ADDRESS, REG_CALIBRATION) == [0x12, 0x34]
    assert bus.read_i2c_block_data(ADDRESS, REG_CONFIG, 1) == [0x39]


def test_writes_to_data_registers_are_ignored() -> None:
    chip = VirtualIna219(FixedCircuit())
    write(chip, REG_CALIBRATION, 4096)
    read(chip, REG_POWER)  # converted, CNVR cleared again
    before = [chip.peek(register) for register in range(REG_SHUNT_VOLTAGE, 5)]
    for register in range(REG_SHUNT_VOLTAGE, 5):
        write(chip, register, 0x5555)
    assert [chip.peek(register) for register in range(1, 5)] == before


def os_error(err: pytest.ExceptionInfo[OSError]) -> tuple[int | None, str | None]:
    return err.value.errno, err.value.strerror


def test_bus_errors_carry_errno_and_reason() -> None:
    chip = VirtualIna219(FixedCircuit())
    bus = chip.i2c_interface(BUS)
    with pytest.raises(OSError, match="no register") as no_register:
        bus.read_word_data(ADDRESS, 0x06)
    assert os_error(no_register) == (errno.EIO, "INA219 has no register 0x06")
    for register in (0x06, 0x1F):
        with pytest.raises(OSError, match="no register") as no_register:
            bus.write_i2c_block_data(ADDRESS, register, [0, 1])
        assert os_error(no_register) == (
            errno.EIO,
            f"INA219 has no register 0x{register:02x}",
        )
    with pytest.raises(OSError, match="no register") as peeked:
        chip.peek(0x06)
    assert os_error(peeked) == (errno.EIO, "INA219 has no register 0x06")
    for vals in ([1, 2, 3], [1], [1, 256], [-1, 0]):
        with pytest.raises(OSError, match="two bytes") as malformed:
            bus.write_i2c_block_data(ADDRESS, REG_CALIBRATION, vals)
        assert os_error(malformed) == (
            errno.EIO,
            "an INA219 register write takes two bytes",
        )
    with pytest.raises(OSError, match="Remote I/O") as wrong:
        bus.read_word_data(0x41, REG_CONFIG)
    assert os_error(wrong) == (errno.EREMOTEIO, "Remote I/O error")
    chip.fail_next_transfers(1, errno.ETIMEDOUT)
    with pytest.raises(OSError, match="transfer failed") as glitch:
        bus.read_word_data(ADDRESS, REG_CONFIG)
    assert os_error(glitch) == (errno.ETIMEDOUT, "I2C transfer failed")


def test_transfers_and_conversions_are_counted() -> None:
    clock = FakeClock()
    chip = VirtualIna219(FixedCircuit(), clock_ns=clock)
    assert (chip.transfers, chip.conversions) == (0, 0)
    read(chip, REG_SHUNT_VOLTAGE)  # converts: the power-on state is stale
    read(chip, REG_BUS_VOLTAGE)  # no time has passed: no new conversion
    assert (chip.transfers, chip.conversions) == (2, 1)
    chip.present = False
    with pytest.raises(OSError, match="Remote I/O error"):
        read(chip, REG_CONFIG)  # a failed transfer is a transfer too
    chip.present = True
    clock.advance_us(2 * adc_conversion_us(3))
    read(chip, REG_SHUNT_VOLTAGE)
    assert (chip.transfers, chip.conversions) == (4, 2)


@pytest.mark.parametrize(
    ("shunt_counts", "current", "ovf"),
    [
        # Calibration 4196: current = trunc(shunt x 4196 / 4096).
        (31987, 0x7FFF, False),
        (31988, 0x7FFF, True),
        (-31988, -0x8000, False),
        (-31989, -0x8000, True),
        (-32000, -0x8000, True),
    ],
)
def test_current_register_saturates_exactly_at_its_16_bit_bounds(
    shunt_counts: int, current: int, ovf: bool
) -> None:
    chip = VirtualIna219(FixedCircuit(bus_v=1.0, current_a=shunt_counts * 1e-4))
    write(chip, REG_CONFIG, (1 << 13) | (3 << 11) | (3 << 7) | (3 << 3) | 7)
    write(chip, REG_CALIBRATION, 4196)
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == shunt_counts
    assert signed(read(chip, REG_CURRENT)) == current
    assert read(chip, REG_BUS_VOLTAGE) & 1 == ovf


def test_power_register_saturates_at_0xffff() -> None:
    # 320 mV with calibration 0xFFFE is about 512 000 current counts at 30 V.
    chip = VirtualIna219(FixedCircuit(bus_v=30.0, current_a=3.2))
    write(chip, REG_CONFIG, (1 << 13) | (3 << 11) | (3 << 7) | (3 << 3) | 7)
    write(chip, REG_CALIBRATION, 0xFFFE)
    assert read(chip, REG_POWER) == 0xFFFF
    assert read(chip, REG_BUS_VOLTAGE) & 1 == 1


@pytest.mark.parametrize(
    ("badc", "counts"), [(0, 1248), (1, 1252), (2, 1254), (3, 1255), (15, 1255)]
)
def test_bus_resolution_follows_badc_alone(badc: int, counts: int) -> None:
    # 5.02 V is 1255 bus counts at 12 bit; 11, 10 and 9 bit drop 1, 2 and 3 bits.
    chip = VirtualIna219(FixedCircuit(bus_v=5.02))
    write(chip, REG_CONFIG, (1 << 13) | (3 << 11) | (badc << 7) | (3 << 3) | 7)
    assert read(chip, REG_BUS_VOLTAGE) >> 3 == counts


def _mode_config(mode: int, shunt_adc: int = 3, bus_adc: int = 15) -> int:
    return (1 << 13) | (3 << 11) | (bus_adc << 7) | (shunt_adc << 3) | mode


@pytest.mark.parametrize(
    ("mode", "shunt_changes", "bus_changes"),
    [(1, True, False), (2, False, True), (3, True, True)],
)
def test_a_trigger_converts_only_the_channels_its_mode_names(
    mode: int, shunt_changes: bool, bus_changes: bool
) -> None:
    clock = FakeClock()
    circuit = FixedCircuit(bus_v=5.0, current_a=0.01)
    chip = VirtualIna219(circuit, clock_ns=clock)
    write(chip, REG_CONFIG, _mode_config(7))
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == 100
    assert read(chip, REG_BUS_VOLTAGE) >> 3 == 1250
    circuit.bus_v, circuit.current_a = 6.0, 0.02
    write(chip, REG_CONFIG, _mode_config(mode))
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == (200 if shunt_changes else 100)
    assert read(chip, REG_BUS_VOLTAGE) >> 3 == (1500 if bus_changes else 1250)
    # Converted once: nothing new until the next trigger.
    circuit.bus_v, circuit.current_a = 7.0, 0.03
    clock.advance_us(1_000_000)
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == (200 if shunt_changes else 100)
    assert read(chip, REG_BUS_VOLTAGE) >> 3 == (1500 if bus_changes else 1250)


@pytest.mark.parametrize(
    ("mode", "shunt_adc", "conversion_us"),
    [
        (5, 3, adc_conversion_us(3)),  # shunt only: its 532 us
        (5, 0xA, adc_conversion_us(0xA)),  # 4 samples: 2.13 ms
        (6, 3, adc_conversion_us(15)),  # bus only: its 68.1 ms
        (7, 3, adc_conversion_us(3) + adc_conversion_us(15)),
    ],
)
def test_continuous_modes_convert_their_channels_at_their_pace(
    mode: int, shunt_adc: int, conversion_us: int
) -> None:
    clock = FakeClock()
    circuit = FixedCircuit(bus_v=5.0, current_a=0.01)
    chip = VirtualIna219(circuit, clock_ns=clock)
    write(chip, REG_CONFIG, _mode_config(mode, shunt_adc=shunt_adc))
    read(chip, REG_POWER)  # converts, then clears CNVR
    assert chip.conversions == 1
    circuit.bus_v, circuit.current_a = 6.0, 0.02
    clock.advance_us(conversion_us - 1)
    assert not read(chip, REG_BUS_VOLTAGE) & 0b10
    clock.advance_us(1)
    assert read(chip, REG_BUS_VOLTAGE) & 0b10
    assert chip.conversions == 2
    # A channel never converted keeps its power-on value, 0.
    assert signed(read(chip, REG_SHUNT_VOLTAGE)) == (0 if mode == 6 else 200)
    assert read(chip, REG_BUS_VOLTAGE) >> 3 == (0 if mode == 5 else 1500)


def test_a_shunt_only_average_ends_at_the_conversion() -> None:
    # No bus conversion follows the shunt's, so its window ends now.
    circuit = WindowCircuit()
    chip = VirtualIna219(circuit, clock_ns=FakeClock())
    write(chip, REG_CONFIG, _mode_config(5, shunt_adc=0xA, bus_adc=0xF))
    read(chip, REG_SHUNT_VOLTAGE)
    slot = adc_conversion_us(0xA) / 1e6 / 4
    assert circuit.asked_s_ago == [0.0 + (k + 0.5) * slot for k in range(4)]


def test_reading_other_registers_keeps_cnvr() -> None:
    chip = VirtualIna219(FixedCircuit(), clock_ns=FakeClock())
    for register in (REG_CONFIG, REG_SHUNT_VOLTAGE, REG_CURRENT, REG_CALIBRATION):
        read(chip, register)
        assert chip.peek(REG_BUS_VOLTAGE) & 0b10
    read(chip, REG_POWER)
    assert chip.peek(REG_BUS_VOLTAGE) & 0b10 == 0


def test_before_any_transfer_every_register_holds_its_power_on_value() -> None:
    chip = VirtualIna219(FixedCircuit(bus_v=5.0, current_a=0.02))
    assert [chip.peek(register) for register in range(6)] == [0x399F, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"address": 0x50}, "address must be between 0x40 and 0x4F"),
        ({"shunt_ohms": 0}, "shunt_ohms must be a positive number"),
    ],
)
def test_constructor_messages_in_full(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        VirtualIna219(FixedCircuit(), **kwargs)


def test_the_highest_address_is_a_chips_address() -> None:
    chip = VirtualIna219(FixedCircuit(), address=0x4F)
    assert chip.i2c_interface(BUS).read_word_data(0x4F, REG_CONFIG) == 0x9F39
