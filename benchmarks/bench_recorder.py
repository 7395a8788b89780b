"""Recorder load and publish cost: what sampling fast costs Home Assistant.

Run from the repository root, in a venv with Home Assistant and the test
harness (``scripts/setup``):

    python -m benchmarks.bench_recorder [--seconds 60] [--output PATH]

A real Home Assistant core (the test harness's in-process instance) runs the
integration on the virtual INA219 replaying a varying load profile, sampling
at 50 Hz and publishing at the default interval (10 s). Over a run of real
time it counts the state writes of each entity (``state_changed`` events:
what the recorder stores) and compares them with publishing every sample.
It also times one publish (a coordinator refresh: meter snapshot, billing,
entity updates) on the event loop.

Prints the figures and writes them to ``benchmarks/results/recorder.md``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path
import platform
import statistics
import tempfile
import time
from typing import Any

from homeassistant import loader
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.iota_energy.const import DOMAIN

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "recorder.md"
SAMPLE_RATE_HZ = 50.0
PUBLISH_INTERVAL_S = 10
PROFILE = REPO / "config" / "load-profiles" / "household-day.csv"


def _entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Benchmark",
        unique_id="virtual-1-0x40",
        data={
            "source": "virtual",
            "busnum": 1,
            "address": 0x40,
            "shunt_ohms": 0.1,
            "voltage_range": 16,
            "gain": "auto",
            "adc": "12bit",
            "load_profile": str(PROFILE),
            "period": "fixed",
            "period_seconds": 60,
            "weekday": 0,
            "billing_day": 1,
        },
        options={
            "price": "720000000",
            "min_payment": 1,
            "sample_rate": SAMPLE_RATE_HZ,
            "publish_interval": PUBLISH_INTERVAL_S,
            "flush_interval": 60,
            "statement_retention": 1000,
        },
    )


async def _run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            # As the test harness's enable_custom_integrations fixture does.
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            hass.config.skip_pip = True
            entry = _entry()
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()

            writes: Counter[str] = Counter()

            def count(event: Event) -> None:
                entity_id = event.data["entity_id"]
                if entity_id.split(".", 1)[1].startswith("benchmark_"):
                    writes[entity_id] += 1

            unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, count)
            runtime = entry.runtime_data
            samples_before = runtime.sampler.stats().samples
            started = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - started
            samples = runtime.sampler.stats().samples - samples_before
            unsubscribe()

            coordinator = runtime.coordinator
            timings = []
            for _ in range(200):
                begin = time.perf_counter()
                await coordinator.async_refresh()
                timings.append(time.perf_counter() - begin)
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)
    return {
        "elapsed": elapsed,
        "samples": samples,
        "writes": dict(writes),
        "publish_us": [t * 1e6 for t in timings],
    }


def _report(result: dict[str, Any]) -> str:
    elapsed = result["elapsed"]
    per_hour = 3600 / elapsed
    samples_per_hour = result["samples"] * per_hour
    writes = result["writes"]
    rows = sorted(writes.items(), key=lambda item: -item[1])
    publish = result["publish_us"]
    lines = [
        "# Recorder load and publish cost",
        "",
        "Written by `benchmarks/bench_recorder.py`;"
        f" Python {platform.python_version()}, {platform.machine()},"
        " a shared 2-core machine. Virtual INA219 replaying"
        f" `{PROFILE.name}` (power changes all the time), sampling at"
        f" {SAMPLE_RATE_HZ:g} Hz, publishing every {PUBLISH_INTERVAL_S} s,"
        f" measured over {elapsed:.1f} s of real time.",
        "",
        f"Samples taken: {result['samples']} ({samples_per_hour:,.0f} per hour).",
        "",
        "| entity | state writes in the run | per hour | per hour if every sample"
        " were published | ratio |",
        "|---|---|---|---|---|",
    ]
    for entity_id, count in rows:
        hourly = count * per_hour
        ratio = samples_per_hour / hourly if hourly else float("inf")
        lines.append(
            f"| {entity_id} | {count} | {hourly:,.0f} | {samples_per_hour:,.0f}"
            f" | {ratio:,.0f}x fewer |"
        )
    lines += [
        "",
        "Entities that changed in no publish are not listed (the recorder writes"
        " nothing for them).",
        "",
        "## One publish on the event loop",
        "",
        f"Coordinator refresh (meter snapshot, billing, {len(writes)} entities),"
        f" 200 runs: median {statistics.median(publish):.0f} us,"
        f" p95 {sorted(publish)[int(len(publish) * 0.95)]:.0f} us,"
        f" max {max(publish):.0f} us.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = _report(asyncio.run(_run(args.seconds)))
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, "utf-8")


if __name__ == "__main__":
    main()
