"""The domain core, devtangle and the core's tests run without Home Assistant.

A clean virtualenv gets only what the core needs (PyOTA, pi-ina219 and
Adafruit-GPIO without their dependencies, the manifest's requirements,
``requests`` for PyOTA) and the test tools; no ``homeassistant``. There,
every module of the core and of devtangle imports, ``python -m devtangle
--help`` answers, and ``pytest tests/core`` passes.
"""

from __future__ import annotations

from collections.abc import Iterator
import importlib.metadata
import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.install

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "requirements"
# Generous: a cold uv cache downloads the test tools.
SUBPROCESS_TIMEOUT_S = 1800
# Test tools at the versions this leg runs (pytest-asyncio only because the
# shared pytest configuration names its options; pytest-socket because core
# tests that talk to a local node open loopback sockets through it).
TEST_TOOLS = ("pytest", "pytest-asyncio", "pytest-socket", "hypothesis", "requests")

# Imports every module of the core and of devtangle, and every benchmark but
# the recorder's (it measures Home Assistant's recorder), then reports whether
# any of them pulled in Home Assistant.
IMPORT_ALL = """
import importlib, importlib.util, pathlib, pkgutil, sys
import custom_components.iota_energy.core as core
import devtangle
names = []
for package in (core, devtangle):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
for path in sorted(pathlib.Path("benchmarks").glob("bench_*.py")):
    if path.stem not in {"bench_recorder", "bench_ledger"}:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = sys.modules[path.stem] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names.append(path.stem)
print(len(names), "homeassistant" in sys.modules)
"""


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PYTHON"):
        env.pop(name, None)
    env.setdefault("UV_CACHE_DIR", str(REPO_ROOT / ".cache" / "uv-cache"))
    # Nothing the core needs is built from C sources.
    env["CC"] = "false"
    env["CXX"] = "false"
    return env


def _run(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=REPO_ROOT,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    if check:
        assert result.returncode == 0, (
            f"{command[:4]} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


@pytest.fixture(scope="module")
def core_python() -> Iterator[Path]:
    """A fresh venv with the core's libraries and the test tools only."""
    venv = REPO_ROOT / ".cache" / "install-test" / "core-without-ha"
    shutil.rmtree(venv, ignore_errors=True)
    uv = [sys.executable, "-m", "uv"]
    _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    install = [*uv, "pip", "install", "--quiet", "--python", str(python)]
    _run([*install, "--no-deps", "-r", str(REQUIREMENTS / "nodeps.txt")])
    tools = [f"{name}=={importlib.metadata.version(name)}" for name in TEST_TOOLS]
    _run([*install, "-r", str(REQUIREMENTS / "runtime.txt"), *tools])
    yield python
    shutil.rmtree(venv, ignore_errors=True)


def test_venv_has_no_home_assistant(core_python: Path) -> None:
    """The starting point: Home Assistant cannot be imported there."""
    result = _run([str(core_python), "-c", "import homeassistant"], check=False)
    assert result.returncode != 0
    assert "No module named 'homeassistant'" in result.stderr


def test_core_and_devtangle_import(core_python: Path) -> None:
    """The core, devtangle and the benchmarks import; none pulls in HA."""
    result = _run([str(core_python), "-c", IMPORT_ALL])
    count, ha_imported = result.stdout.split()
    assert int(count) >= 24
    assert ha_imported == "False"


def test_devtangle_help(core_python: Path) -> None:
    """``python -m devtangle --help`` runs."""
    result = _run([str(core_python), "-m", "devtangle", "--help"])
    assert "serve" in result.stdout


def test_core_tests_pass(core_python: Path) -> None:
    """``pytest tests/core`` collects and passes there."""
    result = _run(
        [str(core_python), "-m", "pytest", "tests/core", "-q", "-p", "no:randomly"]
    )
    assert " passed" in result.stdout
    assert "error" not in result.stdout.splitlines()[-1]
