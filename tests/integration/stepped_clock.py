"""A clock the test moves, so the real sampler produces the same values each run.

The integration's sampler thread reads the real pi-ina219 driver over the
virtual chip; only *when* it reads comes from here. The thread's sleep blocks
until the test moves the clock on, then runs every due sampling slot at once.
Wall time, ``dt_util.utcnow`` and the coordinator's monotonic clock all follow
the same fake clock, so energy, cost, coverage and timestamps are exact.

(pytest's ``freezer`` cannot do this: it freezes ``time.monotonic`` for the
sampler thread too, whose ``Event.wait`` then never returns.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from datetime import UTC, datetime
import logging
import threading
import time
from types import SimpleNamespace
from unittest.mock import patch

from homeassistant.util import dt as dt_util
import pytest

from custom_components.iota_energy import (
    coordinator as coordinator_module,
    setup_entry as setup_entry_module,
)
from custom_components.iota_energy.core.power_source import PowerSource
from custom_components.iota_energy.core.sampler import Sample, Sampler

_NS_PER_S = 1_000_000_000
# Far ahead of the real date: Home Assistant's own timers (armed on the real
# clock) for the fake period boundaries never fire during a test.
START = datetime(2030, 3, 15, 12, 59, 0, tzinfo=UTC)
# Any fixed origin; the meter only looks at differences.
_ORIGIN_NS = 10_000 * _NS_PER_S
_WAIT_POLL_S = 0.05


class SteppedClock:
    """Monotonic and wall time that move only when the test says so."""

    def __init__(self, start: datetime = START) -> None:
        self._cond = threading.Condition()
        self._now_ns = _ORIGIN_NS
        self._limit_ns = _ORIGIN_NS
        self._wall_origin = start.timestamp()
        self._idle = False

    def monotonic_ns(self) -> int:
        with self._cond:
            return self._now_ns

    def wall(self) -> float:
        with self._cond:
            return self._wall_origin + (self._now_ns - _ORIGIN_NS) / _NS_PER_S

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)

    def sleep(self, seconds: float) -> None:
        """The sampler's sleep: moves the clock, but never past the test's limit.

        Blocked at the limit it returns after a short wait without moving, so
        the sampler's loop still sees a stop request.
        """
        with self._cond:
            target = self._now_ns + round(seconds * _NS_PER_S)
            if target > self._limit_ns:
                self._idle = True
                self._cond.notify_all()
                self._cond.wait(_WAIT_POLL_S)
                return
            self._now_ns = target

    async def advance(self, seconds: float, limit_s: float = 20) -> None:
        """Let ``seconds`` pass: the sampler takes every sample due until then."""
        with self._cond:
            self._limit_ns += round(seconds * _NS_PER_S)
            self._idle = False
            self._cond.notify_all()
        await self.wait_idle(limit_s)

    async def wait_idle(self, limit_s: float = 20) -> None:
        """Wait until the sampler has taken every sample due so far."""
        deadline = time.monotonic() + limit_s
        while True:
            with self._cond:
                if self._idle:
                    return
            assert time.monotonic() < deadline, "the sampler did not catch up"
            await asyncio.sleep(0.01)


def _sampler_factory(clock: SteppedClock) -> Callable[..., Sampler]:
    def build(
        source: PowerSource,
        rate_hz: float,
        on_sample: Callable[[Sample], None],
        *,
        logger: logging.Logger,
    ) -> Sampler:
        return Sampler(
            source,
            rate_hz,
            on_sample,
            logger=logger,
            clock_ns=clock.monotonic_ns,
            wall_clock=clock.wall,
            sleep=clock.sleep,
        )

    return build


@pytest.fixture
def stepped_clock() -> Generator[SteppedClock]:
    """Sampler, coordinator and ``dt_util.utcnow`` on one clock the test moves."""
    clock = SteppedClock()
    with (
        patch.object(setup_entry_module, "Sampler", _sampler_factory(clock)),
        patch.object(
            coordinator_module,
            "time",
            SimpleNamespace(monotonic_ns=clock.monotonic_ns),
        ),
        patch.object(dt_util, "utcnow", clock.utcnow),
    ):
        yield clock
