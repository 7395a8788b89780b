"""A number field that refuses NaN, and fractions where it counts in ones.

Home Assistant's NumberSelector checks a value against its minimum and
maximum with ``<`` and ``>``, which NaN passes; ``int(nan)`` in a step would
then fail with an unhandled ValueError. Infinities are already out of range.
The selector does not check its step either: a cap of 0.5 would be stored
as ``int(0.5) == 0``, which means "no cap".
"""

from __future__ import annotations

import math
from typing import Any

from homeassistant.helpers import selector
import voluptuous as vol


class FiniteNumberSelector(selector.NumberSelector):
    """A NumberSelector whose value is a number, whole if its step is 1.

    The form marks the field, as it does for a value out of range.
    """

    def __call__(self, data: Any) -> float:
        value = super().__call__(data)
        if math.isnan(value):
            raise vol.Invalid("Value is not a number")
        if self.config.get("step") == 1 and not float(value).is_integer():
            raise vol.Invalid(f"Value {value} is not a whole number")
        return value
