"""The soak's allocation tracker gives each block the owner that caused it."""

from __future__ import annotations

from fractions import Fraction
import tracemalloc

import pytest

from .soak_memory import REPO, AllocationTracker, owner_site, slope

HELD: list[object] = []


def _frame(filename: str, lineno: int) -> tracemalloc.Frame:
    return tracemalloc.Frame((filename, lineno))


def test_the_calling_repository_part_owns_the_block() -> None:
    """A Fraction the integration builds is the integration's, not fractions.py's;
    a milestone devtangle attaches with the integration's proof of work is
    devtangle's; what the harness calls is the callee's."""
    stdlib = tracemalloc.__file__
    integration = str(REPO / "custom_components/iota_energy/core/pow.py")
    devtangle = str(REPO / "devtangle/coordinator.py")
    harness = str(REPO / "tests/stress/soak.py")
    billing = [_frame(stdlib, 10), _frame(integration, 20), _frame(harness, 40)]
    assert owner_site(billing) == (
        "integration",
        "custom_components/iota_energy/core/pow.py",
        20,
    )
    milestone = [_frame(integration, 20), _frame(devtangle, 30), _frame(harness, 40)]
    assert owner_site(milestone) == ("devtangle", "devtangle/coordinator.py", 30)
    assert owner_site([_frame(stdlib, 1), _frame(harness, 40)])[0] == "harness"
    # No repository frame: the library the allocating line is in.
    library = "/venv/lib/python3.13/site-packages/homeassistant/core.py"
    assert owner_site([_frame(library, 5)])[0] == "homeassistant"
    assert owner_site([_frame(stdlib, 5)])[0] == "stdlib"


def test_slope_is_bytes_per_hour() -> None:
    assert slope([(0, 10), (1, 30), (2, 50)]) == pytest.approx(20)
    assert slope([(1, 5)]) == 0


def test_tracker_finds_what_this_test_keeps() -> None:
    """Blocks kept between marks show as the harness's growth at this file's line."""
    tracker = AllocationTracker(frames=8)
    tracker.start()
    try:
        tracker.mark(0)
        tracker.mark(1)
        HELD.extend(Fraction(n, 7) for n in range(20_000))
        tracker.mark(2)
    finally:
        tracker.stop()
        report = tracker.report("kept")
        HELD.clear()
    first, last, per_h = tracker.owner_growth()["harness"]
    # 20,000 Fractions and a list: well over 1 MiB, all in the last hour.
    assert last - first > 2**20
    assert per_h > 2**19
    assert "tests/stress/test_soak_memory.py" in report
