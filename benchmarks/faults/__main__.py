"""Fault injection suite: run every fault, count what was lost (goal: nothing).

Run from the repository root:

    python -m benchmarks.faults [--short] [--only metering|payments|storage]
                                [--output PATH] [--seed N]

Prints one line per fault and writes ``benchmarks/results/faults.md``
(``--short``: the quick version the test suite runs, about a minute; the
full version simulates longer runs and a 3 h node outage, a few minutes).
Exits 1 if anything was lost in any fault.

* Metering (``metering.py``): the sampler thread, pi-ina219 and the
  register-level INA219 under I2C errors and a vanishing chip; the wall
  clock stepped backwards and forwards mid-period and across DST; energy
  against the load's exact integral, statements, exact money.
* Payments (``payments.py``): the outbox, the wallet and real PyOTA paying
  into devtangle through a fault-injecting HTTP proxy (node down for hours,
  errors, garbage, wrong shapes, resets, truncated answers, timeouts before
  and after the node acted) and with the outbox's writes failing (ENOSPC);
  IOTA owed against paid, statements paid twice or never, bundles per
  payment, spent addresses signed again, reattachments that differ.

* Storage (``storage.py``): each of the integration's storage files (ledger
  head, sealed chunk, live document, outbox) emptied, half-written or
  filled with garbage, in one slot or both, under a real ``hass`` (the
  crash suite's): what a start restores against the documented fallback,
  the entry's state and its repair issues.

With ``--only``, the other sections of an existing report are kept. A full
disk under Home Assistant's own write path runs in the test suite against
the real integration (tests/stress, tests/integration/test_storage.py).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
import logging
from pathlib import Path
import platform
import sys
import time

from benchmarks.report import commit

from . import metering, payments, storage

RESULTS = Path(__file__).resolve().parent.parent / "results" / "faults.md"


def metering_table(results: list[metering.MeteringResult]) -> list[str]:
    lines = [
        "| fault | simulated | samples (failed) | energy vs exact integral "
        "| unbridged (declared) | statements (expected) | incomplete "
        "| billing / money mismatch | lost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.seconds / 60:.0f} min | {r.samples} ({r.failed_reads}) "
            f"| {r.energy_error:+.4%} | {r.unbridged_s:.1f} s, "
            f"{float(r.unbridged_j):.2f} J ({r.undeclared_gaps} silent) "
            f"| {r.statements} ({r.expected_statements}) | {r.incomplete} "
            f"| {float(r.billing_mismatch_j):g} J / {float(r.money_mismatch):g} IOTA "
            f"| **{r.lost}** |"
        )
    return lines


def payments_table(results: list[payments.PaymentResult]) -> list[str]:
    lines = [
        "| fault | simulated | statements | payments | IOTA owed / paid (carry) "
        "| never / twice paid | extra bundles (confirmed) | spent address reused "
        "| reattached (differing) | restarts | node down | failed writes "
        "| requests faulted | lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        faulted = sum(n for mode, n in r.requests.items() if mode != "pass")
        total = sum(r.requests.values())
        lines.append(
            f"| {r.name} | {r.simulated_h:.2f} h | {r.statements} | {r.payments} "
            f"| {r.owed_iota} / {r.paid_iota} ({float(r.carry):.3f}) "
            f"| {r.never_paid} / {r.paid_twice} "
            f"| {r.extra_bundles} ({r.confirmed_twice}) | {r.spent_reuse} "
            f"| {r.reattachments} ({r.reattach_mismatch}) | {r.restarts} "
            f"| {r.down_s / 60:.0f} min | {r.failed_writes} | {faulted} of {total} "
            f"| **{r.lost}** |"
        )
    return lines


def storage_table(results: list[storage.StorageResult]) -> list[str]:
    lines = [
        "| damaged | documented fallback | entry | repair issues | restored from "
        "| fallback cost | statements lost (of) | energy beyond fallback "
        "| payments / keys forgotten | copies kept | lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.expected} | {r.entry_state} "
            f"| {', '.join(r.issues) or '-'} | {r.restored_from} "
            f"| {r.fallback_cost_j * 1000:.1f} mJ "
            f"| {r.statements_lost} ({r.statements_before}) "
            f"| {r.energy_beyond_fallback_j * 1000:.1f} mJ "
            f"| {r.payments_lost} / {r.keys_forgotten} | {r.copies_kept} "
            f"| **{r.lost}**{_why(r.unexpected)} |"
        )
    return lines


def _why(unexpected: list[str]) -> str:
    return f" ({'; '.join(unexpected)})" if unexpected else ""


def _keep_other_sections(path: Path, sections: set[str]) -> list[str]:
    """Sections of an existing report that this run did not redo."""
    if not path.exists():
        return []
    old = path.read_text("utf-8").splitlines()
    kept: list[str] = [
        "The sections below are from the earlier run: "
        + next((line for line in old if line.startswith("`python")), "?"),
        "",
    ]
    current: str | None = None
    for line in old:
        if line.startswith("## "):
            current = line
        elif line.startswith("Total lost:"):
            current = None
        if current is not None and current not in sections:
            kept.append(line)
    return kept if len(kept) > 2 else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the quick version")
    parser.add_argument("--only", choices=("metering", "payments", "storage"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # The suite provokes warnings on purpose; it counts, it does not log them.
    logging.disable(logging.WARNING)
    started = time.monotonic()
    report = [
        "# Fault injection",
        "",
        f"`python -m benchmarks.faults{' --short' if args.short else ''}"
        f"{' --only ' + args.only if args.only else ''}` on "
        f"{platform.node() and platform.machine()} ({platform.python_version()}), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}, "
        f"seed {args.seed}.",
        "",
        "**lost** counts everything that went wrong: energy outside the read path's "
        f"accuracy ({metering.ACCURACY_BOUND:.2%}), a statement missing, doubled or "
        "not contiguous, a joule or an IOTA fraction out of place, a gap the "
        "statements did not declare; an IOTA owed and not paid (or paid twice), a "
        "statement paid never or twice, a second bundle for a payment, an address "
        "signed twice, a reattachment with different signed content. Energy the chip "
        "could not measure (an unplugged chip) is not lost but declared: its periods "
        "close incomplete, with the seconds metered. A damaged storage file may "
        "cost what its documented fallback gives up (one save interval of "
        "energy for the live document; a start refused with a repair issue when "
        "both slots of the ledger are damaged), nothing beyond.",
        "",
    ]
    lost = 0
    if args.only in (None, "metering"):
        results = metering.run_all(args.short, args.seed)
        lost += sum(r.lost for r in results)
        table = metering_table(results)
        report += ["## Metering and billing", "", *table, ""]
        print("\n".join(table))
    if args.only in (None, "payments"):
        paid = payments.run_all(args.short, args.seed)
        lost += sum(r.lost for r in paid)
        table = payments_table(paid)
        report += ["## Payments", "", *table, ""]
        print("\n".join(table))
    if args.only in (None, "storage"):
        damaged = storage.run_all(args.short, args.seed)
        lost += sum(r.lost for r in damaged)
        table = storage_table(damaged)
        report += ["## Storage files", "", *table, ""]
        print("\n".join(table))
    if args.only is not None:
        done = {line for line in report if line.startswith("## ")}
        report += _keep_other_sections(args.output, done)
    elapsed = time.monotonic() - started
    report += [f"Total lost: **{lost}**. Run time {elapsed:.0f} s.", ""]
    print(f"total lost: {lost} ({elapsed:.0f} s)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(report), encoding="utf-8")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
