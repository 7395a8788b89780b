"""The Home Assistant side of installing the libraries (libraries.py)."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any
from unittest.mock import patch

from homeassistant import requirements
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
import pytest

from custom_components.iota_energy import libraries
from custom_components.iota_energy.const import DOMAIN, LOGGER
from custom_components.iota_energy.core.installer import LIBRARIES, InstallError

MISSING = ["pyota==2.1.0"]
# Two, so the message shows how they are joined.
TWO_MISSING = ["pyota==2.1.0", "pi-ina219==1.4.1"]


async def test_nothing_to_do(hass: HomeAssistant) -> None:
    """The test venv has the libraries: no install is attempted."""
    with patch.object(libraries, "ensure_libraries") as ensure:
        await libraries.async_ensure_libraries(hass)
    ensure.assert_not_called()


async def _home_assistant_install_kwargs(hass: HomeAssistant) -> dict[str, Any]:
    """What Home Assistant's own installer passes when it installs a package."""
    seen: dict[str, Any] = {}

    def fake_install(_package: str, **kwargs: Any) -> bool:
        seen.update(kwargs)
        return True

    with (
        patch("homeassistant.util.package.is_installed", return_value=False),
        patch("homeassistant.util.package.install_package", side_effect=fake_install),
    ):
        await requirements.async_process_requirements(
            hass, "probe", ["probe-package==1.0"]
        )
    assert seen, "Home Assistant installed nothing"
    return seen


@pytest.mark.parametrize("in_virtualenv", [True, False])
async def test_installs_like_home_assistant(
    hass: HomeAssistant, in_virtualenv: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Same interpreter, constraints, target and HTTP timeout as HA's installer.

    Outside a virtualenv Home Assistant up to 2026.10 installs into config/deps
    (``target``); 2026.11 installs into the environment in both cases.
    """
    hass.config.skip_pip = False
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def fake_ensure(*args: Any, **kwargs: Any) -> list[str]:
        calls.append((args, kwargs))
        return list(MISSING)

    with (
        patch("homeassistant.util.package.is_virtual_env", return_value=in_virtualenv),
        patch("homeassistant.util.package.is_docker_env", return_value=False),
    ):
        expected = await _home_assistant_install_kwargs(hass)
        with (
            patch.object(
                libraries, "missing_libraries", return_value=list(TWO_MISSING)
            ),
            patch.object(libraries, "ensure_libraries", side_effect=fake_ensure),
        ):
            await libraries.async_ensure_libraries(hass)
    assert len(calls) == 1
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER.name] == [
        "Installing pyota==2.1.0, pi-ina219==1.4.1"
    ]
    args, kwargs = calls[0]
    assert args == (sys.executable,)
    assert kwargs["constraints"] == expected["constraints"]
    assert kwargs["target"] == expected.get("target")
    assert kwargs["http_timeout"] == expected["timeout"]
    assert tuple(kwargs["libraries"]) == LIBRARIES


async def test_install_failure_is_translated(hass: HomeAssistant) -> None:
    hass.config.skip_pip = False
    with (
        patch.object(libraries, "missing_libraries", return_value=list(TWO_MISSING)),
        patch.object(
            libraries,
            "ensure_libraries",
            side_effect=InstallError(TWO_MISSING, "no network"),
        ),
        pytest.raises(ConfigEntryNotReady) as caught,
    ):
        await libraries.async_ensure_libraries(hass)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == "libraries_install_failed"
    assert caught.value.translation_placeholders == {
        "libraries": "pyota==2.1.0, pi-ina219==1.4.1",
        "error": "no network",
    }


@pytest.mark.parametrize(
    ("skip_pip", "skip_packages"), [(True, []), (False, ["pyota"])]
)
async def test_skip_pip_is_respected(
    hass: HomeAssistant, skip_pip: bool, skip_packages: list[str]
) -> None:
    """--skip-pip (or skip_pip_packages) means: install nothing, say what's missing."""
    hass.config.skip_pip = skip_pip
    hass.config.skip_pip_packages = skip_packages
    with (
        patch.object(libraries, "missing_libraries", return_value=list(TWO_MISSING)),
        patch.object(libraries, "ensure_libraries") as ensure,
        pytest.raises(ConfigEntryNotReady) as caught,
    ):
        await libraries.async_ensure_libraries(hass)
    ensure.assert_not_called()
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == "libraries_missing"
    assert caught.value.translation_placeholders == {
        "libraries": "pyota==2.1.0, pi-ina219==1.4.1"
    }


async def test_concurrent_setups_install_once(hass: HomeAssistant) -> None:
    """Two entries set up at once: the second waits and finds nothing missing."""
    hass.config.skip_pip = False
    missing = [list(MISSING), list(MISSING)]
    installs = 0

    def fake_missing() -> list[str]:
        return missing[0]

    def fake_ensure(*_args: Any, **_kwargs: Any) -> list[str]:
        nonlocal installs
        installs += 1
        missing[0] = []
        return list(MISSING)

    with (
        patch.object(libraries, "missing_libraries", side_effect=fake_missing),
        patch.object(libraries, "ensure_libraries", side_effect=fake_ensure),
    ):
        await asyncio.gather(
            libraries.async_ensure_libraries(hass),
            libraries.async_ensure_libraries(hass),
        )
    assert installs == 1
