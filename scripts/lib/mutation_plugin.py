"""A pytest plugin for scripts/mutation's runs only (never loaded by scripts/test).

A mutant is killed by its first failing test (mutmut runs pytest with ``-x``),
so the tests run fastest first, by the durations mutmut measured on the
unmutated code. Hypothesis does not shrink a failing example here: the
verdict is all that counts, and shrinking a test that a mutant broke can take
longer than the test itself. Nor does a Hypothesis deadline (a wall clock)
apply: mutmut's trampolines and a loaded machine make an example slower, and
a run that exceeds it would fail the unmutated code (mutmut then stops) or
count a slow mutant as killed; mutmut's CPU-time limit is the only limit.
scripts/mutation copies this file into its copy of the checkout as
``tests/_mutation_plugin.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import Phase, settings
import pytest

settings.register_profile(
    "mutation",
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    database=None,
    deadline=None,
)
settings.load_profile("mutation")

# mutmut runs the tests from its mutants/ folder and keeps its stats there.
STATS_FILE = Path("mutmut-stats.json")


def _durations() -> dict[str, float]:
    try:
        stats = json.loads(STATS_FILE.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    durations = stats.get("duration_by_test", {})
    return durations if isinstance(durations, dict) else {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fastest first; tests mutmut has not timed yet keep their place, last."""
    durations = _durations()
    if durations:
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
