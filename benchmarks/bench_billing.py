"""Billing: this engine's exact carry against the tutorial's per-period truncation.

The tutorial read an INA219 once a second and, every 60 readings, paid
``int(avg_mW * 60 * 0.2)`` IOTA, dropping the fraction every period. This
benchmark feeds the same 1 Hz samples of a simulated LED load (a few mW to
about 60 mW) to both methods at the tutorial's price and reports what each
made due against the exact total owed. It also shows what the tutorial's
drifting loop would under-bill if every iteration took longer than a second
(an assumed overhead, stated in the output), and how a minimum payment cuts
the number of payments.

Run: ``python benchmarks/bench_billing.py [--periods N] [--seed S]``.
Figures go to stdout and to ``benchmarks/results/billing.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import math
from pathlib import Path
import platform
import random
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.periods import (
    FixedLengthSchedule,
)
from custom_components.iota_energy.core.pricing import (
    TUTORIAL_PRICE_IOTA_PER_KWH,
    PriceQuote,
)

SAMPLES_PER_PERIOD = 60  # the tutorial's pay_frequency, one sample per second
TUTORIAL_MW_PRICE = 0.2  # IOTA per mW·s, as the tutorial wrote it (a float)
EXACT_MW_PRICE = Fraction(1, 5)
START = datetime(2025, 6, 1, tzinfo=UTC)
RESULTS = Path(__file__).resolve().parent / "results" / "billing.md"
ASSUMED_LOOP_OVERHEADS_MS = (10, 50)  # I2C read + print + loop, per iteration


def led_samples(rng: random.Random, count: int) -> Iterator[Fraction]:
    """1 Hz power readings in mW (0.01 mW resolution) of a dimming LED.

    The brightness wanders between about 3 mW and 60 mW, with reading noise,
    and now and then jumps to a new level (a dimmer step).
    """
    level = 30.0
    for _ in range(count):
        if rng.random() < 0.002:
            level = rng.uniform(3.0, 60.0)
        level = min(60.0, max(3.0, level + rng.gauss(0.0, 0.4)))
        reading = max(0.0, level + rng.gauss(0.0, 0.3))
        yield Fraction(round(reading * 100), 100)


@dataclass
class Totals:
    periods: int = 0
    exact_owed: Fraction = Fraction(0)
    tutorial_paid: int = 0
    tutorial_lost_max: Fraction = Fraction(0)
    tutorial_losing_periods: int = 0
    tutorial_whole_iota_lost: int = 0
    engine_due: int = 0
    engine_payments: int = 0
    engine_carry: Fraction = Fraction(0)
    engine_seconds: float = 0.0
    min_payment_due: int = 0
    min_payment_payments: int = 0
    min_payment_carry: Fraction = Fraction(0)


def run(periods: int, seed: int, min_payment: int) -> Totals:
    rng = random.Random(seed)
    schedule = FixedLengthSchedule(timedelta(seconds=SAMPLES_PER_PERIOD))
    engine = BillingEngine(schedule)
    engine.start(START)
    engine_min = BillingEngine(schedule, min_payment_iota=min_payment)
    engine_min.start(START)
    quote = PriceQuote(TUTORIAL_PRICE_IOTA_PER_KWH, "static")
    totals = Totals(periods=periods)
    samples = led_samples(rng, periods * SAMPLES_PER_PERIOD)
    for number in range(1, periods + 1):
        readings = [next(samples) for _ in range(SAMPLES_PER_PERIOD)]
        # The tutorial, verbatim in spirit: float sum, average, truncate.
        accumulated_mw = 0.0
        for reading in readings:
            accumulated_mw += float(reading)
        average_mw = accumulated_mw / SAMPLES_PER_PERIOD
        paid = int((average_mw * SAMPLES_PER_PERIOD) * TUTORIAL_MW_PRICE)
        owed = sum(readings, Fraction(0)) * EXACT_MW_PRICE  # mW x 1 s x price
        totals.tutorial_paid += paid
        totals.exact_owed += owed
        totals.tutorial_lost_max = max(totals.tutorial_lost_max, owed - paid)
        totals.tutorial_losing_periods += owed - paid > 0
        # Float rounding can push an exact whole amount just below it.
        totals.tutorial_whole_iota_lost += owed - paid >= 1
        # This engine: each 1 s reading is 1/1000 J per mW, added as measured.
        began = time.perf_counter()
        for reading in readings:
            engine.add_energy(reading / 1000, quote)
        (statement,) = engine.roll(START + number * schedule.length)
        totals.engine_seconds += time.perf_counter() - began
        totals.engine_due += statement.due_iota
        totals.engine_payments += statement.due_iota > 0
        for reading in readings:
            engine_min.add_energy(reading / 1000, quote)
        (statement,) = engine_min.roll(START + number * schedule.length)
        totals.min_payment_due += statement.due_iota
        totals.min_payment_payments += statement.due_iota > 0
    totals.engine_carry = engine.carry
    totals.min_payment_carry = engine_min.carry
    return totals


def report(totals: Totals, seed: int, min_payment: int) -> str:
    lost = totals.exact_owed - totals.tutorial_paid
    floor_total = math.floor(totals.exact_owed)
    hours = totals.periods * SAMPLES_PER_PERIOD / 3600
    per_period_us = totals.engine_seconds / totals.periods * 1e6
    lines = [
        "# Billing: exact carry vs the tutorial's truncation",
        "",
        f"Simulated LED load (about 3-60 mW, 1 Hz readings, seed {seed}), "
        f"{totals.periods} periods of {SAMPLES_PER_PERIOD} s ({hours:.1f} h), "
        "price 0.2 IOTA/mW·s = 720,000,000 IOTA/kWh.",
        "",
        "| figure | IOTA |",
        "|---|---|",
        f"| exact total owed | {float(totals.exact_owed):,.3f} |",
        f"| floor of the exact total | {floor_total:,} |",
        f"| this engine: sum of IOTA due | {totals.engine_due:,} |",
        f"| this engine: carried to the next period | "
        f"{float(totals.engine_carry):.3f} (exact {totals.engine_carry}) |",
        f"| tutorial: sum paid, int() per period | {totals.tutorial_paid:,} |",
        f"| tutorial: IOTA lost in total | {float(lost):,.3f} |",
        f"| tutorial: IOTA lost per period, mean | "
        f"{float(lost) / totals.periods:.3f} |",
        f"| tutorial: IOTA lost per period, max | "
        f"{float(totals.tutorial_lost_max):.3f} |",
        f"| tutorial: share of periods losing a fraction | "
        f"{totals.tutorial_losing_periods / totals.periods:.1%} |",
        f"| tutorial: periods where float error cost a whole IOTA | "
        f"{totals.tutorial_whole_iota_lost:,} |",
        "",
        f"Engine check: due + carry == exact total: "
        f"{totals.engine_due + totals.engine_carry == totals.exact_owed}; "
        f"due == floor(total): {totals.engine_due == floor_total}.",
        "",
        f"Minimum payment {min_payment} IOTA: {totals.min_payment_payments:,} payments "
        f"(vs {totals.engine_payments:,} with minimum 1), "
        f"{totals.min_payment_due:,} IOTA due, "
        f"{float(totals.min_payment_carry):.3f} carried.",
        "",
        "Tutorial loop drift (assumed, not measured): each loop iteration sleeps",
        "1 s and then spends the overhead below on the I2C read and printing, so",
        "each reading stands for 1 s + overhead of real time but is billed as 1 s.",
        "",
        "| assumed overhead per iteration | real period | energy not billed |",
        "|---|---|---|",
    ]
    for overhead_ms in ASSUMED_LOOP_OVERHEADS_MS:
        stretch = Fraction(1000 + overhead_ms, 1000)
        unbilled = totals.exact_owed * (stretch - 1)
        lines.append(
            f"| {overhead_ms} ms | {float(SAMPLES_PER_PERIOD * stretch):.2f} s | "
            f"{float(stretch - 1):.1%} ({float(unbilled):,.0f} IOTA over the run) |"
        )
    lines += [
        "",
        f"Engine cost: {per_period_us:.0f} µs per period "
        f"({SAMPLES_PER_PERIOD} add_energy calls + roll), "
        f"Python {platform.python_version()} on {platform.machine()}, "
        "machine shared with other jobs.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=10_080)  # one week
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--min-payment", type=int, default=1000)
    args = parser.parse_args()
    totals = run(args.periods, args.seed, args.min_payment)
    text = report(totals, args.seed, args.min_payment)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
