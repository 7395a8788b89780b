"""Crash suite: a real ``hass`` SIGKILLed again and again; count what was lost.

Run from the repository root, in a leg's venv (or the demo's):

    python -m benchmarks.crash [--kills N] [--short] [--seed N] [--keep DIR]

``--kills`` defaults to 100 (the 7 aims in turn, 14 or 15 each);
``--short`` is 3 kills (a close, a signing, any moment: what tests/stress
runs, about 2 minutes); ``--rescore`` reports again from the JSON of an
earlier run with today's rules (see ``suite.rescore``). Prints one line per
kill and the totals, writes ``benchmarks/results/crash.md`` and
``benchmarks/results/data/crash.json``; exits 1 if anything was lost. See
suite.py for what is aimed at and what is counted. It uses scripts/develop's
Home Assistant venv (built on first use, a few minutes).
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import fields
from datetime import UTC, datetime
from fractions import Fraction
import json
from pathlib import Path
import platform
import statistics
import sys
from typing import Any

from benchmarks.report import commit

from .suite import (
    FLUSH_INTERVAL_S,
    SLACK_S,
    TARGETS,
    CrashResult,
    Kill,
    plan,
    rescore,
    run,
)

RESULTS = Path(__file__).resolve().parent.parent / "results"


def report(result: CrashResult, meta: dict[str, Any], note: str = "") -> list[str]:
    kills = result.kills
    lost_s = result.measured_lost_s()
    lost_j = [k.lost_j for k in kills if k.lost_j is not None]
    by_target = Counter(k.target for k in kills)
    hits = Counter(k.target for k in kills if k.hit)
    on_disk = Counter(k.status_on_disk for k in kills)
    before_save = [k for k in kills if k.lost_s is None]
    lines = [
        "# Crash suite",
        "",
        f"`{meta['command']}` on {meta['machine']} ({meta['python']}), "
        f"{meta['date']} UTC, commit {meta['commit']}, seed {meta['seed']}; "
        f"run time {result.run_s / 60:.0f} min.",
        "",
        *([note, ""] if note else []),
        "A real `hass` (scripts/develop's venv and config preparation, the demo's "
        "entry: virtual INA219 at 10 Hz, 60 s periods, automatic payments into "
        f"devtangle at MWM 9, save interval {FLUSH_INTERVAL_S} s) killed with SIGKILL "
        "(its whole session: the wallet's worker too) and started again, "
        f"**{len(kills)} times**. After each kill the storage files are read as the "
        "next start reads them; at the end Home Assistant runs until every payment "
        "is confirmed and stops cleanly, and devtangle's database is counted.",
        "",
        "## Kills",
        "",
        "| aimed at | kills | moment reached |",
        "|---|---|---|",
        *[f"| {t} | {by_target[t]} | {hits[t]} |" for t in TARGETS if by_target[t]],
        "",
        "Payment state on disk right after the kill (the newest unfinished payment): "
        + ", ".join(f"{s} {n}" for s, n in on_disk.most_common())
        + ".",
        "",
        "## Energy",
        "",
        f"- Kills with a sample of their run saved: {len(lost_s)}; sampling time lost "
        "(kill time minus the last sample in the newest saved document): "
        + (
            f"median {statistics.median(lost_s):.2f} s, max {max(lost_s):.2f} s "
            f"(bound: the save interval, {FLUSH_INTERVAL_S} s, + {SLACK_S:.0f} s "
            f"slack); energy lost max {max(lost_j) * 1000:.1f} mJ at the load's "
            f"{kills[-1].lost_j and (max(lost_j) / max(lost_s)) * 1000:.1f} mW"
            if lost_s
            else "none"
        )
        + ".",
        f"- Kills before any sample of their run was saved: {len(before_save)} (uptime "
        + (
            f"{min(k.uptime_s for k in before_save):.1f} to "
            f"{max(k.uptime_s for k in before_save):.1f} s, start-up included"
            if before_save
            else "-"
        )
        + "): what they lost is what that run metered, less than its uptime.",
        f"- Durable meter total going backwards: {result.energy_regressions}; "
        f"time invented: {result.invented_time}; losses over the bound: "
        f"{result.energy_over_bound}.",
        "",
        "## Statements and payments",
        "",
        "| figure | value |",
        "|---|---|",
        f"| statements at the end | {result.statements} |",
        f"| statements lost / changed | {result.lost_statements} / "
        f"{result.changed_statements} |",
        f"| ids or periods not contiguous | {result.broken_sequence} |",
        f"| joules or carry out of place | {result.energy_mismatch} |",
        f"| payments (confirmed) | {result.payments} ({result.confirmed}) |",
        f"| IOTA owed / neighbour's balance on devtangle (carry) | "
        f"{result.owed_iota} / {result.paid_iota} ({float(result.carry):.3f}) |",
        f"| statements in two open payments | {result.double_queued} |",
        f"| payments signed again differently | {result.re_signed} |",
        f"| statements paid never / twice | {result.never_paid} / "
        f"{result.paid_twice} |",
        f"| spending bundles not a payment's | {result.extra_bundles} |",
        f"| payments with two confirmed bundles | {result.confirmed_twice} |",
        f"| addresses that signed two bundles | {result.spent_reuse} |",
        f"| reattachments (signed content differing) | {result.reattachments} "
        f"({result.reattach_mismatch}) |",
        f"| all paid at the end / clean stop status | {result.drained} / "
        f"{result.clean_stop_status} |",
        f"| payments that waited for funds the wallet had (deposits made) | "
        f"{len(result.deposits)} |",
        "",
        f"Total lost: **{result.lost}**.",
        "",
    ]
    if result.problems:
        lines += ["## Problems", "", *[f"- {p}" for p in result.problems[:50]], ""]
    return lines


def from_json(data: dict[str, Any]) -> CrashResult:
    """A result as ``CrashResult.to_json`` wrote it."""
    known = {f.name for f in fields(CrashResult)}
    values = {k: v for k, v in data.items() if k in known}
    values["kills"] = [Kill(**k) for k in data["kills"]]
    values["carry"] = Fraction(data["carry"])
    return CrashResult(**values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--short", action="store_true", help="3 kills, about 2 min")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="run in DIR and keep it")
    parser.add_argument("--output", type=Path, default=RESULTS / "crash.md")
    parser.add_argument("--json", type=Path, default=RESULTS / "data" / "crash.json")
    parser.add_argument("--rescore", action="store_true", help="from --json, no run")
    parser.add_argument("--meta", help="the run's facts as JSON, for old data")
    args = parser.parse_args(argv)
    note = ""
    if args.rescore:
        data = json.loads(args.json.read_text("utf-8"))
        meta = data.pop("meta", None) or json.loads(args.meta)
        result = from_json(data)
        changed = rescore(result)
        note = (
            f"Scored again from data/crash.json with the rules of commit {commit()}: "
            f"{changed} kills whose newest document held only the previous run's "
            "samples (a start writes the ledger before its first sample) moved from "
            "a measured loss to 'no sample of this run saved yet'; the recorded "
            "uptime and loss of each kill show it."
        )
    else:
        targets = plan(args.kills, short=args.short)
        meta = {
            "command": "python -m benchmarks.crash"
            + (" --short" if args.short else f" --kills {len(targets)}"),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
            # Home Assistant loads the integration from this checkout at each start.
            "commit": commit(),
            "seed": args.seed,
        }
        say = lambda line: print(line, flush=True)  # noqa: E731
        result = run(targets, args.seed, say, args.keep)
    lines = report(result, meta, note)
    print("\n".join(lines[lines.index("## Energy") :]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    data = result.to_json() | {"meta": meta}
    args.json.write_text(json.dumps(data, indent=1) + "\n", "utf-8")
    return 1 if result.lost else 0


if __name__ == "__main__":
    sys.exit(main())
