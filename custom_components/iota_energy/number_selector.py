"""A number field that refuses NaN, and fractions where it counts in ones.

Home Assistant's NumberSelector checks a value against its minimum and
maximum with ``<`` and ``>``, which NaN passes; ``int(nan)`` in a step would
then fail with an unhandled ValueError. Infinities are already out of range.
The selector does not check its step either: a cap of 0.5 would be stored
as ``int(0.5) == 0``, which means "no cap". And it reads every value as a
float, which rounds counts above 2**53: whole numbers are kept exact.
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

    def __init__(self, config: selector.NumberSelectorConfig) -> None:
        """Keep the bounds as given: the selector's config holds them as floats."""
        super().__init__(config)
        self._bounds = (config.get("min"), config.get("max"))

    def __call__(self, data: Any) -> float:
        if self._counts(data):
            # Exact: a float holds no count above 2**53 (nanos reach 2**64 - 1).
            low, high = self._bounds
            if (low is not None and data < low) or (high is not None and data > high):
                raise vol.Invalid(f"Value {data} is out of range")
            return int(data)
        value = super().__call__(data)
        if math.isnan(value):
            raise vol.Invalid("Value is not a number")
        if self.config.get("step") == 1 and not float(value).is_integer():
            raise vol.Invalid(f"Value {value} is not a whole number")
        return value

    def _counts(self, data: Any) -> bool:
        """Whether ``data`` is a whole number typed into a field of ones."""
        return (
            self.config.get("step") == 1
            and isinstance(data, int)
            and not isinstance(data, bool)
        )
