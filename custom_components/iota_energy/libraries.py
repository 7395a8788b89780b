"""Make sure PyOTA and pi-ina219 are installed before the integration uses them.

Home Assistant has installed the manifest's ``requirements`` by the time
``async_setup_entry`` runs. This installs the three libraries whose declared
dependencies do not build (see ``core/installer.py``) the same way Home
Assistant installs packages: its constraints file, its ``--target`` folder,
its timeout, in a worker thread, one install at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
import inspect
import sys
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.requirements import pip_kwargs
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .core.installer import (
    LIBRARIES,
    InstallError,
    Pin,
    ensure_libraries,
    missing_libraries,
)

_LOCK_KEY: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_libraries_lock")


def _home_assistant_pip_kwargs(hass: HomeAssistant) -> dict[str, Any]:
    """The keyword arguments Home Assistant's own installer uses.

    Up to 2026.10 they depend on the configuration folder (``--target``
    config/deps outside a virtualenv); 2026.11 dropped that argument and
    installs into the environment only.
    """
    kwargs_of: Callable[..., dict[str, Any]] = pip_kwargs
    if inspect.signature(pip_kwargs).parameters:
        return kwargs_of(hass.config.config_dir)
    return kwargs_of()


async def async_ensure_libraries(hass: HomeAssistant) -> None:
    """Install PyOTA, pi-ina219 and Adafruit-GPIO if they are missing.

    Raises ConfigEntryNotReady (translated) when they cannot be installed, so
    Home Assistant retries the setup later, e.g. once the network is back.
    """
    lock = hass.data.setdefault(_LOCK_KEY, asyncio.Lock())
    async with lock:
        missing = await hass.async_add_executor_job(missing_libraries)
        if not missing:
            return
        skipped = set(hass.config.skip_pip_packages)
        if hass.config.skip_pip or any(Pin.parse(r).name in skipped for r in missing):
            # The user told Home Assistant not to install packages.
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="libraries_missing",
                translation_placeholders={"libraries": ", ".join(missing)},
            )
        kwargs = _home_assistant_pip_kwargs(hass)
        LOGGER.info("Installing %s", ", ".join(missing))
        try:
            await hass.async_add_executor_job(
                partial(
                    ensure_libraries,
                    sys.executable,
                    constraints=kwargs.get("constraints"),
                    target=kwargs.get("target"),
                    http_timeout=kwargs.get("timeout"),
                    libraries=LIBRARIES,
                )
            )
        except InstallError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="libraries_install_failed",
                translation_placeholders={
                    "libraries": ", ".join(err.libraries),
                    "error": err.reason,
                },
            ) from err
