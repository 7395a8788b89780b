"""Reads a power source at a fixed rate on its own thread.

The sampler is the only thing that waits on the chip, and nothing waits on the
sampler: each sample goes straight to ``on_sample`` (the meter, which only
adds a few numbers under a lock), so a payment being signed, slow storage or a
busy event loop never delays a read.

Schedule: slot ``k`` is due at ``start + k * period`` on the monotonic clock.
A late slot is still taken, at once; if the sampler fell so far behind that
later slots are also due, those earlier slots are skipped and counted in
``missed_slots`` rather than read in a burst (a burst would bunch samples
together and tell the meter nothing new).

Failures never stop the thread. A failed read is delivered as a sample with
``reading=None`` and the error (a gap for the meter, never a zero). When the
chip does not answer, the source is closed and opened again at the next slot,
then at the last slot at most ``retry_interval_s`` (1 s) after each failed
attempt, for as long as it stays away: no growing back-off, because probing
a missing chip costs one unanswered I2C address byte, while every second
between its return and the next probe is a second of energy not measured. An
outage of D seconds therefore costs at most D + 1 s of readings (gap samples).
Every slot in between still yields a gap sample. Losing and regaining the
chip are each logged once per outage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
import math
import threading
import time

from .power_source import PowerSource, Reading, SourceError

MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 50.0
DEFAULT_RATE_HZ = 10.0  # see README, "Accuracy": the benchmark behind it
MAX_RETRY_INTERVAL_S = 1.0
THREAD_NAME = "iota_energy_sampler"


@dataclass(frozen=True, slots=True)
class Sample:
    """One slot's outcome: a reading or the error that took its place."""

    monotonic_ns: int
    wall_time: float
    reading: Reading | None
    error: SourceError | None


@dataclass(frozen=True, slots=True)
class SamplerStats:
    samples: int
    failed: int
    missed_slots: int
    callback_errors: int
    source_down: bool


def validate_rate(rate_hz: float) -> float:
    if not (math.isfinite(rate_hz) and MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ):
        raise ValueError(
            f"rate_hz must be between {MIN_RATE_HZ:g} and {MAX_RATE_HZ:g} samples/s"
        )
    return float(rate_hz)


class Sampler:
    """A daemon thread reading ``source`` every ``1 / rate_hz`` seconds."""

    # Keyword-only injection points (clocks, sleep, logger) so tests drive time.
    def __init__(  # noqa: PLR0913
        self,
        source: PowerSource,
        rate_hz: float,
        on_sample: Callable[[Sample], None],
        *,
        logger: logging.Logger,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
        retry_interval_s: float = MAX_RETRY_INTERVAL_S,
    ) -> None:
        if not (math.isfinite(retry_interval_s) and 0 <= retry_interval_s <= 1):
            raise ValueError("retry_interval_s must be between 0 and 1 s")
        self._period_ns = round(1e9 / validate_rate(rate_hz))
        self._source = source
        self._on_sample = on_sample
        self._logger = logger
        self._clock_ns = clock_ns
        self._wall_clock = wall_clock
        self._stop = threading.Event()
        # The default sleep wakes up as soon as stop() is called.
        self._sleep = sleep if sleep is not None else self._stop.wait
        self._retry_interval_ns = round(retry_interval_s * 1e9)
        self._thread: threading.Thread | None = None
        # Owned by the sampler thread; others only read these counters.
        self._samples = 0
        self._failed = 0
        self._missed_slots = 0
        self._callback_errors = 0
        self._open = False
        self._down = False
        # None: open at the next slot (a monotonic clock may well be negative).
        self._retry_at_ns: int | None = None
        self._last_error: SourceError | None = None

    @property
    def period_s(self) -> float:
        return self._period_ns / 1e9

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> SamplerStats:
        return SamplerStats(
            samples=self._samples,
            failed=self._failed,
            missed_slots=self._missed_slots,
            callback_errors=self._callback_errors,
            source_down=self._down,
        )

    def start(self) -> None:
        """Start the thread; the source is opened there, not here."""
        if self._thread is not None:
            raise RuntimeError("a sampler can be started once")
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to finish after the current slot; does not wait."""
        self._stop.set()

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Stop, join the thread (which closes the source); True once it ended."""
        self._stop.set()
        return self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (after ``request_stop``); True if it did."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- the thread -------------------------------------------------------------

    def _run(self) -> None:
        period = self._period_ns
        deadline = self._clock_ns()
        try:
            while not self._stop.is_set():
                now = self._clock_ns()
                if now < deadline:
                    self._sleep((deadline - now) / 1e9)
                    continue
                self._deliver(self._take_sample(now))
                deadline += period
                now = self._clock_ns()
                if now >= deadline + period:
                    # Behind by more than a slot: keep the latest due slot only.
                    skipped = (now - deadline) // period
                    self._missed_slots += skipped
                    deadline += skipped * period
        finally:
            self._close_source()

    def _take_sample(self, now: int) -> Sample:
        if not self._open and not self._try_open(now):
            # _try_open says no only after an open failed, which recorded why.
            assert self._last_error is not None
            return self._gap(now, self._last_error)
        before = self._clock_ns()
        try:
            reading = self._source.read()
        except SourceError as err:
            return self._failed_read(before, err)
        except Exception as err:  # a driver bug must not kill metering
            self._logger.exception("Unexpected error reading the power source")
            return self._failed_read(before, SourceError("io", f"unexpected: {err!r}"))
        # Stamp the middle of the read: the chip's conversion sits about there.
        stamp = (before + self._clock_ns()) // 2
        if self._down:
            self._down = False
            self._logger.info("Power source is back")
        self._samples += 1
        return Sample(stamp, self._wall_clock(), reading, None)

    def _failed_read(self, stamp: int, err: SourceError) -> Sample:
        if err.kind != "range":
            # The chip may have been power-cycled and lost its calibration:
            # open (configure) it again before trusting another reading.
            self._close_source()
            self._retry_at_ns = None
        self._mark_down(err)
        return self._gap(stamp, err)

    def _try_open(self, now: int) -> bool:
        if self._retry_at_ns is not None and now < self._retry_at_ns:
            return False
        try:
            self._source.open()
        except SourceError as err:
            self._mark_down(err)
        except Exception as err:  # same reason as in _take_sample
            self._logger.exception("Unexpected error opening the power source")
            self._mark_down(SourceError("io", f"unexpected: {err!r}"))
        else:
            self._open = True
            return True
        # Due at the last slot that is at most retry_interval after this one,
        # so probes are never further apart than that, whatever the rate.
        self._retry_at_ns = now + self._retry_interval_ns - self._period_ns + 1
        return False

    def _mark_down(self, err: SourceError) -> None:
        self._last_error = err
        if not self._down:
            self._down = True
            # Once, at INFO, and once when it is back (Home Assistant's
            # log-when-unavailable rule): an outage is not an error of ours.
            self._logger.info("Power source unavailable (%s): %s", err.kind, err)

    def _gap(self, stamp: int, err: SourceError) -> Sample:
        self._failed += 1
        return Sample(stamp, self._wall_clock(), None, err)

    def _deliver(self, sample: Sample) -> None:
        try:
            self._on_sample(sample)
        except Exception:  # a consumer's bug must not stop sampling
            self._callback_errors += 1
            if self._callback_errors == 1:
                self._logger.exception("on_sample failed; further failures are counted")

    def _close_source(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._source.close()
        except Exception:  # closing is best effort
            self._logger.debug("Closing the power source failed", exc_info=True)
