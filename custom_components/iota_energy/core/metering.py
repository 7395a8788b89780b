"""Energy from samples: the trapezoid rule on real timestamps, kept exact.

Between two consecutive good readings at most ``max_gap_s`` apart the meter
adds ``(p0 + p1) / 2 * dt``. A failed read in between does not break that: a
missed slot or two is bridged by the straight line between its neighbours.
An interval longer than ``max_gap_s`` is a gap: nothing is added for it, it is
counted, and its length is recorded. The default bound, 5 s, bridges a few
lost reads at 1 Hz but not a chip that was unplugged.

The lifetime energy is a ``Fraction`` of joules. Readings are floats (exact
binary fractions) and stamps are integer nanoseconds, so every term is an exact
rational whose denominator is a power of two times 2 * 10**9: the sum's
denominator stays bounded and nothing is rounded until display. The total can
only grow, because power readings below zero are refused.

After a restart (:meth:`Meter.from_state`) the first sample starts a new
segment: the downtime is never integrated; it counts as one gap, with its
length taken from the wall clock.

A *cut* gives the totals at one wall-clock instant, a period boundary, so
that each period holds exactly its own energy. Samples carry both clocks; the
boundary is placed on the monotonic axis through the clock pair of the sample
that opens the segment spanning it, and that segment's trapezoid is split at
the boundary (the power there interpolated on the straight line). A cut
resolves when the segment spanning it closes, or when no segment can span it
any more (nothing bridgeable is open and the boundary has passed); it then
also says whether metering ran through the boundary (``covered``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
import math
import threading
from typing import Any

from .numbers import format_fraction, is_int, parse_fraction
from .power_source import Reading
from .sampler import Sample

DEFAULT_MAX_GAP_S = 5.0
STATE_VERSION = 1
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class MeterSnapshot:
    """What the meter knows at one moment."""

    energy_j: Fraction
    last_reading: Reading | None
    available: bool
    samples: int
    failed_samples: int
    gaps: int
    gap_seconds: float
    covered_seconds: float
    last_sample_wall: float | None
    covered_ns: int = 0

    @property
    def energy_wh(self) -> Fraction:
        return self.energy_j / 3600


@dataclass(frozen=True, slots=True)
class MeterCut:
    """The meter's totals at one wall-clock instant (see :meth:`Meter.request_cut`).

    ``covered`` is True when a bridged segment ran through the instant, False
    when the instant fell into a gap (or before the first reading).
    """

    wall_time: float
    energy_j: Fraction
    covered_ns: int
    gaps: int
    covered: bool


class Meter:
    """Integrates samples; fed from the sampler thread, read from anywhere."""

    def __init__(
        self,
        *,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        if not (math.isfinite(max_gap_s) and max_gap_s > 0):
            raise ValueError("max_gap_s must be a positive number of seconds")
        self._max_gap_ns = round(max_gap_s * _NS_PER_S)
        self._lock = threading.Lock()
        self._energy_j = Fraction(0)
        self._samples = 0
        self._failed = 0
        self._gaps = 0
        self._gap_ns = 0
        self._covered_ns = 0
        self._last_sample_wall: float | None = None
        # The open segment: stamp and power of its latest good reading.
        self._segment_ns: int | None = None
        self._segment_wall = 0.0
        self._segment_power: Fraction = Fraction(0)
        # The latest sample's clock pair, to place a cut when no segment is open.
        self._latest_wall: float | None = None
        self._cut_wall: float | None = None
        self._cut: MeterCut | None = None
        self._last_reading: Reading | None = None
        self._latest_ns: int | None = None
        self._gap_counted = False
        self._restored = False
        if state is not None:
            self._load(state)

    @property
    def max_gap_s(self) -> float:
        return self._max_gap_ns / _NS_PER_S

    def add(self, sample: Sample) -> None:
        """Take one sample (cheap: called on the sampler thread)."""
        reading = sample.reading
        power = _valid_power(reading)
        with self._lock:
            stamp = sample.monotonic_ns
            if self._latest_ns is not None and stamp <= self._latest_ns:
                # Out of order or a repeated stamp: never pair across it.
                self._close_segment_without_energy()
            self._latest_ns = stamp
            self._latest_wall = sample.wall_time
            if power is None or reading is None:
                self._failed += 1
                self._note_gap_if_too_long(stamp)
                self._settle_cut(stamp, sample.wall_time)
                return
            if self._segment_ns is None:
                # Nothing spans a cut at or before this first reading.
                self._settle_cut(stamp, sample.wall_time, bridgeable=False)
                self._count_restart_gap(sample.wall_time)
            else:
                elapsed = stamp - self._segment_ns
                if elapsed <= self._max_gap_ns:
                    self._cut_segment(stamp, power)
                    self._energy_j += (
                        (self._segment_power + power) * elapsed / (2 * _NS_PER_S)
                    )
                    self._covered_ns += elapsed
                else:
                    self._settle_cut(stamp, sample.wall_time, bridgeable=False)
                    if not self._gap_counted:
                        self._gaps += 1
                    self._gap_ns += elapsed
            self._gap_counted = False
            self._segment_ns = stamp
            self._segment_wall = sample.wall_time
            self._segment_power = power
            self._last_reading = reading
            self._last_sample_wall = sample.wall_time
            self._samples += 1

    def snapshot(self, now_ns: int | None = None) -> MeterSnapshot:
        """The current totals.

        Pass the monotonic ``now_ns`` to also treat a meter that has heard
        nothing for ``max_gap_s`` (a stalled sampler) as unavailable.
        """
        with self._lock:
            available = False
            if self._segment_ns is not None and self._latest_ns is not None:
                reference = (
                    self._latest_ns if now_ns is None else max(now_ns, self._latest_ns)
                )
                available = reference - self._segment_ns <= self._max_gap_ns
            return MeterSnapshot(
                energy_j=self._energy_j,
                last_reading=self._last_reading if available else None,
                available=available,
                samples=self._samples,
                failed_samples=self._failed,
                gaps=self._gaps,
                gap_seconds=self._gap_ns / _NS_PER_S,
                covered_seconds=self._covered_ns / _NS_PER_S,
                last_sample_wall=self._last_sample_wall,
                covered_ns=self._covered_ns,
            )

    def request_cut(self, wall_time: float) -> None:
        """Ask for the totals at ``wall_time`` (epoch seconds); replaces any other."""
        if not math.isfinite(wall_time):
            raise ValueError("a cut needs a finite wall time")
        with self._lock:
            self._cut_wall = wall_time
            self._cut = None

    def take_cut(self, now_ns: int, now_wall: float) -> MeterCut | None:
        """The requested cut once it is resolved (then forgotten), else None.

        ``now_ns``/``now_wall`` let a cut resolve while no sample arrives (a
        stalled sampler): once nothing bridgeable is open at the boundary.
        """
        with self._lock:
            self._settle_cut(now_ns, now_wall)
            if (
                self._cut is None
                and self._cut_wall is not None
                and self._cut_wall <= now_wall
                and self._latest_wall is not None
                and now_wall - self._latest_wall > self._max_gap_ns / _NS_PER_S
            ):
                # The caller's clock is past the boundary and far ahead of the
                # newest reading's: the clocks disagree (a wall-clock step),
                # so no reading can be trusted to span the boundary.
                self._resolve_cut(self._energy_j, self._covered_ns, covered=False)
            cut, self._cut = self._cut, None
            if cut is not None:
                self._cut_wall = None
            return cut

    def energy_before_cut(self) -> Fraction:
        """The total, but only up to the requested cut once that is resolved.

        One read under the lock: a sample crossing the boundary resolves the
        cut and adds its energy at once, so this never includes energy from
        beyond a boundary the meter has passed.
        """
        with self._lock:
            return self._energy_j if self._cut is None else self._cut.energy_j

    def bridging(self, now_ns: int) -> bool:
        """Whether the open segment can still be bridged at ``now_ns``."""
        with self._lock:
            return self._bridgeable(now_ns)

    def export_state(self) -> dict[str, Any]:
        """JSON-ready totals; fractions as ``"n/d"`` strings, durations in ns."""
        with self._lock:
            return {
                "version": STATE_VERSION,
                "energy_j": format_fraction(self._energy_j),
                "samples": self._samples,
                "failed_samples": self._failed,
                "gaps": self._gaps,
                "gap_ns": self._gap_ns,
                "covered_ns": self._covered_ns,
                "last_sample_wall": self._last_sample_wall,
            }

    @classmethod
    def from_state(
        cls, data: Mapping[str, Any], *, max_gap_s: float = DEFAULT_MAX_GAP_S
    ) -> Meter:
        """A meter continuing from ``export_state``; ``ValueError`` if malformed."""
        return cls(max_gap_s=max_gap_s, state=data)

    # -- internals --------------------------------------------------------------

    def _bridgeable(self, now_ns: int) -> bool:
        return (
            self._segment_ns is not None
            and now_ns - self._segment_ns <= self._max_gap_ns
        )

    def _cut_ns(self, ref_ns: int, ref_wall: float) -> int | None:
        """The pending cut on the monotonic axis, placed by one clock pair."""
        if self._cut_wall is None or self._cut is not None:
            return None
        return ref_ns + round((self._cut_wall - ref_wall) * _NS_PER_S)

    def _resolve_cut(self, energy_j: Fraction, covered_ns: int, covered: bool) -> None:
        assert self._cut_wall is not None
        self._cut = MeterCut(
            wall_time=self._cut_wall,
            energy_j=energy_j,
            covered_ns=covered_ns,
            gaps=self._gaps,
            covered=covered,
        )

    def _settle_cut(
        self, now_ns: int, now_wall: float, *, bridgeable: bool | None = None
    ) -> None:
        """Resolve a passed cut at today's totals if no segment can span it."""
        if bridgeable is None:
            bridgeable = self._bridgeable(now_ns)
        if bridgeable:
            return
        if self._segment_ns is not None:
            cut_ns = self._cut_ns(self._segment_ns, self._segment_wall)
        elif self._latest_ns is not None and self._latest_wall is not None:
            cut_ns = self._cut_ns(self._latest_ns, self._latest_wall)
        else:
            cut_ns = self._cut_ns(now_ns, now_wall)
        if cut_ns is not None and cut_ns <= now_ns:
            self._resolve_cut(self._energy_j, self._covered_ns, covered=False)

    def _cut_segment(self, stamp: int, power: Fraction) -> None:
        """Split the bridged segment ending at ``stamp`` at a cut inside it."""
        assert self._segment_ns is not None
        cut_ns = self._cut_ns(self._segment_ns, self._segment_wall)
        if cut_ns is None or cut_ns > stamp:
            return
        if cut_ns <= self._segment_ns:
            # Asked for after the fact: the totals now are the closest there are.
            self._resolve_cut(self._energy_j, self._covered_ns, covered=True)
            return
        part = cut_ns - self._segment_ns
        p0 = self._segment_power
        at_cut = p0 + (power - p0) * Fraction(part, stamp - self._segment_ns)
        self._resolve_cut(
            self._energy_j + (p0 + at_cut) * part / (2 * _NS_PER_S),
            self._covered_ns + part,
            covered=True,
        )

    def _note_gap_if_too_long(self, stamp: int) -> None:
        # Count an outage as soon as it is too long to bridge, not only when it
        # ends, so a chip that stays away shows up in the gap count.
        if (
            self._segment_ns is not None
            and not self._gap_counted
            and stamp - self._segment_ns > self._max_gap_ns
        ):
            self._gaps += 1
            self._gap_counted = True

    def _close_segment_without_energy(self) -> None:
        if self._segment_ns is not None and not self._gap_counted:
            self._gaps += 1
        self._segment_ns = None
        self._gap_counted = False

    def _count_restart_gap(self, wall_time: float) -> None:
        if self._restored and self._last_sample_wall is not None:
            self._gaps += 1
            downtime = wall_time - self._last_sample_wall
            if math.isfinite(downtime) and downtime > 0:
                self._gap_ns += round(downtime * _NS_PER_S)
        self._restored = False

    def _load(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise ValueError("meter state must be a mapping")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"meter state version must be {STATE_VERSION}")
        self._energy_j = parse_fraction(
            data.get("energy_j"), "energy_j", nonnegative=True
        )
        self._samples = _parse_count(data, "samples")
        self._failed = _parse_count(data, "failed_samples")
        self._gaps = _parse_count(data, "gaps")
        self._gap_ns = _parse_count(data, "gap_ns")
        self._covered_ns = _parse_count(data, "covered_ns")
        wall = data.get("last_sample_wall")
        if wall is not None and (
            isinstance(wall, bool)
            or not isinstance(wall, int | float)
            or not math.isfinite(wall)
        ):
            raise ValueError("last_sample_wall must be a number or null")
        self._last_sample_wall = None if wall is None else float(wall)
        self._restored = True


def _valid_power(reading: Reading | None) -> Fraction | None:
    if reading is None:
        return None
    power = reading.power_w
    if not math.isfinite(power) or power < 0:
        return None
    return Fraction(power)


def _parse_count(data: Mapping[str, Any], field: str) -> int:
    value = data.get(field)
    if not is_int(value) or value < 0:
        raise ValueError(f"{field} must be a whole number >= 0")
    return value
