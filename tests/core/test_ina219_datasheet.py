"""The INA219's ADC settings, code by code (datasheet SBOS448, table 5)."""

from __future__ import annotations

from custom_components.iota_energy.core.ina219_datasheet import (
    ADC_MODE_CODES,
    adc_conversion_us,
    adc_resolution_bits,
    adc_samples,
)


def test_every_4_bit_code_has_its_resolution_samples_and_time() -> None:
    # Codes 0-3 and 4-7 are 9..12 bit; 8 is 12 bit again; 9-15 average 2..128.
    assert [adc_resolution_bits(code) for code in range(16)] == [
        *(9, 10, 11, 12),
        *(9, 10, 11, 12),
        *(12,) * 8,
    ]
    assert [adc_samples(code) for code in range(16)] == [
        *(1,) * 9,
        *(2, 4, 8, 16, 32, 64, 128),
    ]
    assert [adc_conversion_us(code) for code in range(16)] == [
        *(84, 148, 276, 532),
        *(84, 148, 276, 532),
        *(532, 1060, 2130, 4260, 8510, 17020, 34050, 68100),
    ]


def test_the_named_settings_are_the_datasheets_codes() -> None:
    shown = {
        name: (adc_resolution_bits(code), adc_samples(code))
        for name, code in ADC_MODE_CODES.items()
    }
    assert shown == {
        "9bit": (9, 1),
        "10bit": (10, 1),
        "11bit": (11, 1),
        "12bit": (12, 1),
        "2samples": (12, 2),
        "4samples": (12, 4),
        "8samples": (12, 8),
        "16samples": (12, 16),
        "32samples": (12, 32),
        "64samples": (12, 64),
        "128samples": (12, 128),
    }
