"""The soak, full size, on demand: days of Home Assistant time, every figure.

Run from the repository root with leg min's Python (``scripts/setup``):

    python -m benchmarks.soak [--short]

It runs ``tests/stress/test_soak.py`` (the whole integration in Home
Assistant's test harness on a stepped clock; see ``tests/stress/soak.py``)
with ``IOTA_ENERGY_SOAK=full``: 7 days at 10 Hz with hourly periods, then
24 h at 10 Hz with 60 s periods (1,440 payments into devtangle). The test's
own checks apply (nothing lost, memory growth bounded); this prints the
figures and writes ``benchmarks/results/soak.md`` and
``benchmarks/results/data/soak.json`` (the report plots memory from it).
``--short`` runs the test suite's short legs instead (a minute or two).
Exits non-zero when a check failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
from typing import Any

from .report import RESULTS, commit, machine

REPO = Path(__file__).resolve().parents[1]


def run_soak(full: bool, scale: float = 1.0) -> tuple[int, list[dict[str, Any]]]:
    """The pytest run's exit code and one figures dict per leg."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "soak.jsonl"
        env = os.environ | {
            "IOTA_ENERGY_SOAK": "full" if full else "short",
            "IOTA_ENERGY_SOAK_RESULTS": str(results),
            "IOTA_ENERGY_SOAK_SCALE": str(scale),
        }
        code = subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "tests/stress/test_soak.py",
            ],
            cwd=REPO,
            env=env,
        )
        legs = (
            [json.loads(line) for line in results.read_text("utf-8").splitlines()]
            if results.exists()
            else []
        )
    return code, legs


def markdown(legs: Sequence[dict[str, Any]], command: str, when: datetime) -> str:
    info = machine()
    lines = [
        "# Soak",
        "",
        f"Measured with `{command}` on "
        f"{when:%Y-%m-%d} at commit {commit()}, {info['cpu']}, Python "
        f"{info['python']}. The whole integration in Home Assistant's test "
        "harness: the real sampler thread reading the real pi-ina219 driver over "
        "the register-level virtual INA219 replaying `household-day.csv` (a "
        "household's day in ten minutes, looped), billing, and real PyOTA paying "
        "into devtangle over HTTP; time advanced by the harness on a stepped "
        "clock, every Home Assistant timer fired after each step "
        "(`tests/stress/soak.py`).",
        "",
        "| figure | " + " | ".join(leg["leg"] for leg in legs) + " |",
        "| --- | " + " | ".join("---:" for _ in legs) + " |",
    ]
    rows: list[tuple[str, str]] = [
        ("samples (failed reads)", "{samples} ({failed_reads})"),
        ("energy metered (J)", "{metered_j:.3f}"),
        ("energy, the load's exact integral (J)", "{exact_j:.3f}"),
        ("energy error", "{energy_error:.2e}"),
        ("statements (expected)", "{statements} ({expected_statements})"),
        ("duplicate ids, discontinuities", "{duplicate_ids}, {discontinuities}"),
        ("IOTA owed (exact, rounded)", "{owed_rounded}"),
        ("IOTA due (whole)", "{due_iota}"),
        ("payments confirmed (failed)", "{payments_confirmed} ({payments_failed})"),
        ("IOTA paid (receiver's balance)", "{paid_iota} ({receiver_balance})"),
        ("owed - paid - carried fraction", "{unaccounted_iota}"),
        (
            "statements paid twice, unpaid",
            "{statements_paid_twice}, {statements_unpaid}",
        ),
        (
            "resident memory start -> end (max), MiB",
            "{rss_start_mb} -> {rss_end_mb} ({rss_max_mb})",
        ),
        (
            "kept by the integration start -> end, KiB (ledger, outbox's payments)",
            "{integration_kept}",
        ),
        ("kept by devtangle's store start -> end, KiB", "{devtangle_kept}"),
        ("storage writes (bytes written)", "{storage_writes} ({storage_bytes})"),
        (
            "of which the payment outbox (bytes; largest document)",
            "{outbox_writes} ({outbox_bytes}; {outbox_max_bytes})",
        ),
        ("wall time (s)", "{wall_s}"),
    ]
    for label, template in rows:
        cells = []
        for leg in legs:
            owed = leg["owed_iota"].split("/")
            owed_rounded = (
                f"{int(owed[0]) / int(owed[1]):.3f}" if len(owed) == 2 else owed[0]
            )
            cells.append(template.format(**leg | kept(leg), owed_rounded=owed_rounded))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Memory: the resident set of the test process (Home Assistant, the "
        "sampler, devtangle and the harness together) after a garbage collection "
        "at each simulated hour; the test allows at most "
        "64 MiB of growth from the first hour to the end in the full soak. "
        "Kept: the bytes reachable from the integration's runtime data (the "
        "ledger and the outbox's payments are part of it) and from devtangle's "
        "store (the soak's node keeps up to 1,000 decoded transactions, about "
        "6 MiB), walked after setup and at the end (`soak_memory.retained_bytes`); "
        "they say which part of the resident set's growth is the integration's "
        "(the test allows it 128 KiB and 16 KiB a statement). "
        "`IOTA_ENERGY_SOAK_TRACEMALLOC` "
        "attributes every allocation instead (slow; see `memory.md`).",
        "",
    ]
    return "\n".join(lines)


def kept(leg: dict[str, Any]) -> dict[str, str]:
    """The census's first and last marks as table cells (n/a for older runs)."""
    series = leg.get("retained_series") or []
    if not series:
        return {"integration_kept": "n/a", "devtangle_kept": "n/a"}
    first, last = series[0], series[-1]
    return {
        "integration_kept": f"{first['integration']:.0f} -> "
        f"{last['integration']:.0f} ({last['ledger']:.0f}, {last['outbox']:.0f})",
        "devtangle_kept": f"{first['devtangle']:.0f} -> {last['devtangle']:.0f}",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the test suite's legs")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="the full soak's durations times this (e.g. 0.1 for 16.8 h and 2.4 h)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "soak.md")
    args = parser.parse_args(argv)
    full = not args.short
    when = datetime.now(UTC)
    code, legs = run_soak(full, args.scale)
    if not legs:
        print("the soak produced no figures", file=sys.stderr)
        return code or 1
    command = "python -m benchmarks.soak" + (
        " --short" if args.short else f" --scale {args.scale:g}" * (args.scale != 1)
    )
    text = markdown(legs, command, when)
    print(text)
    args.output.write_text(text, "utf-8")
    data = {
        "date": when.isoformat(timespec="seconds"),
        "commit": commit(),
        "full": full,
        "runs": [
            leg
            | {
                "name": leg["leg"],
                # seconds and bytes, as the report's plot reads them
                "memory": [
                    [hours * 3600, mib * 2**20] for hours, mib in leg["memory_series"]
                ],
            }
            for leg in legs
        ],
    }
    data_file = args.output.parent / "data" / "soak.json"
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(json.dumps(data, indent=1) + "\n", "utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
