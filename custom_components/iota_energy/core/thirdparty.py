"""Import PyOTA and pi-ina219 the way this project needs them.

Both libraries were published years ago and trip over today's Python:

* PyOTA 2.1.0 ends its ``iota/__init__.py`` with
  ``pkg_resources.require('PyOTA')``. Home Assistant's virtualenvs have no
  ``setuptools`` (and setuptools 81+ has no ``pkg_resources``), so a plain
  ``import iota`` fails there. While the import runs we answer that one
  lookup from ``importlib.metadata`` and remove the stand-in afterwards.
* Adafruit_GPIO (a dependency of pi-ina219) has regex literals with invalid
  escapes, which compile with a ``SyntaxWarning``; we silence exactly that
  warning during the import so test suites running with ``-W error`` pass.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import threading
import types
from typing import Any
import warnings

_IMPORT_LOCK = threading.Lock()


class _Distribution:
    """The one attribute PyOTA reads from ``pkg_resources.require()``."""

    def __init__(self, version: str) -> None:
        self.version = version


def _require(requirement: str) -> list[_Distribution]:
    return [_Distribution(importlib.metadata.version(requirement))]


def import_pyota() -> types.ModuleType:
    """Return the ``iota`` package (PyOTA), importing it if needed."""
    if (module := sys.modules.get("iota")) is not None:
        return module
    with _IMPORT_LOCK:
        if (module := sys.modules.get("iota")) is not None:
            return module
        stand_in: types.ModuleType | None = None
        if "pkg_resources" not in sys.modules:
            try:
                importlib.import_module("pkg_resources")
            except ImportError:
                stand_in = types.ModuleType("pkg_resources")
                stand_in.require = _require  # type: ignore[attr-defined]
                sys.modules["pkg_resources"] = stand_in
        try:
            with warnings.catch_warnings():
                # PyOTA calls datetime.utcnow() at import in some paths.
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                return importlib.import_module("iota")
        finally:
            if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
                del sys.modules["pkg_resources"]


def import_ina219() -> types.ModuleType:
    """Return pi-ina219's ``ina219`` module."""
    if (module := sys.modules.get("ina219")) is not None:
        return module
    with _IMPORT_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SyntaxWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return importlib.import_module("ina219")


def import_adafruit_i2c() -> Any:
    """Return ``Adafruit_GPIO.I2C``, whose ``Device`` is the I2C seam we use."""
    with _IMPORT_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SyntaxWarning)
        return importlib.import_module("Adafruit_GPIO.I2C")
