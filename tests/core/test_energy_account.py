"""The energy account: samples in, statements that hold exactly their period.

Samples carry both clocks, as the sampler stamps them: a monotonic stamp and
the wall time. Expected energies come from an independent oracle: the exact
integral, over a given span, of the straight lines between consecutive good
readings at most ``max_gap_s`` apart (what the meter integrates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
import logging
import re

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.circuit import ProfileCircuit
from custom_components.iota_energy.core.energy_account import (
    CLOSE_RETRY_S,
    EnergyAccount,
    PeriodStart,
)
from custom_components.iota_energy.core.ina219_model import VirtualIna219
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

PERIOD_S = 60
MAX_GAP_S = 5.0
# A period start of the 60 s schedule; the monotonic clock has its own origin.
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MONO0_NS = 7_123_456_789_000
PRICE = Fraction(720_000_000)


def stamp(t: Fraction | float) -> tuple[datetime, int]:
    """Wall time and monotonic stamp ``t`` seconds after T0."""
    exact = Fraction(t)
    ns = MONO0_NS + round(exact * 1_000_000_000)
    return T0 + timedelta(microseconds=round(exact * 1_000_000)), ns


def sample(t: Fraction | float, power_w: float | None) -> Sample:
    now, ns = stamp(t)
    reading = None if power_w is None else Reading(power_w, 0.0, 0.0, 0.0)
    return Sample(ns, now.timestamp(), reading, None)


def new_account() -> EnergyAccount:
    return EnergyAccount(
        Meter(max_gap_s=MAX_GAP_S),
        BillingEngine(FixedLengthSchedule(timedelta(seconds=PERIOD_S))),
        PriceTracker(PRICE),
    )


def reference_energy(
    points: Sequence[tuple[Fraction, Fraction]], start: Fraction, end: Fraction
) -> tuple[Fraction, Fraction]:
    """Exact energy (J) and covered seconds of the interpolation on [start, end]."""
    energy = covered = Fraction(0)
    for (t0, p0), (t1, p1) in pairwise(points):
        if t1 - t0 > Fraction(MAX_GAP_S) or t1 <= start or t0 >= end:
            continue
        a, b = max(t0, start), min(t1, end)
        slope = (p1 - p0) / (t1 - t0)
        pa, pb = p0 + slope * (a - t0), p0 + slope * (b - t0)
        energy += (pa + pb) / 2 * (b - a)
        covered += b - a
    return energy, covered


@dataclass
class Run:
    """Samples and shell calls in time order, and what came out."""

    account: EnergyAccount
    statements: list[Statement]

    def feed(self, samples: Iterable[tuple[Fraction, float | None]]) -> None:
        for t, power in samples:
            self.account.add(sample(t, power))

    def advance(self, t: Fraction | float) -> list[Statement]:
        closed = self.account.advance(*stamp(t))
        self.statements.extend(closed)
        return closed


def drive(
    run: Run,
    samples: Sequence[tuple[Fraction, float | None]],
    until: Fraction,
) -> None:
    """Feed samples as time passes; call the account like the coordinator.

    The coordinator calls at publish ticks (every 10 s), exactly at each
    boundary, and every CLOSE_RETRY_S while a close waits for the meter.
    """
    calls = {Fraction(k * 10) for k in range(int(until) // 10 + 1)}
    step = Fraction(CLOSE_RETRY_S)
    calls |= {step * k for k in range(int(until / step) + 1)}
    events = sorted(
        [(t, 1, power) for t, power in samples if t <= until]
        + [(t, 0, None) for t in calls if t <= until]
    )
    for t, kind, power in events:
        if kind == 1:
            run.account.add(sample(t, power))
        else:
            run.advance(t)


def good_points(
    samples: Sequence[tuple[Fraction, float | None]],
) -> list[tuple[Fraction, Fraction]]:
    return [(t, Fraction(p)) for t, p in samples if p is not None]


def ramp(first: Fraction, count: int, every: Fraction = Fraction(1)) -> list:
    """A load rising linearly: exact dyadic powers at exact dyadic times."""
    return [
        (first + k * every, 0.5 + float(first + k * every) / 64) for k in range(count)
    ]


def test_statement_holds_exactly_its_own_period() -> None:
    """The segment spanning a boundary is split there, at 1 Hz off the grid."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    samples = ramp(Fraction(3, 8), 200)
    drive(run, samples, Fraction(190))
    points = good_points(samples)

    assert [s.period_start for s in run.statements] == [
        T0 + timedelta(seconds=PERIOD_S * k) for k in range(3)
    ]
    first, second, third = run.statements
    energy, covered = reference_energy(points, Fraction(0), Fraction(60))
    assert first.energy_j == energy
    assert first.covered_seconds == float(covered) == 59.625
    # Started 0.375 s before the first reading: not all of it was metered.
    assert first.complete is False
    for statement, start in ((second, 60), (third, 120)):
        energy, covered = reference_energy(
            points, Fraction(start), Fraction(start + 60)
        )
        assert statement.energy_j == energy
        assert statement.covered_seconds == 60.0
        assert statement.complete is True
    # Nothing lost, nothing twice: statements + open period = the meter's total.
    assert (
        sum((s.energy_j for s in run.statements), Fraction(0))
        + account.open_period.energy_j
        == account.meter.snapshot().energy_j
    )


def test_close_waits_for_the_reading_across_the_boundary() -> None:
    """At the boundary itself nothing closes; the next reading closes it."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    run.feed(ramp(Fraction(1, 2), 60))  # up to 59.5 s
    assert run.advance(60) == []
    assert account.closing_pending(stamp(60)[0])
    run.feed([(Fraction(121, 2), 0.5 + 60.5 / 64)])  # 60.5 s
    (statement,) = run.advance(Fraction(241, 4))
    points = good_points(ramp(Fraction(1, 2), 61))
    assert statement.energy_j == reference_energy(points, Fraction(0), Fraction(60))[0]
    assert not account.closing_pending(stamp(Fraction(241, 4))[0])
    # The half second after the boundary is billed to the new period.
    run.advance(61)
    assert (
        account.open_period.energy_j
        == reference_energy(points, Fraction(60), Fraction(61))[0]
    )


def test_gap_inside_a_period_closes_it_incomplete() -> None:
    """An unbridged gap: the statement is incomplete with its covered seconds."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    samples = [s for s in ramp(Fraction(1, 2), 190) if not 70 < s[0] < 80]
    drive(run, samples, Fraction(185))
    _, second, third = run.statements
    assert second.complete is False
    points = good_points(samples)
    energy, covered = reference_energy(points, Fraction(60), Fraction(120))
    # Readings stop after 69.5 s and resume at 80.5 s.
    assert second.covered_seconds == float(covered) == 49.0
    assert second.energy_j == energy
    assert third.complete is True
    assert third.covered_seconds == 60.0


def test_failed_reads_within_the_bound_are_bridged() -> None:
    """Two failed reads in a row are no gap: the period stays complete."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    samples = [(t, None if 70 < t < 73 else p) for t, p in ramp(Fraction(1, 2), 190)]
    drive(run, samples, Fraction(185))
    second = run.statements[1]
    assert second.complete is True
    assert second.covered_seconds == 60.0


def test_outage_across_a_boundary_closes_both_sides_incomplete() -> None:
    """No samples at all (a stalled sampler): the close does not wait forever."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    before = ramp(Fraction(1, 2), 116)  # up to 115.5 s
    after = ramp(Fraction(251, 2), 130)  # from 125.5 s
    drive(run, before, Fraction(120))
    # Within the bridging bound of the last reading the close waits...
    assert len(run.statements) == 1
    assert account.closing_pending(stamp(120)[0])
    # ...and once no reading can bridge the boundary any more, it closes.
    run.advance(Fraction(241, 2) + Fraction(1, 4))
    run.advance(121)
    assert len(run.statements) == 2
    second = run.statements[1]
    assert second.period_end == T0 + timedelta(seconds=120)
    assert second.complete is False
    assert second.covered_seconds == 55.5
    assert (
        second.energy_j
        == reference_energy(good_points(before), Fraction(60), Fraction(120))[0]
    )
    drive(run, after, Fraction(245))
    third = run.statements[2]
    assert third.complete is False
    assert third.covered_seconds == 180 - 125.5
    assert run.statements[3].complete is True


def _restart(account: EnergyAccount) -> EnergyAccount:
    """What a restart keeps: the exported state, read back."""
    engine_state = account.engine.export_state()
    start = account.export_state()["period_start"]
    return EnergyAccount(
        Meter.from_state(account.meter.export_state(), max_gap_s=MAX_GAP_S),
        BillingEngine(
            FixedLengthSchedule(timedelta(seconds=PERIOD_S)), state=engine_state
        ),
        PriceTracker.from_state(PRICE, account.prices.export_state()),
        billed_energy_j=account.billed_energy_j,
        period_start=PeriodStart.from_dict(start),
    )


def test_restart_gap_and_coverage_across_a_restart() -> None:
    """Down for 10 s: coverage counts what ran before and after; incomplete."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    drive(run, ramp(Fraction(1, 2), 30), Fraction(30))  # readings to 29.5 s
    account = _restart(account)
    run.account = account
    assert account.start(stamp(40)[0]) == []
    after = ramp(Fraction(81, 2), 80)  # from 40.5 s
    drive(run, [s for s in after if s[0] < 50], Fraction(50))
    # Covered: 0.5 .. 29.5 and 40.5 .. 49.5, of 50 s.
    assert account.coverage_pct(stamp(50)[0]) == pytest.approx(100 * 38 / 50)
    drive(run, [s for s in after if s[0] >= 50], Fraction(115))
    (statement,) = run.statements
    assert statement.complete is False
    assert statement.covered_seconds == 29.0 + 19.5
    assert run.account.meter.snapshot().gaps == 1


def test_coverage_is_the_share_of_the_current_period() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    samples = [s for s in ramp(Fraction(1, 2), 119) if not 70 < s[0] < 80]
    drive(run, samples, Fraction(100))
    # Period 60 .. 100 s: 69.5 .. 80.5 unbridged, readings up to 99.5 s.
    assert account.coverage_pct(stamp(100)[0]) == pytest.approx(100 * 28.5 / 40)
    assert account.period_complete(stamp(100)[1]) is False
    drive(run, ramp(Fraction(241, 2), 30), Fraction(130))
    # Readings again from 120.5 s: 120.5 .. 129.5 of 120 .. 130.
    assert account.coverage_pct(stamp(130)[0]) == pytest.approx(100 * 9 / 10)


def test_manual_close_and_the_period_after() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    drive(run, ramp(Fraction(1, 2), 100), Fraction(90))
    closed = account.close_now(*stamp(Fraction(361, 4)))
    assert [s.period_end for s in closed] == [T0 + timedelta(seconds=90.25)]
    assert closed[0].complete is True
    assert account.open_period.period.start == T0 + timedelta(seconds=90.25)
    assert account.close_now(*stamp(Fraction(361, 4))) == []


# Dyadic times and powers: every stamp and product is exact.
_STEP = st.integers(min_value=1, max_value=56).map(lambda n: Fraction(n, 8))
_POWER = st.one_of(
    st.none(), st.integers(min_value=0, max_value=4096).map(lambda n: n / 1024)
)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(_STEP, _POWER), min_size=30, max_size=200),
    calls=st.lists(
        st.integers(min_value=0, max_value=1600).map(lambda n: Fraction(n, 4)),
        max_size=40,
    ),
)
def test_every_statement_is_the_integral_over_its_period(
    steps: list[tuple[Fraction, float | None]], calls: list[Fraction]
) -> None:
    """Any readings, failures and gaps; the shell calls at any times."""
    samples: list[tuple[Fraction, float | None]] = []
    t = Fraction(0)
    for step, power in steps:
        t += step
        samples.append((t, power))
    end = t + 10
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    boundaries = {Fraction(PERIOD_S * k) for k in range(int(end) // PERIOD_S + 1)}
    events = sorted(
        [(s, 1, p) for s, p in samples]
        + [(c, 0, None) for c in set(calls) | boundaries if c <= end]
    )
    for when, kind, power in events:
        if kind:
            account.add(sample(when, power))
        else:
            run.advance(when)
    run.advance(end)

    points = good_points(samples)
    for statement in run.statements:
        start = Fraction((statement.period_start - T0).total_seconds())
        stop = Fraction((statement.period_end - T0).total_seconds())
        energy, covered = reference_energy(points, start, stop)
        assert statement.energy_j == energy
        assert statement.covered_seconds == float(covered)
        if statement.complete:
            assert covered == stop - start
    total, _ = reference_energy(points, Fraction(0), end)
    assert (
        sum((s.energy_j for s in run.statements), Fraction(0))
        + account.open_period.energy_j
        == total
        == account.meter.snapshot().energy_j
    )


class _FakeClock:
    """One fake time for the chip, the sampler and the shell's calls.

    Sleeping advances it; on the way the shell calls ``advance`` every
    ``CLOSE_RETRY_S`` (publish ticks, boundary timers and retries alike).
    """

    def __init__(self, account: EnergyAccount, end_s: int, offset: Fraction) -> None:
        self.ns = 0
        self.end_ns = end_s * 1_000_000_000
        self.offset = offset
        self.account = account
        self.statements: list[Statement] = []
        self.sampler: Sampler | None = None
        self._next_call_ns = 0

    def clock_ns(self) -> int:
        return self.ns

    def now(self) -> datetime:
        return stamp(self.offset + Fraction(self.ns, 1_000_000_000))[0]

    def wall(self) -> float:
        return self.now().timestamp()

    def sleep(self, seconds: float) -> None:
        target = self.ns + max(1, round(seconds * 1_000_000_000))
        step = round(CLOSE_RETRY_S * 1_000_000_000)
        while self._next_call_ns <= target:
            self.ns = self._next_call_ns
            self.statements.extend(self.account.advance(self.now(), self.ns))
            self._next_call_ns += step
        self.ns = target
        if self.ns >= self.end_ns and self.sampler is not None:
            self.sampler.request_stop()


def test_the_whole_path_runs_below_home_assistant() -> None:
    """Load profile -> virtual chip -> pi-ina219 -> sampler -> account -> statements."""
    account = new_account()
    offset = Fraction(3, 8)  # readings off the boundaries' grid
    fake = _FakeClock(account, end_s=200, offset=offset)
    profile = LoadProfile.led_on_off(on_w=0.057, on_s=7, off_s=3)
    circuit = ProfileCircuit(profile, bus_voltage_v=3.0, clock=lambda: fake.ns / 1e9)
    chip = VirtualIna219(circuit, clock_ns=fake.clock_ns)
    samples: list[Sample] = []

    def on_sample(taken: Sample) -> None:
        samples.append(taken)
        account.add(taken)

    sampler = Sampler(
        Ina219Source(Ina219Config(), chip.i2c_interface),
        1,
        on_sample,
        logger=logging.getLogger(__name__),
        clock_ns=fake.clock_ns,
        wall_clock=fake.wall,
        sleep=fake.sleep,
    )
    fake.sampler = sampler
    account.start(fake.now())
    sampler.start()
    assert sampler.join(30)

    points = [
        (offset + Fraction(s.monotonic_ns, 1_000_000_000), Fraction(s.reading.power_w))
        for s in samples
        if s.reading is not None
    ]
    assert len(points) == len(samples) >= 199
    assert [s.period_end for s in fake.statements] == [
        T0 + timedelta(seconds=60 * k) for k in (1, 2, 3)
    ]
    for statement in fake.statements:
        start = Fraction((statement.period_start - T0).total_seconds())
        end = Fraction((statement.period_end - T0).total_seconds())
        energy, _ = reference_energy(points, start, end)
        assert statement.energy_j == energy > 0
        # Against the exact load: the trapezoid's error at the LED's 12 edges
        # (half a sampling period of the step each) and the chip's power LSB.
        exact = profile.exact_energy_j(max(start, offset) - offset, end - offset)
        bound = 12 * Fraction(0.057) / 2 + 60 * Fraction(20 * 0.04 / 0.1 / 32800)
        assert abs(statement.energy_j - exact) <= bound
    assert [s.complete for s in fake.statements] == [False, True, True]
    assert (
        sum((s.energy_j for s in fake.statements), Fraction(0))
        + account.open_period.energy_j
        == account.meter.snapshot().energy_j
    )


# --- found by mutation testing (scripts/mutation) ---------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            ["covered_ns", "gaps", "covered"],
            "period start is malformed: ['covered_ns', 'gaps', 'covered']",
        ),
        ({"covered_ns": 0, "gaps": 0}, "period start is malformed: "),
        (
            {"covered_ns": -1, "gaps": 0, "covered": True},
            "period start covered_ns must be a whole number >= 0",
        ),
        (
            {"covered_ns": 1.5, "gaps": 0, "covered": True},
            "period start covered_ns must be a whole number >= 0",
        ),
        (
            {"covered_ns": 0, "gaps": -1, "covered": True},
            "period start gaps must be a whole number >= 0",
        ),
        (
            {"covered_ns": 0, "gaps": 0, "covered": 1},
            "period start covered must be a bool",
        ),
    ],
)
def test_a_malformed_period_start_says_what_is_wrong(
    data: object, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        PeriodStart.from_dict(data)


def test_a_period_start_reads_back_equal() -> None:
    start = PeriodStart(covered_ns=5_000_000_000, gaps=2, covered=True)
    assert PeriodStart.from_dict(start.to_dict()) == start


def test_billed_energy_is_never_negative() -> None:
    with pytest.raises(ValueError, match=r"^billed energy is never negative$"):
        EnergyAccount(
            Meter(max_gap_s=MAX_GAP_S),
            BillingEngine(FixedLengthSchedule(timedelta(seconds=PERIOD_S))),
            PriceTracker(PRICE),
            billed_energy_j=Fraction(-1),
        )


def test_a_reading_right_at_the_boundary_closes_it_at_once() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    run.feed(ramp(Fraction(1), 60))  # 1 s .. 60 s: the last one on the boundary
    (statement,) = run.advance(60)
    assert statement.period_end == T0 + timedelta(seconds=PERIOD_S)
    assert not account.closing_pending(stamp(60)[0])


def test_manual_close_at_a_boundary_still_waiting_closes_nothing() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    run.feed(ramp(Fraction(1, 2), 60))  # up to 59.5 s: the boundary waits
    assert account.close_now(*stamp(60)) == []
    assert account.open_period.period.start == T0


def test_manual_close_after_an_outage_closes_the_boundary_first() -> None:
    """The boundary's close needs the monotonic now: nothing bridges it any more."""
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    drive(run, ramp(Fraction(1, 2), 116), Fraction(119))  # readings to 115.5 s
    closed = account.close_now(*stamp(130))
    assert [s.period_end for s in closed] == [
        T0 + timedelta(seconds=120),
        T0 + timedelta(seconds=130),
    ]
    assert [s.complete for s in closed] == [False, False]


@pytest.mark.parametrize(
    ("samples", "close_at"),
    [
        # Started 0.5 s before the first reading: the start was not metered.
        (ramp(Fraction(1, 2), 40), Fraction(39)),
        # A gap inside the second period.
        ([s for s in ramp(Fraction(0), 100) if not 70 < s[0] < 80], Fraction(99)),
        # The readings stopped long enough ago that nothing bridges to now.
        ([s for s in ramp(Fraction(0), 100) if s[0] <= 80], Fraction(99)),
    ],
)
def test_manual_close_of_a_period_not_metered_throughout_is_incomplete(
    samples: list, close_at: Fraction
) -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    drive(run, samples, close_at)
    closed = account.close_now(*stamp(close_at))
    assert closed[-1].period_end == stamp(close_at)[0]
    assert closed[-1].complete is False


def test_the_period_after_a_manual_close_is_metered_from_the_close() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    samples = ramp(Fraction(1, 2), 130)
    drive(run, [s for s in samples if s[0] < 90], Fraction(90))
    run.statements.extend(account.close_now(*stamp(Fraction(361, 4))))
    drive(run, [s for s in samples if s[0] > 90], Fraction(125))
    after = run.statements[-1]
    assert after.period_start == T0 + timedelta(seconds=90.25)
    assert after.period_end == T0 + timedelta(seconds=120)
    assert after.complete is True
    # From the last reading before the close (89.5 s), like its energy.
    assert after.covered_seconds == 30.5


def test_a_new_price_applies_to_what_is_metered_after_it() -> None:
    account = EnergyAccount(
        Meter(max_gap_s=MAX_GAP_S),
        BillingEngine(FixedLengthSchedule(timedelta(seconds=PERIOD_S))),
        PriceTracker(PRICE, uses_entity=True),
    )
    run = Run(account, [])
    account.start(stamp(0)[0])
    drive(run, [(Fraction(k), 1.0) for k in range(31)], Fraction(30))
    account.update_price("1440000", "IOTA/Wh")  # 2 x PRICE per kWh
    drive(run, [(Fraction(k), 1.0) for k in range(31, 62)], Fraction(61))
    (statement,) = run.statements
    assert [(s.iota_per_kwh, s.source) for s in statement.slices] == [
        (PRICE, "fallback"),
        (2 * PRICE, "entity"),
    ]
    assert [s.energy_j for s in statement.slices] == [Fraction(30), Fraction(30)]


def test_coverage_starts_after_one_second_and_stays_within_0_and_100() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    assert account.coverage_pct(stamp(Fraction(1, 2))[0]) is None
    # One second in with no reading at all: 0 %, not too soon.
    assert account.coverage_pct(stamp(1)[0]) == 0.0
    assert account.coverage_pct(stamp(Fraction(3, 2))[0]) == 0.0
    samples = ramp(Fraction(1, 2), 100)
    drive(run, [s for s in samples if s[0] < 90], Fraction(90))
    account.close_now(*stamp(Fraction(361, 4)))
    drive(run, [s for s in samples if 90 < s[0] < 92], Fraction(183, 2))
    # Counted from the last reading before the close (89.5 s): 2 s in 1.25 s.
    assert account.coverage_pct(stamp(Fraction(183, 2))[0]) == 100.0


def test_period_complete_while_metered_without_a_break() -> None:
    account = new_account()
    run = Run(account, [])
    assert account.period_complete(stamp(0)[1]) is False  # not started
    account.start(stamp(0)[0])
    drive(run, ramp(Fraction(0), 70), Fraction(69))
    assert account.period_complete(stamp(69)[1]) is True
    # Nothing read for longer than the gap bound: no longer complete.
    assert account.period_complete(stamp(75)[1]) is False


def test_export_state_before_any_period_start() -> None:
    assert new_account().export_state() == {"period_start": None}


def test_billing_before_the_start_with_nothing_metered_does_nothing() -> None:
    account = new_account()
    account.bill_at_today_price()
    assert account.billed_energy_j == 0


def test_a_meter_total_below_what_was_billed_is_logged_and_not_billed_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = EnergyAccount(
        Meter(max_gap_s=MAX_GAP_S),
        BillingEngine(FixedLengthSchedule(timedelta(seconds=PERIOD_S))),
        PriceTracker(PRICE),
        billed_energy_j=Fraction(100),
    )
    run = Run(account, [])
    with caplog.at_level(logging.WARNING):
        account.start(stamp(0)[0])
    assert [r.getMessage() for r in caplog.records] == [
        "Meter total went backwards by 100 J; ignored"
    ]
    assert account.billed_energy_j == 0
    caplog.clear()
    drive(run, [(Fraction(k), 1.0) for k in range(62)], Fraction(61))
    assert caplog.records == []  # nothing new is no warning
    (statement,) = run.statements
    assert statement.energy_j == 60


def test_a_cut_taken_at_another_time_is_asked_for_again() -> None:
    account = new_account()
    run = Run(account, [])
    account.start(stamp(0)[0])
    account.meter.request_cut(stamp(30)[0].timestamp())  # not the boundary
    run.feed([(Fraction(k), 1.0) for k in range(66)])
    assert run.advance(65) == []
    assert account.billed_energy_j == account.meter.energy_before_cut()
    assert account.closing_pending(stamp(65)[0])
