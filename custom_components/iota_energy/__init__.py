"""IOTA Energy: meter an INA219 and bill the energy in IOTA.

HACS installs this one folder, so the domain core (``core/``) ships inside
the integration's package. Python runs this ``__init__`` before any module
under it, including the core's, so it must not import Home Assistant: the
core, devtangle and the benchmarks run in virtualenvs without it.

Home Assistant's loader looks up ``async_setup``, ``async_setup_entry``,
``async_unload_entry`` and ``CONFIG_SCHEMA`` on this package. They live in
``setup_entry``:

* Home Assistant always imports itself before an integration, so when
  ``homeassistant`` is already imported they are imported here at once, in
  the loader's executor import (never later, inside the event loop).
* Otherwise they are imported on first access (module ``__getattr__``), so
  ``from custom_components.iota_energy import async_setup_entry`` still
  works, while ``import custom_components.iota_energy.core.metering``
  imports nothing of Home Assistant.
"""

from __future__ import annotations

import importlib
import sys

# The names Home Assistant's loader (and the shell's modules) take from here.
_SHELL_NAMES: dict[str, str] = {
    "CONFIG_SCHEMA": "setup_entry",
    "PLATFORMS": "setup_entry",
    "async_setup": "setup_entry",
    "async_setup_entry": "setup_entry",
    "async_unload_entry": "setup_entry",
    "IotaEnergyConfigEntry": "runtime",
    "IotaEnergyRuntime": "runtime",
}

if "homeassistant" in sys.modules:
    from .runtime import IotaEnergyConfigEntry, IotaEnergyRuntime
    from .setup_entry import (
        CONFIG_SCHEMA,
        PLATFORMS,
        async_setup,
        async_setup_entry,
        async_unload_entry,
    )

    __all__ = [
        "CONFIG_SCHEMA",
        "PLATFORMS",
        "IotaEnergyConfigEntry",
        "IotaEnergyRuntime",
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
    ]


def __getattr__(name: str) -> object:
    """Import the Home Assistant side only when one of its names is asked for."""
    if (module := _SHELL_NAMES.get(name)) is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
