"""The meter (trapezoid on real stamps, exact, with gaps) and the load profiles."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
import itertools
import json
import math
from pathlib import Path
import re
import threading

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.load_profiles import LoadProfile, ProfilePoint
from custom_components.iota_energy.core.metering import (
    DEFAULT_MAX_GAP_S,
    Meter,
    MeterCut,
    MeterSnapshot,
)
from custom_components.iota_energy.core.power_source import Reading, SourceError
from custom_components.iota_energy.core.sampler import Sample

NS = 1_000_000_000
WALL0 = 1_700_000_000.0
PROFILES_DIR = Path(__file__).parents[2] / "config" / "load-profiles"


def good(at_ns: int, power_w: float, wall: float | None = None) -> Sample:
    reading = Reading(
        power_w=power_w, current_a=power_w / 5, bus_voltage_v=5.0, shunt_voltage_mv=0.0
    )
    return Sample(at_ns, WALL0 + at_ns / NS if wall is None else wall, reading, None)


def failed(at_ns: int, kind: str = "missing", wall: float | None = None) -> Sample:
    wall_time = WALL0 + at_ns / NS if wall is None else wall
    return Sample(at_ns, wall_time, None, SourceError(kind, "gone"))  # type: ignore[arg-type]


def trapezoids(points: list[tuple[int, float]]) -> Fraction:
    """Independent reference: exact trapezoid sum over (ns, W) points."""
    total = Fraction(0)
    for (t0, p0), (t1, p1) in itertools.pairwise(points):
        total += (Fraction(p0) + Fraction(p1)) / 2 * Fraction(t1 - t0, NS)
    return total


# -- integration -------------------------------------------------------------


def test_trapezoid_on_a_ramp_is_exact() -> None:
    # A slope of 1/4 W/s keeps every sampled power an exact binary float.
    profile = LoadProfile.ramp(0.5, 2.5, duration_s=8)
    meter = Meter()
    for k in range(9):  # every second from 0 to 8 s: the ramp's straight part
        meter.add(good(k * NS, profile.power_at(k)))
    assert meter.snapshot().energy_j == profile.exact_energy_j(0, 8)
    assert meter.snapshot().energy_j == 12  # mean 1.5 W for 8 s


def test_uses_the_real_stamps_not_the_nominal_period() -> None:
    meter = Meter()
    points = [(0, 1.0), (NS + 7_000_000, 2.0), (2 * NS - 3_000_000, 2.0)]
    for at, power in points:
        meter.add(good(at, power))
    assert meter.snapshot().energy_j == trapezoids(points)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=3 * NS),
            st.floats(min_value=0, max_value=500, allow_nan=False),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_energy_is_exact_and_never_decreases(
    steps: list[tuple[int, float, bool]],
) -> None:
    max_gap_ns = 2 * NS
    meter = Meter(max_gap_s=max_gap_ns / NS)
    at = 0
    segments: list[list[tuple[int, float]]] = [[]]
    last_good: int | None = None
    previous = Fraction(0)
    for delta, power, ok in steps:
        at += delta
        if ok:
            if last_good is not None and at - last_good > max_gap_ns:
                segments.append([])
            segments[-1].append((at, power))
            last_good = at
            meter.add(good(at, power))
        else:
            meter.add(failed(at))
        energy = meter.snapshot().energy_j
        assert energy >= previous
        previous = energy
    assert meter.snapshot().energy_j == sum(
        (trapezoids(segment) for segment in segments), Fraction(0)
    )


def test_short_failures_are_bridged_long_ones_are_gaps() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(failed(1 * NS))
    meter.add(failed(2 * NS))
    meter.add(good(3 * NS, 1.0))  # 3 s apart: bridged
    assert meter.snapshot().energy_j == 3
    assert meter.snapshot().gaps == 0
    for second in range(4, 10):
        meter.add(failed(second * NS))
    snapshot = meter.snapshot()
    assert not snapshot.available
    assert snapshot.last_reading is None
    assert snapshot.gaps == 1  # counted while it lasts
    meter.add(good(10 * NS, 1.0))  # 7 s after the last reading: not integrated
    snapshot = meter.snapshot()
    assert snapshot.energy_j == 3
    assert snapshot.gaps == 1
    assert snapshot.gap_seconds == 7
    assert snapshot.covered_seconds == 3
    assert snapshot.failed_samples == 8
    assert snapshot.samples == 3
    assert snapshot.available


def test_first_sample_only_starts_a_segment() -> None:
    meter = Meter()
    assert not meter.snapshot().available
    meter.add(good(5 * NS, 2.0))
    snapshot = meter.snapshot()
    assert snapshot.energy_j == 0
    assert snapshot.available
    assert snapshot.last_reading is not None
    assert snapshot.last_reading.power_w == 2.0


def test_a_stalled_sampler_makes_the_meter_unavailable() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    assert meter.snapshot(now_ns=5 * NS).available
    assert not meter.snapshot(now_ns=5 * NS + 1).available


@pytest.mark.parametrize("power", [-0.1, float("nan"), float("inf")])
def test_impossible_power_is_a_failed_sample_not_energy(power: float) -> None:
    meter = Meter()
    meter.add(good(0, 1.0))
    meter.add(good(NS, power))
    meter.add(good(2 * NS, 1.0))
    snapshot = meter.snapshot()
    assert snapshot.energy_j == 2
    assert snapshot.failed_samples == 1


def test_repeated_or_backward_stamps_never_pair() -> None:
    meter = Meter()
    meter.add(good(10 * NS, 1.0))
    meter.add(good(10 * NS, 5.0))
    meter.add(good(9 * NS, 5.0))
    assert meter.snapshot().energy_j == 0
    meter.add(good(10 * NS, 1.0))
    assert meter.snapshot().energy_j == 3  # (5 + 1) / 2 W for 1 s


@pytest.mark.parametrize("max_gap_s", [0, -1, float("nan"), float("inf")])
def test_max_gap_is_validated(max_gap_s: float) -> None:
    with pytest.raises(
        ValueError, match=r"^max_gap_s must be a positive number of seconds$"
    ):
        Meter(max_gap_s=max_gap_s)


def test_a_max_gap_below_one_second_bridges_exactly_that_long() -> None:
    assert DEFAULT_MAX_GAP_S == 5.0
    assert Meter().max_gap_s == 5.0
    meter = Meter(max_gap_s=0.25)
    assert meter.max_gap_s == 0.25
    meter.add(good(0, 1.0))
    meter.add(good(NS // 4, 1.0))  # exactly max_gap_s later: bridged
    meter.add(good(NS // 2 + 1, 1.0))  # 1 ns more: a gap
    snapshot = meter.snapshot()
    assert snapshot.energy_j == Fraction(1, 4)
    assert (snapshot.gaps, snapshot.gap_seconds) == (1, (NS // 4 + 1) / NS)


def test_a_new_meter_knows_nothing_yet() -> None:
    snapshot = Meter().snapshot()
    assert snapshot == MeterSnapshot(
        energy_j=Fraction(0),
        last_reading=None,
        available=False,
        samples=0,
        failed_samples=0,
        gaps=0,
        gap_seconds=0.0,
        covered_seconds=0.0,
        last_sample_wall=None,
        covered_ns=0,
    )
    assert snapshot.available is False


def test_the_snapshot_holds_the_latest_good_reading_and_its_wall_time() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0, wall=WALL0))
    meter.add(good(NS, 3.0, wall=WALL0 + 1.5))
    meter.add(failed(2 * NS, wall=WALL0 + 2.5))  # a failed read is no reading
    assert meter.snapshot() == MeterSnapshot(
        energy_j=Fraction(2),
        last_reading=good(NS, 3.0).reading,
        available=True,
        samples=2,
        failed_samples=1,
        gaps=0,
        gap_seconds=0.0,
        covered_seconds=1.0,
        last_sample_wall=WALL0 + 1.5,
        covered_ns=NS,
    )
    assert meter.export_state() == {
        "version": 1,
        "energy_j": "2/1",
        "samples": 2,
        "failed_samples": 1,
        "gaps": 0,
        "gap_ns": 0,
        "covered_ns": NS,
        "last_sample_wall": WALL0 + 1.5,
    }


def test_bridging_holds_for_exactly_max_gap() -> None:
    meter = Meter(max_gap_s=5)
    assert not meter.bridging(0)
    meter.add(good(0, 1.0))
    assert meter.bridging(5 * NS)
    assert not meter.bridging(5 * NS + 1)


def test_each_gap_without_failed_reads_is_counted_and_measured() -> None:
    # A stalled sampler: no failed samples mark the outages, only the next reading.
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(good(7 * NS, 1.0))
    meter.add(good(8 * NS, 1.0))
    meter.add(good(20 * NS, 1.0))
    snapshot = meter.snapshot()
    assert (snapshot.gaps, snapshot.gap_seconds) == (2, 19.0)
    assert (snapshot.energy_j, snapshot.covered_seconds) == (Fraction(1), 1.0)


def test_a_failed_read_exactly_max_gap_after_a_reading_is_not_yet_a_gap() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(failed(5 * NS))
    assert meter.snapshot().gaps == 0
    meter.add(failed(5 * NS + 1))
    assert meter.snapshot().gaps == 1
    meter.add(failed(6 * NS))
    assert meter.snapshot().gaps == 1  # counted once while it lasts


def test_a_repeated_stamp_ends_the_segment_as_one_gap() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(good(10 * NS, 1.0))  # a gap first, so the count must add up
    meter.add(good(11 * NS, 1.0))
    meter.add(good(11 * NS, 9.0))  # the same stamp again: never paired
    snapshot = meter.snapshot()
    assert (snapshot.energy_j, snapshot.gaps, snapshot.gap_seconds) == (
        Fraction(1),
        2,
        10.0,
    )
    assert snapshot.samples == 4
    meter.add(good(12 * NS, 1.0))  # pairs with the repeated reading only
    snapshot = meter.snapshot()
    assert (snapshot.energy_j, snapshot.gaps, snapshot.gap_seconds) == (
        Fraction(6),
        2,
        10.0,
    )


def test_backward_stamps_end_nothing_when_nothing_is_open() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(failed(2 * NS))
    meter.add(failed(NS))
    meter.add(failed(NS))
    assert meter.snapshot().gaps == 0
    meter.add(good(3 * NS, 1.0))
    meter.add(failed(9 * NS))  # the outage is counted while it lasts ...
    meter.add(failed(4 * NS))  # ... so ending it by a backward stamp adds none
    assert meter.snapshot().gaps == 1


# -- persistence ----------------------------------------------------------------


def test_state_round_trip_is_exact_and_json_ready() -> None:
    meter = Meter()
    meter.add(good(0, 0.1))
    meter.add(good(NS // 3, 0.7))
    state = json.loads(json.dumps(meter.export_state()))
    restored = Meter.from_state(state, max_gap_s=5)
    assert restored.snapshot().energy_j == meter.snapshot().energy_j
    assert restored.snapshot().energy_j.denominator > 1
    assert restored.export_state() == state


def test_restored_meter_does_not_integrate_across_the_downtime() -> None:
    meter = Meter()
    meter.add(good(0, 1.0, wall=WALL0))
    meter.add(good(NS, 1.0, wall=WALL0 + 1))
    restored = Meter.from_state(meter.export_state())
    assert not restored.snapshot().available
    # A new process: its monotonic clock starts anywhere, here close by.
    restored.add(good(2 * NS, 1.0, wall=WALL0 + 61))
    snapshot = restored.snapshot()
    assert snapshot.energy_j == 1
    assert snapshot.gaps == 1
    assert snapshot.gap_seconds == 60
    restored.add(good(3 * NS, 1.0, wall=WALL0 + 62))
    assert restored.snapshot().energy_j == 2


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"energy_j": 1.5},
        {"energy_j": "-3/2"},
        {"energy_j": "3/0"},
        {"energy_j": "1.5"},
        {"samples": -1},
        {"gaps": True},
        {"gap_ns": "7"},
        {"last_sample_wall": "yesterday"},
        {"last_sample_wall": float("nan")},
    ],
)
def test_malformed_state_is_refused(change: dict[str, object]) -> None:
    state = Meter().export_state() | change
    with pytest.raises(ValueError, match=r"\w"):
        Meter.from_state(state)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ([("version", 1)], r"^meter state must be a mapping$"),
        ({"version": 2}, r"^meter state version must be 1$"),
        ({"energy_j": "-3/2"}, r"^energy_j must not be negative: '-3/2'$"),
        ({"energy_j": "x"}, r"^energy_j must be an exact 'n/d' string, not 'x'$"),
        ({"samples": -1}, r"^samples must be a whole number >= 0$"),
        ({"last_sample_wall": "x"}, r"^last_sample_wall must be a number or null$"),
    ],
)
def test_malformed_state_says_what_is_wrong(state: object, message: str) -> None:
    if isinstance(state, dict):
        state = Meter().export_state() | state
    with pytest.raises(ValueError, match=message):
        Meter.from_state(state)  # type: ignore[arg-type]


def test_a_meter_restored_before_its_first_reading_counts_no_restart_gap() -> None:
    restored = Meter.from_state(Meter().export_state())
    assert restored.snapshot() == Meter().snapshot()
    restored.add(good(0, 1.0))
    restored.add(good(NS, 1.0))
    snapshot = restored.snapshot()
    assert (snapshot.energy_j, snapshot.gaps, snapshot.gap_seconds) == (
        Fraction(1),
        0,
        0.0,
    )


def test_a_restart_counts_one_gap_and_adds_the_downtime_once() -> None:
    state = Meter().export_state() | {
        "gaps": 3,
        "gap_ns": 7 * NS,
        "last_sample_wall": WALL0,
    }
    restored = Meter.from_state(state)
    restored.add(good(0, 1.0, wall=WALL0 + 0.5))  # down for half a second
    snapshot = restored.snapshot()
    assert (snapshot.gaps, snapshot.gap_seconds) == (4, 7.5)
    restored.add(good(NS, 1.0, wall=WALL0 + 1.5))
    restored.add(good(NS, 1.0, wall=WALL0 + 1.5))  # a repeated stamp: one more gap
    restored.add(good(2 * NS, 1.0, wall=WALL0 + 2.5))  # ... and no second restart
    snapshot = restored.snapshot()
    assert (snapshot.energy_j, snapshot.gaps, snapshot.gap_seconds) == (
        Fraction(2),
        5,
        7.5,
    )


def test_a_wall_clock_set_back_across_a_restart_adds_no_downtime() -> None:
    state = Meter().export_state() | {"last_sample_wall": WALL0 + 100}
    restored = Meter.from_state(state)
    restored.add(good(0, 1.0, wall=WALL0 + 40))
    snapshot = restored.snapshot()
    assert (snapshot.gaps, snapshot.gap_seconds) == (1, 0.0)


def test_a_restored_meter_keeps_the_max_gap_it_is_given() -> None:
    restored = Meter.from_state(Meter().export_state(), max_gap_s=2)
    assert restored.max_gap_s == 2.0
    restored.add(good(0, 1.0))
    restored.add(good(3 * NS, 1.0))
    assert restored.snapshot().gaps == 1


def test_missing_field_is_refused() -> None:
    state = Meter().export_state()
    del state["covered_ns"]
    with pytest.raises(ValueError, match="covered_ns"):
        Meter.from_state(state)


def test_concurrent_reads_see_a_growing_total() -> None:
    meter = Meter()
    done = threading.Event()
    seen: list[Fraction] = []

    def reader() -> None:
        while not done.is_set():
            seen.append(meter.snapshot().energy_j)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for k in range(2000):
            meter.add(good(k * NS // 50, 0.25))
    finally:
        done.set()
        thread.join(10)
    assert seen == sorted(seen)
    assert meter.snapshot().energy_j == Fraction(1999, 50) / 4


# -- cuts ---------------------------------------------------------------------------


@pytest.mark.parametrize("wall", [float("nan"), float("inf")])
def test_a_cut_needs_a_finite_wall_time(wall: float) -> None:
    with pytest.raises(ValueError, match=r"^a cut needs a finite wall time$"):
        Meter().request_cut(wall)


def test_a_cut_inside_a_segment_splits_its_trapezoid() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(good(NS, 1.0))
    meter.request_cut(WALL0 + 1.5)
    assert meter.take_cut(NS + NS // 4, WALL0 + 1.25) is None
    assert meter.energy_before_cut() == 1
    meter.add(good(2 * NS, 3.0))
    # 2 W at the cut on the straight line: (1 + 2) / 2 W for the 0.5 s before it.
    assert meter.energy_before_cut() == Fraction(7, 4)
    assert meter.snapshot().energy_j == 3
    assert meter.take_cut(2 * NS, WALL0 + 2) == MeterCut(
        WALL0 + 1.5, Fraction(7, 4), 3 * NS // 2, 0, True
    )
    assert meter.take_cut(2 * NS, WALL0 + 2) is None  # handed out once
    assert meter.energy_before_cut() == 3
    meter.add(good(3 * NS, 3.0))
    assert meter.take_cut(3 * NS, WALL0 + 3) is None


def test_a_cut_asked_for_after_the_fact_takes_the_totals_of_then() -> None:
    meter = Meter(max_gap_s=5)
    for k in range(3):
        meter.add(good(k * NS, 1.0))
    meter.request_cut(WALL0 + 0.5)  # already inside the metered past
    assert meter.take_cut(2 * NS, WALL0 + 2) is None  # the segment is still open
    meter.add(good(3 * NS, 1.0))
    assert meter.take_cut(3 * NS, WALL0 + 3) == MeterCut(
        WALL0 + 0.5, Fraction(2), 2 * NS, 0, True
    )


def test_a_cut_before_the_first_reading_resolves_uncovered_at_it() -> None:
    meter = Meter(max_gap_s=5)
    meter.request_cut(WALL0 + 0.5)
    meter.add(good(NS, 1.0))
    meter.add(good(2 * NS, 1.0))
    assert meter.energy_before_cut() == 0
    assert meter.take_cut(2 * NS, WALL0 + 2) == MeterCut(
        WALL0 + 0.5, Fraction(0), 0, 0, False
    )


def test_a_cut_inside_an_unmarked_gap_resolves_uncovered_at_its_end() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(good(NS, 1.0))
    meter.request_cut(WALL0 + 5)
    meter.add(good(10 * NS, 1.0))  # 9 s without a sample span the cut
    cut = meter.take_cut(10 * NS, WALL0 + 10)
    assert cut is not None
    assert (cut.wall_time, cut.energy_j, cut.covered_ns, cut.covered) == (
        WALL0 + 5,
        Fraction(1),
        NS,
        False,
    )


def test_a_cut_while_only_failed_reads_arrive_is_placed_by_their_clocks() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(failed(0, wall=WALL0))
    meter.add(failed(NS, wall=WALL0 + 1))
    meter.request_cut(WALL0 + 2)
    # By the latest sample's clock pair the boundary is at 2 s monotonic.
    assert meter.take_cut(3 * NS // 2, WALL0 + 2) is None
    meter.add(failed(2 * NS, wall=WALL0 + 2))  # exactly at the boundary
    assert meter.take_cut(2 * NS, WALL0 + 2) == MeterCut(
        WALL0 + 2, Fraction(0), 0, 0, False
    )


def test_a_cut_before_any_sample_resolves_by_the_callers_clocks() -> None:
    meter = Meter()
    meter.request_cut(WALL0 + 1)
    assert meter.take_cut(5 * NS, WALL0 + 0.5) is None
    assert meter.take_cut(5 * NS, WALL0 + 1) == MeterCut(
        WALL0 + 1, Fraction(0), 0, 0, False
    )


def test_a_wall_clock_far_ahead_of_the_readings_resolves_the_cut_uncovered() -> None:
    meter = Meter(max_gap_s=5)
    for k in range(4):
        meter.add(good(k * NS, 1.0))
    meter.request_cut(WALL0 + 100)
    # The wall clock stepped; on the monotonic axis the segment is still open.
    assert meter.take_cut(3 * NS + NS // 2, WALL0 + 99) is None
    assert meter.take_cut(3 * NS + NS // 2, WALL0 + 100) == MeterCut(
        WALL0 + 100, Fraction(3), 3 * NS, 0, False
    )


def test_a_wall_clock_exactly_max_gap_ahead_still_waits_for_a_reading() -> None:
    meter = Meter(max_gap_s=5)
    meter.add(good(0, 1.0))
    meter.add(good(NS, 1.0))
    meter.request_cut(WALL0 + 6)
    assert meter.take_cut(NS + 1, WALL0 + 6) is None
    assert meter.take_cut(NS + 1, WALL0 + 6.5) == MeterCut(
        WALL0 + 6, Fraction(1), NS, 0, False
    )


# -- load profiles ----------------------------------------------------------------


def test_step_profile_holds_values_and_loops() -> None:
    profile = LoadProfile.led_on_off(on_w=0.05, on_s=3, off_s=2)
    assert profile.interpolation == "step"
    assert profile.power_at(0) == 0.05
    assert profile.power_at(2.999) == 0.05
    assert profile.power_at(3) == 0
    assert profile.power_at(5) == 0.05  # second loop
    on = Fraction(0.05)
    assert profile.exact_energy_j(0, 5) == 3 * on
    assert profile.exact_energy_j(4, 11) == (1 + 3) * on
    assert profile.mean_power_w() == on * 3 / 5


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=-1e4, max_value=1e5, allow_nan=False),
    st.sampled_from(["linear", "step"]),
)
def test_float_lookup_agrees_with_the_exact_one(time_s: float, kind: str) -> None:
    profile = LoadProfile(
        [(0, 0.5), (0.7, 2.0), (1.9, 0.25), (3.3, 1.5)],
        interpolation=kind,  # type: ignore[arg-type]
    )
    exact = float(profile.exact_power_at(Fraction(time_s)))
    fast = profile.power_at(time_s)
    offset = Fraction(time_s) % profile.duration_s
    near_an_edge = (
        any(abs(offset - float(point.time_s)) < 1e-9 for point in profile.points)
        or abs(offset - profile.duration_s) < 1e-9
    )
    if kind == "step" and near_an_edge:
        assert fast in {float(point.power_w) for point in profile.points}
    else:
        assert fast == pytest.approx(exact, rel=1e-9, abs=1e-12)


def test_float_lookup_refuses_non_finite_times() -> None:
    profile = LoadProfile.constant(1.0)
    with pytest.raises(ValueError, match="finite"):
        profile.power_at(float("inf"))


def test_linear_profile_interpolates_and_integrates() -> None:
    profile = LoadProfile([(0, 0), (10, 1), (20, 1)], interpolation="linear")
    assert profile.power_at(2.5) == 0.25
    assert profile.exact_energy_j(0, 10) == 5
    assert profile.exact_energy_j(5, 15) == Fraction(3, 4) * 5 + 5
    assert profile.exact_energy_j(0, 40) == 2 * 15


def test_fast_switching_profile_period_and_duty() -> None:
    profile = LoadProfile.fast_switching(2.0, 0.5, period_s=0.3, duty=0.25)
    assert profile.duration_s == Fraction(0.3)
    assert profile.mean_power_w() == 2.0 * Fraction(1, 4) + 0.5 * Fraction(3, 4)


def test_profile_rejects_bad_points() -> None:
    with pytest.raises(ValueError, match="first time_s"):
        LoadProfile([(1, 0), (2, 0)])
    with pytest.raises(ValueError, match="increase"):
        LoadProfile([(0, 0), (2, 0), (2, 1)])
    with pytest.raises(ValueError, match="negative"):
        LoadProfile([(0, 0), (2, -1)])
    with pytest.raises(ValueError, match="two points"):
        LoadProfile([(0, 0)])
    with pytest.raises(ValueError, match="t1"):
        LoadProfile.constant(1.0).exact_energy_j(2, 1)


def test_csv_profile_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "knob.csv"
    path.write_text("# a knob turned slowly\ntime_s,power_w\n0,0.1\n0.5,0.3\n1.5,0.1\n")
    profile = LoadProfile.from_csv(path)
    assert profile.name == "knob"
    assert profile.points[0].power_w == Fraction(1, 10)
    # 0.2 W on average for 0.5 s, then 0.2 W on average for 1 s.
    assert profile.exact_energy_j(0, Fraction(3, 2)) == Fraction(3, 10)
    step = LoadProfile.from_csv(path, interpolation="step")
    assert step.exact_energy_j(0, Fraction(3, 2)) == Fraction(1, 20) + Fraction(3, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t,p\n0,1\n1,1\n", "header"),
        ("time_s,power_w\n0,1,2\n1,1\n", "row 2"),
        ("time_s,power_w\n0,abc\n1,1\n", "row 2"),
        ("time_s,power_w\n0,1\n", "two points"),
    ],
)
def test_csv_errors_name_the_file_and_row(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        LoadProfile.from_csv(path)
    assert "bad.csv" in str(err.value)


def test_csv_can_declare_its_interpolation(tmp_path: Path) -> None:
    path = tmp_path / "blink.csv"
    path.write_text("# interpolation: step\ntime_s,power_w\n0,1\n2,0\n3,0\n")
    assert LoadProfile.from_csv(path).interpolation == "step"
    assert LoadProfile.from_csv(path, interpolation="linear").interpolation == "linear"
    path.write_text("# interpolation: cubic\ntime_s,power_w\n0,1\n2,0\n")
    with pytest.raises(ValueError, match="cubic"):
        LoadProfile.from_csv(path)


def test_profiles_are_named_by_how_they_were_made() -> None:
    plain = LoadProfile([(0, 1), (2, 3)])
    assert (plain.name, plain.interpolation) == ("profile", "linear")
    assert LoadProfile.constant(1.0).name == "constant"
    assert LoadProfile.steps([(1, 2)]).name == "steps"
    assert LoadProfile.led_on_off(1.0, 1, 1).name == "led_on_off"
    assert LoadProfile.ramp(1, 2, 3).name == "ramp"
    assert LoadProfile.fast_switching(1.0, 0.0, 1).name == "fast_switching"


def test_made_profiles_have_exactly_their_corners() -> None:
    assert LoadProfile.steps([(1, 2), (1, 3), (2, 5)]).points == (
        ProfilePoint(Fraction(0), Fraction(2)),
        ProfilePoint(Fraction(1), Fraction(3)),
        ProfilePoint(Fraction(2), Fraction(5)),
        ProfilePoint(Fraction(4), Fraction(5)),  # the last level held to the end
    )
    ramp = LoadProfile.ramp(1, 3, 10)
    assert ramp.points == (
        ProfilePoint(Fraction(0), Fraction(1)),
        ProfilePoint(Fraction(10), Fraction(3)),
        ProfilePoint(Fraction(20), Fraction(1)),  # back down: continuous loops
    )
    assert ramp.duration_s == 20
    assert ramp.exact_energy_j(0, 20) == 40
    steady = LoadProfile.constant(1.5)
    assert steady.points == (
        ProfilePoint(Fraction(0), Fraction(3, 2)),
        ProfilePoint(Fraction(60), Fraction(3, 2)),  # a minute by default
    )
    assert steady.interpolation == "step"
    square = LoadProfile.fast_switching(2.0, 0.5, period_s=1)  # duty 0.5 by default
    assert square.points == (
        ProfilePoint(Fraction(0), Fraction(2)),
        ProfilePoint(Fraction(1, 2), Fraction(1, 2)),
        ProfilePoint(Fraction(1), Fraction(1, 2)),
    )


@pytest.mark.parametrize("duty", [0, 1, 1.5, -0.25])
def test_fast_switching_needs_a_duty_strictly_between_0_and_1(duty: float) -> None:
    with pytest.raises(ValueError, match=r"^duty must be between 0 and 1$"):
        LoadProfile.fast_switching(2.0, 0.5, period_s=1, duty=duty)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LoadProfile([(0, 0)]), "a load profile needs at least two points"),
        (
            lambda: LoadProfile([(1, 0), (2, 0)]),
            "a load profile's first time_s must be 0",
        ),
        (
            lambda: LoadProfile([(0, 0), (2, 0), (2, 1)]),
            "time_s must increase strictly from row to row",
        ),
        (lambda: LoadProfile([(0, 0), (2, -1)]), "power_w must not be negative"),
        (
            lambda: LoadProfile([(0, 0), (2, 1)], interpolation="cubic"),  # type: ignore[arg-type]
            "unknown interpolation 'cubic'",
        ),
        (
            lambda: LoadProfile([(0, 0), (math.inf, 1)]),
            "time_s must be a finite number",
        ),
        (
            lambda: LoadProfile([(0, 0), (1, math.nan)]),
            "power_w must be a finite number",
        ),
        (lambda: LoadProfile.steps([(1, math.inf)]), "power_w must be a finite number"),
        (
            lambda: LoadProfile.steps([(math.nan, 1)]),
            "duration_s must be a finite number",
        ),
        (
            lambda: LoadProfile.ramp(1, 2, math.inf),
            "duration_s must be a finite number",
        ),
        (
            lambda: LoadProfile.fast_switching(1.0, 0.0, math.inf),
            "period_s must be a finite number",
        ),
        (
            lambda: LoadProfile.fast_switching(1.0, 0.0, 1, math.nan),
            "duty must be between 0 and 1",
        ),
        (
            lambda: LoadProfile.constant(1.0).power_at(math.inf),
            "time_s must be a finite number",
        ),
        (
            lambda: LoadProfile.constant(1.0).exact_energy_j(math.nan, 1),
            "t0 must be a finite number",
        ),
        (
            lambda: LoadProfile.constant(1.0).exact_energy_j(0, math.inf),
            "t1 must be a finite number",
        ),
        (
            lambda: LoadProfile.constant(1.0).exact_energy_j(2, 1),
            "t1 must not be before t0",
        ),
    ],
)
def test_profile_errors_say_what_is_wrong(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make()


def test_an_empty_interval_has_no_energy() -> None:
    assert LoadProfile.constant(1.0).exact_energy_j(2, 2) == 0


def test_whole_number_times_are_looked_up_exactly_and_float_times_in_floats() -> None:
    # 0.1 W to 0.9 W over 7 s: at 3 s the float formula is one ulp off.
    profile = LoadProfile([(0, 0.1), (7, 0.9)])
    exact = float(profile.exact_power_at(Fraction(3)))
    assert profile.power_at(3) == exact
    assert profile.power_at(Fraction(3)) == exact
    assert profile.power_at(3.0) == 0.1 + (0.9 - 0.1) * (3.0 / 7.0)
    assert profile.power_at(3.0) == pytest.approx(exact, rel=1e-15)


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ("# interpolation: linear", "linear"),
        ("# interpolation: step", "step"),
        ("   # interpolation: step", "step"),  # an indented comment is one too
        ("# Xinterpolation: step", "linear"),  # not the declaration
    ],
)
def test_a_csv_declares_its_interpolation_in_one_comment(
    tmp_path: Path, declaration: str, expected: str
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"{declaration}\n  # a note\ntime_s,power_w\n0,1\n  # more\n2,0\n")
    assert LoadProfile.from_csv(path).interpolation == expected


def test_a_declaration_with_more_than_one_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("# interpolation: step: or linear\ntime_s,power_w\n0,1\n2,0\n")
    with pytest.raises(ValueError, match=r"^p\.csv: unknown interpolation"):
        LoadProfile.from_csv(path)


def test_shipped_demo_profiles_load() -> None:
    paths = sorted(PROFILES_DIR.glob("*.csv"))
    assert paths, PROFILES_DIR
    for path in paths:
        profile = LoadProfile.from_csv(path)
        assert profile.duration_s > 0
        assert profile.mean_power_w() > 0
