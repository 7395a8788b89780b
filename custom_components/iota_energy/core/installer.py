"""Install PyOTA and pi-ina219 where Home Assistant's own installer cannot.

Home Assistant installs a custom integration's manifest ``requirements`` with
uv, dependencies included. Three libraries this integration needs declare
dependencies that never build on a current Home Assistant: PyOTA 2.1.0 wants
``pysha3`` (its C code fails on Python >= 3.10) and Adafruit-GPIO (pi-ina219's
I2C layer) wants ``spidev`` (C code, no wheels; pi-ina219 never uses SPI).

So the manifest lists what those libraries really need at run time
(``safe-pysha3``, ``phx-filters``, ``six``, ``Adafruit-PureIO``), all
installable without a compiler, and Home Assistant installs them as usual.
This module then installs the three libraries themselves *without their
dependencies*, the way Home Assistant runs uv: the same interpreter, the same
constraints file, the same ``--target`` when Home Assistant uses one. Other
integrations' installs are unaffected: nothing global changes (no
environment variable, no uv configuration), and only these three pinned
packages are installed.

No Home Assistant import here; the Home Assistant side is ``libraries.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
import importlib
import importlib.metadata
import os
import subprocess
import threading

#: Installed with ``--no-deps``. Keep equal to ``requirements/nodeps.txt``.
LIBRARIES: tuple[str, ...] = (
    "pyota==2.1.0",
    "pi-ina219==1.4.1",
    "Adafruit-GPIO==1.0.3",
)

#: Seconds the whole install may take before it is abandoned (a slow board
#: downloads three small packages and builds one pure-Python sdist).
DEFAULT_TIMEOUT = 600.0

#: How much of uv's error output an InstallError keeps.
_MAX_ERROR_CHARS = 2000

_INSTALL_LOCK = threading.Lock()


class InstallError(Exception):
    """The libraries could not be installed."""

    def __init__(self, libraries: Sequence[str], reason: str) -> None:
        """Store which libraries failed and why (uv's own words, shortened)."""
        super().__init__(f"installing {', '.join(libraries)} failed: {reason}")
        self.libraries = tuple(libraries)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Pin:
    """A requirement of the form ``name==version``."""

    name: str
    version: str

    @classmethod
    def parse(cls, requirement: str) -> Pin:
        """Parse ``name==version``; anything else is a programming error."""
        name, sep, version = requirement.partition("==")
        if not sep or "==" in version or not name.strip() or not version.strip():
            msg = f"not a pinned requirement: {requirement!r}"
            raise ValueError(msg)
        return cls(name.strip(), version.strip())


def installed_version(name: str) -> str | None:
    """Return the installed version of distribution ``name``, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_libraries(
    libraries: Iterable[str] = LIBRARIES,
    *,
    version_of: Callable[[str], str | None] = installed_version,
) -> list[str]:
    """Return the requirements of ``libraries`` not installed at that version."""
    missing: list[str] = []
    for requirement in libraries:
        pin = Pin.parse(requirement)
        if version_of(pin.name) != pin.version:
            missing.append(requirement)
    return missing


def install_command(
    python: str,
    libraries: Sequence[str],
    *,
    constraints: str | None = None,
    target: str | None = None,
) -> list[str]:
    """Return the uv command that installs ``libraries`` without dependencies.

    It mirrors ``homeassistant.util.package.install_package``: the same
    interpreter runs ``-m uv pip install`` with the same index strategy and
    constraints file, into ``--target`` when Home Assistant installs there.
    ``--no-deps`` is the one difference: it leaves out the dependencies that
    do not build (their real needs are in the manifest's ``requirements``).
    """
    command = [
        python,
        "-m",
        "uv",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        *libraries,
        "--index-strategy",
        "unsafe-first-match",
    ]
    if constraints is not None:
        command += ["--constraint", constraints]
    # Always for this interpreter (its platform and version), even when an
    # unrelated VIRTUAL_ENV is set in the environment.
    command += ["--python", python]
    if target is not None:
        command += ["--target", os.path.abspath(target)]
    return command


def _short(text: str) -> str:
    text = text.strip()
    if len(text) > _MAX_ERROR_CHARS:
        return "…" + text[-_MAX_ERROR_CHARS:]
    return text


# Keyword-only knobs of one pip/uv run, each with a default.
def ensure_libraries(  # noqa: PLR0913
    python: str,
    *,
    constraints: str | None = None,
    target: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    http_timeout: int | None = None,
    libraries: Sequence[str] = LIBRARIES,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Install whichever of ``libraries`` is missing; return what was installed.

    Blocking (runs a subprocess): call it from a worker thread. Calls are
    serialized, and the check is repeated under the lock, so concurrent
    callers install once. ``http_timeout`` is uv's per-request timeout, as
    Home Assistant sets it (``HTTP_TIMEOUT``). Raises :class:`InstallError`
    when uv fails, times out or cannot be started, or when the libraries are
    still missing after it ran.
    """
    with _INSTALL_LOCK:
        missing = missing_libraries(libraries)
        if not missing:
            return []
        # A copy: the process environment is never changed.
        env = dict(os.environ if environ is None else environ)
        if http_timeout:
            env["HTTP_TIMEOUT"] = str(http_timeout)
        command = install_command(
            python, missing, constraints=constraints, target=target
        )
        try:
            result = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise InstallError(missing, f"timed out after {timeout:g} s") from err
        except OSError as err:
            raise InstallError(missing, f"could not run {python}: {err}") from err
        if result.returncode != 0:
            raise InstallError(
                missing,
                _short(result.stderr or result.stdout)
                or f"uv exited with {result.returncode}",
            )
        # New distributions appear on sys.path only after this.
        importlib.invalidate_caches()
        still_missing = missing_libraries(missing)
        if still_missing:
            raise InstallError(
                still_missing, "installed, but not visible to this interpreter"
            )
        return missing
