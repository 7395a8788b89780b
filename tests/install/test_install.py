"""Installing the integration on a stock Home Assistant gives working libraries.

A clean virtualenv holds only ``homeassistant`` at this leg's version (no
setuptools, no compiler: ``CC=false CXX=false``). Inside it, Home Assistant's
own requirements manager installs the manifest's ``requirements`` and the
integration's ``async_ensure_libraries`` installs PyOTA, pi-ina219 and
Adafruit-GPIO; then PyOTA derives addresses and signs a bundle, and
pi-ina219 reads a simulated INA219. ``clean_venv_driver.py`` runs there.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import secrets
import shutil
import subprocess
import sys
from typing import Any

import pytest

from custom_components.iota_energy.core.installer import LIBRARIES, Pin

pytestmark = pytest.mark.install

REPO_ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("clean_venv_driver.py")
TRYTES = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Generous: a cold uv cache downloads Home Assistant's dependencies.
SUBPROCESS_TIMEOUT_S = 1800


def _ha_version() -> str:
    from homeassistant.const import __version__

    return __version__


def _environment(*, compiler: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PYTHON"):
        env.pop(name, None)
    env.setdefault("UV_CACHE_DIR", str(REPO_ROOT / ".cache" / "uv-cache"))
    if not compiler:
        # No compiler, as on Home Assistant OS: any C build fails at once.
        env["CC"] = "false"
        env["CXX"] = "false"
    return env


def _run(
    command: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command[:4]} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


def _driver(
    python: Path, step: str, env: dict[str, str], stdin: str | None = None
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    result = _run([str(python), str(DRIVER), step], env, stdin)
    last_line = result.stdout.strip().splitlines()[-1]
    return json.loads(last_line), result


@pytest.fixture(scope="module")
def clean_python() -> Iterator[Path]:
    """A fresh venv with only homeassistant==<this leg's version>.

    Home Assistant itself may build a few C extensions here (ciso8601 has no
    wheel for every Python); its images ship them prebuilt. Only what the
    integration brings is installed without a compiler.
    """
    env = _environment(compiler=True)
    venv = REPO_ROOT / ".cache" / "install-test" / f"ha-{_ha_version()}"
    shutil.rmtree(venv, ignore_errors=True)
    uv = [sys.executable, "-m", "uv"]
    _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env)
    python = venv / "bin" / "python"
    _run(
        [
            *uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            f"homeassistant=={_ha_version()}",
        ],
        env,
    )
    yield python
    shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(clean_python: Path) -> dict[str, Any]:
    """Probe the clean venv, then install the way Home Assistant would."""
    env = _environment()
    probe, _ = _driver(clean_python, "probe", env)
    install, _ = _driver(clean_python, "install", env)
    again, _ = _driver(clean_python, "install", env)
    return {"probe": probe, "install": install, "again": again}


def test_clean_venv_is_stock(installed: dict[str, Any]) -> None:
    """The starting point has neither setuptools nor pkg_resources."""
    assert installed["probe"]["setuptools_absent"] is True
    assert installed["probe"]["pkg_resources_absent"] is True


def test_libraries_installed_once(installed: dict[str, Any]) -> None:
    """The first setup installs all three; a second setup installs nothing."""
    assert installed["install"]["missing_before"] == list(LIBRARIES)
    assert installed["install"]["missing_after"] == []
    assert installed["again"]["missing_before"] == []


def test_pyota_and_ina219_work(clean_python: Path, installed: dict[str, Any]) -> None:
    """Sign a bundle with PyOTA and read the simulated chip via pi-ina219."""
    assert installed["install"]["requirements"]
    seed = "".join(secrets.choice(TRYTES) for _ in range(81))
    used, result = _driver(clean_python, "use", _environment(), stdin=seed)

    # Keys are sacred, even in a test's output.
    assert seed not in result.stdout
    assert seed not in result.stderr

    pyota = used["pyota"]
    assert pyota["valid"] is True, pyota["errors"]
    assert pyota["errors"] == []
    # One output, one security-2 input (two transactions), one change.
    assert pyota["transactions"] == 4
    assert sorted(pyota["values"]) == [-1000, 0, 42, 958]
    assert len(pyota["address"]) == 81
    assert pyota["address"] != pyota["change_address"]
    assert pyota["pkg_resources_left_behind"] is False

    chip = used["ina219"]
    assert chip["driver_is_real"] is True
    assert chip["transfers"] > 0
    assert chip["current_a"] == pytest.approx(chip["expected_current_a"], rel=0.02)
    assert chip["bus_voltage_v"] == pytest.approx(
        chip["expected_bus_voltage_v"], abs=0.01
    )


def test_unbuildable_dependencies_left_out(
    clean_python: Path, installed: dict[str, Any]
) -> None:
    """Pinned versions present; pysha3, spidev and setuptools never installed."""
    assert installed["install"]["missing_after"] == []
    used, _ = _driver(clean_python, "probe-distributions", _environment())
    distributions = used["distributions"]
    for requirement in LIBRARIES:
        pin = Pin.parse(requirement)
        assert distributions.get(pin.name.lower()) == pin.version
    for absent in ("pysha3", "spidev", "setuptools"):
        assert absent not in distributions
    assert used["setuptools_absent"] is True
    assert used["pkg_resources_absent"] is True
