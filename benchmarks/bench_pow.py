"""Proof of work (Curl-P-81): this project's pure Python against C.

Run from the repository root:

    python -m benchmarks.bench_pow [--runs 60] [--budget 60] [--output PATH]

Prints the figures and writes them to ``benchmarks/results/pow.md``.

* Cost per candidate nonce, per lane width: a search at an unreachable
  weight, stopped after a counted number of batches through the cancel event.
  This figure has little noise; the expected search time at weight w is about
  ``3**w`` times it (plus the rounding up to whole batches).
* Time per transaction at MWM 9 for several lane widths and for pyota-pow's
  ``libccurl.so`` (called as PyOTA's ``local_pow`` did), on the same random
  transactions. Search time is geometrically distributed, so the mean needs
  many runs; we print it with its standard error.
* MWM 14 with a time budget per method: few runs, so we print the spread.
* One transaction hash: ours, PyOTA's pure-Python Curl, and libccurl.

The C library ships for x86-64 only; elsewhere, or where pyota-pow is not
installed, its columns are skipped and the reason is written down.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
import contextlib
import ctypes
from dataclasses import dataclass
import importlib.util
import math
import os
from pathlib import Path
import platform
import random
import statistics
import sys
import threading
import time

from custom_components.iota_energy.core import thirdparty
from custom_components.iota_energy.core.pow import (
    FIELDS,
    PowCancelled,
    search_nonce,
    trailing_zero_trits,
    transaction_hash,
)
from custom_components.iota_energy.core.trits import TRYTE_ALPHABET, int_to_trytes

RESULTS = Path(__file__).parent / "results" / "pow.md"
WIDTHS = (1024, 4096, 16384, 65536)
WIDTHS_MWM14 = (16384, 65536)
TRANSACTION_TRYTES = 2673

Search = Callable[[str, int], str]


class _StopAfter(threading.Event):
    """A cancel event that reports "set" after a number of checks.

    search_nonce checks its cancel event once per batch of lanes, so this
    counts batches without touching the module's internals.
    """

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.left = batches

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def random_transactions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(TRYTE_ALPHABET) for _ in range(TRANSACTION_TRYTES))
        for _ in range(count)
    ]


# --- the C library ------------------------------------------------------------


@dataclass
class CLibrary:
    pow: Callable[[bytes, int], ctypes._Pointer[ctypes.c_char]]
    digest: Callable[[bytes], ctypes._Pointer[ctypes.c_char]]


def load_ccurl() -> tuple[CLibrary | None, str]:
    """pyota-pow's libccurl.so with the signatures PyOTA's local_pow used."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None, f"libccurl.so is x86-64 only; this is {platform.machine()}"
    spec = importlib.util.find_spec("pow")
    if spec is None or not spec.submodule_search_locations:
        return None, "pyota-pow is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "libccurl.so"
    try:
        library = ctypes.CDLL(str(path))
    except OSError as err:
        return None, f"libccurl.so does not load: {err}"
    library.ccurl_pow.restype = ctypes.POINTER(ctypes.c_char)
    library.ccurl_pow.argtypes = [ctypes.c_char_p, ctypes.c_int]
    library.ccurl_digest_transaction.restype = ctypes.POINTER(ctypes.c_char)
    library.ccurl_digest_transaction.argtypes = [ctypes.c_char_p]
    return CLibrary(library.ccurl_pow, library.ccurl_digest_transaction), ""


def c_search(library: CLibrary) -> Search:
    def search(trytes: str, weight: int) -> str:
        # libccurl sometimes returns a nonce below the weight, and does so
        # again for the same trytes. pyota-pow retried up to 5 times with a
        # fresh attachment timestamp; we do the same, count the retries and
        # charge their time to the C column.
        for attempt in range(5):
            stamped = trytes
            if attempt:
                stamped = (
                    trytes[: FIELDS["attachment_timestamp"].start]
                    + int_to_trytes(attempt, 9)
                    + trytes[FIELDS["attachment_timestamp"].stop :]
                )
            pointer = library.pow(stamped.encode("ascii"), weight)
            result = ctypes.string_at(pointer, TRANSACTION_TRYTES).decode()
            if trailing_zero_trits(transaction_hash(result)) >= weight:
                return result
            C_RETRIES.append(trytes)
        raise RuntimeError("libccurl failed five times")

    return search


C_RETRIES: list[str] = []


def python_search(lanes: int) -> Search:
    def search(trytes: str, weight: int) -> str:
        return search_nonce(trytes, weight, lanes=lanes)

    return search


# --- measurements -----------------------------------------------------------


@dataclass
class Timing:
    name: str
    seconds: list[float]
    cpu_seconds: float

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seconds)

    @property
    def stderr(self) -> float:
        if len(self.seconds) < 2:
            return float("nan")
        return statistics.stdev(self.seconds) / math.sqrt(len(self.seconds))

    @property
    def cpu_per_wall(self) -> float:
        return self.cpu_seconds / sum(self.seconds)


def time_searches(
    name: str,
    search: Search,
    transactions: Sequence[str],
    weight: int,
    budget_s: float | None = None,
) -> Timing:
    seconds: list[float] = []
    cpu_start = time.process_time()
    for trytes in transactions:
        start = time.perf_counter()
        result = search(trytes, weight)
        seconds.append(time.perf_counter() - start)
        if trailing_zero_trits(transaction_hash(result)) < weight:
            raise RuntimeError(f"{name}: a nonce below weight {weight}")
        if budget_s is not None and sum(seconds) > budget_s:
            break
    return Timing(name, seconds, time.process_time() - cpu_start)


def cost_per_candidate(lanes: int, batches: int) -> float:
    """Seconds per candidate nonce, from a search that cannot succeed."""
    trytes = random_transactions(1, seed=99)[0]

    def run(count: int) -> float:
        start = time.perf_counter()
        with contextlib.suppress(PowCancelled):
            search_nonce(trytes, 60, lanes=lanes, cancel=_StopAfter(count))
        return time.perf_counter() - start

    # Subtract a run of zero batches: the setup (32 absorbed blocks) is paid
    # once per transaction, not per candidate.
    setup = min(run(0) for _ in range(3))
    total = min(run(batches) for _ in range(2))
    return (total - setup) / (batches * lanes)


def time_hashes(hash_fn: Callable[[str], str], count: int) -> float:
    transactions = random_transactions(count, seed=7)
    start = time.perf_counter()
    for trytes in transactions:
        hash_fn(trytes)
    return (time.perf_counter() - start) / count


def pyota_hash() -> Callable[[str], str]:
    iota = thirdparty.import_pyota()
    from iota.crypto.pycurl import Curl

    def hash_fn(trytes: str) -> str:
        curl = Curl()
        curl.absorb(iota.TryteString(trytes).as_trits())
        out: list[int] = []
        curl.squeeze(out)
        return str(iota.TryteString.from_trits(out))

    return hash_fn


def expected_batches(lanes: int, weight: int) -> float:
    success = 1 - (1 - 3.0**-weight) ** lanes
    return 1 / success


# --- report -------------------------------------------------------------------


def run(runs: int, budget_s: float, output: Path) -> str:
    library, c_missing = load_ccurl()
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    load_start = os.getloadavg()[0]
    say("# Proof of work benchmarks")
    say()
    say(
        f"Written by `benchmarks/bench_pow.py` on {time.strftime('%Y-%m-%d')}; "
        f"`python --version`: Python {platform.python_version()} "
        f"({platform.python_implementation()}); {platform.machine()}; "
        f"CPU: {cpu_model()}, {os.cpu_count()} logical cores, shared with "
        f"other work (load average {load_start:.1f} at the start)."
    )
    say()
    if library is None:
        say(f"**C comparison skipped:** {c_missing}.")
    else:
        say(
            "C: pyota-pow 1.1.0's `libccurl.so`, `ccurl_pow(trytes, mwm)` as "
            "PyOTA's `local_pow` called it."
        )
    say()

    say("## Cost per candidate nonce (pure Python, one core)")
    say()
    say("| lanes | us per candidate | expected at MWM 9 | expected at MWM 14 |")
    say("|---|---|---|---|")
    costs: dict[int, float] = {}
    for lanes in WIDTHS:
        cost = cost_per_candidate(lanes, batches=max(2, 65536 // lanes))
        costs[lanes] = cost
        batch = cost * lanes
        say(
            f"| {lanes} | {cost * 1e6:.2f} "
            f"| {batch * expected_batches(lanes, 9):.3f} s "
            f"| {batch * expected_batches(lanes, 14):.1f} s |"
        )
    say()
    say(
        "Expected time = batch time x expected batches (1 / P(some lane of "
        "the batch succeeds)); batch setup excluded (about 2 ms per "
        "transaction for the first 32 blocks)."
    )
    say()

    transactions = random_transactions(runs, seed=9)
    methods: list[tuple[str, Search]] = [
        (f"Python, {lanes} lanes", python_search(lanes)) for lanes in WIDTHS
    ]
    if library is not None:
        methods.append(("C libccurl", c_search(library)))

    say(f"## MWM 9: {runs} random transactions, the same for every method")
    say()
    say("| method | mean s | +- std. error | median s | min s | max s | CPU/wall |")
    say("|---|---|---|---|---|---|---|")
    mwm9: dict[str, Timing] = {}
    for name, search in methods:
        timing = time_searches(name, search, transactions, 9)
        mwm9[name] = timing
        say(
            f"| {name} | {timing.mean:.3f} | {timing.stderr:.3f} "
            f"| {statistics.median(timing.seconds):.3f} "
            f"| {min(timing.seconds):.3f} | {max(timing.seconds):.3f} "
            f"| {timing.cpu_per_wall:.2f} |"
        )
    say()
    if library is not None:
        c_mean = mwm9["C libccurl"].mean
        best = min(
            (t for n, t in mwm9.items() if n.startswith("Python")),
            key=lambda t: t.mean,
        )
        default = mwm9["Python, 4096 lanes"]
        say(
            f"Ratio Python / C at MWM 9: {best.mean / c_mean:.2f} for the best "
            f"width ({best.name}), {default.mean / c_mean:.2f} for the default "
            f"4096 lanes (target: within 3x). libccurl needed "
            f"{len(C_RETRIES)} retries (wrong nonces)."
        )
        say()
        expected = {
            lanes: cost * lanes * expected_batches(lanes, 9)
            for lanes, cost in costs.items()
        }
        lanes_best = min(expected, key=lambda lanes: expected[lanes])
        say(
            "The measured means above are noisy (geometric). From the low-noise "
            f"cost per candidate, the expected Python time at MWM 9 is "
            f"{expected[lanes_best]:.3f} s at {lanes_best} lanes and "
            f"{expected[4096]:.3f} s at 4096: "
            f"{expected[lanes_best] / c_mean:.2f}x and "
            f"{expected[4096] / c_mean:.2f}x the C mean. C's mean implies "
            f"{c_mean / 3**9 * 1e6:.2f} us per candidate."
        )
        say()

    say(f"## MWM 14: up to {budget_s:.0f} s per method (few runs: see spread)")
    say()
    say("| method | runs | mean s | min s | max s | CPU/wall |")
    say("|---|---|---|---|---|---|")
    heavy = [(f"Python, {lanes} lanes", python_search(lanes)) for lanes in WIDTHS_MWM14]
    if library is not None:
        heavy.append(("C libccurl", c_search(library)))
    long_transactions = random_transactions(20, seed=14)
    for name, search in heavy:
        timing = time_searches(name, search, long_transactions, 14, budget_s)
        say(
            f"| {name} | {len(timing.seconds)} | {timing.mean:.1f} "
            f"| {min(timing.seconds):.1f} | {max(timing.seconds):.1f} "
            f"| {timing.cpu_per_wall:.2f} |"
        )
    say()

    say("## One transaction hash (33 Curl-P-81 transforms)")
    say()
    say("| implementation | ms per hash |")
    say("|---|---|")
    ours_ms = time_hashes(transaction_hash, 50) * 1e3
    pyota_ms = time_hashes(pyota_hash(), 5) * 1e3
    say(f"| pow.transaction_hash | {ours_ms:.2f} |")
    say(f"| PyOTA pure-Python Curl | {pyota_ms:.1f} |")
    if library is not None:
        digest = library.digest

        def c_hash(trytes: str) -> str:
            return ctypes.string_at(digest(trytes.encode("ascii")), 81).decode()

        say(f"| libccurl | {time_hashes(c_hash, 50) * 1e3:.3f} |")
    say()
    say(
        f"Load average at the end: {os.getloadavg()[0]:.1f}. Times are wall "
        "clock on a shared machine; CPU/wall above 1 means the method used "
        "more than one core."
    )
    text = "\n".join(lines) + "\n"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"written to {output}", file=sys.stderr)
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="transactions at MWM 9")
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds per method at MWM 14"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    run(args.runs, args.budget, args.output)


if __name__ == "__main__":
    main()
