"""Billing periods: fixed lengths, local calendar units, DST, month ends, leap days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core import periods as periods_module
from custom_components.iota_energy.core.periods import (
    CalendarSchedule,
    FixedLengthSchedule,
    Period,
    Schedule,
    count_periods,
    resolve_wall_time,
    schedule_from_options,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")
HAVANA = ZoneInfo("America/Havana")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


def local(tz: ZoneInfo, *fields: int, fold: int = 0) -> datetime:
    """A local wall time in ``tz``; ``fold=1`` picks a repeated time's second pass."""
    return datetime(*fields).replace(tzinfo=tz, fold=fold)  # type: ignore[arg-type]


def walk(schedule: Schedule, moment: datetime, count: int) -> list[Period]:
    """``count`` consecutive periods, the first containing ``moment``."""
    periods = [schedule.period_at(moment)]
    while len(periods) < count:
        periods.append(schedule.period_at(periods[-1].end))
    return periods


def local_bounds(periods: list[Period], tz: ZoneInfo) -> list[tuple[str, str]]:
    return [
        (p.start.astimezone(tz).isoformat(), p.end.astimezone(tz).isoformat())
        for p in periods
    ]


# --- Period ---------------------------------------------------------------


def test_period_is_held_in_utc_and_compares_instants() -> None:
    # 02:30 CEST and 02:30 CET share a wall time but are an hour apart.
    first = local(BERLIN, 2025, 10, 26, 2, 30, fold=0)
    second = local(BERLIN, 2025, 10, 26, 2, 30, fold=1)
    period = Period(first, second)
    assert period.start.tzinfo is UTC
    assert period.duration == HOUR
    assert Period(first, second) == Period(first.astimezone(UTC), second)


def test_period_contains_is_half_open() -> None:
    period = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
    assert period.start in period
    assert period.end - TICK in period
    assert period.end not in period
    assert "not a datetime" not in period


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2025, 1, 1), datetime(2025, 1, 2, tzinfo=UTC)),
        (datetime(2025, 1, 2, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_period_rejects_naive_or_empty(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match=r"aware|after"):
        Period(start, end)


# --- FixedLengthSchedule ---------------------------------------------------


def test_tutorial_sixty_seconds_is_expressible() -> None:
    schedule = FixedLengthSchedule(timedelta(seconds=60))
    period = schedule.period_at(datetime(2025, 6, 1, 12, 0, 42, 5, tzinfo=UTC))
    assert period == Period(
        datetime(2025, 6, 1, 12, 0, tzinfo=UTC), datetime(2025, 6, 1, 12, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "length",
    [timedelta(seconds=59), timedelta(days=1, seconds=1), timedelta(seconds=60.5)],
)
def test_fixed_length_out_of_range_or_fractional(length: timedelta) -> None:
    with pytest.raises(ValueError, match="fixed period"):
        FixedLengthSchedule(length)


def test_fixed_sixty_second_periods_across_dst_are_sixty_real_seconds() -> None:
    schedule = FixedLengthSchedule(MINUTE)
    for change in (
        local(BERLIN, 2025, 3, 30, 1, 58),  # 02:00 CET -> 03:00 CEST
        local(BERLIN, 2025, 10, 26, 2, 58, fold=0),  # 03:00 CEST -> 02:00 CET
    ):
        periods = walk(schedule, change, 6)
        assert all(p.duration == MINUTE for p in periods)
        assert all(a.end == b.start for a, b in itertools.pairwise(periods))
        assert periods[-1].end - periods[0].start == 6 * MINUTE


def test_fixed_periods_follow_a_custom_anchor_also_before_it() -> None:
    anchor = datetime(2025, 1, 1, 0, 0, 7, tzinfo=UTC)
    schedule = FixedLengthSchedule(timedelta(minutes=15), anchor)
    before = schedule.period_at(anchor - timedelta(seconds=1))
    assert before.start == anchor - timedelta(minutes=15)
    assert before.end == anchor
    assert schedule.period_at(anchor).start == anchor


def test_fixed_one_day_runs_from_anchor_not_local_midnight() -> None:
    schedule = FixedLengthSchedule(timedelta(days=1))
    period = schedule.period_at(local(BERLIN, 2025, 3, 30, 12))
    assert period.duration == timedelta(days=1)
    assert period.start == datetime(2025, 3, 30, tzinfo=UTC)


# --- daily -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (BERLIN, (2025, 3, 30), 23),
        (BERLIN, (2025, 10, 26), 25),
        (NEW_YORK, (2025, 3, 9), 23),
        (NEW_YORK, (2025, 11, 2), 25),
        (BERLIN, (2025, 7, 1), 24),
    ],
)
def test_daily_periods_last_23_or_25_hours_across_dst(
    tz: ZoneInfo, day: tuple[int, int, int], hours: int
) -> None:
    schedule = CalendarSchedule("daily", tz)
    period = schedule.period_at(local(tz, *day, 12))
    assert period.duration == timedelta(hours=hours)
    assert period.start.astimezone(tz).timetuple()[:6] == (*day, 0, 0, 0)
    assert period.end.astimezone(tz).time() == time(0)


def test_daily_when_local_midnight_does_not_exist() -> None:
    # Chile springs forward at midnight: 7 Sept 2025 begins at 01:00 (-03).
    schedule = CalendarSchedule("daily", SANTIAGO)
    before, skipped, after = walk(schedule, local(SANTIAGO, 2025, 9, 6, 12), 3)
    assert local_bounds([skipped], SANTIAGO) == [
        ("2025-09-07T01:00:00-03:00", "2025-09-08T00:00:00-03:00")
    ]
    assert before.duration == timedelta(hours=24)
    assert skipped.duration == timedelta(hours=23)
    assert after.duration == timedelta(hours=24)


def test_daily_when_local_midnight_occurs_twice_starts_at_the_first() -> None:
    # Cuba falls back from 01:00 to 00:00 on 2 Nov 2025: midnight repeats.
    schedule = CalendarSchedule("daily", HAVANA)
    period = schedule.period_at(local(HAVANA, 2025, 11, 2, 0, 30, fold=1))
    assert local_bounds([period], HAVANA) == [
        ("2025-11-02T00:00:00-04:00", "2025-11-03T00:00:00-05:00")
    ]
    assert period.duration == timedelta(hours=25)


def test_leap_day_is_a_whole_daily_period() -> None:
    schedule = CalendarSchedule("daily", BERLIN)
    feb28, feb29, mar1 = walk(schedule, local(BERLIN, 2028, 2, 28, 9), 3)
    assert feb29.start.astimezone(BERLIN).date().isoformat() == "2028-02-29"
    assert mar1.start.astimezone(BERLIN).date().isoformat() == "2028-03-01"
    assert {feb28.duration, feb29.duration, mar1.duration} == {timedelta(days=1)}


# --- hourly ----------------------------------------------------------------


def test_hourly_fall_back_has_two_periods_for_the_repeated_hour() -> None:
    schedule = CalendarSchedule("hourly", BERLIN)
    periods = walk(schedule, local(BERLIN, 2025, 10, 26, 1, 30), 4)
    assert local_bounds(periods, BERLIN) == [
        ("2025-10-26T01:00:00+02:00", "2025-10-26T02:00:00+02:00"),
        ("2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00"),
        ("2025-10-26T02:00:00+01:00", "2025-10-26T03:00:00+01:00"),
        ("2025-10-26T03:00:00+01:00", "2025-10-26T04:00:00+01:00"),
    ]
    assert {p.duration for p in periods} == {HOUR}


def test_hourly_spring_forward_skips_the_missing_hour() -> None:
    schedule = CalendarSchedule("hourly", NEW_YORK)
    periods = walk(schedule, local(NEW_YORK, 2025, 3, 9, 1, 15), 3)
    assert local_bounds(periods, NEW_YORK) == [
        ("2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00"),
        ("2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00"),
        ("2025-03-09T04:00:00-04:00", "2025-03-09T05:00:00-04:00"),
    ]
    assert {p.duration for p in periods} == {HOUR}


def test_hourly_lord_howe_half_hour_shift() -> None:
    # Lord Howe moves its clocks by 30 minutes: 02:00 (+10:30) -> 02:30 (+11).
    schedule = CalendarSchedule("hourly", LORD_HOWE)
    periods = walk(schedule, local(LORD_HOWE, 2025, 10, 5, 1, 10), 3)
    assert local_bounds(periods, LORD_HOWE) == [
        ("2025-10-05T01:00:00+10:30", "2025-10-05T02:30:00+11:00"),
        ("2025-10-05T02:30:00+11:00", "2025-10-05T03:00:00+11:00"),
        ("2025-10-05T03:00:00+11:00", "2025-10-05T04:00:00+11:00"),
    ]
    assert [p.duration for p in periods] == [HOUR, HOUR / 2, HOUR]
    # And back: 02:00 (+11) -> 01:30 (+10:30).
    back = walk(schedule, local(LORD_HOWE, 2026, 4, 5, 1, 10, fold=0), 3)
    assert [p.duration for p in back] == [HOUR, HOUR / 2, HOUR]


def test_hourly_period_ends_where_the_offset_changes_mid_hour() -> None:
    # Newfoundland sprang forward at 00:01 until 2011: 00:01 (-03:30) -> 01:01.
    st_johns = ZoneInfo("America/St_Johns")
    schedule = CalendarSchedule("hourly", st_johns)
    periods = walk(schedule, local(st_johns, 2010, 3, 14, 0, 0), 2)
    assert local_bounds(periods, st_johns) == [
        ("2010-03-14T00:00:00-03:30", "2010-03-14T01:01:00-02:30"),
        ("2010-03-14T01:01:00-02:30", "2010-03-14T02:00:00-02:30"),
    ]
    assert [p.duration for p in periods] == [MINUTE, 59 * MINUTE]


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        # Inside the spring-forward gap: the instant the clocks jump.
        (datetime(2025, 3, 30, 2, 30), "2025-03-30T03:00:00+02:00"),
        (datetime(2025, 3, 30, 2, 0), "2025-03-30T03:00:00+02:00"),
        # Repeated in autumn: the first occurrence.
        (datetime(2025, 10, 26, 2, 30), "2025-10-26T02:30:00+02:00"),
        (datetime(2025, 7, 1, 0, 0), "2025-07-01T00:00:00+02:00"),
    ],
)
def test_resolve_wall_time_first_instant_showing_it_or_later(
    wall: datetime, expected: str
) -> None:
    assert resolve_wall_time(wall, BERLIN).astimezone(BERLIN).isoformat() == expected


# --- weekly and monthly ----------------------------------------------------


def test_weekly_starts_on_the_chosen_weekday_and_spans_dst() -> None:
    schedule = CalendarSchedule("weekly", BERLIN, weekday=6)  # Sunday
    period = schedule.period_at(local(BERLIN, 2025, 3, 31, 8))
    start_local = period.start.astimezone(BERLIN)
    assert start_local.weekday() == 6
    assert start_local.date().isoformat() == "2025-03-30"
    # That week holds the spring-forward night.
    assert period.duration == timedelta(days=7) - HOUR
    previous = schedule.period_at(local(BERLIN, 2025, 3, 29, 8))
    assert previous.duration == timedelta(days=7)


def test_monthly_billing_day_31_clamps_to_each_month_end_with_leap_day() -> None:
    schedule = CalendarSchedule("monthly", BERLIN, billing_day=31)
    periods = walk(schedule, local(BERLIN, 2028, 1, 31, 0), 5)
    starts = [p.start.astimezone(BERLIN).date().isoformat() for p in periods]
    assert starts == [
        "2028-01-31",
        "2028-02-29",
        "2028-03-31",
        "2028-04-30",
        "2028-05-31",
    ]
    assert all(p.start.astimezone(BERLIN).time() == time(0) for p in periods)
    # 29 Feb to 31 Mar crosses the DST change: 31 days less one hour.
    assert periods[1].duration == timedelta(days=31) - HOUR


def test_monthly_billing_day_29_in_a_common_year() -> None:
    schedule = CalendarSchedule("monthly", NEW_YORK, billing_day=29)
    period = schedule.period_at(local(NEW_YORK, 2027, 3, 1, 0))
    assert period.start.astimezone(NEW_YORK).date().isoformat() == "2027-02-28"
    assert period.end.astimezone(NEW_YORK).date().isoformat() == "2027-03-29"


def test_monthly_a_moment_before_this_months_billing_day_is_last_months() -> None:
    schedule = CalendarSchedule("monthly", BERLIN, billing_day=15)
    period = schedule.period_at(local(BERLIN, 2025, 1, 14, 23, 59))
    assert period.start.astimezone(BERLIN).date().isoformat() == "2024-12-15"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weekday": 7}, "weekday"),
        ({"weekday": True}, "weekday"),
        ({"billing_day": 0}, "billing_day"),
        ({"billing_day": 32}, "billing_day"),
    ],
)
def test_calendar_rejects_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CalendarSchedule("monthly", BERLIN, **kwargs)


def test_calendar_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unit"):
        CalendarSchedule("yearly", BERLIN)  # type: ignore[arg-type]


# --- helpers -----------------------------------------------------------------


def test_count_periods_fixed_and_calendar() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    fixed = FixedLengthSchedule(MINUTE)
    assert count_periods(fixed, start, start + timedelta(days=30)) == 43_200
    hourly = CalendarSchedule("hourly", BERLIN)
    day_start = local(BERLIN, 2025, 10, 26, 0)
    assert count_periods(hourly, day_start, local(BERLIN, 2025, 10, 27, 0)) == 25
    assert count_periods(hourly, day_start, day_start) == 0


def test_schedule_from_options_builds_each_kind() -> None:
    fixed = schedule_from_options({"period": "fixed", "period_seconds": 60}, BERLIN)
    assert fixed.describe() == {
        "kind": "fixed",
        "length_seconds": 60,
        "anchor": "1970-01-01T00:00:00+00:00",
    }
    weekly = schedule_from_options({"period": "weekly", "weekday": 2}, BERLIN)
    assert weekly.describe() == {
        "kind": "calendar",
        "unit": "weekly",
        "time_zone": "Europe/Berlin",
        "weekday": 2,
    }
    monthly = schedule_from_options({"period": "monthly", "billing_day": 31}, NEW_YORK)
    assert monthly.describe()["billing_day"] == 31
    daily = schedule_from_options({"period": "daily"}, NEW_YORK)
    assert daily.period_at(local(NEW_YORK, 2025, 3, 9, 5)).duration == 23 * HOUR


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"period": "yearly"},
        {"period": "fixed"},
        {"period": "fixed", "period_seconds": "60"},
        {"period": "fixed", "period_seconds": 30},
        {"period": "fixed", "period_seconds": True},
        {"period": "monthly", "billing_day": 40},
    ],
)
def test_schedule_from_options_rejects_invalid(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any clear ValueError will do
        schedule_from_options(options, BERLIN)


def test_naive_moment_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        CalendarSchedule("daily", BERLIN).period_at(datetime(2025, 1, 1))


# --- properties over many moments and zones ----------------------------------

ZONES = [BERLIN, NEW_YORK, LORD_HOWE, SANTIAGO, HAVANA, ZoneInfo("Asia/Kolkata")]
SCHEDULES: list[Schedule] = [
    FixedLengthSchedule(MINUTE),
    FixedLengthSchedule(timedelta(seconds=86_400)),
    FixedLengthSchedule(timedelta(seconds=7_777), datetime(2020, 5, 5, tzinfo=UTC)),
    *(CalendarSchedule("hourly", tz) for tz in ZONES),
    *(CalendarSchedule("daily", tz) for tz in ZONES),
    *(CalendarSchedule("weekly", tz, weekday=3) for tz in ZONES[:3]),
    *(CalendarSchedule("monthly", tz, billing_day=31) for tz in ZONES[:3]),
    CalendarSchedule("monthly", BERLIN, billing_day=30),
]
MOMENTS = st.datetimes(
    min_value=datetime(1995, 1, 1),
    max_value=datetime(2037, 12, 31),
    timezones=st.just(UTC),
)


@settings(max_examples=600, deadline=None)
@given(schedule=st.sampled_from(SCHEDULES), moment=MOMENTS)
def test_periods_tile_time_without_gaps_or_overlaps(
    schedule: Schedule, moment: datetime
) -> None:
    period = schedule.period_at(moment)
    assert period.start <= moment < period.end
    # Both bounds are boundaries: the neighbours meet them exactly.
    assert schedule.period_at(period.start) == period
    assert schedule.period_at(period.end - TICK) == period
    following = schedule.period_at(period.end)
    assert following.start == period.end
    preceding = schedule.period_at(period.start - TICK)
    assert preceding.end == period.start


@settings(max_examples=300, deadline=None)
@given(tz=st.sampled_from(ZONES), moment=MOMENTS)
def test_calendar_durations_stay_within_their_unit(
    tz: ZoneInfo, moment: datetime
) -> None:
    hour = CalendarSchedule("hourly", tz).period_at(moment)
    assert timedelta(minutes=30) <= hour.duration <= HOUR
    day = CalendarSchedule("daily", tz).period_at(moment)
    assert 22 * HOUR <= day.duration <= 26 * HOUR
    # A day period holds exactly the instants of one local date, or starts at
    # that date's first instant when its midnight was skipped.
    day_local = day.start.astimezone(tz)
    assert day_local.time() == time(0) or day_local.time() <= time(1)
    month = CalendarSchedule("monthly", tz, billing_day=31).period_at(moment)
    assert timedelta(days=27) < month.duration < timedelta(days=32)


# --- found by mutation testing (scripts/mutation) ---------------------------------

SPRING_FORWARD = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # Berlin: 02:00 CET -> 03:00


def test_the_period_just_before_a_jump_ends_at_the_jump() -> None:
    for moment in (SPRING_FORWARD - TICK, SPRING_FORWARD - MINUTE):
        period = CalendarSchedule("hourly", BERLIN).period_at(moment)
        assert period.end == SPRING_FORWARD


def test_the_offset_change_is_found_to_the_microsecond() -> None:
    find = periods_module._offset_change
    assert find(SPRING_FORWARD - TICK, SPRING_FORWARD + HOUR, BERLIN) == SPRING_FORWARD
    assert find(SPRING_FORWARD - HOUR, SPRING_FORWARD + TICK, BERLIN) == SPRING_FORWARD


def test_fixed_count_is_a_whole_number_and_zero_for_nothing() -> None:
    schedule = FixedLengthSchedule(MINUTE)
    assert count_periods(schedule, SPRING_FORWARD, SPRING_FORWARD) == 0
    three = count_periods(schedule, SPRING_FORWARD, SPRING_FORWARD + 3 * MINUTE)
    assert type(three) is int
    assert three == 3


def test_counting_names_a_naive_bound() -> None:
    naive = datetime(2025, 3, 30)
    for schedule in (FixedLengthSchedule(MINUTE), CalendarSchedule("daily", BERLIN)):
        with pytest.raises(ValueError, match=r"^start must be timezone-aware"):
            count_periods(schedule, naive, SPRING_FORWARD)
        with pytest.raises(ValueError, match=r"^end must be timezone-aware"):
            count_periods(schedule, SPRING_FORWARD, naive)


def test_options_default_to_monday_and_the_first_of_the_month() -> None:
    weekly = schedule_from_options({"period": "weekly"}, BERLIN)
    assert weekly.describe() == CalendarSchedule("weekly", BERLIN, weekday=0).describe()
    monthly = schedule_from_options({"period": "monthly"}, BERLIN)
    assert (
        monthly.describe()
        == CalendarSchedule("monthly", BERLIN, billing_day=1).describe()
    )
    assert weekly.describe() != CalendarSchedule("weekly", BERLIN, weekday=1).describe()


def test_options_errors_say_what_is_wrong() -> None:
    with pytest.raises(
        ValueError, match=r"^period_seconds must be an integer, not '60'$"
    ):
        schedule_from_options({"period": "fixed", "period_seconds": "60"}, BERLIN)
    with pytest.raises(ValueError, match=r"^unknown period 'yearly'; one of \("):
        schedule_from_options({"period": "yearly"}, BERLIN)


def test_require_aware_names_what_it_checks() -> None:
    require_aware = periods_module.require_aware
    with pytest.raises(TypeError, match=r"^moment must be a datetime, not str$"):
        require_aware("2025-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^moment must be timezone-aware: "):
        require_aware(datetime(2025, 1, 1))


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: such a datetime is naive for Python too."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_zone_without_an_offset_is_naive() -> None:
    with pytest.raises(ValueError, match=r"^moment must be timezone-aware"):
        periods_module.require_aware(datetime(2025, 1, 1, tzinfo=_NoOffset()))


def test_period_and_anchor_errors_name_the_bound() -> None:
    aware = datetime(2025, 1, 1, tzinfo=UTC)
    naive = datetime(2025, 1, 2)
    with pytest.raises(ValueError, match=r"^start must be timezone-aware"):
        Period(naive, aware)
    with pytest.raises(ValueError, match=r"^end must be timezone-aware"):
        Period(aware, naive)
    with pytest.raises(ValueError, match=r"^anchor must be timezone-aware"):
        FixedLengthSchedule(MINUTE, naive)
    with pytest.raises(TypeError, match=r"^length must be a timedelta$"):
        FixedLengthSchedule(60)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^tz must be a zoneinfo\.ZoneInfo$"):
        CalendarSchedule("daily", UTC)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^wall must be a naive local time: "):
        resolve_wall_time(aware, BERLIN)


def test_any_whole_number_of_seconds_is_a_fixed_length() -> None:
    for seconds in (61, 3_599, 86_399):
        length = timedelta(seconds=seconds)
        assert FixedLengthSchedule(length).length == length


def test_calendar_defaults_are_monday_and_the_first() -> None:
    weekly = CalendarSchedule("weekly", BERLIN)
    assert weekly.describe()["weekday"] == 0
    start = weekly.period_at(local(BERLIN, 2025, 7, 3, 12)).start
    assert start == local(BERLIN, 2025, 6, 30, 0)  # a Monday
    monthly = CalendarSchedule("monthly", BERLIN)
    assert monthly.describe()["billing_day"] == 1
    assert monthly.period_at(local(BERLIN, 2025, 7, 3, 12)) == Period(
        local(BERLIN, 2025, 7, 1, 0), local(BERLIN, 2025, 8, 1, 0)
    )


@pytest.mark.parametrize(
    "wall",
    [
        datetime(2025, 3, 30, 2, 59, 59, 999_999),
        datetime(2025, 3, 30, 2, 0, 0, 1),
        datetime(2025, 3, 30, 2, 12, 34, 567_891),
        datetime(2025, 3, 30, 2, 47, 11, 3),
    ],
)
def test_any_wall_time_in_the_gap_resolves_to_the_jump_exactly(wall: datetime) -> None:
    resolved = resolve_wall_time(wall, BERLIN)
    assert resolved == SPRING_FORWARD
    assert resolved.tzinfo is UTC


def test_resolved_wall_times_are_in_utc() -> None:
    for wall in (datetime(2025, 7, 1), datetime(2025, 10, 26, 2, 30)):
        assert resolve_wall_time(wall, BERLIN).tzinfo is UTC


def test_hourly_moment_just_after_a_half_hour_jump() -> None:
    # Lord Howe: 02:00 (+10:30) -> 02:30 (+11); 02:45 lies in the short period.
    schedule = CalendarSchedule("hourly", LORD_HOWE)
    period = schedule.period_at(local(LORD_HOWE, 2025, 10, 5, 2, 45))
    assert local_bounds([period], LORD_HOWE) == [
        ("2025-10-05T02:30:00+11:00", "2025-10-05T03:00:00+11:00")
    ]


GOOSE_BAY = ZoneInfo("America/Goose_Bay")


def test_daily_when_clocks_go_back_across_midnight() -> None:
    # Goose Bay fell back at 00:01 ADT to 23:01 AST on 7 Nov 2010: after the
    # change the wall shows 6 November again, but 7 November has begun.
    schedule = CalendarSchedule("daily", GOOSE_BAY)
    second_pass = local(GOOSE_BAY, 2010, 11, 6, 23, 30, fold=1)
    period = schedule.period_at(second_pass)
    assert local_bounds([period], GOOSE_BAY) == [
        ("2010-11-07T00:00:00-03:00", "2010-11-08T00:00:00-04:00")
    ]
    assert period.duration == 25 * HOUR
    assert walk(schedule, local(GOOSE_BAY, 2010, 11, 6, 12), 2)[1] == period


class _LateGuess(CalendarSchedule):
    """Reads the label one unit late: the walk must step back to the period."""

    __slots__ = ()

    def _label_of(self, day: date) -> datetime:
        return self._step(super()._label_of(day), 1)


class _EarlyGuess(CalendarSchedule):
    """Reads the label two units early: the walk must step forward."""

    __slots__ = ()

    def _label_of(self, day: date) -> datetime:
        return self._step(super()._label_of(day), -2)


@pytest.mark.parametrize("unit", ["daily", "weekly", "monthly"])
@pytest.mark.parametrize("guess", [_LateGuess, _EarlyGuess])
def test_a_label_read_off_by_whole_units_still_finds_the_period(
    unit: Any, guess: type[CalendarSchedule]
) -> None:
    # The wall is not monotonic, so the label is only a first guess.
    right = CalendarSchedule(unit, BERLIN, weekday=2, billing_day=31)
    wrong = guess(unit, BERLIN, weekday=2, billing_day=31)
    for moment in (
        local(BERLIN, 2025, 3, 30, 12),
        local(BERLIN, 2025, 10, 26, 2, 30, fold=1),
        local(BERLIN, 2028, 2, 29, 0),
    ):
        assert wrong.period_at(moment) == right.period_at(moment)


def test_an_ordinary_moment_resolves_two_wall_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The label read off the wall is right first time away from a fall back."""
    calls: list[datetime] = []
    real = periods_module.resolve_wall_time

    def counting(wall: datetime, tz: ZoneInfo) -> datetime:
        calls.append(wall)
        return real(wall, tz)

    monkeypatch.setattr(periods_module, "resolve_wall_time", counting)
    schedules = [
        CalendarSchedule("daily", BERLIN),
        CalendarSchedule("weekly", BERLIN, weekday=4),
        CalendarSchedule("monthly", BERLIN, billing_day=15),
    ]
    for schedule in schedules:
        for moment in (
            local(BERLIN, 2025, 8, 15, 0, 30),  # 14 Aug in UTC, a Friday
            local(BERLIN, 2025, 8, 15, 0, 0),  # a boundary of each
            local(BERLIN, 2025, 8, 14, 23, 0),
        ):
            calls.clear()
            period = schedule.period_at(moment)
            assert period.start <= moment < period.end
            assert len(calls) == 2, (schedule, moment, calls)


def test_fixed_schedules_count_by_division(monkeypatch: pytest.MonkeyPatch) -> None:
    """A year of minutes is half a million steps; the fixed count divides."""

    def no_walking(self: FixedLengthSchedule, moment: datetime) -> Period:
        raise AssertionError("count_periods walked a fixed schedule")

    monkeypatch.setattr(FixedLengthSchedule, "period_at", no_walking)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    schedule = FixedLengthSchedule(MINUTE)
    assert count_periods(schedule, start, start + timedelta(days=365)) == 525_600
