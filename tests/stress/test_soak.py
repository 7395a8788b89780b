"""The soak (see ``soak.py``): short in the test suite, full on demand.

``python -m benchmarks.soak`` runs the full version (7 days of hourly
periods and 24 h of 60 s periods, 1,440 payments) and writes its figures;
the test suite runs two short legs with the same checks.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import shutil
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.iota_energy import coordinator as coordinator_module
from devtangle.server import DevTangle
from tests.devtangle.conftest import (  # noqa: F401 - loopback_sockets is a fixture
    BOB_SEED,
    TEST_MWM,
    address_of,
    loopback_sockets,
)
from tests.integration.stepped_clock import SteppedClock
from tests.payments.conftest import PAYER_SEED, funded_tangle, receiver

from .soak import (
    PROFILE,
    PROFILE_FILE,
    TRACEMALLOC,
    SoakFigures,
    SoakLeg,
    legs,
    run_leg,
    soak_entry,
)

FULL = os.environ.get("IOTA_ENERGY_SOAK") == "full"
# The full soak's durations times this (benchmarks.soak --scale).
SCALE = float(os.environ.get("IOTA_ENERGY_SOAK_SCALE", "1"))
RESULTS = os.environ.get("IOTA_ENERGY_SOAK_RESULTS")
# The payer holds enough for a week of the demo's load at the tutorial's price.
SOAK_FUNDS = 10**12
# The read path's error against the exact integral (benchmarks/results/metering.md:
# 12-bit readings of resolvable loads, at most 0.15 % per statement).
ENERGY_BOUND = 0.0015
# Resident memory may grow this much from the first simulated hour to the end
# (allocator slack and caches; a leak of a few hundred bytes per sample or
# a few kilobytes per statement would exceed it in the full soak).
MEMORY_GROWTH_BOUND_MB = 64.0
# devtangle keeps this many transactions decoded (about 6 KiB each; 20,000 by
# default, about 115 MiB). The soak issues one milestone per step (17,280 in
# the day of 60 s periods), so the node's default cache alone would fill the
# memory bound; the soak bounds it to measure the integration, not the node.
TANGLE_CACHE = 1_000
# What the integration's runtime data may keep more at the end than after
# setup (soak_memory.retained_bytes): a statement and its payment take about
# 4 to 10 KiB; a leak of a few bytes per sample (36,000 an hour) exceeds it.
KEPT_SLACK_KIB = 128
KEPT_PER_STATEMENT_KIB = 16


@pytest.fixture
def soak_tangle(tmp_path: Path) -> Iterator[DevTangle]:
    with funded_tangle(tmp_path, SOAK_FUNDS, cache_size=TANGLE_CACHE) as node:
        yield node


@pytest.fixture
def soak_clock() -> Iterator[SteppedClock]:
    """The coordinator and ``dt_util.utcnow`` on the stepped clock (the sampler,
    chip and circuit join it in ``soak.soak_clock``)."""
    clock = SteppedClock()
    with (
        patch.object(
            coordinator_module,
            "time",
            SimpleNamespace(monotonic_ns=clock.monotonic_ns),
        ),
        patch.object(dt_util, "utcnow", clock.utcnow),
    ):
        yield clock


def _append_result(path: Path, figures: SoakFigures) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(figures.to_dict()) + "\n")


def _write_memory_report(folder: Path, leg: SoakLeg, report: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"soak-memory-{leg.slug}.md").write_text(report, "utf-8")


@pytest.mark.usefixtures("loopback_sockets")
@pytest.mark.parametrize("leg", legs(FULL, SCALE), ids=lambda leg: leg.slug)
async def test_soak(
    hass: HomeAssistant,
    soak_tangle: DevTangle,
    soak_clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    leg: SoakLeg,
) -> None:
    shutil.copy(PROFILE / PROFILE_FILE, hass.config.path(PROFILE_FILE))
    entry = soak_entry(
        leg,
        entry_data=entry_data,
        entry_options=entry_options,
        tangle=soak_tangle,
        seed=PAYER_SEED,
        receiver=receiver(),
        mwm=TEST_MWM,
    )
    figures = SoakFigures(leg.name, leg.simulated_s, leg.rate_hz)
    await run_leg(
        hass,
        entry,
        soak_clock,
        soak_tangle,
        leg,
        receiver_address=address_of(BOB_SEED, 0),
        figures=figures,
    )
    if RESULTS:
        await hass.async_add_executor_job(_append_result, Path(RESULTS), figures)
    if TRACEMALLOC:
        folder = Path("." if TRACEMALLOC == "1" else TRACEMALLOC)
        await hass.async_add_executor_job(
            _write_memory_report, folder, leg, figures.memory_report
        )

    expected_samples = leg.simulated_s * leg.rate_hz
    assert figures.samples >= expected_samples
    assert figures.failed_reads == 0
    assert abs(figures.energy_error) <= ENERGY_BOUND, figures.energy_error
    # One statement per period, contiguous, none twice.
    assert figures.statements == figures.expected_statements > 0
    assert figures.duplicate_ids == 0
    assert figures.discontinuities == 0
    # Every IOTA owed is paid exactly once, but for the carried fraction.
    assert figures.payments_failed == 0
    assert figures.statements_paid_twice == 0
    assert figures.statements_unpaid == 0
    assert figures.paid_iota == figures.due_iota == figures.receiver_balance > 0
    assert figures.unaccounted_iota == 0
    assert 0 <= figures.carried_iota < 1
    assert figures.storage_bytes > 0
    kept = [mark["integration"] for mark in figures.retained_series]
    assert kept[-1] - kept[0] <= (
        KEPT_SLACK_KIB + KEPT_PER_STATEMENT_KIB * figures.statements
    ), figures.retained_series
    if FULL:
        after_first_hour = figures.memory_series[0][1]
        growth = figures.rss_end_mb - after_first_hour
        assert growth <= MEMORY_GROWTH_BOUND_MB, figures.memory_series
