"""Where readings come from: the INA219 through pi-ina219, real or virtual.

pi-ina219's ``INA219.__init__`` asks Adafruit_GPIO for a device on the real bus
(it opens ``/dev/i2c-N`` at once). Adafruit_GPIO's ``I2C.Device`` has an
``i2c_interface`` parameter for exactly this kind of substitution, but
pi-ina219 does not pass one. So we subclass ``INA219`` and build its device
ourselves with that parameter: every other line of the driver runs unchanged,
no module global is patched, and two sources can be created from two threads
at once. The subclass sets the same attributes as pi-ina219 1.4.1's
constructor; a test compares them with a genuine instance so a driver update
that adds one is noticed. It also skips the constructor's
``logging.basicConfig`` call, which must not run inside Home Assistant.

Every method here does blocking I2C: call them from the sampler thread, never
from an event loop.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import errno
import functools
import importlib
import logging
import math
import time
from typing import Any, Literal, Protocol

from .thirdparty import import_adafruit_i2c, import_ina219

type SourceErrorKind = Literal["range", "io", "missing"]

GAINS: tuple[str, ...] = ("auto", "40mV", "80mV", "160mV", "320mV")
_GAIN_CONSTANTS = {
    "auto": "GAIN_AUTO",
    "40mV": "GAIN_1_40MV",
    "80mV": "GAIN_2_80MV",
    "160mV": "GAIN_4_160MV",
    "320mV": "GAIN_8_320MV",
}
_GAIN_VOLTS = {"40mV": 0.04, "80mV": 0.08, "160mV": 0.16, "320mV": 0.32}

ADC_MODES: tuple[str, ...] = (
    "9bit",
    "10bit",
    "11bit",
    "12bit",
    "2samples",
    "4samples",
    "8samples",
    "16samples",
    "32samples",
    "64samples",
    "128samples",
)
_ADC_CONSTANTS = {
    "9bit": "ADC_9BIT",
    "10bit": "ADC_10BIT",
    "11bit": "ADC_11BIT",
    "12bit": "ADC_12BIT",
    "2samples": "ADC_2SAMP",
    "4samples": "ADC_4SAMP",
    "8samples": "ADC_8SAMP",
    "16samples": "ADC_16SAMP",
    "32samples": "ADC_32SAMP",
    "64samples": "ADC_64SAMP",
    "128samples": "ADC_128SAMP",
}
# Conversion time of one ADC (microseconds), to bound the wait after configuring.
_ADC_TIME_US = {
    "9bit": 84,
    "10bit": 148,
    "11bit": 276,
    "12bit": 532,
    "2samples": 1060,
    "4samples": 2130,
    "8samples": 4260,
    "16samples": 8510,
    "32samples": 17020,
    "64samples": 34050,
    "128samples": 68100,
}

# errno values Linux reports when nothing answers at the address or the bus
# itself does not exist; anything else is an I/O error on a chip that is there.
_MISSING_ERRNOS = frozenset({errno.ENXIO, errno.EREMOTEIO, errno.ENODEV, errno.ENOENT})

I2cInterface = Callable[[int], Any]

_REG_CALIBRATION = 0x05
SHUNT_LSB_V = 10e-6  # the shunt register's step, whatever the gain
BUS_LSB_V = 4e-3  # the bus register's step
# Resolutions below 12 bit; every other setting converts (and averages) at 12.
_ADC_BITS = {"9bit": 9, "10bit": 10, "11bit": 11}


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement, in SI units."""

    power_w: float
    current_a: float
    bus_voltage_v: float
    shunt_voltage_mv: float


class SourceError(Exception):
    """A read or open that failed; ``kind`` says how.

    ``range``: the shunt voltage is beyond what the chip can measure;
    ``io``: a transfer failed on a chip that is there;
    ``missing``: nothing answers (unplugged, wrong address, no bus).
    """

    def __init__(self, kind: SourceErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: SourceErrorKind = kind

    def __repr__(self) -> str:
        return f"SourceError({self.kind!r}, {str(self)!r})"


class PowerSource(Protocol):
    """Something the sampler can open, read repeatedly and close."""

    def open(self) -> None: ...

    def read(self) -> Reading: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Ina219Config:
    """How the INA219 is wired and set up."""

    busnum: int = 1
    address: int = 0x40
    shunt_ohms: float = 0.1
    max_expected_amps: float | None = None
    voltage_range: int = 32
    gain: str = "auto"
    adc: str = "12bit"

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that is wrong."""
        if not _is_int(self.busnum) or self.busnum < 0:
            raise ValueError("busnum must be a whole number >= 0")
        if not _is_int(self.address) or not 0x40 <= self.address <= 0x4F:
            raise ValueError("address must be between 0x40 and 0x4F")
        if not _positive(self.shunt_ohms):
            raise ValueError("shunt_ohms must be a positive number")
        if self.voltage_range not in (16, 32):
            raise ValueError("voltage_range must be 16 or 32")
        if self.gain not in _GAIN_CONSTANTS:
            raise ValueError(f"gain must be one of {', '.join(GAINS)}")
        if self.adc not in _ADC_CONSTANTS:
            raise ValueError(f"adc must be one of {', '.join(ADC_MODES)}")
        if self.max_expected_amps is not None:
            if not _positive(self.max_expected_amps):
                raise ValueError("max_expected_amps must be a positive number")
            # The same limit pi-ina219 enforces when it calibrates.
            range_v = _GAIN_VOLTS.get(self.gain, _GAIN_VOLTS["320mV"])
            max_possible = round(range_v / self.shunt_ohms, 3)
            if self.max_expected_amps > max_possible:
                raise ValueError(
                    f"max_expected_amps must not exceed {max_possible} A "
                    f"with a {self.shunt_ohms} ohm shunt and gain {self.gain}"
                )

    def chip_gain(self) -> str:
        """The gain set on the chip: ``auto`` means the full range when averaging.

        pi-ina219's auto gain raises the gain when the chip flags an overflow.
        An averaged result stays in range while only the peaks of a pulsed
        load clip, so nothing is flagged: on the virtual chip a 97 Hz PWM
        peaking above 40 mV read 34-76 % low that way (bench_metering). The
        shunt register steps by 10 uV at every gain, so the full range costs
        no resolution, only the larger offset the datasheet allows it.
        """
        if self.gain == "auto" and self.adc.endswith("samples"):
            return "320mV"
        return self.gain

    def conversion_seconds(self) -> float:
        """Time for one shunt plus one bus conversion."""
        return 2 * _ADC_TIME_US[self.adc] / 1e6


class Ina219Source:
    """The INA219 read through the real pi-ina219 and Adafruit_GPIO code.

    ``i2c_interface`` is ``None`` for the real ``/dev/i2c-<busnum>`` (through
    Adafruit_PureIO), or a factory such as ``VirtualIna219.i2c_interface``.
    Not thread-safe: one thread (the sampler's) owns it.
    """

    def __init__(
        self, config: Ina219Config, i2c_interface: I2cInterface | None = None
    ) -> None:
        config.validate()
        self._config = config
        self._i2c_interface = i2c_interface
        self._driver: Any = None
        self._bus: Any = None
        self._range_error: type[Exception] | None = None
        self._truncation_bias = truncation_bias_counts(config.adc)

    @property
    def config(self) -> Ina219Config:
        return self._config

    @property
    def is_open(self) -> bool:
        return self._driver is not None

    def open(self) -> None:
        """Configure and calibrate the chip; wait for its first conversion."""
        self.close()
        config = self._config
        try:
            ina219 = import_ina219()
            self._range_error = ina219.DeviceRangeError
            driver = _driver_class()(
                config.shunt_ohms,
                config.max_expected_amps,
                busnum=config.busnum,
                address=config.address,
                i2c_interface=self._remember_bus,
            )
            driver.configure(
                voltage_range=(
                    ina219.INA219.RANGE_16V
                    if config.voltage_range == 16
                    else ina219.INA219.RANGE_32V
                ),
                gain=getattr(ina219.INA219, _GAIN_CONSTANTS[config.chip_gain()]),
                bus_adc=getattr(ina219.INA219, _ADC_CONSTANTS[config.adc]),
                shunt_adc=getattr(ina219.INA219, _ADC_CONSTANTS[config.adc]),
            )
            # Until the first conversion after calibration, current and power
            # read 0: a reading taken then would be a false zero.
            self._wait_for_conversion(driver)
        except OSError as err:
            self.close()
            raise _from_os_error(err, "open", config) from err
        except SourceError:
            self.close()
            raise
        self._driver = driver

    def read(self) -> Reading:
        """One reading; power from the shunt and bus registers (see below).

        The chip's own power register is truncated to 20 current LSBs (about
        0.24 mW with pi-ina219's default calibration), so a steady 20 mW read
        1.2 % low. The shunt register (10 uV steps) and the bus register
        (4 mV steps) are the ADC's own results, the finest the chip has, and
        neither depends on the calibration: power is their product, and
        current is the shunt voltage over the shunt resistance. Where the
        chip truncates (a 9-11 bit ADC setting drops the low bits of the
        12-bit result, as the virtual chip models it; the datasheet does not
        say how) half of what it drops is added back, so the result is
        unbiased. Like the power register, power is the magnitude: current
        flowing backwards is still energy through the shunt.
        """
        driver = self._driver
        if driver is None:
            raise SourceError("io", "the INA219 source is not open")
        range_error = self._range_error or _NeverRaisedError
        try:
            # shunt_voltage() first: it checks the overflow flag and, with
            # auto gain, raises the gain before the other registers are read.
            shunt_mv = driver.shunt_voltage()
            bus_v = driver.voltage()
            # A chip that browned out and came back has calibration 0 and its
            # power-on configuration: not the gain and resolution we set up.
            calibrated = driver.device.readU16BE(_REG_CALIBRATION) != 0
        except range_error as err:
            raise SourceError("range", f"INA219 out of range: {err}") from err
        except OSError as err:
            raise _from_os_error(err, "read", self._config) from err
        if not calibrated:
            self.close()
            raise SourceError("io", "INA219 lost its calibration (power-cycled?)")
        shunt_v = self._unbiased_shunt_counts(shunt_mv) * SHUNT_LSB_V
        bus_v = self._unbiased_bus_counts(bus_v) * BUS_LSB_V
        current_a = shunt_v / self._config.shunt_ohms
        return Reading(
            power_w=abs(current_a) * bus_v,
            current_a=current_a,
            bus_voltage_v=bus_v,
            shunt_voltage_mv=shunt_v * 1000,
        )

    def _unbiased_shunt_counts(self, shunt_mv: float) -> float:
        # The driver scaled the register by 0.01 mV; undo that exactly.
        counts = round(shunt_mv * 100)
        if counts == 0:
            # Below one step either way: the sign of what was dropped is unknown.
            return 0.0
        return counts + math.copysign(self._truncation_bias, counts)

    def _unbiased_bus_counts(self, bus_v: float) -> float:
        counts = round(bus_v * 250)
        return counts + self._truncation_bias if counts else 0.0

    def close(self) -> None:
        self._driver = None
        bus, self._bus = self._bus, None
        close = getattr(bus, "close", None)
        if close is not None:
            # A bus that is already gone has nothing left to release.
            with contextlib.suppress(OSError):
                close()

    def _remember_bus(self, busnum: int) -> Any:
        # The one place the bus is created, so close() can release what we own.
        if self._i2c_interface is None:
            smbus = importlib.import_module("Adafruit_PureIO.smbus")
            self._bus = smbus.SMBus(busnum)
        else:
            self._bus = self._i2c_interface(busnum)
        return self._bus

    def _wait_for_conversion(self, driver: Any) -> None:
        budget = 3 * self._config.conversion_seconds()
        deadline = time.monotonic() + budget
        while not driver.is_conversion_ready():
            if time.monotonic() > deadline:
                raise SourceError(
                    "io", f"INA219 at {self._config.address:#04x} never converted"
                )
            time.sleep(budget / 12)


def truncation_bias_counts(adc: str) -> float:
    """Mean counts a reduced ADC resolution drops (0 at 12 bit and averaging).

    The 12-bit result is rounded to a count; an n-bit setting then truncates
    it to steps of 2 ** (12 - n) counts toward zero, dropping 0 .. step - 1
    counts, (step - 1) / 2 on average.
    """
    step = 1 << (12 - _ADC_BITS.get(adc, 12))
    return (step - 1) / 2


class _NeverRaisedError(Exception):
    """Stands in for DeviceRangeError before the driver is imported."""


@functools.cache
def _driver_class() -> Any:
    """pi-ina219's INA219 with its I2C device built through the injection seam."""
    ina219 = import_ina219()
    adafruit_i2c = import_adafruit_i2c()

    class InjectedIna219(ina219.INA219):  # type: ignore[misc,name-defined]
        def __init__(
            self,
            shunt_ohms: float,
            max_expected_amps: float | None,
            *,
            busnum: int,
            address: int,
            i2c_interface: I2cInterface,
        ) -> None:
            # Mirrors INA219.__init__ (pi-ina219 1.4.1) except for the device.
            self.logger = logging.getLogger(ina219.__name__)
            self._i2c = self.device = adafruit_i2c.Device(
                address, busnum, i2c_interface
            )
            self._shunt_ohms = shunt_ohms
            self._max_expected_amps = max_expected_amps
            self._min_device_current_lsb = self._calculate_min_current_lsb()
            self._gain = None
            self._auto_gain_enabled = False

    return InjectedIna219


def _from_os_error(err: OSError, action: str, config: Ina219Config) -> SourceError:
    kind: SourceErrorKind = "missing" if err.errno in _MISSING_ERRNOS else "io"
    where = f"INA219 at {config.address:#04x} on bus {config.busnum}"
    reason = err.strerror or str(err)
    return SourceError(kind, f"{action} failed for {where}: {reason}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
