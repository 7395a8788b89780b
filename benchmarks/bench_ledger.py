"""Ledger bytes written per period close: one whole document vs chunks.

Run from the repository root, in a venv with Home Assistant and the test
harness (``scripts/setup``):

    python -m benchmarks.bench_ledger [--statements 10000] [--output PATH]

A real Home Assistant core (the test harness's in-process instance, real
files in a temporary folder) closes one-minute periods with the real billing
engine (1 Hz readings of a dimming LED, the tutorial's price) and records
each close the way the integration does, through ``EntryPersistence``. The
bytes written are the sizes of the files Home Assistant's Store wrote.

Two runs: **unpaid** (no payments, so nothing is ever settled or pruned: the
worst case for the chunk index) and **paid** (each statement is paid three
periods after it closes and the ledger keeps 1000 statements, the default).
For comparison, at 1,000 and 10,000 statements the same state is also
written the way the previous release did: the whole ledger in one document,
into both slots. Finally the time to load the 10,000-statement ledger, both
ways, from the files on disk.

Prints the figures and writes them to ``benchmarks/results/ledger.md``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import os
from pathlib import Path
import platform
import random
import statistics
import tempfile
import time
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from custom_components.iota_energy.core.ledger import PaymentState
from custom_components.iota_energy.core.ledger_chunks import (
    CHUNK_SIZE,
    MERGE_SIZE,
    plan_save,
)
from custom_components.iota_energy.core.periods import FixedLengthSchedule
from custom_components.iota_energy.core.pricing import (
    TUTORIAL_PRICE_IOTA_PER_KWH,
    PriceQuote,
)
from custom_components.iota_energy.persistence.document_slots import DurableState
from custom_components.iota_energy.persistence.entry_state import (
    EntryState,
    StateFactory,
)
from custom_components.iota_energy.persistence.entry_store import EntryPersistence

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "ledger.md"
START = datetime(2025, 6, 1, tzinfo=UTC)
RETENTION = 1000
PAID_AFTER = 3  # periods between a close and its payment
WINDOW = 100  # closes averaged before each checkpoint
FACTORY = StateFactory(
    schedule=FixedLengthSchedule(timedelta(seconds=60)),
    min_payment_iota=1,
    static_price=TUTORIAL_PRICE_IOTA_PER_KWH,
    uses_price_entity=False,
    max_gap_s=5.0,
)


def led_energy(rng: random.Random) -> Iterator[Fraction]:
    """Energy (J) of each 1 s reading of a dimming LED, 0.01 mW resolution."""
    level = 30.0
    while True:
        if rng.random() < 0.002:
            level = rng.uniform(3.0, 60.0)
        level = min(60.0, max(3.0, level + rng.gauss(0.0, 0.4)))
        reading = max(0.0, level + rng.gauss(0.0, 0.3))
        yield Fraction(round(reading * 100), 100_000)


@dataclass
class WriteLog:
    """Bytes of every file Store wrote, in order."""

    sizes: list[int] = field(default_factory=list)


@contextlib.contextmanager
def measure_writes() -> Iterator[WriteLog]:
    log = WriteLog()
    save = Store.async_save

    async def measured(store: Store[Any], data: Any) -> None:
        await save(store, data)
        log.sizes.append(
            await store.hass.async_add_executor_job(os.path.getsize, store.path)
        )

    with patch.object(Store, "async_save", measured):
        yield log


@dataclass
class Checkpoint:
    statements_closed: int
    statements_kept: int
    before_bytes: int
    after_mean: float
    after_max: int
    after_chunks: int
    plan_ms: float


async def _old_style_bytes(hass: HomeAssistant, name: str, state: EntryState) -> int:
    """The previous release's write of this state: one document, both slots."""
    old = DurableState[EntryState, EntryState](
        hass,
        name,
        "ledger",
        encode=FACTORY.encode,
        decode=FACTORY.decode,
        required=True,
    )
    with measure_writes() as log:
        await old.async_save_all(state)
    return sum(log.sizes)


async def _run_scenario(
    hass: HomeAssistant, name: str, total: int, paid: bool, checkpoints: set[int]
) -> tuple[list[Checkpoint], EntryState]:
    rng = random.Random(8)
    energy = led_energy(rng)
    quote = PriceQuote(TUTORIAL_PRICE_IOTA_PER_KWH, "static")
    persistence = EntryPersistence(hass, name, FACTORY)
    state = await persistence.async_load()
    state.engine.start(START)
    per_close: list[int] = []
    results = []
    with measure_writes() as log:
        for number in range(1, total + 1):
            for _ in range(60):
                state.engine.add_energy(next(energy), quote)
            for statement in state.engine.roll(state.engine.next_boundary()):
                state.ledger.add(statement)
            if paid and number > PAID_AFTER:
                target = state.ledger.statements[-1 - PAID_AFTER]
                if target.payment_state is PaymentState.DUE:
                    state.ledger.set_payment_state(
                        target.id,
                        PaymentState.PAID,
                        {"bundle": "9" * 81, "confirmed_at": START.isoformat()},
                    )
                state.ledger.prune(RETENTION)
            before = len(log.sizes)
            await persistence.async_record_statements(state)
            per_close.append(sum(log.sizes[before:]))
            if number in checkpoints:
                layout = persistence._layout  # measuring only
                began = time.perf_counter()
                plan_save(layout, state.ledger)
                plan_ms = (time.perf_counter() - began) * 1000
                window = per_close[-WINDOW:]
                results.append(
                    Checkpoint(
                        statements_closed=number,
                        statements_kept=len(state.ledger),
                        before_bytes=await _old_style_bytes(
                            hass, f"before_{name}_{number}", state
                        ),
                        after_mean=statistics.fmean(window),
                        after_max=max(window),
                        after_chunks=len(layout.chunks),
                        plan_ms=plan_ms,
                    )
                )
    return results, state


async def _timed(runs: int, load: Callable[[], Any]) -> float:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        await load()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


async def _run(total: int) -> dict[str, Any]:
    checkpoints = {1000, total}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            for paid in (False, True):
                label = "paid" if paid else "unpaid"
                points, state = await _run_scenario(
                    hass, f"after_{label}", total, paid, checkpoints
                )
                out[label] = points
                if not paid:
                    old = DurableState[EntryState, EntryState](
                        hass,
                        f"before_after_{label}_{total}",
                        "ledger",
                        encode=FACTORY.encode,
                        decode=FACTORY.decode,
                        required=True,
                    )
                    out["load_before"] = await _timed(3, old.async_load)
                    out["load_after"] = await _timed(
                        3,
                        EntryPersistence(hass, f"after_{label}", FACTORY).async_load,
                    )
                    out["load_statements"] = len(state.ledger)
            await hass.async_stop(force=True)
    return out


def _report(out: dict[str, Any]) -> str:
    lines = [
        "# Ledger bytes written per close",
        "",
        "Written by `benchmarks/bench_ledger.py`;"
        f" Python {platform.python_version()}, {platform.machine()},"
        " a shared 2-core machine. One-minute periods billed by the real engine"
        " (1 Hz readings of a dimming LED, the tutorial's price), each close"
        " recorded through `EntryPersistence` into real files by Home Assistant's"
        f" Store. Chunks: {CHUNK_SIZE} statements sealed at a time, merged into"
        f" chunks of {MERGE_SIZE}. *Before*: the previous release's single"
        " document (the whole state, both slots) for the same ledger. *After*:"
        f" mean and maximum over the {WINDOW} closes up to that point (a close"
        " that seals or merges a chunk writes more).",
        "",
        "| run | statements closed | kept | before: bytes per close |"
        " after: mean bytes per close | after: max | chunks | plan (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in ("unpaid", "paid"):
        for p in out[label]:
            lines.append(
                f"| {label} | {p.statements_closed:,} | {p.statements_kept:,}"
                f" | {p.before_bytes:,} | {p.after_mean:,.0f} | {p.after_max:,}"
                f" | {p.after_chunks} | {p.plan_ms:.1f} |"
            )
    lines += [
        "",
        "*unpaid*: no payments, so nothing is settled and nothing pruned (only"
        " the chunk index grows with history, about one byte per statement per"
        " close). *paid*: each statement paid three periods after closing,"
        f" {RETENTION} statements kept.",
        "",
        f"## Loading {out['load_statements']:,} statements from disk",
        "",
        f"Median of 3: one document {out['load_before'] * 1000:,.0f} ms;"
        f" chunks (head, then every chunk's two slots checked against its"
        f" digest) {out['load_after'] * 1000:,.0f} ms.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = _report(asyncio.run(_run(args.statements)))
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, "utf-8")


if __name__ == "__main__":
    main()
