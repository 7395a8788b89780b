"""A register-level model of the TI INA219, seen through an SMBus-like object.

pi-ina219 talks to the chip through Adafruit_GPIO's ``I2C.Device``, which
accepts an ``i2c_interface`` factory: ``factory(busnum)`` returns an object with
``read_word_data`` and ``write_i2c_block_data``. :meth:`VirtualIna219.i2c_interface`
is such a factory, so the real driver code runs unchanged on top of this model.

What follows the datasheet (SBOS448):

* registers 0x00 configuration, 0x01 shunt voltage (10 uV LSB, signed),
  0x02 bus voltage (bits 15..3 in 4 mV, bit 1 CNVR, bit 0 OVF), 0x03 power,
  0x04 current (signed), 0x05 calibration (bit 0 reads 0);
* configuration fields RST, BRNG (16/32 V), PG (40/80/160/320 mV), BADC, SADC
  and MODE (power-down, triggered, ADC off, continuous); power-on value 0x399F;
* shunt voltage clipped to the PGA range, bus voltage clipped to its range;
* current = shunt x calibration / 4096 and power = current x bus / 5000 in
  register units, truncated; OVF when either does not fit its register;
* CNVR set when a conversion completes, cleared by reading the power register
  or writing the configuration;
* conversion time per ADC setting (84 us to 68.1 ms; shunt plus bus when both
  are converted) paces continuous conversions.

* averaging modes (2-128 samples) convert that many times, one 12-bit
  conversion after the other, and report the mean: with a circuit that knows
  its recent past (``RecordedCircuit``) the model takes each sample at its own
  moment of the window (shunt first, then bus, ending at the conversion), so
  a load switching faster than the window is averaged as the chip averages it.

Simplifications, on purpose: a configuration or calibration write makes the
next data read convert at once (the real chip needs one conversion time; the
driver sleeps 1 ms after changing gain, which covers 12-bit shunt-only but not
every setting); there is no noise, so a steady level averages to its own
12-bit step (no resolution is gained); the mean of the samples is rounded to
the nearest count (the datasheet does not say how the chip reduces it);
9-11 bit resolutions truncate the 12-bit value to their coarser step.

SMBus word reads are LSB-first on the wire's second byte; the real chip sends
the register's high byte first, so ``read_word_data`` returns the bytes
swapped, exactly what Adafruit_GPIO's ``readU16BE`` undoes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import errno
import math
import threading
import time

from .circuit import Circuit, RecordedCircuit

REG_CONFIG = 0x00
REG_SHUNT_VOLTAGE = 0x01
REG_BUS_VOLTAGE = 0x02
REG_POWER = 0x03
REG_CURRENT = 0x04
REG_CALIBRATION = 0x05

CONFIG_POWER_ON = 0x399F
CONFIG_RESET_BIT = 1 << 15
CONFIG_WRITABLE_MASK = 0x3FFF  # bit 15 is the self-clearing reset, bit 14 unused

BUS_CNVR = 1 << 1
BUS_OVF = 1 << 0

SHUNT_LSB_V = 10e-6
BUS_LSB_V = 4e-3
# Shunt full scale in register counts for PG = 0..3 (40, 80, 160, 320 mV).
SHUNT_FULL_SCALE_COUNTS = (4000, 8000, 16000, 32000)
BUS_FULL_SCALE_COUNTS = {0: 4000, 1: 8000}  # BRNG 0 = 16 V, 1 = 32 V

# Conversion time in microseconds for each 4-bit BADC/SADC code (datasheet
# table 5). Codes 0-3 and 4-7 are the same resolutions; 8 is 12 bit again.
_ADC_TIME_US = (
    84,
    148,
    276,
    532,
    84,
    148,
    276,
    532,
    532,
    1060,
    2130,
    4260,
    8510,
    17020,
    34050,
    68100,
)

# I2C errors as Linux's i2c-dev reports them: no ACK from the address.
MISSING_ERRNO = errno.EREMOTEIO


def adc_resolution_bits(code: int) -> int:
    """9..12: the resolution an ADC setting code converts with."""
    return 9 + (code & 0b11) if code < 8 else 12


def adc_conversion_us(code: int) -> int:
    return _ADC_TIME_US[code & 0xF]


def adc_samples(code: int) -> int:
    """1..128: how many 12-bit conversions an ADC setting code averages."""
    return 1 << (code - 8) if code >= 8 else 1


class VirtualIna219:
    """An INA219 on a virtual I2C bus, driven by a circuit model.

    All state sits behind one lock, so the sampler thread can read registers
    while the Home Assistant loop turns the potentiometer or unplugs the chip.
    """

    def __init__(
        self,
        circuit: Circuit,
        *,
        shunt_ohms: float = 0.1,
        address: int = 0x40,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not (math.isfinite(shunt_ohms) and shunt_ohms > 0):
            raise ValueError("shunt_ohms must be a positive number")
        if not 0x40 <= address <= 0x4F:
            raise ValueError("address must be between 0x40 and 0x4F")
        self._circuit = circuit
        self._shunt_ohms = shunt_ohms
        self._address = address
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._present = True
        self._failures_left = 0
        self._failure_errno = errno.EIO
        self.transfers = 0
        self.conversions = 0
        self._power_on_reset()

    # -- test and demo controls -------------------------------------------

    @property
    def circuit(self) -> Circuit:
        return self._circuit

    @property
    def address(self) -> int:
        return self._address

    @property
    def shunt_ohms(self) -> float:
        return self._shunt_ohms

    @property
    def present(self) -> bool:
        """False simulates an unplugged chip: every transfer fails (EREMOTEIO).

        Plugging it back in power-cycles it, so its registers are at their
        power-on values and the driver has to configure it again.
        """
        with self._lock:
            return self._present

    @present.setter
    def present(self, value: bool) -> None:
        with self._lock:
            if value and not self._present:
                self._power_on_reset()
            self._present = value

    def fail_next_transfers(self, count: int, error_number: int = errno.EIO) -> None:
        """Make the next ``count`` transfers fail with ``OSError(error_number)``.

        A glitch on the wires, as opposed to a chip that is gone.
        """
        with self._lock:
            self._failures_left = count
            self._failure_errno = error_number

    def peek(self, register: int) -> int:
        """A register's raw 16-bit value, without a bus transfer's side effects."""
        with self._lock:
            return self._raw(register)

    # -- the SMBus-like side ------------------------------------------------

    def i2c_interface(self, busnum: int) -> VirtualSmbus:
        """Factory for ``Adafruit_GPIO.I2C.Device(..., i2c_interface=...)``."""
        return VirtualSmbus(self, busnum)

    def _read_register(self, address: int, register: int) -> int:
        with self._lock:
            self._transfer_checks(address)
            self._refresh(self._clock_ns())
            if register not in range(REG_CONFIG, REG_CALIBRATION + 1):
                raise OSError(errno.EIO, f"INA219 has no register 0x{register:02x}")
            value = self._raw(register)
            if register == REG_POWER:
                self._cnvr = False
            return value

    def _write_register(self, address: int, register: int, value: int) -> None:
        with self._lock:
            self._transfer_checks(address)
            if not 0 <= value <= 0xFFFF:
                raise OSError(errno.EIO, "a register takes 16 bits")
            if register == REG_CONFIG:
                if value & CONFIG_RESET_BIT:
                    self._power_on_reset()
                    return
                self._config = value & CONFIG_WRITABLE_MASK
                self._cnvr = False
                self._stale = True
                self._single_pending = self._mode in (1, 2, 3)
            elif register == REG_CALIBRATION:
                self._calibration = value & 0xFFFE
                self._stale = True
            elif register not in range(REG_CONFIG, REG_CALIBRATION + 1):
                raise OSError(errno.EIO, f"INA219 has no register 0x{register:02x}")
            # Writes to the read-only data registers are ignored, as on the chip.

    # -- the chip -------------------------------------------------------------

    def _transfer_checks(self, address: int) -> None:
        self.transfers += 1
        if not self._present or address != self._address:
            raise OSError(MISSING_ERRNO, "Remote I/O error")
        if self._failures_left > 0:
            self._failures_left -= 1
            raise OSError(self._failure_errno, "I2C transfer failed")

    def _power_on_reset(self) -> None:
        self._config = CONFIG_POWER_ON
        self._calibration = 0
        self._shunt = 0
        self._bus = 0
        self._current = 0
        self._power = 0
        self._cnvr = False
        self._ovf = False
        self._stale = True
        self._single_pending = False
        self._last_conversion_ns: int | None = None

    @property
    def _mode(self) -> int:
        return self._config & 0b111

    def _conversion_ns(self) -> int:
        mode = self._mode
        total_us = 0
        if mode & 0b001:
            total_us += adc_conversion_us((self._config >> 3) & 0xF)
        if mode & 0b010:
            total_us += adc_conversion_us((self._config >> 7) & 0xF)
        return total_us * 1000

    def _refresh(self, now_ns: int) -> None:
        mode = self._mode
        if mode in (5, 6, 7):
            due = (
                self._stale
                or self._last_conversion_ns is None
                or now_ns - self._last_conversion_ns >= self._conversion_ns()
            )
            if due:
                self._convert(now_ns)
        elif mode in (1, 2, 3) and self._single_pending:
            self._single_pending = False
            self._convert(now_ns)
        # Modes 0 (power-down) and 4 (ADC off) keep the last results.

    def _convert(self, now_ns: int) -> None:
        mode = self._mode
        shunt_code, bus_code = (self._config >> 3) & 0xF, (self._config >> 7) & 0xF
        # The chip converts the shunt, then the bus; the window ends now.
        bus_s = adc_conversion_us(bus_code) / 1e6 if mode & 0b010 else 0.0
        if mode & 0b001:
            self._shunt = self._averaged(
                shunt_code,
                bus_s,
                lambda point: self._shunt_counts(point[1] * self._shunt_ohms),
            )
        if mode & 0b010:
            self._bus = self._averaged(
                bus_code, 0.0, lambda point: self._bus_counts(point[0])
            )
        # Truncation toward zero, in integers so no float rounding creeps in.
        current = _trunc_div(self._shunt * self._calibration, 4096)
        power = _trunc_div(abs(current) * self._bus, 5000)
        self._ovf = not (-0x8000 <= current <= 0x7FFF) or power > 0xFFFF
        self._current = max(-0x8000, min(0x7FFF, current))
        self._power = min(0xFFFF, power)
        self._cnvr = True
        self._stale = False
        self._last_conversion_ns = now_ns
        self.conversions += 1

    def _averaged(
        self,
        code: int,
        ends_s_ago: float,
        counts_of: Callable[[tuple[float, float]], int],
    ) -> int:
        """One ADC result: a single conversion, or the mean of an averaging run."""
        samples = adc_samples(code)
        circuit = self._circuit
        if samples == 1 or not isinstance(circuit, RecordedCircuit):
            return counts_of(circuit.operating_point())
        # Each 12-bit sample takes one slot of the window; take it mid-slot.
        slot_s = adc_conversion_us(code) / 1e6 / samples
        total = sum(
            counts_of(circuit.operating_point_at(ends_s_ago + (k + 0.5) * slot_s))
            for k in range(samples)
        )
        return round(total / samples)

    def _shunt_counts(self, shunt_v: float) -> int:
        full_scale = SHUNT_FULL_SCALE_COUNTS[(self._config >> 11) & 0b11]
        counts = round(shunt_v / SHUNT_LSB_V)
        counts = max(-full_scale, min(full_scale, counts))
        step = 1 << (12 - adc_resolution_bits((self._config >> 3) & 0xF))
        return _trunc_div(counts, step) * step

    def _bus_counts(self, bus_v: float) -> int:
        full_scale = BUS_FULL_SCALE_COUNTS[(self._config >> 13) & 1]
        counts = max(0, min(full_scale, round(bus_v / BUS_LSB_V)))
        step = 1 << (12 - adc_resolution_bits((self._config >> 7) & 0xF))
        return counts // step * step

    def _raw(self, register: int) -> int:
        if register == REG_CONFIG:
            return self._config
        if register == REG_SHUNT_VOLTAGE:
            return self._shunt & 0xFFFF
        if register == REG_BUS_VOLTAGE:
            return (self._bus << 3) | (BUS_CNVR * self._cnvr) | (BUS_OVF * self._ovf)
        if register == REG_POWER:
            return self._power
        if register == REG_CURRENT:
            return self._current & 0xFFFF
        if register == REG_CALIBRATION:
            return self._calibration
        raise OSError(errno.EIO, f"INA219 has no register 0x{register:02x}")


class VirtualSmbus:
    """The subset of ``smbus.SMBus`` that Adafruit_GPIO's ``Device`` uses."""

    def __init__(self, chip: VirtualIna219, busnum: int) -> None:
        self._chip = chip
        self.busnum = busnum

    def read_word_data(self, addr: int, cmd: int) -> int:
        value = self._chip._read_register(addr, cmd)
        return ((value & 0xFF) << 8) | (value >> 8)

    def write_word_data(self, addr: int, cmd: int, val: int) -> None:
        self._chip._write_register(addr, cmd, ((val & 0xFF) << 8) | (val >> 8 & 0xFF))

    def read_i2c_block_data(self, addr: int, cmd: int, length: int = 32) -> list[int]:
        value = self._chip._read_register(addr, cmd)
        return [value >> 8, value & 0xFF][:length]

    def write_i2c_block_data(self, addr: int, cmd: int, vals: Sequence[int]) -> None:
        if len(vals) != 2 or any(not 0 <= byte <= 0xFF for byte in vals):
            raise OSError(errno.EIO, "an INA219 register write takes two bytes")
        self._chip._write_register(addr, cmd, (vals[0] << 8) | vals[1])

    def close(self) -> None:
        """Nothing to release; present so callers can treat it like a real bus."""


def _trunc_div(numerator: int, denominator: int) -> int:
    """Integer division rounding toward zero, as the chip's arithmetic does."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient
