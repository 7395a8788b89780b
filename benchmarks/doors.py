"""Bad input at every door: run tests/doors and count the cases per door.

Run from the repository root, in the venv the tests use:

    python -m benchmarks.doors

Each door of tests/doors appends its counts (one JSON line) to the file
``IOTA_ENERGY_DOORS_RESULTS`` names; this runs pytest with it set, prints
the table and writes it to ``benchmarks/results/doors.md``. A door passes
when nothing was unhandled: no exception but a translated error, no
untranslated error key, nothing written by a refused input, no secret in
an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import platform
import subprocess
import sys
import tempfile
from typing import Any

from benchmarks.report import commit

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "doors.md"
RESULTS_ENV = "IOTA_ENERGY_DOORS_RESULTS"


def run_doors(counts: Path) -> int:
    """pytest on tests/doors with the counts file named; its exit code."""
    env = os.environ | {RESULTS_ENV: str(counts)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-n", "0", "tests/doors"]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode


def table(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| door | cases | refused with a clear error | accepted | unhandled |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['door']} | {row['cases']} | {row['refused']} "
            f"| {row['accepted']} | **{row['unhandled']}** |"
        )
    total = {k: sum(r[k] for r in rows) for k in ("cases", "refused", "accepted")}
    unhandled = sum(r["unhandled"] for r in rows)
    lines.append(
        f"| **all doors** | {total['cases']} | {total['refused']} "
        f"| {total['accepted']} | **{unhandled}** |"
    )
    return lines


def report(rows: Sequence[dict[str, Any]], exit_code: int) -> str:
    header = (
        f"`python -m benchmarks.doors` on {platform.machine()} "
        f"({platform.python_version()}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"commit {commit()}; pytest exit code {exit_code}."
    )
    explanation = (
        "**refused** means the input ended in a translated error: a form "
        "error or an abort whose key strings.json has, a schema error on the "
        "field, a ServiceValidationError/HomeAssistantError of this integration "
        "with a known translation key, a NodeError, or (price entity) a "
        "nonsense state flagged and never billed. **accepted** inputs were "
        "good after all (the flow moved on). **unhandled** is everything else "
        "and must be 0. The flow, action and price cases are seeded (the same "
        "on every run); the node answers come from hypothesis (a fixed number "
        "of examples, derandomized; the mix may still vary a little)."
    )
    return (
        "\n\n".join(
            ["# Bad input at every door", header, explanation, "\n".join(table(rows))]
        )
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    with tempfile.TemporaryDirectory() as folder:
        counts = Path(folder) / "doors.jsonl"
        code = run_doors(counts)
        lines = counts.read_text("utf-8").splitlines() if counts.exists() else []
    rows = [json.loads(line) for line in lines]
    text = report(rows, code)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
