"""The crash suite's processes: devtangle and a real ``hass``, as the demo runs them.

The Home Assistant is scripts/develop's: its venv (``develop_ensure_venv``
of scripts/lib/develop_venv.sh, built on first use), a config folder
prepared by scripts/lib/develop_ha.py (the integration linked in from this
checkout, onboarding's wizard skipped) and the demo meter created through
the real config flow by the same module. Only the configuration is leaner
(no frontend, recorder or dashboards): a start takes seconds, not tens.
Each ``hass`` runs in a session of its own, so one ``killpg`` reaches it and
the wallet's worker process it spawned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress
import importlib.util
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
GENESIS = REPO_ROOT / "config" / "devtangle-genesis.json"

# Loopback only, the demo's time zone, a login without password from this
# machine (the setup drives onboarding and the config flow over HTTP).
CONFIGURATION = """\
homeassistant:
  name: IOTA Energy crash suite
  latitude: 52.52
  longitude: 13.405
  elevation: 34
  unit_system: metric
  time_zone: Europe/Berlin
  country: DE
  currency: EUR
  language: en
  auth_providers:
    - type: trusted_networks
      trusted_networks:
        - 127.0.0.1
      allow_bypass_login: true
    - type: homeassistant
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
diagnostics:
onboarding:
repairs:
logger:
  default: warning
  logs:
    custom_components.iota_energy: info
    # Pulled in by diagnostics; wants a JPEG library this suite has no use for.
    homeassistant.components.camera.img_util: critical
"""


def develop_ha() -> ModuleType:
    """scripts/lib/develop_ha.py as a module (it is a script, not a package)."""
    name = "iota_energy_develop_ha"
    if name in sys.modules:
        return sys.modules[name]
    path = REPO_ROOT / "scripts" / "lib" / "develop_ha.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def develop_python() -> Path:
    """The demo venv's python (scripts/develop's own function builds it if missing)."""
    lib = REPO_ROOT / "scripts" / "lib"
    script = (
        f'source "{lib}/common.sh"; source "{lib}/python.sh"; '
        f'source "{lib}/venv.sh"; source "{lib}/develop_venv.sh"; '
        "develop_ensure_venv min"
    )
    out = subprocess.run(
        ["bash", "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Tangle:
    """devtangle with the demo genesis (MWM 9, a milestone every 2 s), on one port."""

    def __init__(self, python: Path, directory: Path) -> None:
        self.python = python
        self.db = directory / "devtangle.sqlite3"
        self.log = directory / "devtangle.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.python),
                    "-m",
                    "devtangle",
                    "serve",
                    "--db",
                    str(self.db),
                    "--genesis",
                    str(GENESIS),
                    "--port",
                    str(self.port),
                    "--mwm",
                    "9",
                    "--milestone-interval",
                    "2",
                    "--log-level",
                    "WARNING",
                ],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"devtangle did not start (see {self.log})")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def database_files(self) -> list[Path]:
        """The database and its journal files (copy them all, while stopped)."""
        return sorted(self.db.parent.glob(self.db.name + "*"))


@contextmanager
def devtangle(python: Path, directory: Path) -> Iterator[Tangle]:
    """A running devtangle for the length of the block."""
    tangle = Tangle(python, directory)
    tangle.start()
    try:
        yield tangle
    finally:
        tangle.stop()


class Hass:
    """One ``hass`` process on a config folder; started, killed, restarted."""

    def __init__(self, python: Path, config_dir: Path, tangle_url: str) -> None:
        self.hass = python.parent / "hass"
        self.config_dir = config_dir
        self.port = free_port()
        self.tangle_url = tangle_url
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0  # wall clock (time.time) of the last start

    def prepare(self) -> None:
        develop_ha().prepare_config(self.config_dir)
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(port=self.port), "utf-8"
        )

    def start(self) -> None:
        out = (self.config_dir / "hass.out").open("ab")
        env = os.environ | {"IOTA_ENERGY_TANGLE_URL": self.tangle_url}
        self.started_at = time.time()
        self.process = subprocess.Popen(
            [str(self.hass), "--config", str(self.config_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        out.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def set_up_entry(
        self, options: dict[str, object], ready_path: str = "/api/onboarding"
    ) -> str:
        """First start: onboarding, login, the demo's config flow; the entry id.

        Later starts find the entry and only wait until it is loaded; they
        wait for another ``ready_path``, since the onboarding API is gone once
        onboarding is done.
        """
        module = develop_ha()
        assert self.process is not None
        pid = self.process.pid

        async def run() -> str:
            import aiohttp  # Home Assistant's venv has it

            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=120)
            ) as session:
                client = module.Client(session, f"http://127.0.0.1:{self.port}")
                entry_id: str = await module.up(
                    client,
                    pid,
                    600,
                    self.tangle_url,
                    ready_path=ready_path,
                    options=options,
                    units=False,
                )
                return entry_id

        return asyncio.run(run())

    def wait_running(self) -> None:
        """Until Home Assistant runs and the entry is loaded.

        Home Assistant handles SIGTERM only once it has started; a stop sent
        while it still starts ends it by the signal (exit status -15) instead
        of its clean shutdown.
        """
        # The entry exists: this only waits for it. (``/auth/providers``
        # answers without a login as soon as the HTTP server runs.)
        self.set_up_entry({}, ready_path="/auth/providers")

    def kill(self) -> float:
        """SIGKILL the session (hass and its wallet worker); the kill's wall time."""
        assert self.process is not None
        pgid = self.process.pid
        moment = time.time()
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait()
        self._wait_group_gone(pgid)
        return moment

    def stop(self, grace_s: float = 120) -> int:
        """A clean stop (SIGTERM), as scripts/develop does; the exit status."""
        assert self.process is not None
        self.process.terminate()
        try:
            status = self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9
        self._wait_group_gone(self.process.pid)
        return status

    @staticmethod
    def _wait_group_gone(pgid: int) -> None:
        """Children (the worker) left in the session: kill them and wait."""
        deadline = time.monotonic() + 30
        while members := group_members(pgid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {members} survived SIGKILL")
            for pid in members:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members
