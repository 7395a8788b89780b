"""Installing the integration on a stock Home Assistant gives working libraries.

A clean virtualenv holds only ``homeassistant`` at this leg's version (no
setuptools, no compiler: ``CC=false CXX=false``). Inside it, Home Assistant's
own requirements manager installs the manifest's ``requirements`` and the
integration's ``async_ensure_libraries`` installs PyOTA, pi-ina219 and
Adafruit-GPIO; then PyOTA derives addresses and signs a bundle,
pi-ina219 reads a simulated INA219, and the core's Rebased wallet, on the
iota-sdk the manifest brought, derives the address of IOTA's official test
mnemonic and builds and signs a transfer offline. Last, a stand-in for the
unrelated Stardust SDK (same distribution and import name, not in the index
here) takes its place: the core says the SDK is missing, and Home
Assistant's requirements manager puts the pinned one back.
``clean_venv_driver.py`` runs there.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
import hashlib
import json
import os
from pathlib import Path
import secrets
import shutil
import subprocess
import sys
from typing import Any
import zipfile

import pytest

from custom_components.iota_energy.core.installer import LIBRARIES, Pin
from custom_components.iota_energy.core.rebased_sdk import SDK_REQUIREMENT
from tests.rebased_vectors import OFFICIAL_VECTORS

pytestmark = pytest.mark.install

REPO_ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("clean_venv_driver.py")
TRYTES = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Generous: a cold uv cache downloads Home Assistant's dependencies.
SUBPROCESS_TIMEOUT_S = 1800
SDK_VERSION = Pin.parse(SDK_REQUIREMENT).version
# A Stardust release (the 1.x line) of the same distribution (docs/rebased.md).
STARDUST_VERSION = "1.1.4"


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


def _uv_install(python: Path, *requirements: str) -> None:
    """Install into the clean venv as a user's shell would (no compiler)."""
    command = [sys.executable, "-m", "uv", "pip", "install", "--quiet"]
    _run([*command, "--python", str(python), *requirements], _environment())


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "sha256=" + digest.rstrip(b"=").decode("ascii")


def _stardust_stand_in(folder: Path) -> Path:
    """A wheel named like the Stardust SDK: ``iota_sdk`` without Rebased's API.

    The real one cannot be installed here (the index holds only iota-sdk
    0.1.0 and the 3.x line); what matters is its distribution name, version
    and import name, and that it lacks TransactionBuilder and
    Ed25519PrivateKey.
    """
    info = f"iota_sdk-{STARDUST_VERSION}.dist-info"
    files = {
        "iota_sdk/__init__.py": (
            '"""Stand-in for the Stardust iota-sdk 1.x (tests/install)."""\n\n\n'
            "class Client:\n    pass\n\n\nclass Wallet:\n    pass\n"
        ),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: iota-sdk\nVersion: {STARDUST_VERSION}\n"
        ),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: iota-energy-tests\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{path},{_record_hash(text.encode())},{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"iota_sdk-{STARDUST_VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


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
    sdk_before, _ = _driver(clean_python, "sdk-state", env)
    install, _ = _driver(clean_python, "install", env)
    sdk_after, _ = _driver(clean_python, "sdk-state", env)
    again, _ = _driver(clean_python, "install", env)
    return {
        "probe": probe,
        "sdk_before": sdk_before["sdk"],
        "install": install,
        "sdk_after": sdk_after["sdk"],
        "again": again,
    }


@pytest.fixture(scope="module")
def stardust_replaced(
    clean_python: Path,
    installed: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Stardust's SDK over the Rebased one, then Home Assistant's setup again.

    Ends with the pinned SDK back in place, so the other tests see the venv
    as the first setup left it, whatever their order.
    """
    env = _environment()
    _uv_install(clean_python, str(_stardust_stand_in(tmp_path_factory.mktemp("sdk"))))
    stardust, _ = _driver(clean_python, "sdk-state", env)
    install, _ = _driver(clean_python, "install", env)
    restored, _ = _driver(clean_python, "sdk-state", env)
    return {
        "stardust": stardust["sdk"],
        "install": install,
        "restored": restored["sdk"],
    }


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


def test_manifest_brings_the_rebased_sdk(installed: dict[str, Any]) -> None:
    """Home Assistant's requirements manager installs the pinned pre-release."""
    assert SDK_REQUIREMENT in installed["install"]["requirements"]
    before = installed["sdk_before"]
    assert before["usable"] is False
    assert before["distribution_version"] is None
    assert before["error"] == f"{SDK_REQUIREMENT} is not installed"
    after = installed["sdk_after"]
    assert after["usable"] is True, after["error"]
    assert after["distribution_version"] == SDK_VERSION
    assert after["in_this_venv"] is True


def test_rebased_wallet_works_offline(
    clean_python: Path, installed: dict[str, Any]
) -> None:
    """IOTA's test mnemonic gives its address; a transfer is built and signed."""
    assert installed["sdk_after"]["usable"] is True
    mnemonic, _, address = OFFICIAL_VECTORS[0]
    used, result = _driver(clean_python, "use-rebased", _environment(), mnemonic)

    # The mnemonic is sacred too, even a public one in a test's output.
    for shown in (result.stdout, result.stderr):
        assert mnemonic not in shown
        assert " ".join(mnemonic.split()[:2]) not in shown

    rebased = used["rebased"]
    assert rebased["signed"] is True
    assert rebased["address"] == address
    assert rebased["path"] == "m/44'/4218'/0'/0'/0'"
    assert rebased["sender"] == address
    # The digest stored before execution is the one the bytes hash to.
    assert rebased["digest"] == rebased["recomputed_digest"]
    assert len(rebased["digest"]) in (43, 44)
    assert rebased["receiver"] == "0x" + "ab" * 32
    assert rebased["amount"] == [1_000_000, "nanos"]
    assert rebased["gas"] == [2_000_000, 1000]
    assert rebased["commands"] == ["SplitCoins", "TransferObjects"]
    assert rebased["tamper_refused"] is True


def test_stardust_sdk_is_replaced(stardust_replaced: dict[str, Any]) -> None:
    """With Stardust's SDK installed the rail says so; setup restores the pin."""
    stardust = stardust_replaced["stardust"]
    assert stardust["distribution_version"] == STARDUST_VERSION
    assert stardust["usable"] is False
    assert stardust["error"] == f"iota_sdk is not the Rebased SDK ({SDK_REQUIREMENT})"
    # is_installed() sees 1.1.4 != 3.0.0b1; the installer upgrades in place.
    assert stardust_replaced["install"]["missing_after"] == []
    restored = stardust_replaced["restored"]
    assert restored["usable"] is True, restored["error"]
    assert restored["distribution_version"] == SDK_VERSION


def test_unbuildable_dependencies_left_out(
    clean_python: Path, installed: dict[str, Any]
) -> None:
    """Pinned versions present; pysha3, spidev and setuptools never installed."""
    assert installed["install"]["missing_after"] == []
    used, _ = _driver(clean_python, "probe-distributions", _environment())
    distributions = used["distributions"]
    for requirement in (*LIBRARIES, *installed["install"]["requirements"]):
        pin = Pin.parse(requirement)
        assert distributions.get(pin.name.lower()) == pin.version
    for absent in ("pysha3", "spidev", "setuptools"):
        assert absent not in distributions
    assert used["setuptools_absent"] is True
    assert used["pkg_resources_absent"] is True
