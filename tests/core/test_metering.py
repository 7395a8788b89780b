"""The meter (trapezoid on real stamps, exact, with gaps) and the load profiles."""

from __future__ import annotations

from fractions import Fraction
import itertools
import json
from pathlib import Path
import threading

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.load_profiles import LoadProfile
from custom_components.iota_energy.core.metering import DEFAULT_MAX_GAP_S, Meter
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


def failed(at_ns: int, kind: str = "missing") -> Sample:
    return Sample(at_ns, WALL0 + at_ns / NS, None, SourceError(kind, "gone"))  # type: ignore[arg-type]


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


def test_max_gap_is_validated() -> None:
    assert DEFAULT_MAX_GAP_S == 5.0
    with pytest.raises(ValueError, match="max_gap_s"):
        Meter(max_gap_s=0)


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


def test_shipped_demo_profiles_load() -> None:
    paths = sorted(PROFILES_DIR.glob("*.csv"))
    assert paths, PROFILES_DIR
    for path in paths:
        profile = LoadProfile.from_csv(path)
        assert profile.duration_s > 0
        assert profile.mean_power_w() > 0
