"""Fault injection suite: run every fault, count what was lost (goal: nothing).

Run from the repository root:

    python -m benchmarks.faults [--short] [--only metering|payments]
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

Storage faults of Home Assistant's own write path (a full disk under the
ledger and the outbox, a damaged storage file) run in the test suite
against the real integration (tests/stress, tests/integration/test_storage.py).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
import logging
from pathlib import Path
import platform
import subprocess
import sys
import time

from . import metering, payments

RESULTS = Path(__file__).resolve().parent.parent / "results" / "faults.md"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the quick version")
    parser.add_argument("--only", choices=("metering", "payments"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # The suite provokes warnings on purpose; it counts, it does not log them.
    logging.disable(logging.WARNING)
    started = time.monotonic()
    report = [
        "# Fault injection",
        "",
        f"`python -m benchmarks.faults{' --short' if args.short else ''}` on "
        f"{platform.node() and platform.machine()} ({platform.python_version()}), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}, "
        f"seed {args.seed}.",
        "",
        "**lost** counts everything that went wrong: energy outside the read path's "
        f"accuracy ({metering.ACCURACY_BOUND:.2%}), a statement missing, doubled or "
        "not contiguous, a joule or an IOTA fraction out of place, a gap the "
        "statements did not declare; an IOTA owed and not paid (or paid twice), a "
        "statement paid never or twice, a second bundle for a payment, an address "
        "signed twice, a reattachment with different signed content. Energy the chip "
        "could not measure (an unplugged chip) is not lost but declared: its periods "
        "close incomplete, with the seconds metered.",
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
    elapsed = time.monotonic() - started
    report += [f"Total lost: **{lost}**. Run time {elapsed:.0f} s.", ""]
    print(f"total lost: {lost} ({elapsed:.0f} s)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(report), encoding="utf-8")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
