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
import random
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
    of the 729-trit state it replaces; a fresh state is computed with numpy
    (``_checked_fast_transform``).
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

    transform = _checked_fast_transform(pycurl) or pycurl.Curl._transform
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


def _checked_fast_transform(pycurl: Any) -> Callable[[Any], None] | None:
    """PyOTA's Curl transform with numpy, checked equal to PyOTA's own.

    Every transaction the tests parse is new (its timestamp and nonce), so its
    hash is computed once whatever the memo: PyOTA's pure-Python transform
    takes about 25 ms, 33 of them a transaction. It is the same 81 rounds of
    the same truth-table lookup; in round order, state position ``p`` becomes
    ``TRUTH_TABLE[s[364 p mod 729] + 3 s[364 (p + 1) mod 729] + 4]`` (PyOTA's
    index walk, +364 or -365 mod 729). Before it replaces PyOTA's, it must
    give the same state as PyOTA's on the zero state and on random states:
    otherwise the run stops.
    """
    try:
        import numpy as np  # noqa: PLC0415 - Home Assistant's dependency
    except ImportError:
        return None
    size = pycurl.STATE_LENGTH
    rounds = pycurl.NUMBER_OF_ROUNDS
    step = 364
    first = np.array([step * p % size for p in range(size)])
    second = np.array([step * (p + 1) % size for p in range(size)])
    table = np.array(pycurl.TRUTH_TABLE)

    def fast(self: Any) -> None:
        state = np.array(self._state)
        for _ in range(rounds):
            state = table[state[first] + 3 * state[second] + 4]
        self._state = state.tolist()

    real = pycurl.Curl._transform
    generator = random.Random(243)
    for case in range(8):
        state = [generator.choice((-1, 0, 1)) if case else 0 for _ in range(size)]
        ours, theirs = pycurl.Curl(), pycurl.Curl()
        ours._state, theirs._state = list(state), list(state)
        fast(ours)
        real(theirs)
        if ours._state != theirs._state:
            msg = "the numpy Curl transform differs from PyOTA's"
            raise AssertionError(msg)
    return fast


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
