"""Metering benchmarks: energy accuracy, readings lost per outage, sampling cost.

Run from the repository root:

    python -m benchmarks.bench_metering [--read-path-seconds 600] [--seconds 10]
                                        [--output PATH]

Prints the figures and writes them to ``benchmarks/results/metering.md``
(about 6 minutes on 2 shared cores).

Full read path. The sampler thread reads the real pi-ina219 and Adafruit_GPIO
code on the register-level virtual INA219, which a load profile drives; all
three share one simulated clock that sleeping advances (wake-ups 0-2 ms late),
so ten minutes run in seconds. Smooth, switching and PWM loads peaking at
2 mW to 2 W, at 3.3, 5 and 12 V, sampled at 1, 10 and 50 Hz; the energy
error against the exact integral for this integration's read path, for the
chip's power register on the same samples (the path before), for the
tutorial's bill (``int(avg_mW * 60 * 0.2)`` IOTA a minute at 1 Hz), and, at
the default rate, with a shunt sized for the load.

Outages. The chip unplugged for 1-60 s at 1, 10 and 50 Hz: seconds of
readings lost and log lines written.

Methods on exact samples. Samples of the true power (no chip) at 1 Hz and
10 Hz, turned into energy by this project's Meter (trapezoid on the real
stamps, exact sums), by the tutorial (mean of each minute's ticks x 60 s, and
its loop as written) and by Home Assistant's Riemann ``integration`` over
states published every 10 s.

Cost. One read through pi-ina219 on the virtual chip (and the chip's own
share), one ``Meter.add``, and the CPU time of the real sampler thread at 1,
10 and 50 Hz over a run of real time.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import itertools
import json
import logging
import math
from pathlib import Path
import platform
import random
import statistics
import sys
import threading
import time

from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.circuit import ProfileCircuit, TutorialCircuit
from custom_components.iota_energy.core.energy_account import EnergyAccount
from custom_components.iota_energy.core.ina219_datasheet import (
    REG_BUS_VOLTAGE,
)
from custom_components.iota_energy.core.ina219_model import (
    VirtualIna219,
)
from custom_components.iota_energy.core.ledger import Statement
from custom_components.iota_energy.core.load_profiles import LoadProfile
from custom_components.iota_energy.core.metering import Meter
from custom_components.iota_energy.core.periods import FixedLengthSchedule
from custom_components.iota_energy.core.power_source import (
    Ina219Config,
    Ina219Source,
    Reading,
)
from custom_components.iota_energy.core.pricing import PriceTracker
from custom_components.iota_energy.core.sampler import Sample, Sampler

NS = 1_000_000_000
DURATION_S = 600  # ten minutes per profile
PUBLISH_EVERY_S = 10
TUTORIAL_WINDOW_S = 60
MAX_READ_DELAY_S = 0.002
PAYMENT_S = 3.0  # a PyOTA transfer with pure-Python proof of work, optimistic
RESULTS = Path(__file__).parent / "results" / "metering.md"
# The figures behind the tables, for benchmarks/report.py's plots.
DATA = Path(__file__).parent / "results" / "data" / "metering.json"
PROFILES_DIR = Path(__file__).parents[1] / "config" / "load-profiles"


@dataclass(frozen=True)
class Accuracy:
    profile: str
    smooth: bool
    rate_hz: int
    meter: float
    tutorial: float
    tutorial_as_written: float
    ha_left: float
    ha_trapezoid: float


def profiles() -> list[tuple[LoadProfile, bool]]:
    """(profile, smooth?) pairs: smooth ones carry the 0.1 % target."""
    return [
        (LoadProfile.constant(0.057, duration_s=DURATION_S), True),
        (LoadProfile.from_csv(PROFILES_DIR / "potentiometer-sweep.csv"), True),
        (LoadProfile.from_csv(PROFILES_DIR / "household-day.csv"), True),
        # LED switched on and off at moments off the sampling grid.
        (LoadProfile.led_on_off(on_w=0.057, on_s=20.37, off_s=9.71), False),
        (LoadProfile.fast_switching(0.057, 0.003, period_s=0.37, duty=0.5), False),
    ]


def sample_times(rate_hz: int, rng: random.Random) -> list[float]:
    phase = rng.random() / rate_hz
    count = DURATION_S * rate_hz
    return [phase + k / rate_hz + rng.random() * MAX_READ_DELAY_S for k in range(count)]


def relative_error(estimate: Fraction, exact: Fraction) -> float:
    return float((estimate - exact) / exact)


def meter_error(profile: LoadProfile, times: Sequence[float]) -> float:
    meter = Meter()
    for at in times:
        power = profile.power_at(at)
        reading = Reading(power, power / 3.0, 3.0, 0.0)
        meter.add(Sample(round(at * NS), at, reading, None))
    first, last = (
        Fraction(round(times[0] * NS), NS),
        Fraction(round(times[-1] * NS), NS),
    )
    return relative_error(
        meter.snapshot().energy_j, profile.exact_energy_j(first, last)
    )


def tutorial_error(profile: LoadProfile, times: Sequence[float], rate_hz: int) -> float:
    ticks_per_window = TUTORIAL_WINDOW_S * rate_hz
    estimate = Fraction(0)
    windows = len(times) // ticks_per_window
    for window in range(windows):
        chunk = times[window * ticks_per_window : (window + 1) * ticks_per_window]
        mean = sum((Fraction(profile.power_at(at)) for at in chunk), Fraction(0))
        mean /= len(chunk)
        estimate += mean * TUTORIAL_WINDOW_S
    exact = profile.exact_energy_j(0, windows * TUTORIAL_WINDOW_S)
    return relative_error(estimate, exact)


def tutorial_as_written_error(profile: LoadProfile, rng: random.Random) -> float:
    """The tutorial's own loop: read, sleep(1), and pay inside the loop.

    Each tick comes one second plus the read's delay after the previous one,
    and every 60 ticks the payment (signing, proof of work, sending) runs in
    the same loop for PAYMENT_S, unmetered; each window is billed as 60 s.
    """
    at = 0.0
    estimate = Fraction(0)
    while True:
        ticks = []
        for _ in range(TUTORIAL_WINDOW_S):
            at += rng.random() * MAX_READ_DELAY_S
            ticks.append(profile.power_at(at))
            at += 1.0
        if at > DURATION_S:
            break
        estimate += (
            sum((Fraction(p) for p in ticks), Fraction(0))
            / len(ticks)
            * TUTORIAL_WINDOW_S
        )
        at += PAYMENT_S
        last_window_end = at
    return relative_error(estimate, profile.exact_energy_j(0, last_window_end))


def ha_errors(profile: LoadProfile, times: Sequence[float]) -> tuple[float, float]:
    # The state published at each 10 s mark is the latest sample before it.
    states: list[tuple[Fraction, Fraction]] = []
    index = 0
    mark = PUBLISH_EVERY_S
    while mark <= times[-1]:
        while index + 1 < len(times) and times[index + 1] <= mark:
            index += 1
        states.append((Fraction(mark), Fraction(profile.power_at(times[index]))))
        mark += PUBLISH_EVERY_S
    left = Fraction(0)
    trapezoid = Fraction(0)
    for (t0, p0), (t1, p1) in itertools.pairwise(states):
        left += p0 * (t1 - t0)
        trapezoid += (p0 + p1) / 2 * (t1 - t0)
    exact = profile.exact_energy_j(states[0][0], states[-1][0])
    return relative_error(left, exact), relative_error(trapezoid, exact)


def accuracy() -> list[Accuracy]:
    rng = random.Random(20240603)
    results = []
    for profile, smooth in profiles():
        for rate_hz in (1, 10):
            times = sample_times(rate_hz, rng)
            left, trapezoid = ha_errors(profile, times)
            results.append(
                Accuracy(
                    profile.name,
                    smooth,
                    rate_hz,
                    meter_error(profile, times),
                    tutorial_error(profile, times, rate_hz),
                    tutorial_as_written_error(profile, rng),
                    left,
                    trapezoid,
                )
            )
    return results


# -- the full read path -------------------------------------------------------------

READ_PATH_VOLTAGES = (3.3, 5.0, 12.0)
READ_PATH_LEVELS_W = (0.002, 0.02, 0.2, 2.0)
READ_PATH_RATES_HZ = (1, 10, 50)
DEFAULT_RATE_HZ = 10  # the integration's default; the goal applies there
WAKE_JITTER_S = 0.002  # the sampler thread wakes 0-2 ms late
SHUNT_OHMS = 0.1  # the tutorial's breakout
SHUNT_STEP_V = 10e-6
SHUNT_CHOICES_OHMS = (0.1, 1.0, 10.0, 100.0)
PWM_DUTY = 0.37
STATEMENT_PERIOD_S = 60
TUTORIAL_IOTA_PER_MWS = Fraction(2, 10)


class SimulatedClock:
    """One monotonic clock for sampler, chip and circuit; sleeping moves it.

    Nothing waits in real time: ten minutes of sampling run as fast as the
    code does. Each wake-up is up to ``WAKE_JITTER_S`` late, as a thread's is.
    """

    def __init__(self, seconds: float, rng: random.Random) -> None:
        self.ns = 0
        self._end_ns = round(seconds * NS)
        self._rng = rng
        self.sampler: Sampler | None = None
        self.events: dict[int, Callable[[], object]] = {}

    def clock_ns(self) -> int:
        return self.ns

    def seconds(self) -> float:
        return self.ns / NS

    WALL_ORIGIN_S = 1_700_000_000

    def wall(self) -> float:
        return self.WALL_ORIGIN_S + self.ns / NS

    def sleep(self, seconds: float) -> None:
        late = round(self._rng.random() * WAKE_JITTER_S * NS)
        self.ns += max(1, round(seconds * NS)) + late
        for at_ns in sorted(at for at in self.events if at <= self.ns):
            self.events.pop(at_ns)()
        if self.ns >= self._end_ns and self.sampler is not None:
            self.sampler.request_stop()


class PowerRegisterAlso(Ina219Source):
    """The integration's source, also reading the chip's power register.

    The power register is what the read path used before (and what the
    tutorial reads): reading it from the same conversion compares the two
    methods on identical samples.
    """

    register_power_w = 0.0

    def read(self) -> Reading:
        reading = super().read()
        self.register_power_w = self._driver.power() / 1000
        return reading


@dataclass(frozen=True)
class ReadPathResult:
    shape: str
    level_w: float
    bus_v: float
    rate_hz: int
    read_path: float
    power_register: float
    tutorial: float | None  # only from the 1 Hz run
    sized_shunt_ohms: float
    sized_shunt: float | None  # read path with that shunt, default rate only
    statements: tuple[float, ...]  # per-statement errors of the read path


def read_path_loads(level_w: float) -> list[LoadProfile]:
    """Smooth, switching and PWM loads peaking at ``level_w``."""
    smooth = LoadProfile.ramp(0.1 * level_w, level_w, 61.7, name="smooth")
    switching = LoadProfile.steps(
        [
            (4.7, level_w),
            (3.1, 0.35 * level_w),
            (6.3, 0.8 * level_w),
            (2.9, 0.1 * level_w),
            (5.3, 0.6 * level_w),
        ],
        name="switching",
    )
    # 97 Hz, 37 % duty: far faster than any sampling rate, and not a multiple
    # of one (a PWM locked to the sampling grid would be read always on or off).
    pwm = LoadProfile.fast_switching(level_w, 0.0, period_s=0.0103, duty=PWM_DUTY)
    pwm.name = "pwm"
    return [smooth, switching, pwm]


def sized_shunt_ohms(peak_w: float, bus_v: float) -> float:
    """The largest of 0.1, 1, 10, 100 ohm keeping the peak under 300 mV."""
    peak_a = peak_w / bus_v
    return max(r for r in SHUNT_CHOICES_OHMS if r == 0.1 or peak_a * r <= 0.3)


@dataclass(frozen=True)
class RunErrors:
    read_path: float
    power_register: float
    tutorial: float | None  # only at 1 Hz
    # Each complete statement's energy against its own period's exact energy.
    statements: tuple[float, ...]


def run_read_path(
    profile: LoadProfile,
    bus_v: float,
    rate_hz: int,
    seconds: float,
    seed: int,
    *,
    shunt_ohms: float = SHUNT_OHMS,
    adc: str = "12bit",
) -> RunErrors:
    """Energy errors of one run, in total and per statement."""
    rng = random.Random(seed)
    clock = SimulatedClock(seconds, rng)
    phase = Fraction(rng.random() * float(profile.duration_s))
    circuit = ProfileCircuit(
        profile, bus_voltage_v=bus_v, clock=clock.seconds, start_s=-float(phase)
    )
    chip = VirtualIna219(circuit, shunt_ohms=shunt_ohms, clock_ns=clock.clock_ns)
    source = PowerRegisterAlso(
        Ina219Config(shunt_ohms=shunt_ohms, adc=adc), chip.i2c_interface
    )
    read_path, power_register = Meter(), Meter()
    register_powers: list[float] = []
    stamps: list[int] = []
    # The integration's own path from samples to statements, on the read path.
    account = EnergyAccount(
        Meter(),
        BillingEngine(FixedLengthSchedule(timedelta(seconds=STATEMENT_PERIOD_S))),
        PriceTracker(Fraction(1)),
    )
    statements: list[Statement] = []
    account.start(datetime.fromtimestamp(clock.wall(), UTC))

    def on_sample(sample: Sample) -> None:
        account.add(sample)
        statements.extend(
            account.advance(
                datetime.fromtimestamp(sample.wall_time, UTC), sample.monotonic_ns
            )
        )
        read_path.add(sample)
        if sample.reading is None:
            power_register.add(sample)
            return
        stamps.append(sample.monotonic_ns)
        old = replace(sample.reading, power_w=source.register_power_w)
        power_register.add(replace(sample, reading=old))
        register_powers.append(source.register_power_w)

    sampler = Sampler(
        source,
        rate_hz,
        on_sample,
        logger=logging.getLogger("bench"),
        clock_ns=clock.clock_ns,
        wall_clock=clock.wall,
        sleep=clock.sleep,
    )
    clock.sampler = sampler
    sampler.start()
    if not sampler.join(3600):
        raise RuntimeError("the sampler did not finish")
    start = Fraction(stamps[0], NS) + phase
    exact = profile.exact_energy_j(start, Fraction(stamps[-1], NS) + phase)
    tutorial = None
    if rate_hz == 1 and len(register_powers) >= TUTORIAL_WINDOW_S:
        tutorial = tutorial_iota_error(profile, register_powers, start)
    return RunErrors(
        relative_error(read_path.snapshot().energy_j, exact),
        relative_error(power_register.snapshot().energy_j, exact),
        tutorial,
        tuple(
            statement_error(profile, statement, clock, phase)
            for statement in statements
            if statement.complete
        ),
    )


def statement_error(
    profile: LoadProfile,
    statement: Statement,
    clock: SimulatedClock,
    phase: Fraction,
) -> float:
    """A statement's energy against the exact energy of its own period."""

    def profile_time(moment: datetime) -> Fraction:
        # Wall time maps onto the simulated clock exactly (SimulatedClock.wall).
        wall = Fraction(round(moment.timestamp() * 1_000_000), 1_000_000)
        return wall - clock.WALL_ORIGIN_S + phase

    exact = profile.exact_energy_j(
        profile_time(statement.period_start), profile_time(statement.period_end)
    )
    return relative_error(statement.energy_j, exact)


def tutorial_iota_error(
    profile: LoadProfile, powers_w: Sequence[float], start: Fraction
) -> float:
    """The tutorial's bill: ``int(avg_mW * 60 * 0.2)`` IOTA for each minute.

    Its 60 once-a-second power-register readings stand for the minute; the
    IOTA it pays, at its 0.2 IOTA per mW s, are turned back into energy.
    """
    minutes = len(powers_w) // TUTORIAL_WINDOW_S
    iota = 0
    for minute in range(minutes):
        window = powers_w[minute * 60 : (minute + 1) * 60]
        average_mw = sum(window) / len(window) * 1000
        iota += int(average_mw * 60 * 0.2)
    billed_j = Fraction(iota) / TUTORIAL_IOTA_PER_MWS / 1000
    exact = profile.exact_energy_j(start, start + TUTORIAL_WINDOW_S * minutes)
    return relative_error(billed_j, exact)


def read_path_accuracy(seconds: float) -> list[ReadPathResult]:
    results = []
    seed = 0
    for level_w in READ_PATH_LEVELS_W:
        for profile in read_path_loads(level_w):
            for bus_v in READ_PATH_VOLTAGES:
                for rate_hz in READ_PATH_RATES_HZ:
                    seed += 1
                    run = run_read_path(profile, bus_v, rate_hz, seconds, seed)
                    sized_ohms = sized_shunt_ohms(level_w, bus_v)
                    sized = None
                    if rate_hz == DEFAULT_RATE_HZ:
                        sized = run_read_path(
                            profile,
                            bus_v,
                            rate_hz,
                            seconds,
                            seed,
                            shunt_ohms=sized_ohms,
                        ).read_path
                    results.append(
                        ReadPathResult(
                            profile.name,
                            level_w,
                            bus_v,
                            rate_hz,
                            run.read_path,
                            run.power_register,
                            run.tutorial,
                            sized_ohms,
                            sized,
                            run.statements,
                        )
                    )
                    print(
                        f"{profile.name} {level_w:g} W {bus_v:g} V {rate_hz} Hz: "
                        f"{percent(run.read_path)} "
                        f"(power register {percent(run.power_register)})",
                        file=sys.stderr,
                        flush=True,
                    )
    return results


PWM_SPREAD_RUNS = 16


def pwm_spread(seconds: float) -> list[float]:
    """The 2 W PWM at 5 V and the default rate, from 16 random start phases."""
    profile = read_path_loads(2.0)[2]
    return [
        run_read_path(profile, 5.0, DEFAULT_RATE_HZ, seconds, 1000 + run).read_path
        for run in range(PWM_SPREAD_RUNS)
    ]


# -- the chip's averaging ADC --------------------------------------------------------

AVERAGING_ADCS = ("64samples", "128samples")


@dataclass(frozen=True)
class AveragingResult:
    shape: str
    level_w: float
    bus_v: float
    adc: str
    shunt_ohms: float
    error: float
    statements: tuple[float, ...]


def averaging_accuracy(seconds: float) -> list[AveragingResult]:
    """Every load at the default rate with the chip averaging each conversion.

    The same seeds (start phases, wake-up jitter) as the 12-bit runs, so the
    columns compare like with like: with the 0.1 ohm shunt, and with the
    shunt sized for the load.
    """
    results = []
    seed = 0
    for level_w in READ_PATH_LEVELS_W:
        for profile in read_path_loads(level_w):
            for bus_v in READ_PATH_VOLTAGES:
                for rate_hz in READ_PATH_RATES_HZ:
                    seed += 1
                    if rate_hz != DEFAULT_RATE_HZ:
                        continue
                    for adc in AVERAGING_ADCS:
                        for ohms in {SHUNT_OHMS, sized_shunt_ohms(level_w, bus_v)}:
                            run = run_read_path(
                                profile,
                                bus_v,
                                rate_hz,
                                seconds,
                                seed,
                                shunt_ohms=ohms,
                                adc=adc,
                            )
                            results.append(
                                AveragingResult(
                                    profile.name,
                                    level_w,
                                    bus_v,
                                    adc,
                                    ohms,
                                    run.read_path,
                                    run.statements,
                                )
                            )
                    print(
                        f"averaging: {profile.name} {level_w:g} W {bus_v:g} V done",
                        file=sys.stderr,
                        flush=True,
                    )
    return results


def worst(errors: Sequence[float]) -> float | None:
    return max((abs(e) for e in errors), default=None)


def averaging_report(
    results: list[AveragingResult], read_path: list[ReadPathResult]
) -> list[str]:
    twelve_bit = {
        (r.shape, r.level_w, r.bus_v): r
        for r in read_path
        if r.rate_hz == DEFAULT_RATE_HZ
    }
    by_load: dict[tuple[str, float, float], dict[tuple[str, str], AveragingResult]]
    by_load = {}
    for r in results:
        sized = r.shunt_ohms == sized_shunt_ohms(r.level_w, r.bus_v)
        cell = by_load.setdefault((r.shape, r.level_w, r.bus_v), {})
        if r.shunt_ohms == SHUNT_OHMS:
            cell[(r.adc, "default")] = r
        if sized:
            cell[(r.adc, "sized")] = r
    lines = [
        f"## The chip's averaging ADC, at the default {DEFAULT_RATE_HZ} Hz",
        "",
        "The INA219 can average 2-128 12-bit conversions per result (the `adc` "
        "option: `64samples` takes 34 ms per channel, `128samples` 68 ms). The "
        "virtual chip takes each of those samples at its own moment of the "
        "window and quantises it, as the real chip does, so averaging integrates "
        "a fast load over the window instead of catching one instant. With "
        "`auto` gain the integration sets the full 320 mV range when averaging "
        "(an averaged result hides clipped peaks from pi-ina219's auto gain). "
        "Same seeds as the 12-bit runs above. *statements*: the worst |error| of a "
        f"complete {STATEMENT_PERIOD_S} s statement against the exact energy of "
        "its own period (the integration's EnergyAccount on the same samples).",
        "",
        "| load | peak | bus | 12 bit | statements | 64 samples | 128 samples "
        "| statements | sized shunt | 128 samples, sized | statements |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (shape, level_w, bus_v), cell in by_load.items():
        base = twelve_bit[(shape, level_w, bus_v)]
        best = cell[("128samples", "sized")]
        cells = [
            shape,
            f"{level_w * 1000:g} mW",
            f"{bus_v:g} V",
            percent(base.read_path),
            _worst_text(base.statements),
            percent(cell[("64samples", "default")].error),
            percent(cell[("128samples", "default")].error),
            _worst_text(cell[("128samples", "default")].statements),
            f"{best.shunt_ohms:g} ohm",
            percent(best.error),
            _worst_text(best.statements),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for adc in AVERAGING_ADCS:
        for kind, label in (
            ("default", "the 0.1 ohm shunt"),
            ("sized", "a sized shunt"),
        ):
            picked = [cell[(adc, kind)] for cell in by_load.values()]
            met = [r for r in picked if abs(r.error) <= 0.001]
            statements = [e for r in picked for e in r.statements]
            worst_statement = worst(statements)
            worst_load = max(abs(r.error) for r in picked)
            lines.append(
                f"- {adc} with {label}: |error| <= 0.1 % on {len(met)} of "
                f"{len(picked)} loads; worst load {100 * worst_load:.4f} %; "
                f"worst statement {_worst_text(tuple(statements))} "
                f"over {len(statements)} statements"
                + (
                    ""
                    if worst_statement is None
                    else f" ({sum(abs(e) <= 0.001 for e in statements)} within 0.1 %)"
                )
            )
    missed = [
        cell[("128samples", "sized")]
        for cell in by_load.values()
        if abs(cell[("128samples", "sized")].error) > 0.001
    ]
    if missed:
        lines += ["", "Missed with 128 samples and a sized shunt:", ""]
        lines += [
            f"- {r.shape} {r.level_w * 1000:g} mW at {r.bus_v:g} V, "
            f"{r.shunt_ohms:g} ohm: {percent(r.error)}"
            for r in missed
        ]
    lines.append("")
    return lines


def _worst_text(errors: tuple[float, ...]) -> str:
    value = worst(errors)
    return "" if value is None else f"{100 * value:.4f} %"


# -- outages ------------------------------------------------------------------------

OUTAGES_S = (1.0, 5.0, 20.0, 60.0)


@dataclass(frozen=True)
class OutageResult:
    rate_hz: int
    outage_s: float
    seconds_lost: float  # gap samples x sampling period
    without_readings_s: float  # last good reading before to first after
    log_lines: int


def run_outage(rate_hz: int, outage_s: float, seed: int) -> OutageResult:
    """Unplug the chip at an odd moment for ``outage_s``; count what is lost."""
    rng = random.Random(seed)
    clock = SimulatedClock(outage_s + 30, rng)
    profile = LoadProfile.constant(0.02)
    circuit = ProfileCircuit(profile, bus_voltage_v=5.0, clock=clock.seconds)
    chip = VirtualIna219(circuit, clock_ns=clock.clock_ns)
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    unplug_ns = round((10 + rng.random()) * NS)
    clock.events[unplug_ns] = lambda: setattr(chip, "present", False)
    clock.events[unplug_ns + round(outage_s * NS)] = lambda: setattr(
        chip, "present", True
    )
    good: list[int] = []
    lost = [0]

    def on_sample(sample: Sample) -> None:
        if sample.reading is None:
            lost[0] += 1
        else:
            good.append(sample.monotonic_ns)

    logger = logging.getLogger(f"bench.outage.{rate_hz}.{outage_s:g}")
    lines: list[logging.LogRecord] = []
    handler = _ListHandler(lines)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    sampler = Sampler(
        source,
        rate_hz,
        on_sample,
        logger=logger,
        clock_ns=clock.clock_ns,
        wall_clock=clock.wall,
        sleep=clock.sleep,
    )
    clock.sampler = sampler
    sampler.start()
    if not sampler.join(600):
        raise RuntimeError("the sampler did not finish")
    logger.removeHandler(handler)
    longest = max(b - a for a, b in itertools.pairwise(good))
    return OutageResult(rate_hz, outage_s, lost[0] / rate_hz, longest / NS, len(lines))


class _ListHandler(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.INFO)
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)


def outages() -> list[OutageResult]:
    return [
        run_outage(rate_hz, outage_s, seed)
        for seed, (rate_hz, outage_s) in enumerate(
            itertools.product(READ_PATH_RATES_HZ, OUTAGES_S)
        )
    ]


# -- cost -------------------------------------------------------------------------


def per_call_us(call: Callable[[], object], count: int) -> tuple[float, float]:
    """(wall, CPU) microseconds per call."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return wall / count * 1e6, cpu / count * 1e6


def read_costs(count: int) -> dict[str, tuple[float, float]]:
    # The chip's clock moves 20 ms (one 50 Hz slot) per sample, so every
    # sample sees a fresh conversion, as in real use.
    now_ns = [0]
    chip = VirtualIna219(TutorialCircuit(potentiometer=0.3), clock_ns=lambda: now_ns[0])
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    source.open()
    bus = chip.i2c_interface(1)
    transfers0 = chip.transfers
    source.read()
    transfers_per_read = chip.transfers - transfers0
    meter = Meter()
    stamp = [0]
    reading = source.read()

    def add() -> None:
        stamp[0] += NS // 50
        meter.add(Sample(stamp[0], 0.0, reading, None))

    def read() -> Reading:
        now_ns[0] += NS // 50
        return source.read()

    def model_only() -> None:
        now_ns[0] += NS // 50
        for _ in range(transfers_per_read):
            bus.read_word_data(0x40, REG_BUS_VOLTAGE)

    return {
        "Ina219Source.read() (pi-ina219 + Adafruit_GPIO + model)": per_call_us(
            read, count
        ),
        f"the model alone, {transfers_per_read} register reads": per_call_us(
            model_only, count
        ),
        "Meter.add() (exact Fraction sum)": per_call_us(add, count),
    }


def sampler_cpu(seconds: float, rate_hz: float = 50) -> dict[str, float]:
    """CPU share of the sampler thread (reads + meter) at ``rate_hz``."""
    chip = VirtualIna219(TutorialCircuit(potentiometer=0.3))
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    meter = Meter()
    cpu_clock: list[int] = []
    ready = threading.Event()

    def on_sample(sample: Sample) -> None:
        if not cpu_clock:
            ident = threading.get_ident()
            cpu_clock.append(time.pthread_getcpuclockid(ident))
            ready.set()
        meter.add(sample)

    sampler = Sampler(source, rate_hz, on_sample, logger=logging.getLogger("bench"))
    sampler.start()
    try:
        ready.wait(10)
        thread_cpu0 = time.clock_gettime(cpu_clock[0])
        process_cpu0, wall0 = time.process_time(), time.perf_counter()
        samples0 = meter.snapshot().samples
        time.sleep(seconds)
        thread_cpu = time.clock_gettime(cpu_clock[0]) - thread_cpu0
        process_cpu = time.process_time() - process_cpu0
        wall = time.perf_counter() - wall0
        samples = meter.snapshot().samples - samples0
    finally:
        sampler.stop(10)
    return {
        "rate_hz": rate_hz,
        "wall_s": wall,
        "samples": samples,
        "missed_slots": sampler.stats().missed_slots,
        "thread_cpu_percent": 100 * thread_cpu / wall,
        "process_cpu_percent": 100 * process_cpu / wall,
        "thread_cpu_us_per_sample": thread_cpu / max(samples, 1) * 1e6,
    }


# -- report -------------------------------------------------------------------------


def percent(value: float) -> str:
    return f"{100 * value:+.4f} %"


def half_step_share(
    shape_mean_w: float, bus_v: float, shunt_ohms: float = SHUNT_OHMS
) -> float:
    """Half a shunt ADC step, as a share of the load's mean power.

    What a steady level can be off by through the chip's rounding alone, for
    any read method: the floor under the read path's error at low currents.
    """
    return SHUNT_STEP_V / 2 / shunt_ohms * bus_v / shape_mean_w


def read_path_report(
    results: list[ReadPathResult], seconds: float, pwm_errors: Sequence[float]
) -> list[str]:
    rows: dict[tuple[str, float, float], dict[int, ReadPathResult]] = {}
    for r in results:
        rows.setdefault((r.shape, r.level_w, r.bus_v), {})[r.rate_hz] = r
    means = {
        (p.name, level): float(p.mean_power_w())
        for level in READ_PATH_LEVELS_W
        for p in read_path_loads(level)
    }
    lines = [
        "## Through the full read path (sampler -> pi-ina219 -> virtual INA219)",
        "",
        f"{seconds:g} s per run on a simulated clock (the sampler thread, the real "
        "pi-ina219 and Adafruit_GPIO code and the register-level chip, nothing "
        f"stubbed); wake-ups 0-{WAKE_JITTER_S * 1000:g} ms late; random start "
        f"phase; {SHUNT_OHMS:g} ohm shunt, 12-bit ADC, auto gain (the defaults). "
        "Signed energy error against the exact integral over the same interval.",
        "",
        "*read path*: this integration (power = shunt register / R x bus "
        "register). *power reg.*: the chip's power register, as before (same "
        "samples). *tutorial*: the tutorial's bill, `int(avg_mW * 60 * 0.2)` "
        "IOTA per minute from its once-a-second power-register readings, turned "
        "back into energy. *half step*: half a 10 uV shunt step as a share of "
        "the load's mean power, the rounding a steady level can carry for any "
        "method. Loads: *smooth* a ramp between 10 % and 100 % of the peak and "
        "back (123.4 s); *switching* five levels between 10 % and 100 % held "
        "2.9-6.3 s; *pwm* on/off at 97 Hz, 37 % duty.",
        "",
        "| load | peak | bus | half step | 1 Hz read path | 1 Hz power reg. "
        "| 10 Hz read path | 10 Hz power reg. | 50 Hz read path | "
        "50 Hz power reg. | tutorial | sized shunt | its half step "
        f"| {DEFAULT_RATE_HZ} Hz read path, sized shunt |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (shape, level_w, bus_v), by_rate in rows.items():
        cells = [
            shape,
            f"{level_w * 1000:g} mW",
            f"{bus_v:g} V",
            f"{100 * half_step_share(means[(shape, level_w)], bus_v):.3f} %",
        ]
        for rate_hz in READ_PATH_RATES_HZ:
            r = by_rate[rate_hz]
            cells += [percent(r.read_path), percent(r.power_register)]
        tutorial = by_rate[1].tutorial
        cells.append(percent(tutorial) if tutorial is not None else "")
        sized = by_rate[DEFAULT_RATE_HZ]
        share = half_step_share(means[(shape, level_w)], bus_v, sized.sized_shunt_ohms)
        cells += [
            f"{sized.sized_shunt_ohms:g} ohm",
            f"{100 * share:.3f} %",
            percent(sized.sized_shunt) if sized.sized_shunt is not None else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Worst |error| by load and rate (read path / power register):", ""]
    lines += ["| load | 1 Hz | 10 Hz | 50 Hz |", "|---|---|---|---|"]
    for shape in ("smooth", "switching", "pwm"):
        cells = [shape]
        for rate_hz in READ_PATH_RATES_HZ:
            picked = [r for r in results if r.shape == shape and r.rate_hz == rate_hz]
            new = max(abs(r.read_path) for r in picked)
            old = max(abs(r.power_register) for r in picked)
            cells.append(f"{100 * new:.4f} % / {100 * old:.4f} %")
        lines.append("| " + " | ".join(cells) + " |")
    at_default = [r for r in results if r.rate_hz == DEFAULT_RATE_HZ]
    met = [r for r in at_default if abs(r.read_path) <= 0.001]
    sized_met = [
        r
        for r in at_default
        if r.sized_shunt is not None and abs(r.sized_shunt) <= 0.001
    ]
    samples = seconds * DEFAULT_RATE_HZ
    pwm_spread = math.sqrt((1 - PWM_DUTY) / (PWM_DUTY * samples))
    lines += [
        "",
        f"Goal |error| <= 0.1 % at the default {DEFAULT_RATE_HZ} Hz: met on "
        f"{len(met)} of {len(at_default)} loads with the 0.1 ohm shunt, on "
        f"{len(sized_met)} of {len(at_default)} with a shunt sized for the load. "
        "A PWM load much faster than the sampling is read at random points of "
        f"its cycle: over {samples:.0f} samples the relative spread of that "
        f"estimate is about {100 * pwm_spread:.1f} % (one standard deviation), "
        "whatever the read method. The same 2 W PWM at 5 V from "
        f"{len(pwm_errors)} random start phases: mean "
        f"{percent(statistics.mean(pwm_errors))}, standard deviation "
        f"{100 * statistics.stdev(pwm_errors):.2f} % "
        f"(each run {percent(min(pwm_errors))} to {percent(max(pwm_errors))}): "
        "no bias, only spread. Missed with the 0.1 ohm shunt:",
        "",
    ]
    for r in at_default:
        if abs(r.read_path) > 0.001:
            share = half_step_share(means[(r.shape, r.level_w)], r.bus_v)
            sized_text = percent(r.sized_shunt) if r.sized_shunt is not None else ""
            lines.append(
                f"- {r.shape} {r.level_w * 1000:g} mW at {r.bus_v:g} V: "
                f"{percent(r.read_path)} (half a shunt step is "
                f"{100 * share:.3f} % of its mean power); with "
                f"{r.sized_shunt_ohms:g} ohm: {sized_text}"
            )
    lines.append("")
    return lines


def outage_report(results: list[OutageResult]) -> list[str]:
    lines = [
        "## Readings lost per outage",
        "",
        "The chip unplugged at a random moment and plugged back after the "
        "outage; *lost* = gap samples x sampling period; *without readings* = "
        "last good reading before to first after; *log lines* = what the "
        "sampler logged for the whole outage. Goal: a 20 s outage costs at "
        "most 21 s of readings (before: 31-37 s, the reopen back-off doubled "
        "up to 30 s).",
        "",
        "| rate | outage | lost | without readings | log lines |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.rate_hz} Hz | {r.outage_s:g} s | {r.seconds_lost:.2f} s | "
            f"{r.without_readings_s:.2f} s | {r.log_lines} |"
        )
    lines.append("")
    return lines


def report(
    results: list[Accuracy],
    costs: dict[str, tuple[float, float]],
    cpu: list[dict[str, float]],
    *,
    read_path: list[ReadPathResult],
    read_path_seconds: float,
    pwm_errors: Sequence[float],
    lost: list[OutageResult],
    averaging: list[AveragingResult],
) -> str:
    lines = [
        "# Metering benchmarks",
        "",
        f"Written by `benchmarks/bench_metering.py` on {time.strftime('%Y-%m-%d')}, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        "a shared 2-core machine (other work was running).",
        "",
        *read_path_report(read_path, read_path_seconds, pwm_errors),
        *averaging_report(averaging, read_path),
        *outage_report(lost),
        "## Energy error by method, on exact samples (no chip)",
        "",
        f"{DURATION_S} s per profile; reads 0-{MAX_READ_DELAY_S * 1000:g} ms late; "
        f"states published every {PUBLISH_EVERY_S} s for the HA columns; "
        f"tutorial windows of {TUTORIAL_WINDOW_S} s. Target: meter within "
        "0.1 % on smooth profiles at 1 Hz.",
        "",
        "*tutorial method*: mean of each minute's ticks x 60 s, on the same "
        "fixed-rate samples as the meter. *tutorial as written*: its own loop "
        f"(`sleep(1)` after each read, so ticks drift by the read time, and a "
        f"payment of {PAYMENT_S:g} s inside the loop, unmetered); always 1 Hz, "
        "the rate column does not apply to it.",
        "",
        "| profile | smooth | rate | meter | tutorial method | tutorial as written "
        "(1 Hz) | HA left Riemann | HA trapezoid |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.profile} | {'yes' if r.smooth else 'no'} | {r.rate_hz} Hz | "
            f"{percent(r.meter)} | {percent(r.tutorial)} | "
            f"{percent(r.tutorial_as_written)} | {percent(r.ha_left)} | "
            f"{percent(r.ha_trapezoid)} |"
        )
    worst = max(abs(r.meter) for r in results if r.smooth and r.rate_hz == 1)
    lines += [
        "",
        f"Worst meter error on smooth profiles at 1 Hz: {100 * worst:.5f} % "
        f"({'meets' if worst <= 0.001 else 'MISSES'} the 0.1 % target).",
        "",
        "## Cost of one sample",
        "",
        "| what | wall us/call | CPU us/call |",
        "|---|---|---|",
    ]
    for name, (wall, cpu_us) in costs.items():
        lines.append(f"| {name} | {wall:.1f} | {cpu_us:.1f} |")
    lines += [
        "",
        "## The sampler thread's CPU by sampling rate",
        "",
        "Real time, real thread (reads through pi-ina219 and the virtual chip, "
        "meter), measured with the thread's own CPU clock.",
        "",
        "| rate | wall s | samples | missed slots | thread CPU % of a core | "
        "us per sample |",
        "|---|---|---|---|---|---|",
    ]
    for c in cpu:
        lines.append(
            f"| {c['rate_hz']:g} Hz | {c['wall_s']:.1f} | {c['samples']:.0f} | "
            f"{c['missed_slots']:.0f} | {c['thread_cpu_percent']:.3f} | "
            f"{c['thread_cpu_us_per_sample']:.0f} |"
        )
    lines += [
        "",
        "With a real chip the model's share is replaced by I2C transfers (a few "
        "hundred us of bus time at 100 kHz, mostly spent waiting in the kernel).",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--read-path-seconds",
        type=float,
        default=600.0,
        help="simulated seconds per load, rate and voltage",
    )
    args = parser.parse_args(argv)
    read_path = read_path_accuracy(args.read_path_seconds)
    pwm_errors = pwm_spread(args.read_path_seconds)
    averaging = averaging_accuracy(args.read_path_seconds)
    lost = outages()
    results = accuracy()
    costs = read_costs(args.reads)
    cpu = [sampler_cpu(args.seconds, rate_hz) for rate_hz in READ_PATH_RATES_HZ]
    text = report(
        results,
        costs,
        cpu,
        read_path=read_path,
        read_path_seconds=args.read_path_seconds,
        pwm_errors=pwm_errors,
        lost=lost,
        averaging=averaging,
    )
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    data = {
        "read_path_seconds": args.read_path_seconds,
        "default_rate_hz": DEFAULT_RATE_HZ,
        "read_path": [asdict(r) for r in read_path],
        "pwm_spread": list(pwm_errors),
        "averaging": [asdict(r) for r in averaging],
        "outages": [asdict(r) for r in lost],
        "sampler_cpu": cpu,
    }
    args.data.parent.mkdir(parents=True, exist_ok=True)
    args.data.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
