"""The whole path below Home Assistant: samples in, statements out.

One ``EnergyAccount`` per metered circuit holds the meter, the billing engine
and the price tracker, and does everything between them:

* it takes samples (``add``, from the sampler thread);
* it hands the energy metered since the last call to billing at the price in
  force (``advance``), never energy from beyond a period boundary;
* it closes a period only once the meter knows the energy up to its boundary
  exactly: the segment spanning the boundary is split there (see the meter's
  *cut*), so each statement holds the integral over its own period. Right
  after a boundary that takes until the next reading (or, in an outage,
  until the open segment can no longer be bridged: at most ``max_gap_s``);
* it closes a period incomplete when metering did not run through all of it:
  an unbridged gap, a sampler outage, a restart, or a start after the
  period's start; each statement carries the seconds the meter covered;
* it returns the closed statements oldest first: the shell records them
  durably in that order, then announces them.

The shell only schedules (calls ``advance`` at boundaries and publish ticks,
again after ``retry_s`` while a close waits for the meter), persists
(``export_state``, the statements) and publishes. Times come in as arguments:
``now`` (aware wall-clock datetime) and ``now_ns`` (the monotonic clock the
samples are stamped with).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
import logging
from typing import Any

from .billing import BillingEngine, OpenPeriod
from .ledger import Statement
from .metering import Meter, MeterCut
from .numbers import is_int
from .pricing import PriceTracker
from .sampler import Sample

_LOGGER = logging.getLogger(__name__)
_NS_PER_S = 1_000_000_000
# How soon to look again while a boundary waits for the meter's next reading.
CLOSE_RETRY_S = 0.25


@dataclass(frozen=True, slots=True)
class PeriodStart:
    """The meter's totals where the open period began (persisted).

    ``covered`` says metering ran through the period's start.
    """

    covered_ns: int
    gaps: int
    covered: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "covered_ns": self.covered_ns,
            "gaps": self.gaps,
            "covered": self.covered,
        }

    @classmethod
    def from_dict(cls, data: object) -> PeriodStart:
        """Read ``to_dict``'s form; ValueError if malformed."""
        if not isinstance(data, Mapping) or set(data) != {
            "covered_ns",
            "gaps",
            "covered",
        }:
            raise ValueError(f"period start is malformed: {data!r}")
        covered_ns, gaps, covered = data["covered_ns"], data["gaps"], data["covered"]
        for name, value in (("covered_ns", covered_ns), ("gaps", gaps)):
            if not is_int(value) or value < 0:
                raise ValueError(f"period start {name} must be a whole number >= 0")
        if not isinstance(covered, bool):
            raise ValueError("period start covered must be a bool")
        return cls(covered_ns=covered_ns, gaps=gaps, covered=covered)

    @classmethod
    def now_of(cls, meter: Meter, *, covered: bool) -> PeriodStart:
        snapshot = meter.snapshot()
        return cls(snapshot.covered_ns, snapshot.gaps, covered)

    @classmethod
    def at_cut(cls, cut: MeterCut) -> PeriodStart:
        return cls(cut.covered_ns, cut.gaps, cut.covered)


class EnergyAccount:
    """Meter, billing and prices of one circuit, driven by the shell's clock."""

    def __init__(
        self,
        meter: Meter,
        engine: BillingEngine,
        prices: PriceTracker,
        *,
        billed_energy_j: Fraction = Fraction(0),
        period_start: PeriodStart | None = None,
    ) -> None:
        if billed_energy_j < 0:
            raise ValueError("billed energy is never negative")
        self.meter = meter
        self.engine = engine
        self.prices = prices
        self._billed_energy_j = billed_energy_j
        # None only for state written before period starts were recorded.
        self._period_start = period_start

    @property
    def billed_energy_j(self) -> Fraction:
        """Lifetime energy (J) of the meter already handed to billing."""
        return self._billed_energy_j

    @property
    def period_start(self) -> PeriodStart | None:
        return self._period_start

    @property
    def open_period(self) -> OpenPeriod:
        return self.engine.open_period

    def add(self, sample: Sample) -> None:
        """Take one sample (the sampler thread's callback)."""
        self.meter.add(sample)

    # --- the path ------------------------------------------------------------

    def start(self, now: datetime) -> list[Statement]:
        """Catch up after start-up (missed and ended periods); oldest first."""
        if self._period_start is not None:
            # The restored period: what the meter covered of it before the stop.
            self._note_coverage(self.engine.open_period, self._period_start)
        closed = self.engine.start(now)
        if closed or self._period_start is None:
            # A period opened now: whatever ran before is not metering it.
            self._period_start = PeriodStart.now_of(self.meter, covered=False)
        self._request_cut()
        self._bill()
        return closed

    def advance(self, now: datetime, now_ns: int) -> list[Statement]:
        """Bill what was metered; close the period if its boundary is settled.

        Returns the statements closed, oldest first (usually none, or one at
        a boundary). While ``closing_pending(now)`` holds, call again after
        ``CLOSE_RETRY_S``.
        """
        closed: list[Statement] = []
        while now >= (boundary := self.engine.next_boundary()):
            cut = self.meter.take_cut(now_ns, now.timestamp())
            if cut is None:
                # The segment spanning the boundary is still open: all energy
                # so far lies before it; the close waits for the next reading.
                break
            if cut.wall_time != boundary.timestamp():
                self._request_cut()
                break
            closed.extend(self._close_at(boundary, cut))
        self._bill()
        return closed

    def _close_at(self, boundary: datetime, cut: MeterCut) -> list[Statement]:
        """Close the open period at its boundary with the meter's totals there."""
        self._bill(up_to=cut.energy_j)
        start = self._period_start
        assert start is not None
        self._note_coverage(self.engine.open_period, start, cut.covered_ns)
        if not (start.covered and cut.covered and cut.gaps == start.gaps):
            self.engine.mark_incomplete()
        # Rolled at the boundary itself: however late this runs, the periods
        # after it close one by one, each with its own cut.
        closed = self.engine.roll(boundary)
        self._period_start = PeriodStart.at_cut(cut)
        self._request_cut()
        return closed

    def close_now(self, now: datetime, now_ns: int) -> list[Statement]:
        """Close the open period at ``now`` (a manual close); oldest first.

        A boundary that passed a moment ago is closed first. Empty when there
        is nothing to close: the period began at ``now``, or its boundary
        passed and still waits for the meter.
        """
        closed = self.advance(now, now_ns)
        current = self.engine.open_period
        if not current.period.start < now < current.period.end:
            return closed
        start = self._period_start
        assert start is not None
        self._bill()
        snapshot = self.meter.snapshot()
        bridging = self.meter.bridging(now_ns)
        self._note_coverage(current, start, snapshot.covered_ns)
        if not (start.covered and bridging and snapshot.gaps == start.gaps):
            self.engine.mark_incomplete()
        closed.append(self.engine.close_now(now))
        self._period_start = PeriodStart(snapshot.covered_ns, snapshot.gaps, bridging)
        self._request_cut()
        return closed

    def closing_pending(self, now: datetime) -> bool:
        """The open period's boundary passed, and its close waits for the meter."""
        return now >= self.engine.next_boundary()

    def bill_at_today_price(self) -> None:
        """Bill what was metered so far (before a save or a stop)."""
        self._bill()

    def update_price(self, state: str | None, unit: str | None) -> None:
        """A new price from the price entity: what was metered so far is
        billed at the old one first (it was consumed while that was in force).
        """
        if self.engine.started:
            self._bill()
        self.prices.update(state, unit)

    # --- what the shell shows --------------------------------------------------

    def coverage_pct(self, now: datetime) -> float | None:
        """Share of the open period so far that the meter covered (None: too soon)."""
        start = self._period_start
        if start is None:
            return None
        elapsed_s = (now - self.engine.open_period.period.start).total_seconds()
        if elapsed_s < 1.0:
            return None
        covered_s = (self.meter.snapshot().covered_ns - start.covered_ns) / _NS_PER_S
        return max(0.0, min(100.0, 100.0 * covered_s / elapsed_s))

    def period_complete(self, now_ns: int) -> bool:
        """Whether the open period has been metered without a break so far."""
        start = self._period_start
        return (
            start is not None
            and self.engine.open_period.complete
            and start.covered
            and self.meter.snapshot().gaps == start.gaps
            and self.meter.bridging(now_ns)
        )

    def export_state(self) -> dict[str, Any]:
        """The account's own bookkeeping (meter, engine, prices export their own)."""
        return {
            "period_start": None
            if self._period_start is None
            else self._period_start.to_dict()
        }

    # --- internals -----------------------------------------------------------------

    def _bill(self, up_to: Fraction | None = None) -> None:
        """Hand energy metered since the last call to billing, at today's price.

        Never past a boundary the meter has already cut: energy after it
        belongs to the next period and waits for the roll.
        """
        if up_to is None:
            up_to = self.meter.energy_before_cut()
        delta = up_to - self._billed_energy_j
        if delta > 0:
            self.engine.add_energy(delta, self.prices.current())
            self._billed_energy_j = up_to
        elif delta < 0:
            # The meter's total never decreases; if it ever does, bill nothing twice.
            _LOGGER.warning("Meter total went backwards by %s J; ignored", -delta)
            self._billed_energy_j = up_to

    def _note_coverage(
        self, period: OpenPeriod, start: PeriodStart, covered_ns: int | None = None
    ) -> None:
        if covered_ns is None:
            covered_ns = self.meter.snapshot().covered_ns
        period.covered_seconds = max(0, covered_ns - start.covered_ns) / _NS_PER_S

    def _request_cut(self) -> None:
        self.meter.request_cut(self.engine.next_boundary().timestamp())
