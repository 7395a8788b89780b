"""devtangle throughput from several concurrent clients (loopback only).

Starts ``python -m devtangle serve`` as a separate process (so clients and
server do not share one interpreter), then measures, each for a bounded
number of requests and seconds:

* getBalances and getInclusionStates requests per second,
* transactions attached (attachToTangle at MWM 9) and stored per second.

Prints the figures and writes ``benchmarks/results/devtangle.md``.
Run from the repository root: ``python benchmarks/bench_devtangle.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
import http.client
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "devtangle.md"
CLIENTS = 4
QUERY_REQUESTS = 2_000  # per query kind, spread over the clients
QUERY_SECONDS = 20.0
ATTACH_TRANSACTIONS = 40
ATTACH_SECONDS = 60.0
MWM = 9


class Client:
    """One keep-alive connection speaking the IRI API."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        self._connection.request(
            "POST",
            "/",
            body=json.dumps(command).encode(),
            headers={"X-IOTA-API-Version": "1", "Content-Type": "application/json"},
        )
        response = self._connection.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{command['command']}: {answer}")
        return answer

    def close(self) -> None:
        self._connection.close()


def _start(db: Path) -> tuple[subprocess.Popen[str], int]:
    genesis = db.parent / "genesis.json"
    genesis.write_text(json.dumps({"balances": {"B" * 81: 1_000_000}}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtangle",
            "serve",
            "--db",
            str(db),
            "--genesis",
            str(genesis),
            "--port",
            "0",
            "--mwm",
            str(MWM),
            "--milestone-interval",
            "0",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "devtangle serving" in line:
            return process, int(line.rsplit(":", 1)[1].split("/")[0])
    raise RuntimeError("devtangle did not start")


def _run(
    port: int, count: int, seconds: float, make: Callable[[int], dict[str, Any]]
) -> tuple[int, float]:
    """``count`` requests over CLIENTS connections, stopping at ``seconds``."""
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> int:
        client = Client(port)
        done = 0
        try:
            for number in range(offset, count, CLIENTS):
                if time.monotonic() > deadline:
                    break
                client.call(make(number))
                done += 1
        finally:
            client.close()
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        done = sum(pool.map(worker, range(CLIENTS)))
    return done, time.perf_counter() - started


def main() -> None:
    sys.path.insert(0, str(REPO))
    from custom_components.iota_energy.core.trits import int_to_trytes

    with tempfile.TemporaryDirectory() as tmp:
        process, port = _start(Path(tmp) / "bench.sqlite3")
        try:
            setup = Client(port)
            milestone = setup.call({"command": "getNodeInfo"})["latestMilestone"]
            addresses = [int_to_trytes(i, 27).ljust(81, "9") for i in range(10)]

            balances = _run(
                port,
                QUERY_REQUESTS,
                QUERY_SECONDS,
                lambda _n: {"command": "getBalances", "addresses": addresses},
            )
            inclusion = _run(
                port,
                QUERY_REQUESTS,
                QUERY_SECONDS,
                lambda _n: {
                    "command": "getInclusionStates",
                    "transactions": [milestone] * 10,
                    "tips": [milestone],
                },
            )

            def attach(number: int) -> dict[str, Any]:
                # A 0-value transaction made unique by its tag.
                trytes = (
                    "9" * 2187
                    + "C" * 81
                    + "9" * (27 + 27)
                    + int_to_trytes(int(time.time()), 9)
                    + "9" * 18
                    + "9" * 81 * 3
                    + int_to_trytes(number, 27)
                    + "9" * 54
                )
                return {
                    "command": "attachToTangle",
                    "trunkTransaction": milestone,
                    "branchTransaction": milestone,
                    "minWeightMagnitude": MWM,
                    "trytes": [trytes],
                }

            attached = _run(port, ATTACH_TRANSACTIONS, ATTACH_SECONDS, attach)
            info = setup.call({"command": "getNodeInfo"})
            setup.close()
        finally:
            process.terminate()
            process.wait(timeout=60)
            if process.stderr is not None:
                process.stderr.close()

    rows = [
        ("getBalances (10 addresses each)", *balances),
        ("getInclusionStates (10 hashes each)", *inclusion),
        (f"attachToTangle, 1 transaction at MWM {MWM}", *attached),
    ]
    lines = [
        "# devtangle throughput",
        "",
        f"Measured by `benchmarks/bench_devtangle.py` on {platform.machine()},"
        f" {os.cpu_count()} cores, Python {platform.python_version()};"
        f" {CLIENTS} concurrent keep-alive clients, node in its own process"
        f" (appVersion {info['appVersion']}).",
        "",
        "| request | done | seconds | per second |",
        "|---|---|---|---|",
    ]
    for name, done, seconds in rows:
        lines.append(f"| {name} | {done} | {seconds:.2f} | {done / seconds:.1f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
