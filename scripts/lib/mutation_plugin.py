"""A pytest plugin for scripts/mutation's runs only (never loaded by scripts/test).

A mutant is killed by its first failing test (mutmut runs pytest with ``-x``),
so the tests run fastest first, by the durations mutmut measured on the
unmutated code. Hypothesis does not shrink a failing example here: the
verdict is all that counts, and shrinking a test that a mutant broke can take
longer than the test itself. Nor does a Hypothesis deadline (a wall clock)
apply: mutmut's trampolines and a loaded machine make an example slower, and
a run that exceeds it would fail the unmutated code (mutmut then stops) or
count a slow mutant as killed; mutmut's CPU-time limit is the only limit.

PyOTA's pure-Python crypto is memoized in process memory (``_memoize_pyota``):
the legacy rail's tests spend most of their CPU there (security-2 addresses,
W-OTS keys and signatures, the devtangle node's signature checks, transaction
hashes), recomputing the same values in every test of every mutant. mutmut
collects its stats and runs the clean tests in its own process and forks one
child per mutant, so what those runs computed is inherited by every mutant.
Only third-party functions are memoized, each a pure function of its
arguments (the same input gives the same output, and the memo hands out
copies): our modules, the code under mutation, still run for real.
scripts/mutation copies this file into its copy of the checkout as
``tests/_mutation_plugin.py``.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSequence, Sequence
import json
from pathlib import Path
from typing import Any

from hypothesis import Phase, settings
import pytest

settings.register_profile(
    "mutation",
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    database=None,
    deadline=None,
)
settings.load_profile("mutation")


def _memoize_pyota() -> None:
    """Memoize PyOTA's Kerl conversions and Curl transform (see the docstring).

    Kerl is Keccak-384 (C) between two pure-Python conversions, 243 trits to
    48 bytes and back (``convertToBytes``, ``convertToTrits``): those are the
    cost of every address, private key, signature and signature check, and
    W-OTS hashes the same chunks again and again (signing and checking walk
    the chains that deriving the address walked). Curl's ``_transform`` (the
    transaction hash PyOTA computes when it parses trytes) is a pure function
    of the 729-trit state it replaces.
    """
    # Imported here: the checkout is importable only once the conftests are in.
    from custom_components.iota_energy.core.thirdparty import (  # noqa: PLC0415
        import_pyota,
    )

    import_pyota()  # PyOTA's own import needs this project's shim first
    from iota.crypto import pycurl  # noqa: PLC0415
    from iota.crypto.kerl import conv  # noqa: PLC0415

    if getattr(conv, "_memoized_for_mutation", False):
        return  # pytest.main runs again in the same process: once is enough
    conv._memoized_for_mutation = True  # type: ignore[attr-defined]

    def memoized(
        function: Callable[[list[int]], list[int]],
    ) -> Callable[[Sequence[int]], list[int]]:
        memo: dict[tuple[int, ...], tuple[int, ...]] = {}

        def call(values: Sequence[int]) -> list[int]:
            key = tuple(values)
            found = memo.get(key)
            if found is None:
                found = memo[key] = tuple(function(list(key)))
            return list(found)

        return call

    conv.convertToBytes = memoized(conv.convertToBytes)
    conv.convertToTrits = memoized(conv.convertToTrits)

    transform = pycurl.Curl._transform
    states: dict[tuple[int, ...], tuple[int, ...]] = {}

    def memoized_transform(self: Any) -> None:
        state: MutableSequence[int] = self._state
        key = tuple(state)
        found = states.get(key)
        if found is None:
            transform(self)
            states[key] = tuple(self._state)
        else:
            self._state = list(found)

    pycurl.Curl._transform = memoized_transform


def pytest_configure() -> None:
    """After the conftests: the checkout is importable from here on."""
    _memoize_pyota()


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
