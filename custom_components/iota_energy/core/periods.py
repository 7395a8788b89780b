"""Billing periods: fixed lengths of elapsed time, or local calendar units.

Every datetime here is timezone-aware. A :class:`Period` holds its bounds in
UTC: comparing or subtracting aware datetimes that share a ``ZoneInfo`` ignores
``fold`` (so 02:30 CEST and 02:30 CET would compare equal on the night clocks
go back), while UTC instants never have that trap. Convert to local time only
for display.

Two kinds of schedule:

* :class:`FixedLengthSchedule` counts elapsed time from an anchor: a 60 s
  period is always 60 real seconds, whatever the clocks on the wall do.
* :class:`CalendarSchedule` follows the local calendar of one time zone:
  hours, days, weeks and months, which last 23 h or 25 h, 28 to 31 days, as
  the calendar says.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol, get_args
from zoneinfo import ZoneInfo

from .numbers import is_int

CalendarUnit = Literal["hourly", "daily", "weekly", "monthly"]
CALENDAR_UNITS: tuple[CalendarUnit, ...] = get_args(CalendarUnit)
PERIOD_KINDS: tuple[str, ...] = ("fixed", *CALENDAR_UNITS)

MIN_FIXED_LENGTH = timedelta(seconds=60)
MAX_FIXED_LENGTH = timedelta(days=1)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def require_aware(moment: datetime, name: str = "moment") -> datetime:
    """Return ``moment`` in UTC; raise ValueError if it is naive."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """The half-open interval ``start <= t < end`` of instants, held in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "start")
        end = require_aware(self.end, "end")
        if not start < end:
            raise ValueError(f"a period must end after it starts: {start} .. {end}")
        # Normalising to UTC makes equality and ordering mean "same instant".
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def __contains__(self, moment: object) -> bool:
        if not isinstance(moment, datetime):
            return False
        return self.start <= require_aware(moment) < self.end


class Schedule(Protocol):
    """Where billing periods begin and end."""

    def period_at(self, moment: datetime) -> Period:
        """The period containing ``moment`` (``start <= moment < end``)."""

    def describe(self) -> dict[str, Any]:
        """A JSON-able description, for diagnostics."""


class FixedLengthSchedule:
    """Periods of one fixed elapsed length, counted from ``anchor``.

    The length is a whole number of seconds from 60 s (the tutorial's period)
    to one day. Because lengths are elapsed time, a period spanning a DST
    change still lasts exactly ``length``; a one-day length therefore runs
    from anchor-aligned instants (UTC midnight by default), not local midnight:
    use ``CalendarSchedule("daily", tz)`` for that.
    """

    __slots__ = ("_anchor", "_length")

    def __init__(self, length: timedelta, anchor: datetime = UNIX_EPOCH) -> None:
        if not isinstance(length, timedelta):
            raise TypeError("length must be a timedelta")
        if not MIN_FIXED_LENGTH <= length <= MAX_FIXED_LENGTH:
            raise ValueError(
                f"a fixed period lasts {MIN_FIXED_LENGTH} to {MAX_FIXED_LENGTH}, "
                f"not {length}"
            )
        if length % timedelta(seconds=1):
            raise ValueError(f"a fixed period is a whole number of seconds: {length}")
        self._length = length
        self._anchor = require_aware(anchor, "anchor")

    @property
    def length(self) -> timedelta:
        return self._length

    def period_at(self, moment: datetime) -> Period:
        elapsed = require_aware(moment) - self._anchor
        # timedelta // timedelta is exact integer floor division (also < anchor).
        start = self._anchor + (elapsed // self._length) * self._length
        return Period(start, start + self._length)

    def count_periods(self, start: datetime, end: datetime) -> int:
        """How many periods lie in ``[start, end)``; both must be boundaries."""
        span = require_aware(end, "end") - require_aware(start, "start")
        return max(0, span // self._length)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "fixed",
            "length_seconds": int(self._length.total_seconds()),
            "anchor": self._anchor.isoformat(),
        }

    def __repr__(self) -> str:
        return f"FixedLengthSchedule({self._length!r}, anchor={self._anchor!r})"


def resolve_wall_time(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock reads ``wall`` or later.

    A wall time the clocks skip (spring forward) resolves to the instant of the
    jump, where the skipped local day or month really begins. A wall time that
    occurs twice (fall back) resolves to its first occurrence. Both rules keep
    boundaries in order: a later wall time never resolves to an earlier instant.
    """
    if wall.tzinfo is not None:
        raise ValueError(f"wall must be a naive local time: {wall!r}")
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    if _local_wall(low, tz) >= wall:
        return low
    # ``wall`` falls in a gap: the jump lies in (low, high]; bisect on microseconds.
    steps = (high - low) // _ONE_MICROSECOND
    below = 0
    while steps - below > 1:
        middle = (below + steps) // 2
        if _local_wall(low + middle * _ONE_MICROSECOND, tz) >= wall:
            steps = middle
        else:
            below = middle
    return low + steps * _ONE_MICROSECOND


def _local_wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock reading at ``instant``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _offset_change(low: datetime, high: datetime, tz: ZoneInfo) -> datetime:
    """The first instant in ``(low, high]`` whose UTC offset differs from ``low``'s.

    The caller guarantees that the offsets at ``low`` and ``high`` differ.
    """
    offset = low.astimezone(tz).utcoffset()
    steps = (high - low) // _ONE_MICROSECOND
    below = 0
    while steps - below > 1:
        middle = (below + steps) // 2
        if (low + middle * _ONE_MICROSECOND).astimezone(tz).utcoffset() != offset:
            steps = middle
        else:
            below = middle
    return low + steps * _ONE_MICROSECOND


class CalendarSchedule:
    """Periods that follow the local calendar of ``tz``.

    * ``hourly``: a period begins whenever the local clock reads ``hh:00`` and
      whenever the UTC offset changes. With whole-hour DST shifts (nearly every
      zone) each period is one real hour: the skipped hour simply has no
      period, the repeated hour has two. A period also ends where the offset
      changes, so around a 30-minute shift (Australia/Lord_Howe) one period
      lasts 30 minutes, and where clocks once changed at 00:01
      (America/St_Johns until 2011) one lasted a minute; no period ever lasts
      more than an hour.
    * ``daily``: from local midnight to the next, 23 h or 25 h across DST.
    * ``weekly``: from local midnight of ``weekday`` (0 = Monday) for 7 days.
    * ``monthly``: from local midnight of ``billing_day`` to the same day of
      the next month; a billing day beyond a month's last day is clamped to it
      (31 -> 28 or 29 February, 30 April, ...).

    A boundary whose local midnight does not exist begins at the first instant
    of that day (the end of the skipped stretch); one that occurs twice begins
    at its first occurrence. See :func:`resolve_wall_time`.
    """

    __slots__ = ("_billing_day", "_tz", "_unit", "_weekday")

    def __init__(
        self,
        unit: CalendarUnit,
        tz: ZoneInfo,
        *,
        weekday: int = 0,
        billing_day: int = 1,
    ) -> None:
        if unit not in CALENDAR_UNITS:
            raise ValueError(f"unknown calendar unit {unit!r}; one of {CALENDAR_UNITS}")
        if not isinstance(tz, ZoneInfo):
            raise TypeError("tz must be a zoneinfo.ZoneInfo")
        if not is_int(weekday) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday is 0 (Monday) to 6 (Sunday), not {weekday!r}")
        if not is_int(billing_day) or not 1 <= billing_day <= 31:
            raise ValueError(f"billing_day is 1 to 31, not {billing_day!r}")
        self._unit: CalendarUnit = unit
        self._tz = tz
        self._weekday = weekday
        self._billing_day = billing_day

    @property
    def unit(self) -> CalendarUnit:
        return self._unit

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def period_at(self, moment: datetime) -> Period:
        instant = require_aware(moment)
        if self._unit == "hourly":
            return self._hour_at(instant)
        return self._calendar_period_at(instant)

    def _hour_at(self, instant: datetime) -> Period:
        local = instant.astimezone(self._tz)
        into_hour = timedelta(
            minutes=local.minute, seconds=local.second, microseconds=local.microsecond
        )
        # Where hh:00 and (hh+1):00 would be if the current offset held.
        start = instant - into_hour
        end = start + timedelta(hours=1)
        offset = local.utcoffset()
        if start.astimezone(self._tz).utcoffset() != offset:
            start = _offset_change(start, instant, self._tz)
        last_inside = end - _ONE_MICROSECOND
        if last_inside.astimezone(self._tz).utcoffset() != offset:
            end = _offset_change(instant, last_inside, self._tz)
        return Period(start, end)

    def _calendar_period_at(self, instant: datetime) -> Period:
        wall = _local_wall(instant, self._tz)
        label = self._label_of(wall.date())
        start = resolve_wall_time(label, self._tz)
        # Wall time is not monotonic (it repeats when clocks go back), so the
        # label read off the wall may be one off; step until the period fits.
        while start > instant:
            label = self._step(label, -1)
            start = resolve_wall_time(label, self._tz)
        end = resolve_wall_time(self._step(label, 1), self._tz)
        while end <= instant:
            label = self._step(label, 1)
            start = end
            end = resolve_wall_time(self._step(label, 1), self._tz)
        return Period(start, end)

    def _label_of(self, day: date) -> datetime:
        """Local midnight that starts the unit containing ``day``."""
        if self._unit == "daily":
            first = day
        elif self._unit == "weekly":
            first = day - timedelta(days=(day.weekday() - self._weekday) % 7)
        else:
            first = self._billing_date(day.year, day.month)
            if first > day:
                first = self._billing_date(*_add_months(day.year, day.month, -1))
        return datetime(first.year, first.month, first.day)

    def _step(self, label: datetime, count: int) -> datetime:
        """The label ``count`` units after (or before) ``label``."""
        if self._unit == "daily":
            return label + timedelta(days=count)
        if self._unit == "weekly":
            return label + timedelta(days=7 * count)
        day = self._billing_date(*_add_months(label.year, label.month, count))
        return datetime(day.year, day.month, day.day)

    def _billing_date(self, year: int, month: int) -> date:
        last_day = calendar.monthrange(year, month)[1]
        return date(year, month, min(self._billing_day, last_day))

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {
            "kind": "calendar",
            "unit": self._unit,
            "time_zone": self._tz.key,
        }
        if self._unit == "weekly":
            description["weekday"] = self._weekday
        if self._unit == "monthly":
            description["billing_day"] = self._billing_day
        return description

    def __repr__(self) -> str:
        return (
            f"CalendarSchedule({self._unit!r}, {self._tz!r}, "
            f"weekday={self._weekday}, billing_day={self._billing_day})"
        )


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + count
    return index // 12, index % 12 + 1


def count_periods(schedule: Schedule, start: datetime, end: datetime) -> int:
    """How many whole periods of ``schedule`` lie in ``[start, end)``.

    ``start`` and ``end`` must be boundaries of ``schedule``. Fixed schedules
    answer by division; others walk the periods (calendar periods are at least
    about an hour long, so even a year is a few thousand steps).
    """
    counter: Callable[[datetime, datetime], int] | None = getattr(
        schedule, "count_periods", None
    )
    if counter is not None:
        return counter(start, end)
    count = 0
    cursor = require_aware(start, "start")
    stop = require_aware(end, "end")
    while cursor < stop:
        cursor = schedule.period_at(cursor).end
        count += 1
    return count


def schedule_from_options(options: Mapping[str, Any], tz: ZoneInfo) -> Schedule:
    """Build the schedule an options mapping asks for; ValueError if invalid.

    Keys: ``period`` (one of :data:`PERIOD_KINDS`, required), ``period_seconds``
    (int, 60..86400, required for ``fixed``), ``weekday`` (0 = Monday, weekly,
    default 0), ``billing_day`` (1..31, monthly, default 1).
    """
    kind = options.get("period")
    if kind == "fixed":
        seconds = options.get("period_seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise ValueError(f"period_seconds must be an integer, not {seconds!r}")
        return FixedLengthSchedule(timedelta(seconds=seconds))
    if kind in CALENDAR_UNITS:
        weekday = options.get("weekday", 0)
        billing_day = options.get("billing_day", 1)
        return CalendarSchedule(kind, tz, weekday=weekday, billing_day=billing_day)
    raise ValueError(f"unknown period {kind!r}; one of {PERIOD_KINDS}")
