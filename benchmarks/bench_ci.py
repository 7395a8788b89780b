"""How long CI takes on a fresh clone, leg by leg.

Run from the repository root:

    python benchmarks/bench_ci.py              # clone HEAD, run .ci/run there
    python benchmarks/bench_ci.py --log FILE   # read the output of such a run

A fresh clone has no ``.cache/``: every leg downloads its Python or builds it
(mid builds CPython 3.13 from Debian's source package; cur and next unpack
Debian's python3.14 binaries), creates its venv with a cold uv cache, then
lints, type-checks and runs the whole suite. The figures come from the
summary ``scripts/test`` prints and the closing line of ``.ci/run``.

Prints the figures and writes them to ``benchmarks/results/ci.md``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import re
import subprocess
import sys
import tempfile

REPO_ROOT = Path(__file__).resolve().parents[1]
STEP = re.compile(
    r"^leg (?P<leg>\w+): (?P<step>setup|lint|mypy|pytest) ok \((?P<seconds>\d+) s\)"
    r"(?: Python (?P<python>\S+), Home Assistant (?P<ha>\S+))?"
)
PASSED = re.compile(r"^(?P<summary>\d+ passed.*) in [\d.]+s")
BANNER = re.compile(r"^#+ leg (?P<leg>\w+): ")
CI = re.compile(
    r"^ci: scripts/test (?P<tests>\d+) s, scripts/develop --check (?P<demo>\d+) s, "
    r"total (?P<total>\d+) s"
)


def run_fresh_clone() -> str:
    """Clone HEAD into a temporary folder and return the output of .ci/run."""
    with tempfile.TemporaryDirectory(prefix="iota-energy-ci-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"UV_CACHE_DIR", "VIRTUAL_ENV"}
        }
        result = subprocess.run(
            ["bash", ".ci/run"],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if result.returncode:
            sys.stdout.write(result.stdout[-5000:])
            raise SystemExit(f".ci/run failed ({result.returncode})")
        return result.stdout


def parse(log: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Per leg: seconds of each step, versions, tests passed; and CI totals."""
    legs: dict[str, dict[str, str]] = {}
    totals: dict[str, str] = {}
    current = ""
    for line in log.splitlines():
        if match := BANNER.match(line):
            current = match["leg"]
        elif (match := PASSED.match(line)) and current:
            legs.setdefault(current, {})["passed"] = match["summary"]
        elif match := STEP.match(line):
            leg = legs.setdefault(match["leg"], {})
            leg[match["step"]] = match["seconds"]
            if match["python"]:
                leg["python"], leg["ha"] = match["python"], match["ha"].rstrip(",")
        elif match := CI.match(line):
            totals = match.groupdict()
    return legs, totals


def report(legs: dict[str, dict[str, str]], totals: dict[str, str]) -> str:
    lines = [
        "# CI on a fresh clone",
        "",
        f"Written by `benchmarks/bench_ci.py`; {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other work. Seconds per step of "
        "`.ci/run` (setup: the leg's Python and venv from nothing, cold caches).",
        "",
        "| leg | Python | Home Assistant | setup | lint | mypy | pytest | tests |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, leg in legs.items():
        cells = [
            name,
            leg.get("python", "?"),
            leg.get("ha", "?"),
            *(leg.get(step, "-") for step in ("setup", "lint", "mypy", "pytest")),
            leg.get("passed", "?"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if totals:
        lines += [
            "",
            f"scripts/test (all legs): {totals['tests']} s; "
            f"scripts/develop --check: {totals['demo']} s; "
            f"total: {totals['total']} s.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="output of a .ci/run on a fresh clone")
    parser.add_argument(
        "--output", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "ci.md"
    )
    args = parser.parse_args()
    log = args.log.read_text(encoding="utf-8") if args.log else run_fresh_clone()
    legs, totals = parse(log)
    if not legs:
        raise SystemExit("no leg summary found in the log")
    text = report(legs, totals)
    print(text)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
