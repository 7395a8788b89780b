"""The billing engine: periods closing, exact money, carry, catch-up, persistence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import itertools
import json
import math
import random
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.billing import (
    MAX_SEPARATE_MISSED_PERIODS,
    BillingEngine,
    OpenPeriod,
)
from custom_components.iota_energy.core.ledger import (
    LedgerFormatError,
    PaymentState,
    PriceSlice,
    Statement,
)
from custom_components.iota_energy.core.periods import (
    CalendarSchedule,
    FixedLengthSchedule,
    Period,
    Schedule,
)
from custom_components.iota_energy.core.pricing import (
    TUTORIAL_PRICE_IOTA_PER_KWH,
    PriceQuote,
    PriceSource,
    PriceTracker,
)

BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # a boundary of every schedule used
JOULES_PER_KWH = 3_600_000
TUTORIAL = PriceQuote(TUTORIAL_PRICE_IOTA_PER_KWH, "static")


def minute_engine(min_payment: int = 1, start: datetime = T0) -> BillingEngine:
    engine = BillingEngine(FixedLengthSchedule(MINUTE), min_payment_iota=min_payment)
    engine.start(start)
    return engine


def mws(milliwatt_seconds: int) -> Fraction:
    """Energy in joules from mW·s (the tutorial's unit)."""
    return Fraction(milliwatt_seconds, 1000)


def restart(engine: BillingEngine, schedule: Schedule | None = None) -> BillingEngine:
    """What Home Assistant does: persist as JSON, build a new engine from it."""
    state = json.loads(json.dumps(engine.export_state()))
    return BillingEngine.from_state(
        schedule or engine.schedule, state, min_payment_iota=engine.min_payment_iota
    )


# --- opening and closing ----------------------------------------------------------


def test_fresh_start_opens_the_current_period() -> None:
    engine = BillingEngine(FixedLengthSchedule(MINUTE))
    assert engine.start(T0 + timedelta(seconds=5)) == []
    assert engine.open_period.period == Period(T0, T0 + MINUTE)
    assert not engine.open_period.complete  # started 5 s late
    assert engine.next_boundary() == T0 + MINUTE
    assert minute_engine().open_period.complete  # started on the boundary


def test_engine_must_be_started_once() -> None:
    engine = BillingEngine(FixedLengthSchedule(MINUTE))
    with pytest.raises(RuntimeError):
        engine.add_energy(Fraction(1), TUTORIAL)
    with pytest.raises(RuntimeError):
        engine.roll(T0)
    engine.start(T0)
    with pytest.raises(RuntimeError, match="already"):
        engine.start(T0)


def test_min_payment_must_be_a_positive_int() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="min_payment"):
            BillingEngine(FixedLengthSchedule(MINUTE), min_payment_iota=bad)  # type: ignore[arg-type]


def test_energy_must_be_exact_and_not_negative() -> None:
    engine = minute_engine()
    with pytest.raises(ValueError, match="negative"):
        engine.add_energy(Fraction(-1), TUTORIAL)
    with pytest.raises(TypeError):
        engine.add_energy(0.5, TUTORIAL)  # type: ignore[arg-type]
    engine.add_energy(3, TUTORIAL)
    assert engine.open_period.energy_j == 3


def test_roll_closes_only_ended_periods() -> None:
    engine = minute_engine()
    engine.add_energy(mws(100), TUTORIAL)
    assert engine.roll(T0 + MINUTE - timedelta(microseconds=1)) == []
    (statement,) = engine.roll(T0 + MINUTE)
    assert (statement.period_start, statement.period_end) == (T0, T0 + MINUTE)
    assert statement.complete
    assert statement.owed == 20  # 100 mW·s x 0.2 IOTA/mW·s
    assert statement.due_iota == 20
    assert statement.payment_state is PaymentState.DUE
    assert engine.open_period.period == Period(T0 + MINUTE, T0 + 2 * MINUTE)
    assert engine.open_period.complete


def test_tutorial_fraction_is_carried_never_discarded() -> None:
    # 13 mW·s per period at 0.2 IOTA/mW·s owes 2.6 IOTA; the tutorial paid 2.
    engine = minute_engine()
    dues = []
    for number in range(1, 6):
        engine.add_energy(mws(13), TUTORIAL)
        (statement,) = engine.roll(T0 + number * MINUTE)
        dues.append(statement.due_iota)
    assert dues == [2, 3, 2, 3, 3]  # 2.6, 5.2, 7.8, 10.4, 13.0 cumulated
    assert sum(dues) == 13
    assert engine.carry == 0


def test_minimum_payment_carries_small_amounts_and_never_pays_zero() -> None:
    engine = minute_engine(min_payment=10)
    statements: list[Statement] = []
    for number in range(1, 5):
        engine.add_energy(mws(19), TUTORIAL)  # 3.8 IOTA each
        statements.extend(engine.roll(T0 + number * MINUTE))
    assert [s.due_iota for s in statements] == [0, 0, 11, 0]
    assert [s.payment_state for s in statements] == [
        PaymentState.NOTHING_DUE,
        PaymentState.NOTHING_DUE,
        PaymentState.DUE,
        PaymentState.NOTHING_DUE,
    ]
    assert [s.carried_out for s in statements] == [
        Fraction(19, 5),
        Fraction(38, 5),
        Fraction(2, 5),
        Fraction(21, 5),
    ]
    assert engine.carry == Fraction(21, 5)


def test_price_change_mid_period_is_applied_time_weighted() -> None:
    engine = minute_engine()
    cheap = PriceQuote(Fraction(100), "entity")
    dear = PriceQuote(Fraction(250), "entity")
    engine.add_energy(Fraction(JOULES_PER_KWH, 4), cheap)  # 0.25 kWh at 100
    engine.add_energy(Fraction(JOULES_PER_KWH, 10), dear)  # 0.1 kWh at 250
    engine.add_energy(Fraction(JOULES_PER_KWH, 10), dear)  # merges with the last
    engine.add_energy(Fraction(JOULES_PER_KWH, 20), cheap)  # a new slice again
    (statement,) = engine.roll(T0 + MINUTE)
    assert [(s.iota_per_kwh, s.energy_j) for s in statement.slices] == [
        (Fraction(100), Fraction(JOULES_PER_KWH, 4)),
        (Fraction(250), Fraction(JOULES_PER_KWH, 5)),
        (Fraction(100), Fraction(JOULES_PER_KWH, 20)),
    ]
    assert statement.owed == Fraction(25) + 50 + 5
    assert statement.price_flags == ()


def test_price_entity_going_unavailable_is_flagged_on_the_statement() -> None:
    tracker = PriceTracker(Fraction(1), uses_entity=True)
    engine = minute_engine()
    engine.add_energy(Fraction(JOULES_PER_KWH, 1000), tracker.update("0.5", None))
    engine.add_energy(
        Fraction(JOULES_PER_KWH, 1000), tracker.update("unavailable", None)
    )
    (statement,) = engine.roll(T0 + MINUTE)
    assert [s.source for s in statement.slices] == ["entity", "last_valid"]
    assert [s.iota_per_kwh for s in statement.slices] == [Fraction(1, 2)] * 2
    assert statement.price_flags == ("last_valid",)
    assert statement.owed == Fraction(1, 1000)


def test_same_price_from_another_source_is_a_separate_slice() -> None:
    period = OpenPeriod(Period(T0, T0 + MINUTE))
    period.add_energy(Fraction(1), PriceQuote(Fraction(5), "entity"))
    period.add_energy(Fraction(1), PriceQuote(Fraction(5), "last_valid"))
    period.add_energy(Fraction(0), PriceQuote(Fraction(7), "fallback"))  # adds nothing
    assert [s.source for s in period.slices] == ["entity", "last_valid"]


# --- manual close -----------------------------------------------------------------


def test_close_now_ends_the_period_and_stays_aligned() -> None:
    engine = BillingEngine(CalendarSchedule("hourly", BERLIN))
    engine.start(T0)
    engine.add_energy(mws(50), TUTORIAL)
    middle = T0 + timedelta(minutes=20)
    statement = engine.close_now(middle)
    assert (statement.period_start, statement.period_end) == (T0, middle)
    assert statement.due_iota == 10
    assert engine.open_period.period == Period(middle, T0 + timedelta(hours=1))
    assert engine.open_period.complete
    (following,) = engine.roll(T0 + timedelta(hours=1))
    assert following.period_start == middle


def test_manual_close_survives_a_restart() -> None:
    engine = minute_engine()
    middle = T0 + timedelta(seconds=25)
    engine.close_now(middle)
    engine.add_energy(mws(5), TUTORIAL)
    restored = restart(engine)
    assert restored.open_period.period == Period(middle, T0 + MINUTE)
    restored.start(middle + timedelta(seconds=5))
    (statement,) = restored.roll(T0 + MINUTE)
    assert (statement.period_start, statement.energy_j) == (middle, mws(5))


def test_close_now_needs_a_moment_inside_the_open_period() -> None:
    engine = minute_engine()
    with pytest.raises(ValueError, match="roll"):
        engine.close_now(T0)
    with pytest.raises(ValueError, match="roll"):
        engine.close_now(T0 + MINUTE)


def test_close_now_names_a_naive_moment() -> None:
    engine = minute_engine()
    with pytest.raises(ValueError, match=r"^now must be timezone-aware"):
        engine.close_now(datetime(2025, 6, 1, 12, 0, 30))


# --- restarts and downtime --------------------------------------------------------


def test_restart_within_the_period_keeps_energy_and_marks_it_incomplete() -> None:
    engine = minute_engine()
    engine.add_energy(mws(40), TUTORIAL)
    restored = restart(engine)
    assert restored.start(T0 + timedelta(seconds=30)) == []
    assert restored.open_period.energy_j == mws(40)
    assert not restored.open_period.complete
    (statement,) = restored.roll(T0 + MINUTE)
    assert statement.owed == 8
    assert not statement.complete


def berlin(*fields: int, fold: int = 0) -> datetime:
    """A Berlin wall time as a UTC instant.

    Aware datetimes from different zones never compare equal when one of
    them is an ambiguous wall time, so expectations are written in UTC.
    """
    return datetime(*fields).replace(tzinfo=BERLIN, fold=fold).astimezone(UTC)  # type: ignore[arg-type]


def test_home_assistant_down_across_several_hourly_periods_over_dst() -> None:
    # Down from 01:40 CEST until 03:10 CET on the night clocks go back:
    # the 01:00 hour was metered in part, the two 02:00 hours not at all.
    schedule = CalendarSchedule("hourly", BERLIN)
    one_am = berlin(2025, 10, 26, 1, 0)
    engine = BillingEngine(schedule)
    engine.start(one_am)
    engine.add_energy(mws(123), TUTORIAL)
    engine.add_energy(mws(1), PriceQuote(Fraction(10**9), "fallback"))
    back = berlin(2025, 10, 26, 3, 10)
    restored = restart(engine)
    partial, missed_cest, missed_cet = restored.start(back)
    assert (partial.period_start, partial.period_end) == (
        one_am,
        berlin(2025, 10, 26, 2, 0, fold=0),
    )
    assert partial.energy_j == mws(124)
    assert not partial.complete
    assert partial.price_flags == ("fallback",)
    assert partial.closed_at == back
    # A short outage: each missed hour gets its own statement, the repeated
    # 02:00 hour twice (02:00 CEST and 02:00 CET).
    assert missed_cest.period_start == partial.period_end
    assert missed_cest.period_end == missed_cet.period_start
    assert missed_cet.period_end == berlin(2025, 10, 26, 3, 0)
    for missed in (missed_cest, missed_cet):
        assert missed.period_end - missed.period_start == timedelta(hours=1)
        assert missed.periods_covered == 1
        assert (missed.energy_j, missed.owed) == (Fraction(0), Fraction(0))
        assert not missed.complete
        assert missed.covered_seconds == 0.0  # measured: nothing, not "unknown"
    assert missed_cest.carried_in == partial.carried_out
    assert restored.open_period.period.start == missed_cet.period_end
    assert not restored.open_period.complete


def test_a_month_down_with_sixty_second_periods_is_one_gap_statement() -> None:
    engine = minute_engine()
    engine.add_energy(mws(7), TUTORIAL)  # 1.4 IOTA
    restored = restart(engine)
    back = T0 + timedelta(days=30, seconds=30)
    statements = restored.start(back)
    assert len(statements) == 2
    closed, gap = statements
    assert closed.due_iota == 1
    assert gap.periods_covered == 30 * 24 * 60 - 1
    assert gap.period_end == back - timedelta(seconds=30)
    assert gap.due_iota == 0
    assert gap.carried_out == Fraction(2, 5)


def test_restart_exactly_on_the_next_boundary_leaves_no_gap() -> None:
    engine = minute_engine()
    restored = restart(engine)
    (statement,) = restored.start(T0 + MINUTE)
    assert not statement.complete
    assert restored.open_period.period.start == T0 + MINUTE
    assert restored.open_period.complete


def test_clock_set_back_before_the_restored_period_keeps_it() -> None:
    engine = minute_engine()
    engine.add_energy(mws(5), TUTORIAL)
    restored = restart(engine)
    assert restored.start(T0 - timedelta(hours=1)) == []
    assert restored.open_period.period == Period(T0, T0 + MINUTE)
    assert restored.open_period.energy_j == mws(5)


def test_roll_after_a_short_suspend_closes_each_skipped_period() -> None:
    engine = minute_engine()
    statements = engine.roll(T0 + timedelta(minutes=10, seconds=1))
    assert [s.periods_covered for s in statements] == [1] * 10
    assert [s.complete for s in statements] == [True] + [False] * 9
    assert [s.period_start for s in statements] == [
        T0 + index * MINUTE for index in range(10)
    ]
    assert not engine.open_period.complete


def test_roll_after_a_long_suspend_collapses_the_skipped_periods() -> None:
    engine = minute_engine()
    skipped = MAX_SEPARATE_MISSED_PERIODS + 1
    statements = engine.roll(T0 + (skipped + 1) * MINUTE + timedelta(seconds=1))
    assert [s.periods_covered for s in statements] == [1, skipped]
    assert statements[1].period_end - statements[1].period_start == skipped * MINUTE
    assert [s.complete for s in statements] == [True, False]


def test_as_many_missed_periods_as_the_limit_are_still_separate() -> None:
    engine = minute_engine()
    statements = engine.roll(
        T0 + (MAX_SEPARATE_MISSED_PERIODS + 1) * MINUTE + timedelta(seconds=1)
    )
    assert len(statements) == MAX_SEPARATE_MISSED_PERIODS + 1
    assert all(s.periods_covered == 1 for s in statements)


def test_schedule_change_ends_the_restored_period_at_the_new_boundary() -> None:
    daily = CalendarSchedule("daily", BERLIN)
    engine = BillingEngine(daily)
    midnight = datetime(2025, 6, 1, tzinfo=BERLIN)
    engine.start(midnight)
    engine.add_energy(mws(10), TUTORIAL)
    hourly = CalendarSchedule("hourly", BERLIN)
    restored = restart(engine, hourly)
    assert restored.open_period.period == Period(
        midnight, midnight + timedelta(hours=1)
    )
    restored.start(midnight + timedelta(minutes=30))
    (statement,) = restored.roll(midnight + timedelta(hours=1))
    assert statement.energy_j == mws(10)


def test_ids_are_unique_and_continue_across_restarts() -> None:
    engine = minute_engine()
    ids = [s.id for s in engine.roll(T0 + MINUTE)]
    restored = restart(engine)
    # Closes [1, 2) and the missed [2, 3), [3, 4), [4, 5), then [5, 6).
    ids += [s.id for s in restored.start(T0 + 5 * MINUTE + timedelta(seconds=1))]
    ids += [s.id for s in restored.roll(T0 + 6 * MINUTE)]
    assert len(ids) == len(set(ids)) == 6
    assert ids == sorted(ids)
    assert ids[0] == "00000001-20250601T120000Z"


def test_mark_incomplete() -> None:
    engine = minute_engine()
    engine.mark_incomplete()
    (statement,) = engine.roll(T0 + MINUTE)
    assert not statement.complete
    assert engine.open_period.complete


# --- calendar runs ------------------------------------------------------------------


def run_boundaries(engine: BillingEngine, count: int) -> list[Statement]:
    """Roll exactly at each boundary, adding 1 J to each period."""
    statements: list[Statement] = []
    while len(statements) < count:
        engine.add_energy(Fraction(1), TUTORIAL)
        statements.extend(engine.roll(engine.next_boundary()))
    return statements


def test_daily_billing_through_both_dst_changes() -> None:
    engine = BillingEngine(CalendarSchedule("daily", BERLIN))
    engine.start(datetime(2025, 3, 29, tzinfo=BERLIN))
    spring = run_boundaries(engine, 3)
    assert [s.period_end - s.period_start for s in spring] == [
        timedelta(hours=24),
        timedelta(hours=23),
        timedelta(hours=24),
    ]
    engine = BillingEngine(CalendarSchedule("daily", BERLIN))
    engine.start(datetime(2025, 10, 25, tzinfo=BERLIN))
    autumn = run_boundaries(engine, 3)
    assert [s.period_end - s.period_start for s in autumn] == [
        timedelta(hours=24),
        timedelta(hours=25),
        timedelta(hours=24),
    ]
    assert all(s.complete for s in spring + autumn)


def test_monthly_billing_day_31_through_a_leap_year() -> None:
    engine = BillingEngine(CalendarSchedule("monthly", BERLIN, billing_day=31))
    engine.start(datetime(2027, 12, 31, tzinfo=BERLIN))
    statements = run_boundaries(engine, 4)
    assert [s.period_end.astimezone(BERLIN).date().isoformat() for s in statements] == [
        "2028-01-31",
        "2028-02-29",
        "2028-03-31",
        "2028-04-30",
    ]


def test_sixty_second_periods_straight_through_a_dst_change() -> None:
    engine = minute_engine(start=datetime(2025, 3, 30, 0, 55, tzinfo=UTC))
    statements = run_boundaries(engine, 10)  # 01:55 CET .. 03:05 CEST
    assert {s.period_end - s.period_start for s in statements} == {MINUTE}
    assert all(
        a.period_end == b.period_start for a, b in itertools.pairwise(statements)
    )


# --- persistence ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            lambda s: s.pop("carry"),
            r"billing state keys: \['next_seq', 'open_period', 'version'\]",
        ),
        (lambda s: s.update(version=2), "unsupported billing state version 2"),
        (lambda s: s.update(carry="-1/3"), "carry is never negative: -1/3"),
        (lambda s: s.update(carry=0.5), "carry must be an exact 'n/d' string, not 0.5"),
        (lambda s: s.update(next_seq=0), "next_seq is an int >= 1: 0"),
        (lambda s: s.update(next_seq="3"), "next_seq is an int >= 1: '3'"),
        (
            lambda s: s.update(extra=1),
            r"billing state keys: \['carry', 'extra', 'next_seq', ",
        ),
        (
            lambda s: s["open_period"].update(start="2025-06-01T12:00:00"),
            "open_period.start must be a timezone-aware datetime",
        ),
        (
            lambda s: s["open_period"].update(end="x"),
            "open_period.end is not an ISO 8601 timestamp: 'x'",
        ),
        (
            lambda s: s["open_period"].update(complete="yes"),
            "open_period.complete must be a bool",
        ),
        (
            lambda s: s["open_period"].update(slices={}),
            "open_period.slices must be a list",
        ),
        (
            lambda s: s["open_period"].update(slices=[{"energy_j": "1/1"}]),
            "slice fields: missing",
        ),
        (
            lambda s: s["open_period"].pop("end"),
            r"open_period is malformed: \{'start': ",
        ),
    ],
)
def test_from_state_rejects_malformed_state(mutate: Any, reason: str) -> None:
    """Each malformed state is refused, and the message says what is wrong."""
    engine = minute_engine()
    engine.add_energy(mws(3), TUTORIAL)
    state = json.loads(json.dumps(engine.export_state()))
    mutate(state)
    with pytest.raises(LedgerFormatError, match=f"^billing state is invalid: {reason}"):
        BillingEngine.from_state(FixedLengthSchedule(MINUTE), state)


def test_from_state_keeps_the_default_minimum_payment() -> None:
    state = json.loads(json.dumps(minute_engine().export_state()))
    restored = BillingEngine.from_state(FixedLengthSchedule(MINUTE), state)
    assert restored.min_payment_iota == 1


def test_from_state_says_a_non_object_is_not_a_state() -> None:
    message = r"invalid: billing state must be an object$"
    with pytest.raises(LedgerFormatError, match=message):
        BillingEngine.from_state(FixedLengthSchedule(MINUTE), ["version", 1])  # type: ignore[arg-type]


# --- found by mutation testing (scripts/mutation) ---------------------------------


def test_statement_ids_count_up_from_one() -> None:
    engine = minute_engine()
    first, second = engine.roll(T0 + MINUTE) + engine.roll(T0 + 2 * MINUTE)
    assert (first.id, second.id) == (
        "00000001-20250601T120000Z",
        "00000002-20250601T120100Z",
    )
    assert engine.export_state()["next_seq"] == 3


def test_a_late_roll_is_no_interruption() -> None:
    """Rolled a second after the boundary, the next period was metered all along."""
    engine = minute_engine()
    engine.roll(T0 + MINUTE + timedelta(seconds=1))
    assert engine.open_period.period == Period(T0 + MINUTE, T0 + 2 * MINUTE)
    assert engine.open_period.complete


def test_the_statement_keeps_the_covered_seconds_of_its_period() -> None:
    engine = minute_engine()
    engine.open_period.covered_seconds = 42.5
    (statement,) = engine.roll(T0 + MINUTE)
    assert statement.covered_seconds == 42.5


def test_defaults_are_a_complete_period_and_a_minimum_of_one_iota() -> None:
    assert OpenPeriod(Period(T0, T0 + MINUTE)).complete
    assert BillingEngine(FixedLengthSchedule(MINUTE)).min_payment_iota == 1


def test_restart_in_the_next_period_marks_it_incomplete() -> None:
    """Down from T0 + 40 s to T0 + 90 s: the period [1 min, 2 min) missed 30 s."""
    engine = minute_engine()
    restored = restart(engine)
    (closed,) = restored.start(T0 + MINUTE + timedelta(seconds=30))
    assert not closed.complete
    assert restored.open_period.period == Period(T0 + MINUTE, T0 + 2 * MINUTE)
    assert not restored.open_period.complete


def test_a_restored_engine_shows_the_saved_period_before_it_starts() -> None:
    engine = BillingEngine(FixedLengthSchedule(MINUTE))
    engine.start(T0 + timedelta(seconds=5))  # late: incomplete
    state = json.loads(json.dumps(engine.export_state()))
    restored = BillingEngine.from_state(FixedLengthSchedule(MINUTE), state)
    assert not restored.open_period.complete
    assert restored.export_state() == state


def test_errors_name_the_argument_at_fault() -> None:
    fresh = BillingEngine(FixedLengthSchedule(MINUTE))
    with pytest.raises(RuntimeError, match=r"^call start\(now\) before using the"):
        fresh.roll(T0)
    naive = datetime(2025, 6, 1, 12, 0, 30)
    with pytest.raises(ValueError, match=r"^now must be timezone-aware"):
        fresh.start(naive)
    engine = minute_engine()
    with pytest.raises(RuntimeError, match=r"^the billing engine was already started$"):
        engine.start(T0)
    with pytest.raises(ValueError, match=r"^now must be timezone-aware"):
        engine.roll(naive)
    with pytest.raises(
        TypeError, match=r"^energy_j must be a Fraction or int, not float$"
    ):
        engine.add_energy(0.5, TUTORIAL)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^quote must be a PriceQuote$"):
        engine.add_energy(1, Fraction(1))  # type: ignore[arg-type]


# --- properties over thousands of periods -----------------------------------------


@dataclass(frozen=True)
class Charge:
    millijoules: int
    price: Fraction
    source: PriceSource


CHARGES = st.builds(
    Charge,
    millijoules=st.integers(min_value=0, max_value=5_000_000),
    price=st.fractions(min_value=0, max_value=10**9, max_denominator=1000),
    source=st.sampled_from(["static", "entity", "last_valid", "fallback"]),
)


def bill(
    periods: list[list[Charge]],
    min_payment: int,
    restarts: frozenset[int] = frozenset(),
) -> tuple[list[Statement], BillingEngine]:
    """Bill one 60 s period per list of charges; restart after the given ones."""
    engine = minute_engine(min_payment)
    statements: list[Statement] = []
    for index, charges in enumerate(periods):
        for charge in charges:
            engine.add_energy(
                Fraction(charge.millijoules, 1000),
                PriceQuote(charge.price, charge.source),
            )
        if index in restarts:
            engine = restart(engine)
            engine.start(engine.open_period.period.start)
        statements.extend(engine.roll(engine.next_boundary()))
    return statements, engine


def exact_total(periods: list[list[Charge]]) -> Fraction:
    """What the energy cost, computed independently of the engine."""
    return sum(
        (
            Fraction(c.millijoules, 1000 * JOULES_PER_KWH) * c.price
            for p in periods
            for c in p
        ),
        Fraction(0),
    )


def check_money_invariants(
    statements: list[Statement],
    engine: BillingEngine,
    total: Fraction,
    min_payment: int,
) -> None:
    dues = [s.due_iota for s in statements]
    # 1. Nothing lost, nothing invented: paid + still carried == owed, exactly.
    assert sum(dues) + engine.carry == total
    assert sum((s.owed for s in statements), Fraction(0)) == total
    # 2. The carry is always below the minimum payment, so it is never "due".
    assert all(0 <= s.carried_out < min_payment for s in statements)
    # 3. No payment below the minimum, no zero-value payment.
    assert all(d == 0 or d >= min_payment for d in dues)
    assert all(
        (s.due_iota > 0) == (s.payment_state is PaymentState.DUE) for s in statements
    )
    # 4. Each statement carries in what the previous carried out; periods tile.
    carried = Fraction(0)
    for statement in statements:
        assert statement.carried_in == carried
        carried = statement.carried_out
    for previous, following in itertools.pairwise(statements):
        assert following.period_start == previous.period_end
    # 5. With a minimum of 1 IOTA, what was made due is the floor of the exact total.
    if min_payment == 1:
        assert sum(dues) == math.floor(total)
        assert engine.carry < 1


@settings(max_examples=120, deadline=None)
@given(
    periods=st.lists(st.lists(CHARGES, max_size=4), min_size=1, max_size=120),
    min_payment=st.integers(min_value=1, max_value=50),
)
def test_money_invariants_over_random_periods(
    periods: list[list[Charge]], min_payment: int
) -> None:
    statements, engine = bill(periods, min_payment)
    assert len(statements) == len(periods)
    check_money_invariants(statements, engine, exact_total(periods), min_payment)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    count=st.integers(min_value=1_000, max_value=3_000),
    min_payment=st.sampled_from([1, 1, 7, 100]),
)
def test_money_invariants_over_thousands_of_led_periods(
    seed: int, count: int, min_payment: int
) -> None:
    # Tutorial-like periods: an LED of a few mW to ~60 mW for 60 s, at the
    # tutorial price or a varying one, so each period owes a few hundred IOTA
    # with a fraction (the tutorial dropped that fraction every period).
    rng = random.Random(seed)
    periods = [
        [
            Charge(
                rng.randint(2_000, 60_000) * 60 // 1000,
                TUTORIAL_PRICE_IOTA_PER_KWH * Fraction(rng.randint(50, 150), 100),
                "entity",
            )
            for _ in range(rng.randint(0, 3))
        ]
        for _ in range(count)
    ]
    statements, engine = bill(periods, min_payment)
    check_money_invariants(statements, engine, exact_total(periods), min_payment)


@settings(max_examples=60, deadline=None)
@given(
    periods=st.lists(st.lists(CHARGES, max_size=3), min_size=1, max_size=40),
    min_payment=st.integers(min_value=1, max_value=20),
    restarts=st.frozensets(st.integers(min_value=0, max_value=39)),
)
def test_restarts_change_no_amount(
    periods: list[list[Charge]], min_payment: int, restarts: frozenset[int]
) -> None:
    straight, _ = bill(periods, min_payment)
    interrupted, engine = bill(periods, min_payment, restarts)

    def money(s: Statement) -> tuple[Any, ...]:
        return (s.id, s.period_start, s.slices, s.owed, s.carried_in, s.due_iota)

    assert [money(s) for s in interrupted] == [money(s) for s in straight]
    assert [s.complete for s in interrupted] == [
        index not in restarts for index in range(len(periods))
    ]
    check_money_invariants(interrupted, engine, exact_total(periods), min_payment)


@settings(max_examples=80, deadline=None)
@given(charges=st.lists(CHARGES, max_size=8), carry_periods=st.integers(0, 3))
def test_export_state_round_trips_exactly(
    charges: list[Charge], carry_periods: int
) -> None:
    engine = minute_engine()
    for number in range(carry_periods):
        engine.add_energy(mws(3), TUTORIAL)
        engine.roll(T0 + (number + 1) * MINUTE)
    for charge in charges:
        engine.add_energy(
            Fraction(charge.millijoules, 1000), PriceQuote(charge.price, charge.source)
        )
    restored = restart(engine)
    assert restored.export_state() == engine.export_state()
    assert restored.carry == engine.carry
    assert restored.open_period.slices == engine.open_period.slices
    assert all(isinstance(s, PriceSlice) for s in restored.open_period.slices)


EVENTS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=6 * 3600),  # seconds until the event
        st.sampled_from(["roll", "restart", "close"]),
        st.integers(min_value=0, max_value=50_000),  # mW·s metered before it
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(
    events=EVENTS,
    first=st.datetimes(
        min_value=datetime(2025, 3, 29), max_value=datetime(2025, 3, 31)
    ).map(lambda d: d.replace(tzinfo=UTC))
    | st.datetimes(
        min_value=datetime(2025, 10, 25), max_value=datetime(2025, 10, 27)
    ).map(lambda d: d.replace(tzinfo=UTC)),
)
def test_downtime_and_manual_closes_tile_time_across_dst(
    events: list[tuple[int, str, int]], first: datetime
) -> None:
    schedule = CalendarSchedule("hourly", BERLIN)
    engine = BillingEngine(schedule, min_payment_iota=3)
    engine.start(first)
    origin = engine.open_period.period.start
    now = first
    statements: list[Statement] = []
    manual_closes = 0
    metered = Fraction(0)
    for seconds, kind, energy in events:
        engine.add_energy(mws(energy), TUTORIAL)
        metered += mws(energy)
        now += timedelta(seconds=seconds)
        if kind == "restart":  # down for `seconds`, then back at `now`
            engine = restart(engine)
            statements.extend(engine.start(now))
            continue
        statements.extend(engine.roll(now))
        if kind == "close" and engine.open_period.period.start < now:
            statements.append(engine.close_now(now))
            manual_closes += 1
    # Statements tile [origin, open start) with no gap and no overlap ...
    assert all(
        a.period_end == b.period_start for a, b in itertools.pairwise(statements)
    )
    end = engine.open_period.period.start
    if statements:
        assert (statements[0].period_start, statements[-1].period_end) == (origin, end)
    # ... and each closed piece ends at a schedule boundary or a manual close
    # (never both: a manual close falls strictly inside a period).
    covered = sum(s.periods_covered for s in statements)
    ended = [p for p in _hours(schedule, origin, end) if p.end <= end]
    assert covered == len(ended) + manual_closes
    # ... and lose no energy and no fraction of an IOTA.
    assert (
        sum((s.energy_j for s in statements), Fraction(0))
        + (engine.open_period.energy_j)
        == metered
    )
    owed = sum((s.owed for s in statements), Fraction(0))
    assert sum(s.due_iota for s in statements) + engine.carry == owed
    assert all(s.due_iota == 0 or s.due_iota >= 3 for s in statements)


def _hours(schedule: Schedule, start: datetime, end: datetime) -> list[Period]:
    """Every schedule period in ``[start, end)``, walked one by one."""
    periods: list[Period] = []
    cursor = start
    while cursor < end:
        periods.append(schedule.period_at(cursor))
        cursor = periods[-1].end
    return periods
