"""A number field that refuses NaN.

Home Assistant's NumberSelector checks a value against its minimum and
maximum with ``<`` and ``>``, which NaN passes; ``int(nan)`` in a step would
then fail with an unhandled ValueError. Infinities are already out of range.
"""

from __future__ import annotations

import math
from typing import Any

from homeassistant.helpers import selector
import voluptuous as vol


class FiniteNumberSelector(selector.NumberSelector):
    """A NumberSelector whose value is never NaN (the form marks the field)."""

    def __call__(self, data: Any) -> float:
        value = super().__call__(data)
        if math.isnan(value):
            raise vol.Invalid("Value is not a number")
        return value
