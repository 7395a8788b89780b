"""Replayable load profiles: power over time, with an exact integral.

A profile is a list of ``(time_s, power_w)`` points starting at time 0. Between
points it is either *linear* (piecewise-linear interpolation) or *step* (each
point's power holds until the next point). It lasts until its last point's
time and then repeats, so a profile can drive a virtual chip for as long as a
test or a demo runs.

``exact_energy_j`` integrates the profile analytically in exact rational
arithmetic; the benchmarks measure a meter's error against it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
import csv
from dataclasses import dataclass
from fractions import Fraction
import itertools
import math
from pathlib import Path
from typing import Literal

type Interpolation = Literal["linear", "step"]
type Number = float | Fraction

CSV_COLUMNS = ("time_s", "power_w")


@dataclass(frozen=True, slots=True)
class ProfilePoint:
    """One corner of a profile."""

    time_s: Fraction
    power_w: Fraction


class LoadProfile:
    """Power drawn over time, repeating after ``duration_s``."""

    __slots__ = (
        "_cumulative",
        "_float_powers",
        "_float_times",
        "_interpolation",
        "_points",
        "_times",
        "name",
    )

    def __init__(
        self,
        points: Iterable[tuple[Number, Number]],
        *,
        interpolation: Interpolation = "linear",
        name: str = "profile",
    ) -> None:
        converted = [
            ProfilePoint(_exact(t, "time_s"), _exact(p, "power_w")) for t, p in points
        ]
        if len(converted) < 2:
            raise ValueError("a load profile needs at least two points")
        if converted[0].time_s != 0:
            raise ValueError("a load profile's first time_s must be 0")
        for before, after in itertools.pairwise(converted):
            if after.time_s <= before.time_s:
                raise ValueError("time_s must increase strictly from row to row")
        if any(point.power_w < 0 for point in converted):
            raise ValueError("power_w must not be negative")
        if interpolation not in ("linear", "step"):
            raise ValueError(f"unknown interpolation {interpolation!r}")
        self._points: tuple[ProfilePoint, ...] = tuple(converted)
        self._interpolation: Interpolation = interpolation
        self._times = [point.time_s for point in converted]
        # Circuit models ask for the power many times per reading (the chip's
        # averaging modes): floats answer that 20x faster than fractions.
        self._float_times = [float(t) for t in self._times]
        self._float_powers = [float(point.power_w) for point in converted]
        # Energy from 0 to each point, so any interval costs one lookup.
        cumulative = [Fraction(0)]
        for before, after in itertools.pairwise(converted):
            cumulative.append(cumulative[-1] + self._segment_energy(before, after))
        self._cumulative = cumulative
        self.name = name

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_csv(
        cls, path: str | Path, *, interpolation: Interpolation | None = None
    ) -> LoadProfile:
        """Read a CSV with a header row ``time_s,power_w``.

        Lines starting with ``#`` are comments; a comment
        ``# interpolation: step`` (or ``linear``) says how to read the rows,
        so a file carries its own meaning. An explicit ``interpolation``
        argument wins; without either, rows are joined linearly. Values are
        decimal numbers kept exactly as written (``0.1`` is one tenth).
        """
        path = Path(path)
        with path.open(newline="", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        declared: Interpolation | None = None
        for line in lines:
            key, _, value = line.lstrip("# \t").partition(":")
            if line.lstrip().startswith("#") and key.strip() == "interpolation":
                if value.strip() not in ("linear", "step"):
                    raise ValueError(f"{path.name}: unknown interpolation {value!r}")
                declared = "step" if value.strip() == "step" else "linear"
        rows = [
            row
            for row in csv.reader(lines)
            if row and not row[0].lstrip().startswith("#")
        ]
        if not rows or tuple(cell.strip() for cell in rows[0]) != CSV_COLUMNS:
            raise ValueError(f"{path.name}: the header must be 'time_s,power_w'")
        points: list[tuple[Fraction, Fraction]] = []
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != 2:
                raise ValueError(f"{path.name}: row {number} needs two values")
            try:
                points.append((Fraction(row[0].strip()), Fraction(row[1].strip())))
            except (ValueError, ZeroDivisionError) as err:
                raise ValueError(f"{path.name}: row {number}: {err}") from err
        try:
            return cls(
                points,
                interpolation=interpolation or declared or "linear",
                name=path.stem,
            )
        except ValueError as err:
            raise ValueError(f"{path.name}: {err}") from err

    @classmethod
    def constant(cls, power_w: float, duration_s: float = 60) -> LoadProfile:
        """A steady load."""
        return cls(
            [(0, power_w), (duration_s, power_w)],
            interpolation="step",
            name="constant",
        )

    @classmethod
    def steps(
        cls, levels: Sequence[tuple[Number, Number]], *, name: str = "steps"
    ) -> LoadProfile:
        """``levels`` are ``(duration_s, power_w)`` pairs, held one after another."""
        points: list[tuple[Fraction, Fraction]] = []
        time = Fraction(0)
        for duration, power in levels:
            points.append((time, _exact(power, "power_w")))
            time += _exact(duration, "duration_s")
        points.append((time, points[-1][1]))
        return cls(points, interpolation="step", name=name)

    @classmethod
    def led_on_off(
        cls, on_w: float, on_s: float, off_s: float, *, off_w: float = 0.0
    ) -> LoadProfile:
        """An LED switched on for ``on_s`` then off for ``off_s``, repeating."""
        return cls.steps([(on_s, on_w), (off_s, off_w)], name="led_on_off")

    @classmethod
    def ramp(
        cls, start_w: float, end_w: float, duration_s: float, *, name: str = "ramp"
    ) -> LoadProfile:
        """A slow linear change (a turned potentiometer), then back down.

        Going back down keeps the looped profile continuous.
        """
        return cls(
            [
                (0, start_w),
                (duration_s, end_w),
                (2 * _exact(duration_s, "duration_s"), start_w),
            ],
            interpolation="linear",
            name=name,
        )

    @classmethod
    def fast_switching(
        cls, high_w: float, low_w: float, period_s: float, duty: float = 0.5
    ) -> LoadProfile:
        """A square wave faster than the sampling rate (PWM, a blinking load)."""
        if not 0 < duty < 1:
            raise ValueError("duty must be between 0 and 1")
        period = _exact(period_s, "period_s")
        high = period * _exact(duty, "duty")
        return cls.steps(
            [(high, high_w), (period - high, low_w)], name="fast_switching"
        )

    # -- queries ----------------------------------------------------------------

    @property
    def interpolation(self) -> Interpolation:
        return self._interpolation

    @property
    def points(self) -> tuple[ProfilePoint, ...]:
        return self._points

    @property
    def duration_s(self) -> Fraction:
        return self._times[-1]

    def power_at(self, time_s: float | Fraction) -> float:
        """Power at ``time_s`` (looping), as a float for circuit models.

        A float time is looked up in floats (within a few ulps of the exact
        answer, and on a step's edge possibly the other side); a Fraction
        exactly.
        """
        if isinstance(time_s, Fraction) or not isinstance(time_s, float):
            return float(self.exact_power_at(_exact(time_s, "time_s")))
        if not math.isfinite(time_s):
            raise ValueError("time_s must be a finite number")
        times, powers = self._float_times, self._float_powers
        offset = time_s % times[-1]
        index = bisect_right(times, offset) - 1
        if self._interpolation == "step" or index + 1 >= len(times):
            return powers[index]
        share = (offset - times[index]) / (times[index + 1] - times[index])
        return powers[index] + (powers[index + 1] - powers[index]) * share

    def exact_power_at(self, time_s: Fraction) -> Fraction:
        offset = time_s % self.duration_s
        index = bisect_right(self._times, offset) - 1
        before = self._points[index]
        if self._interpolation == "step" or index + 1 >= len(self._points):
            return before.power_w
        after = self._points[index + 1]
        share = (offset - before.time_s) / (after.time_s - before.time_s)
        return before.power_w + (after.power_w - before.power_w) * share

    def exact_energy_j(self, t0: float | Fraction, t1: float | Fraction) -> Fraction:
        """The exact integral of power from ``t0`` to ``t1`` (seconds)."""
        start, end = _exact(t0, "t0"), _exact(t1, "t1")
        if end < start:
            raise ValueError("t1 must not be before t0")
        return self._energy_from_zero(end) - self._energy_from_zero(start)

    def mean_power_w(self) -> Fraction:
        return self._cumulative[-1] / self.duration_s

    # -- internals --------------------------------------------------------------

    def _energy_from_zero(self, time_s: Fraction) -> Fraction:
        periods, offset = divmod(time_s, self.duration_s)
        index = bisect_right(self._times, offset) - 1
        before = self._points[index]
        energy = periods * self._cumulative[-1] + self._cumulative[index]
        if offset > before.time_s:
            partial_end = ProfilePoint(offset, self.exact_power_at(offset))
            energy += self._segment_energy(before, partial_end)
        return energy

    def _segment_energy(self, before: ProfilePoint, after: ProfilePoint) -> Fraction:
        width = after.time_s - before.time_s
        if self._interpolation == "step":
            return before.power_w * width
        return (before.power_w + after.power_w) * width / 2


def _exact(value: float | Fraction | int, field: str) -> Fraction:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field} must be a finite number")
    return Fraction(value)
