"""The INA219's registers, steps and conversion times (TI datasheet SBOS448).

One definition for both sides of the bus: the virtual chip
(ina219_model.py) and the source that reads a chip through pi-ina219
(power_source.py).
"""

from __future__ import annotations

from typing import Final

REG_CONFIG: Final = 0x00
REG_SHUNT_VOLTAGE: Final = 0x01
REG_BUS_VOLTAGE: Final = 0x02
REG_POWER: Final = 0x03
REG_CURRENT: Final = 0x04
# Reads 0 after power-on until calibrated: how a power-cycled chip shows.
REG_CALIBRATION: Final = 0x05

SHUNT_LSB_V: Final = 10e-6  # the shunt register's step, whatever the gain
BUS_LSB_V: Final = 4e-3  # the bus register's step

# The ADC settings by name (the options' values), each with its 4-bit
# BADC/SADC code: 9..12 bit, then 2..128 samples averaged at 12 bit.
ADC_MODE_CODES: Final[dict[str, int]] = {
    "9bit": 0,
    "10bit": 1,
    "11bit": 2,
    "12bit": 3,
    "2samples": 9,
    "4samples": 10,
    "8samples": 11,
    "16samples": 12,
    "32samples": 13,
    "64samples": 14,
    "128samples": 15,
}

# Conversion time in microseconds for each 4-bit code (datasheet table 5).
# Codes 0-3 and 4-7 are the same resolutions; 8 is 12 bit again.
_ADC_TIME_US: Final = (
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


def adc_resolution_bits(code: int) -> int:
    """9..12: the resolution an ADC setting code converts with."""
    return 9 + (code & 0b11) if code < 8 else 12


def adc_conversion_us(code: int) -> int:
    """Microseconds one conversion with this ADC setting code takes."""
    return _ADC_TIME_US[code & 0xF]


def adc_samples(code: int) -> int:
    """1..128: how many 12-bit conversions an ADC setting code averages."""
    return 1 << (code - 8) if code >= 8 else 1
