"""The sampler thread: schedule, gaps, recovery, and independence from consumers.

Time is simulated: the sampler, the virtual chip and the circuits share one
fake monotonic clock that only moves when the sampler sleeps (or a test hook
moves it), so 30 s of sampling run in milliseconds and every count is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
import itertools
import logging
import threading

import pytest

from custom_components.iota_energy.core.circuit import ProfileCircuit
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.load_profiles import LoadProfile
from custom_components.iota_energy.core.metering import Meter
from custom_components.iota_energy.core.power_source import (
    Ina219Config,
    Ina219Source,
    Reading,
    SourceError,
)
from custom_components.iota_energy.core.sampler import (
    THREAD_NAME,
    Sample,
    Sampler,
    SamplerStats,
)

LOGGER = logging.getLogger("tests.sampler")
NS = 1_000_000_000
JOIN_TIMEOUT = 30.0  # generous: the machine is shared; runs take milliseconds


@dataclass
class FixedCircuit:
    bus_v: float = 5.0
    current_a: float = 0.02

    def operating_point(self) -> tuple[float, float]:
        return self.bus_v, self.current_a


@dataclass
class FakeTime:
    """A monotonic clock that sleeping advances; asks the sampler to stop at end."""

    end_ns: int
    ns: int = 0
    sampler: Sampler | None = None
    hooks: dict[int, Callable[[], None]] = field(default_factory=dict)

    def clock_ns(self) -> int:
        return self.ns

    def wall(self) -> float:
        return 1_700_000_000 + self.ns / NS

    def advance(self, seconds: float, *, at_least_ns: int = 0) -> None:
        target = self.ns + max(at_least_ns, round(seconds * NS))
        # Fire scheduled events (a chip unplugged at t = 2 s ...) on the way.
        for at_ns in sorted(self.hooks):
            if self.ns < at_ns <= target:
                self.hooks.pop(at_ns)()
        self.ns = target

    def sleep(self, seconds: float) -> None:
        self.advance(seconds, at_least_ns=1)  # a sleep always lets time pass
        if self.ns >= self.end_ns and self.sampler is not None:
            self.sampler.request_stop()


class CountingSource(Ina219Source):
    """The real source, remembering when it was opened."""

    def __init__(self, chip: VirtualIna219, fake: FakeTime) -> None:
        super().__init__(Ina219Config(), chip.i2c_interface)
        self.fake = fake
        self.open_attempts: list[int] = []
        self.read_seconds = 0.0

    def open(self) -> None:
        self.open_attempts.append(self.fake.ns)
        super().open()

    def read(self) -> Reading:
        self.fake.advance(self.read_seconds)
        return super().read()


@dataclass
class Chain:
    fake: FakeTime
    chip: VirtualIna219
    circuit: FixedCircuit
    source: CountingSource
    sampler: Sampler
    samples: list[Sample]

    def run(self) -> None:
        self.sampler.start()
        assert self.sampler.join(JOIN_TIMEOUT)


def make_chain(
    rate_hz: float,
    seconds: float,
    on_sample: Callable[[Sample], None] | None = None,
) -> Chain:
    fake = FakeTime(end_ns=round(seconds * NS))
    circuit = FixedCircuit()
    chip = VirtualIna219(circuit, clock_ns=fake.clock_ns)
    source = CountingSource(chip, fake)
    samples: list[Sample] = []

    def collect(sample: Sample) -> None:
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample)

    sampler = Sampler(
        source,
        rate_hz,
        collect,
        logger=LOGGER,
        clock_ns=fake.clock_ns,
        wall_clock=fake.wall,
        sleep=fake.sleep,
    )
    fake.sampler = sampler
    return Chain(fake, chip, circuit, source, sampler, samples)


def stamps(samples: list[Sample]) -> list[int]:
    return [sample.monotonic_ns for sample in samples]


@pytest.mark.parametrize("rate", [0.5, 50.5, float("nan"), float("inf")])
def test_rate_outside_1_to_50_hz_is_refused(rate: float) -> None:
    chain = make_chain(1, 1)
    with pytest.raises(ValueError, match="rate_hz"):
        Sampler(chain.source, rate, print, logger=LOGGER)


def test_fixed_rate_schedule_does_not_drift_with_slow_reads() -> None:
    chain = make_chain(10, 5)
    chain.source.read_seconds = 0.03  # every read costs 30 ms
    chain.run()
    period = NS // 10
    assert len(chain.samples) == 5 * 10
    # Stamped in the middle of each read, on the 100 ms grid, no drift.
    assert stamps(chain.samples) == [k * period + 15_000_000 for k in range(50)]
    assert all(sample.reading is not None for sample in chain.samples)
    assert chain.sampler.stats().missed_slots == 0


def test_falling_behind_skips_slots_instead_of_bursting() -> None:
    chain: Chain

    def stall_once(sample: Sample) -> None:
        if len(chain.samples) == 11:
            chain.fake.advance(0.35)  # a consumer stalls the thread for 350 ms

    chain = make_chain(10, 5, stall_once)
    chain.run()
    period = NS // 10
    taken = stamps(chain.samples)
    # Slots 1.1 s and 1.2 s are skipped; 1.3 s is taken late (at 1.35 s).
    assert chain.sampler.stats().missed_slots == 2
    assert len(taken) == 50 - 2
    assert min(b - a for a, b in itertools.pairwise(taken)) >= period // 2
    assert taken[11] == 1_350_000_000
    assert all(stamp % period == 0 for stamp in taken[12:])


def test_a_30_s_payment_does_not_cost_a_single_sample() -> None:
    """A payment holding things up for 30 s runs beside the sampler, not in it."""
    meter = Meter(max_gap_s=5)
    chain = make_chain(10, 30, meter.add)
    wallet_lock = threading.Lock()
    payment_started = threading.Event()
    payment_may_finish = threading.Event()
    seen_by_payment: list[int] = []

    def pay() -> None:
        with wallet_lock:
            payment_started.set()
            # Signing, proof of work, waiting for confirmation: held up until
            # the sampler has run through 30 s of its clock.
            payment_may_finish.wait(JOIN_TIMEOUT)
            seen_by_payment.append(meter.snapshot().samples)

    payment = threading.Thread(target=pay)
    payment.start()
    try:
        assert payment_started.wait(JOIN_TIMEOUT)
        chain.run()
        assert payment.is_alive()  # still "paying" while all samples arrived
        snapshot = meter.snapshot()
        assert snapshot.samples == 30 * 10
        assert chain.sampler.stats().missed_slots == 0
        assert snapshot.gaps == 0
        assert snapshot.covered_seconds == pytest.approx(29.9)
    finally:
        payment_may_finish.set()
        payment.join(JOIN_TIMEOUT)
    assert seen_by_payment == [300]


def test_missing_chip_is_probed_every_second_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    chain = make_chain(1, 40)
    chain.chip.present = False
    chain.fake.hooks[20 * NS] = lambda: setattr(chain.chip, "present", True)
    chain.run()
    # Documented policy: a probe every second, no back-off; the first probe
    # after the chip's return (t = 20 s) opens it.
    assert chain.source.open_attempts == [k * NS for k in range(21)]
    first_good = next(i for i, s in enumerate(chain.samples) if s.reading is not None)
    assert chain.samples[first_good].monotonic_ns == 20 * NS
    for sample in chain.samples[:first_good]:
        assert sample.reading is None
        assert sample.error is not None
        assert sample.error.kind == "missing"
    assert all(s.reading is not None for s in chain.samples[first_good:])
    assert all(s.reading.power_w > 0 for s in chain.samples[first_good:] if s.reading)
    ours = [r for r in caplog.records if r.name == LOGGER.name]
    # Home Assistant's log-when-unavailable rule: once at INFO each way.
    assert [r.levelno for r in ours if "unavailable" in r.getMessage()] == [
        logging.INFO
    ]
    assert [r.levelno for r in ours if "back" in r.getMessage()] == [logging.INFO]


@pytest.mark.parametrize("rate", [1, 3, 10, 50])
@pytest.mark.parametrize("outage_s", [0.05, 1.3, 20.0, 75.55])
def test_an_outage_costs_at_most_one_second_more_than_its_length(
    rate: float, outage_s: float, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    unplug_ns = round(7.37 * NS)  # off the sampling grid
    back_ns = unplug_ns + round(outage_s * NS)
    chain = make_chain(rate, outage_s + 20)
    chain.fake.hooks[unplug_ns] = lambda: setattr(chain.chip, "present", False)
    chain.fake.hooks[back_ns] = lambda: setattr(chain.chip, "present", True)
    chain.run()
    lost = [s for s in chain.samples if s.reading is None]
    period_s = chain.sampler.period_s
    assert len(lost) * period_s <= outage_s + 1.0 + 1e-9
    # Nothing is lost outside the outage, and it ends in good readings.
    assert lost
    assert all(unplug_ns < s.monotonic_ns <= back_ns + NS for s in lost)
    assert chain.samples[-1].reading is not None
    # Probes while the chip is away are never more than a second apart.
    probes = [at for at in chain.source.open_attempts if at > unplug_ns]
    assert all(b - a <= NS for a, b in itertools.pairwise(probes))
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER.name]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("back" in m for m in messages) == 1


@pytest.mark.parametrize("interval", [-0.1, 1.5, float("nan")])
def test_retry_interval_beyond_a_second_is_refused(interval: float) -> None:
    chain = make_chain(1, 1)
    with pytest.raises(ValueError, match="retry_interval_s"):
        Sampler(chain.source, 1, print, logger=LOGGER, retry_interval_s=interval)


def test_chip_that_vanishes_mid_run_is_a_gap_in_the_meter_then_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    meter = Meter(max_gap_s=0.5)
    chain = make_chain(10, 6, meter.add)
    chain.fake.hooks[2 * NS - 1] = lambda: setattr(chain.chip, "present", False)
    chain.fake.hooks[round(2.5 * NS)] = lambda: setattr(chain.chip, "present", True)
    chain.run()
    failed = [s for s in chain.samples if s.reading is None]
    assert failed
    assert {s.error.kind for s in failed if s.error} == {"missing"}
    snapshot = meter.snapshot()
    assert snapshot.gaps == 1
    assert snapshot.available
    assert snapshot.samples == len(chain.samples) - len(failed)
    # Reopened (configured again) after the chip returned: real power, no zeros.
    assert len(chain.source.open_attempts) >= 3
    assert all(s.reading.power_w > 0 for s in chain.samples if s.reading)
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER.name]
    assert sum("unavailable" in m for m in messages) == 1
    assert sum("back" in m for m in messages) == 1


def test_out_of_range_is_a_gap_without_reopening() -> None:
    chain: Chain

    def overload(sample: Sample) -> None:
        count = len(chain.samples)
        if count == 3:
            chain.circuit.current_a = 4.0  # 400 mV: beyond 320 mV
        elif count == 6:
            chain.circuit.current_a = 0.02

    chain = make_chain(1, 10, overload)
    chain.run()
    kinds = [s.error.kind if s.error else None for s in chain.samples]
    assert kinds[3:6] == ["range"] * 3
    assert kinds[:3] == [None] * 3
    assert kinds[6:] == [None] * 4
    assert len(chain.source.open_attempts) == 1


def test_consumer_exceptions_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(sample: Sample) -> None:
        raise RuntimeError("consumer bug")

    chain = make_chain(10, 1, broken)
    chain.run()
    assert len(chain.samples) == 10
    assert chain.sampler.stats().callback_errors == 10
    assert sum("on_sample failed" in r.getMessage() for r in caplog.records) == 1


def test_unexpected_driver_exception_is_an_io_gap_and_reopens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chain = make_chain(1, 5)
    original_read = chain.source.read
    calls = [0]

    def flaky_read() -> Reading:
        calls[0] += 1
        if calls[0] == 2:
            raise ZeroDivisionError("driver bug")
        return original_read()

    chain.source.read = flaky_read  # type: ignore[method-assign]
    chain.run()
    assert chain.samples[1].error is not None
    assert chain.samples[1].error.kind == "io"
    assert chain.samples[2].reading is not None
    assert len(chain.source.open_attempts) == 2
    assert any("Unexpected error" in r.getMessage() for r in caplog.records)


def test_real_thread_is_named_daemon_and_stop_closes_the_source() -> None:
    chip = VirtualIna219(FixedCircuit())
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    three = threading.Event()
    threads: list[threading.Thread] = []
    samples: list[Sample] = []

    def on_sample(sample: Sample) -> None:
        threads.append(threading.current_thread())
        samples.append(sample)
        if len(samples) >= 3:
            three.set()

    sampler = Sampler(source, 50, on_sample, logger=LOGGER)
    sampler.start()
    try:
        assert three.wait(JOIN_TIMEOUT)
        assert sampler.is_running
    finally:
        assert sampler.stop(JOIN_TIMEOUT)
    assert not sampler.is_running
    assert not source.is_open
    assert threads[0].name == THREAD_NAME
    assert threads[0].daemon
    assert all(isinstance(s.reading, Reading) for s in samples)
    increasing = stamps(samples)
    assert increasing == sorted(increasing)
    with pytest.raises(RuntimeError):
        sampler.start()


def test_stop_before_start_is_harmless() -> None:
    chain = make_chain(1, 1)
    assert chain.sampler.stop()
    assert not chain.source.is_open


def test_gap_samples_always_carry_an_error() -> None:
    chain = make_chain(5, 3)
    chain.chip.present = False
    chain.run()
    assert chain.samples
    for sample in chain.samples:
        assert sample.reading is None
        assert isinstance(sample.error, SourceError)


def test_whole_chain_meters_a_load_profile_through_the_real_driver() -> None:
    """Profile -> virtual chip -> pi-ina219 -> sampler -> meter, on one fake clock."""
    meter = Meter()
    fake = FakeTime(end_ns=60 * NS)
    profile = LoadProfile.led_on_off(on_w=0.057, on_s=20, off_s=10)
    circuit = ProfileCircuit(profile, bus_voltage_v=3.0, clock=lambda: fake.ns / NS)
    chip = VirtualIna219(circuit, clock_ns=fake.clock_ns)
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    sampler = Sampler(
        source,
        10,
        meter.add,
        logger=LOGGER,
        clock_ns=fake.clock_ns,
        wall_clock=fake.wall,
        sleep=fake.sleep,
    )
    fake.sampler = sampler
    sampler.start()
    assert sampler.join(JOIN_TIMEOUT)
    snapshot = meter.snapshot()
    last_stamp = round(snapshot.covered_seconds * NS)
    exact = profile.exact_energy_j(0, Fraction(last_stamp, NS))
    # Each LED edge costs up to half a period of the step in trapezoid error;
    # the shunt ADC's rounding (half of 10 uV over 0.1 ohm, at 3 V) all along.
    half_step_w = 0.5 * 10e-6 / 0.1 * 3.0
    bound = 2 * Fraction(0.057) * Fraction(1, 20) + Fraction(half_step_w) * 60
    assert abs(snapshot.energy_j - exact) <= bound
    assert snapshot.samples == 600
    assert snapshot.gaps == 0


@pytest.mark.parametrize("bus_v", [3.3, 5.0])
def test_full_read_path_is_within_0_1_percent_on_a_dimmer_of_5_to_60_mw(
    bus_v: float,
) -> None:
    """Sampler -> pi-ina219 -> virtual chip at 10 Hz on a slowly turned load.

    Where the meter fed exact samples is within 0.001 %, the power register
    read -0.3 to -0.6 % low (its truncation); the read path must add no bias.
    """
    meter = Meter()
    fake = FakeTime(end_ns=240 * NS)
    profile = LoadProfile.ramp(0.005, 0.060, 57.3)
    circuit = ProfileCircuit(profile, bus_voltage_v=bus_v, clock=lambda: fake.ns / NS)
    chip = VirtualIna219(circuit, clock_ns=fake.clock_ns)
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    sampler = Sampler(
        source,
        10,
        meter.add,
        logger=LOGGER,
        clock_ns=fake.clock_ns,
        wall_clock=fake.wall,
        sleep=fake.sleep,
    )
    fake.sampler = sampler
    sampler.start()
    assert sampler.join(JOIN_TIMEOUT)
    snapshot = meter.snapshot()
    exact = profile.exact_energy_j(
        0, Fraction(round(snapshot.covered_seconds * NS), NS)
    )
    assert float(snapshot.energy_j / exact - 1) == pytest.approx(0, abs=0.001)


def test_a_monotonic_clock_below_zero_samples_from_the_start() -> None:
    # A monotonic clock's origin is undefined: its values may be negative.
    chain = make_chain(1, 1)
    chain.fake.ns = -10 * NS
    chain.fake.end_ns = -7 * NS
    chain.run()
    assert stamps(chain.samples) == [-10 * NS, -9 * NS, -8 * NS]
    assert all(sample.reading is not None for sample in chain.samples)
    assert chain.source.open_attempts == [-10 * NS]


def test_stats_count_readings_gaps_and_the_source_state() -> None:
    chain = make_chain(1, 6)
    chain.chip.present = False
    chain.fake.hooks[3 * NS] = lambda: setattr(chain.chip, "present", True)
    chain.run()
    assert chain.sampler.stats() == SamplerStats(
        samples=3, failed=3, missed_slots=0, callback_errors=0, source_down=False
    )
    # A gap is stamped by both clocks like a reading.
    assert [(s.monotonic_ns, s.wall_time) for s in chain.samples[:3]] == [
        (k * NS, 1_700_000_000 + k) for k in range(3)
    ]


def test_a_source_that_stays_away_is_down_in_the_stats() -> None:
    chain = make_chain(2, 3)
    chain.chip.present = False
    chain.run()
    assert chain.sampler.stats() == SamplerStats(
        samples=0, failed=6, missed_slots=0, callback_errors=0, source_down=True
    )


def test_an_outage_is_logged_once_with_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    chain = make_chain(1, 3)
    chain.chip.present = False
    chain.run()
    error = chain.samples[0].error
    assert error is not None
    assert error.kind == "missing"
    assert "INA219 at 0x40" in str(error)  # the source's own error, not a stand-in
    assert [repr(s.error) for s in chain.samples] == [repr(error)] * 3
    ours = [r.getMessage() for r in caplog.records if r.name == LOGGER.name]
    assert ours == [f"Power source unavailable (missing): {error}"]


def test_an_unexpected_error_while_opening_is_an_io_gap() -> None:
    chain = make_chain(1, 2)

    def broken_open() -> None:
        chain.source.open_attempts.append(chain.fake.ns)
        raise ZeroDivisionError("driver bug")

    chain.source.open = broken_open  # type: ignore[method-assign]
    chain.run()
    kinds = [(s.error.kind, str(s.error)) if s.error else None for s in chain.samples]
    assert kinds == [("io", "unexpected: ZeroDivisionError('driver bug')")] * 2


def test_stop_gives_up_after_its_timeout_while_the_thread_is_busy() -> None:
    release = threading.Event()
    first = threading.Event()

    def busy(sample: Sample) -> None:
        first.set()
        release.wait(JOIN_TIMEOUT)

    chip = VirtualIna219(FixedCircuit())
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    sampler = Sampler(source, 10, busy, logger=LOGGER)
    sampler.start()
    try:
        assert first.wait(JOIN_TIMEOUT)
        assert not sampler.stop(0)  # a consumer holds the thread
    finally:
        release.set()
    assert sampler.stop(JOIN_TIMEOUT)


@pytest.mark.parametrize("interval", [0, 1])
def test_retry_interval_bounds_are_allowed(interval: float) -> None:
    chain = make_chain(1, 1)
    Sampler(chain.source, 1, print, logger=LOGGER, retry_interval_s=interval)


def test_retry_interval_error_says_what_is_wrong() -> None:
    chain = make_chain(1, 1)
    with pytest.raises(
        ValueError, match=r"^retry_interval_s must be between 0 and 1 s$"
    ):
        Sampler(chain.source, 1, print, logger=LOGGER, retry_interval_s=2)


def test_a_second_start_says_what_is_wrong() -> None:
    chain = make_chain(1, 1)
    chain.run()
    with pytest.raises(RuntimeError, match=r"^a sampler can be started once$"):
        chain.sampler.start()


def make_probing_chain(rate_hz: float, seconds: float, retry_s: float) -> Chain:
    chain = make_chain(rate_hz, seconds)
    chain.sampler = Sampler(
        chain.source,
        rate_hz,
        chain.samples.append,
        logger=LOGGER,
        clock_ns=chain.fake.clock_ns,
        wall_clock=chain.fake.wall,
        sleep=chain.fake.sleep,
        retry_interval_s=retry_s,
    )
    chain.fake.sampler = chain.sampler
    chain.chip.present = False
    return chain


def test_at_2_hz_a_missing_chip_is_probed_every_other_slot() -> None:
    chain = make_probing_chain(2, 3, 1)
    chain.run()
    assert chain.source.open_attempts == [0, NS, 2 * NS]
    # The slots between probes are gaps with the last probe's error.
    first = chain.samples[0].error
    assert first is not None
    assert "INA219 at 0x40" in str(first)
    assert [repr(s.error) for s in chain.samples] == [repr(first)] * 6


def test_a_retry_interval_of_0_probes_every_slot() -> None:
    chain = make_probing_chain(2, 2, 0)
    chain.run()
    assert chain.source.open_attempts == [k * NS // 2 for k in range(4)]


def test_probes_stay_within_the_retry_interval_when_slots_do_not_divide_it() -> None:
    # 142 857 143 ns slots: seven of them are 1 ns more than a second.
    chain = make_probing_chain(1e9 / 142_857_143, 3, 1)
    assert chain.sampler.period_s == 0.142857143
    chain.run()
    assert chain.source.open_attempts == [k * 6 * 142_857_143 for k in range(4)]


def test_a_stall_of_exactly_two_slots_skips_one_without_a_burst() -> None:
    chain: Chain
    stalls = {11: 0.2, 30: 0.3}  # two stalls: the skipped slots add up

    def stall(sample: Sample) -> None:
        chain.fake.advance(stalls.pop(len(chain.samples), 0))

    chain = make_chain(10, 5, stall)
    chain.run()
    taken = stamps(chain.samples)
    assert chain.sampler.stats().missed_slots == 1 + 2
    assert len(taken) == 50 - 3
    assert all(a < b for a, b in itertools.pairwise(taken))


def test_a_read_is_stamped_in_its_middle_in_whole_nanoseconds() -> None:
    chain = make_chain(1, 3)
    chain.source.read_seconds = 3e-9  # before + after is odd: the middle rounds down
    chain.run()
    assert [(s.monotonic_ns, s.wall_time) for s in chain.samples] == [
        (k * NS + 1, 1_700_000_000 + (k * NS + 3) / NS) for k in range(3)
    ]
    assert all(type(s.monotonic_ns) is int for s in chain.samples)


def test_unexpected_errors_are_logged_by_what_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    chain = make_chain(1, 4)
    original_read = chain.source.read
    original_open = chain.source.open
    opens = [0]

    def flaky_open() -> None:
        opens[0] += 1
        if opens[0] == 1:
            chain.source.open_attempts.append(chain.fake.ns)
            raise ZeroDivisionError("open bug")
        original_open()

    def flaky_read() -> Reading:
        if chain.fake.ns == 2 * NS:
            raise ZeroDivisionError("read bug")
        return original_read()

    chain.source.open = flaky_open  # type: ignore[method-assign]
    chain.source.read = flaky_read  # type: ignore[method-assign]
    chain.run()
    gaps = [(s.monotonic_ns, repr(s.error)) for s in chain.samples if s.error]
    assert gaps == [
        (0, "SourceError('io', \"unexpected: ZeroDivisionError('open bug')\")"),
        (2 * NS, "SourceError('io', \"unexpected: ZeroDivisionError('read bug')\")"),
    ]
    ours = [
        (r.levelno, r.getMessage(), bool(r.exc_info))
        for r in caplog.records
        if r.name == LOGGER.name
    ]
    unavailable = "Power source unavailable (io): unexpected: ZeroDivisionError"
    assert ours == [
        (logging.ERROR, "Unexpected error opening the power source", True),
        (logging.INFO, f"{unavailable}('open bug')", False),
        (logging.INFO, "Power source is back", False),
        (logging.ERROR, "Unexpected error reading the power source", True),
        (logging.INFO, f"{unavailable}('read bug')", False),
        (logging.INFO, "Power source is back", False),
    ]


def test_the_first_consumer_failure_is_logged_even_if_it_stays_the_only_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fails_once(sample: Sample) -> None:
        if len(chain.samples) == 1:
            raise RuntimeError("consumer bug")

    chain = make_chain(10, 1, fails_once)
    chain.run()
    assert chain.sampler.stats().callback_errors == 1
    ours = [
        (r.getMessage(), bool(r.exc_info))
        for r in caplog.records
        if r.name == LOGGER.name
    ]
    assert ours == [("on_sample failed; further failures are counted", True)]


def test_a_source_that_fails_to_close_is_logged_at_debug_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    chain = make_chain(1, 2)

    def broken_close() -> None:
        raise OSError("bus gone")

    # Once opened: opening closes first.
    chain.fake.hooks[NS] = lambda: setattr(chain.source, "close", broken_close)
    chain.run()
    assert chain.sampler.stats().samples == 2
    ours = [
        (r.levelno, r.getMessage(), bool(r.exc_info))
        for r in caplog.records
        if r.name == LOGGER.name
    ]
    assert ours == [(logging.DEBUG, "Closing the power source failed", True)]


def test_stats_of_a_run_without_trouble() -> None:
    chain = make_chain(1, 2)
    assert chain.sampler.stats() == SamplerStats(0, 0, 0, 0, source_down=False)
    chain.run()
    assert chain.sampler.stats() == SamplerStats(2, 0, 0, 0, source_down=False)
