"""Metering and billing under chip faults and wall-clock steps.

The real read path (core ``Sampler`` thread -> pi-ina219 -> Adafruit_GPIO ->
register-level ``VirtualIna219`` driven by a load profile) feeds the core's
``EnergyAccount`` (meter, billing engine, prices). Everything shares one
simulated clock that sleeping advances, so hours run in seconds. The harness
plays the coordinator's part: it calls ``advance`` at each publish tick (10 s),
at each period boundary (a timer armed on the monotonic clock from the wall
time to go, as Home Assistant's point-in-time timer is) and every 0.25 s while
a close waits for the meter.

Faults are injected where they really happen: the chip's I2C transfers fail
(EIO) or the chip disappears (EREMOTEIO) inside the register model, and the
wall clock that stamps samples and drives the coordinator steps backwards or
forwards by a fixed offset (an NTP correction), or crosses a DST change (the
schedule follows local hours).

What is counted, independently of the meter:

* the exact energy of the load over every stretch the meter could bridge
  (consecutive good readings at most ``max_gap_s`` apart), from the profile's
  exact integral at the reading stamps; the meter's total must match it within
  the read path's accuracy (``ACCURACY_BOUND``);
* the exact energy of the stretches it could not bridge (an absent chip):
  declared, never silent: every period holding such a stretch must close
  incomplete;
* statements: one per period, contiguous, ids unique; energy in statements
  plus the open period equals the meter's total exactly; money exact
  (``sum(due) + carry == sum(owed)``, each owed equal to energy x price).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import logging
import random
from zoneinfo import ZoneInfo

from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.circuit import ProfileCircuit
from custom_components.iota_energy.core.energy_account import (
    CLOSE_RETRY_S,
    EnergyAccount,
)
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.ledger import Statement
from custom_components.iota_energy.core.load_profiles import LoadProfile
from custom_components.iota_energy.core.metering import Meter
from custom_components.iota_energy.core.periods import (
    CalendarSchedule,
    FixedLengthSchedule,
    Schedule,
)
from custom_components.iota_energy.core.power_source import Ina219Config, Ina219Source
from custom_components.iota_energy.core.pricing import PriceTracker
from custom_components.iota_energy.core.sampler import Sample, Sampler

NS = 1_000_000_000
MAX_GAP_S = 5.0  # the integration's METER_MAX_GAP_S
PUBLISH_S = 10.0  # the default publish interval
# 720,000,000 IOTA per kWh: the tutorial's 0.2 IOTA per mW s.
PRICE = Fraction(720_000_000)
# The read path's error against the exact integral on smooth loads is within
# 0.011 % (benchmarks/results/metering.md); a fault must not add to it.
ACCURACY_BOUND = 0.0005
WAKE_JITTER_NS = 2_000_000
_LOGGER = logging.getLogger("benchmarks.faults.metering")


@dataclass
class FaultClock:
    """Monotonic and wall clocks for sampler, chip, circuit and coordinator.

    ``offset_s`` is what the wall clock has been stepped by so far.
    """

    wall_start: float
    rng: random.Random
    ns: int = 0
    offset_s: float = 0.0

    def clock_ns(self) -> int:
        return self.ns

    def seconds(self) -> float:
        return self.ns / NS

    def wall(self) -> float:
        return self.wall_start + self.ns / NS + self.offset_s

    def wall_dt(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)


@dataclass(frozen=True)
class MeteringScenario:
    """A run of ``seconds`` with ``faults`` at monotonic seconds."""

    name: str
    seconds: float
    rate_hz: float
    schedule: Schedule
    wall_start: datetime
    faults: tuple[tuple[float, str, float], ...] = ()  # (at_s, kind, amount)

    @property
    def period_s(self) -> float:
        """Every period's real length: 60 s, or one real hour even across DST."""
        return 60.0 if isinstance(self.schedule, FixedLengthSchedule) else 3600.0


@dataclass
class MeteringResult:
    name: str
    seconds: float
    samples: int = 0
    failed_reads: int = 0
    faults_injected: int = 0
    exact_covered_j: Fraction = Fraction(0)
    metered_j: Fraction = Fraction(0)
    unbridged_j: Fraction = Fraction(0)
    unbridged_s: float = 0.0
    statements: int = 0
    expected_statements: int = 0
    duplicate_ids: int = 0
    discontinuities: int = 0
    wrong_lengths: int = 0
    billing_mismatch_j: Fraction = Fraction(0)
    money_mismatch: Fraction = Fraction(0)
    undeclared_gaps: int = 0
    incomplete: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def energy_error(self) -> float:
        if not self.exact_covered_j:
            return 0.0
        return float((self.metered_j - self.exact_covered_j) / self.exact_covered_j)

    @property
    def lost(self) -> int:
        """Things lost or wrong; 0 is the goal."""
        return (
            int(abs(self.energy_error) > ACCURACY_BOUND)
            + abs(self.statements - self.expected_statements)
            + self.duplicate_ids
            + self.discontinuities
            + self.wrong_lengths
            + int(self.billing_mismatch_j != 0)
            + int(self.money_mismatch != 0)
            + self.undeclared_gaps
        )


class _Harness:
    """Runs one scenario; the sampler thread does everything through sleep()."""

    def __init__(self, scenario: MeteringScenario, seed: int) -> None:
        self.scenario = scenario
        rng = random.Random(seed)
        self.clock = FaultClock(scenario.wall_start.timestamp(), rng)
        self.profile = LoadProfile.ramp(0.15, 1.2, 61.7, name="smooth")
        circuit = ProfileCircuit(
            self.profile, bus_voltage_v=5.0, clock=self.clock.seconds, start_s=0.0
        )
        self.chip = VirtualIna219(circuit, shunt_ohms=0.1, clock_ns=self.clock.clock_ns)
        source = Ina219Source(Ina219Config(shunt_ohms=0.1), self.chip.i2c_interface)
        self.account = EnergyAccount(
            Meter(max_gap_s=MAX_GAP_S),
            BillingEngine(scenario.schedule),
            PriceTracker(PRICE),
        )
        self.sampler = Sampler(
            source,
            scenario.rate_hz,
            self._on_sample,
            logger=_LOGGER,
            clock_ns=self.clock.clock_ns,
            wall_clock=self.clock.wall,
            sleep=self._sleep,
        )
        self.good_stamps: list[int] = []
        self.good_walls: dict[int, float] = {}
        self.failed = 0
        self.statements: list[Statement] = []
        self.faults = sorted(scenario.faults)
        self.injected = 0
        self.end_ns = round(scenario.seconds * NS)
        self.next_publish_ns = round(PUBLISH_S * NS)
        self.boundary_ns = 0
        self.retry_ns: int | None = None

    def _on_sample(self, sample: Sample) -> None:
        self.account.add(sample)
        if sample.reading is None:
            self.failed += 1
        else:
            self.good_stamps.append(sample.monotonic_ns)
            self.good_walls[sample.monotonic_ns] = sample.wall_time

    def _advance(self) -> None:
        clock = self.clock
        closed = self.account.advance(clock.wall_dt(), clock.ns)
        self.statements += closed
        if closed or self.retry_ns is not None:
            self._arm()

    def _arm(self) -> None:
        """The coordinator's boundary timer (or its short retry)."""
        clock = self.clock
        if self.account.closing_pending(clock.wall_dt()):
            self.retry_ns = clock.ns + round(CLOSE_RETRY_S * NS)
            return
        self.retry_ns = None
        to_go = self.account.engine.next_boundary().timestamp() - clock.wall()
        self.boundary_ns = clock.ns + max(0, round(to_go * NS))

    def _sleep(self, seconds: float) -> None:
        clock = self.clock
        clock.ns += max(1, round(seconds * NS)) + round(
            clock.rng.random() * WAKE_JITTER_NS
        )
        while self.faults and self.faults[0][0] * NS <= clock.ns:
            _, kind, amount = self.faults.pop(0)
            self._inject(kind, amount)
        if clock.ns >= self.next_publish_ns:
            self.next_publish_ns += round(PUBLISH_S * NS)
            self._advance()
        if self.retry_ns is not None and clock.ns >= self.retry_ns:
            self._advance()
        elif self.retry_ns is None and clock.ns >= self.boundary_ns:
            if clock.wall_dt() < self.account.engine.next_boundary():
                self._arm()  # Home Assistant re-arms a timer that fired early
            else:
                self._advance()
                self._arm()
        if clock.ns >= self.end_ns:
            self.sampler.request_stop()

    def _inject(self, kind: str, amount: float) -> None:
        self.injected += 1
        if kind == "i2c_errors":
            self.chip.fail_next_transfers(int(amount))
        elif kind == "unplug":
            self.chip.present = False
        elif kind == "plug":
            self.chip.present = True
        elif kind == "wall_step":
            self.clock.offset_s += amount
        else:
            raise ValueError(kind)

    def run(self) -> MeteringResult:
        clock = self.clock
        self.statements += self.account.start(clock.wall_dt())
        self._arm()
        self.sampler.start()
        if not self.sampler.join(timeout=600):
            raise RuntimeError("the sampler did not finish")
        self._advance()
        self.account.bill_at_today_price()
        return self._count()

    # -- counting ---------------------------------------------------------------

    def _count(self) -> MeteringResult:
        scenario = self.scenario
        result = MeteringResult(scenario.name, scenario.seconds)
        result.samples = len(self.good_stamps) + self.failed
        result.failed_reads = self.failed
        result.faults_injected = self.injected
        gaps: list[tuple[int, int]] = []
        max_gap_ns = round(MAX_GAP_S * NS)
        for before, after in zip(self.good_stamps, self.good_stamps[1:], strict=False):
            energy = self.profile.exact_energy_j(
                Fraction(before, NS), Fraction(after, NS)
            )
            if after - before <= max_gap_ns:
                result.exact_covered_j += energy
            else:
                result.unbridged_j += energy
                result.unbridged_s += (after - before) / NS
                gaps.append((before, after))
        meter = self.account.meter.snapshot()
        result.metered_j = meter.energy_j
        statements = self.statements
        result.statements = len(statements)
        result.expected_statements = _periods_between(
            scenario.schedule,
            scenario.wall_start,
            self.account.engine.open_period.period.start,
        )
        result.duplicate_ids = len(statements) - len({s.id for s in statements})
        open_period = self.account.engine.open_period
        starts = [s.period_start for s in statements] + [open_period.period.start]
        ends = [s.period_end for s in statements]
        result.discontinuities = sum(
            1 for end, start in zip(ends, starts[1:], strict=True) if end != start
        )
        result.wrong_lengths = sum(
            1
            for s in statements
            if (s.period_end - s.period_start).total_seconds()
            != scenario.period_s * s.periods_covered
        )
        billed = sum((s.energy_j for s in statements), Fraction(0))
        result.billing_mismatch_j = billed + open_period.energy_j - meter.energy_j
        owed = Fraction(0)
        money = Fraction(0)
        for s in statements:
            owed += s.owed
            money += abs(
                s.owed
                - sum((sl.energy_j * sl.iota_per_kwh for sl in s.slices), 0) / 3_600_000
            )
        due = sum(s.due_iota for s in statements)
        carry = statements[-1].carried_out if statements else Fraction(0)
        money += abs(due + carry - owed)
        result.money_mismatch = money
        result.incomplete = sum(1 for s in statements if not s.complete)
        result.undeclared_gaps = _undeclared(gaps, statements, self.good_walls)
        return result


def _periods_between(schedule: Schedule, start: datetime, open_start: datetime) -> int:
    """Periods from the one holding ``start`` up to (not including) the open one."""
    count = 0
    period = schedule.period_at(start)
    while period.start < open_start:
        count += 1
        period = schedule.period_at(period.end)
    return count


def _undeclared(
    gaps: list[tuple[int, int]], statements: list[Statement], walls: dict[int, float]
) -> int:
    """Unbridged stretches inside a period that closed complete (silent loss)."""
    silent = 0
    for before, after in gaps:
        a, b = walls[before], walls[after]
        for s in statements:
            if s.period_start.timestamp() < b and a < s.period_end.timestamp():
                silent += int(s.complete)
    return silent


def scenarios(short: bool) -> list[MeteringScenario]:
    """The metering faults; ``short`` keeps the test suite's run quick."""
    minute = FixedLengthSchedule(timedelta(seconds=60))
    start = datetime(2026, 12, 2, 10, 0, 7, tzinfo=UTC)
    span = 300.0 if short else 3600.0
    rng = random.Random(11)
    glitches = tuple(
        (rng.uniform(1, span - 1), "i2c_errors", float(rng.randint(1, 4)))
        for _ in range(int(span / 10))
    )
    unplugs: list[tuple[float, str, float]] = []
    for at in (40.0, 130.0, 250.0) if short else (40.0, 700.0, 1900.0, 3000.0):
        unplugs += [(at, "unplug", 0), (at + rng.uniform(1, 45), "plug", 0)]
    berlin = ZoneInfo("Europe/Berlin")
    hourly = CalendarSchedule("hourly", berlin)
    # 00:20 UTC on the night Berlin falls back at 01:00 UTC (03:00 CEST -> 02:00 CET).
    autumn = datetime(2026, 10, 25, 0, 20, 3, tzinfo=UTC)
    # Spring forward: 01:00 UTC on 2026-03-29 (02:00 CET -> 03:00 CEST).
    spring = datetime(2026, 3, 29, 0, 20, 3, tzinfo=UTC)
    dst_span = 3 * 3600.0 if not short else 2 * 3600.0
    dst_rate = 1.0
    return [
        MeteringScenario("no fault (baseline)", span, 10, minute, start),
        MeteringScenario("I2C errors (EIO bursts)", span, 10, minute, start, glitches),
        MeteringScenario(
            "chip vanishes and returns", span, 10, minute, start, tuple(unplugs)
        ),
        MeteringScenario(
            "wall clock steps back 90 s mid-period",
            span,
            10,
            minute,
            start,
            ((95.0, "wall_step", -90.0), (200.0, "wall_step", -1.5)),
        ),
        MeteringScenario(
            "wall clock steps forward 90 s mid-period",
            span,
            10,
            minute,
            start,
            ((95.0, "wall_step", 90.0), (200.0, "wall_step", 1.5)),
        ),
        MeteringScenario(
            "wall clock steps forward 1 h, then back 1 h (hourly periods)",
            dst_span,
            dst_rate,
            hourly,
            start,
            ((1000.0, "wall_step", 3600.0), (5000.0, "wall_step", -3600.0)),
        ),
        MeteringScenario(
            "DST fall back, hourly local periods", dst_span, dst_rate, hourly, autumn
        ),
        MeteringScenario(
            "DST spring forward, hourly local periods",
            dst_span,
            dst_rate,
            hourly,
            spring,
        ),
    ]


def run_scenario(scenario: MeteringScenario, seed: int = 1) -> MeteringResult:
    return _Harness(scenario, seed).run()


def run_all(short: bool, seed: int = 1) -> list[MeteringResult]:
    return [run_scenario(s, seed) for s in scenarios(short)]
