"""One benchmark report: every results file, the machine, the date, the commit.

Run from the repository root (``scripts/report`` builds a venv with matplotlib
and runs this):

    python -m benchmarks.report [--results benchmarks/results]
                                [--output benchmarks/results/REPORT.md]

Nothing is measured here. Each ``bench_*.py`` writes its figures to
``benchmarks/results/<name>.md`` (and, where a plot needs the numbers,
``benchmarks/results/data/<name>.json``); this gathers them, in one order, under
one header, and draws the plots a reader would rather look at than read:
energy error by load and rate, payment latency, memory over the soak. A
results file that is missing is listed as such, with the command that writes
it; a plot whose data is missing is left out and said so.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
import importlib
import importlib.util
import json
import os
from pathlib import Path
import platform
import re
import subprocess
import sys
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
REPORT_NAME = "REPORT.md"
PLOTS_DIR = "plots"


@dataclass(frozen=True)
class Section:
    """One results file and the command that writes it."""

    name: str
    title: str
    command: str


# The order a reader meets them: what is measured, then what is billed and
# paid, then what it costs, then the proofs under stress.
SECTIONS = (
    Section(
        "metering",
        "Metering accuracy and sampling cost",
        "python -m benchmarks.bench_metering",
    ),
    Section(
        "billing", "Billing against the tutorial", "python benchmarks/bench_billing.py"
    ),
    Section("recorder", "Recorder load", "python -m benchmarks.bench_recorder"),
    Section("pow", "Proof of work", "python -m benchmarks.bench_pow"),
    Section(
        "devtangle", "devtangle throughput", "python benchmarks/bench_devtangle.py"
    ),
    Section("payments", "Payments", "python benchmarks/bench_payments.py"),
    Section("ledger", "Ledger writes", "python -m benchmarks.bench_ledger"),
    Section("soak", "Soak", "python -m benchmarks.soak"),
    Section("crash", "Real crashes", "python -m benchmarks.crash"),
    Section("faults", "Fault injection", "python -m benchmarks.faults"),
    Section("doors", "Bad input at every door", "python -m benchmarks.doors"),
    Section("mutation", "Mutation testing", "scripts/mutation"),
    Section("ci", "CI timings", "python benchmarks/bench_ci.py"),
)


def machine() -> dict[str, str]:
    """What ran the report (the figures' own files say what ran them)."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(
            r"^model name\s*:\s*(.+)$", cpuinfo.read_text("utf-8"), re.MULTILINE
        )
        if match:
            cpu = match.group(1).strip()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text("utf-8"), re.M)
        if match:
            memory = f"{int(match.group(1)) / 1024**2:.1f} GiB"
    return {
        "system": platform.platform(terse=True),
        "cpu": cpu,
        "logical cores": str(os.cpu_count() or "?"),
        "memory": memory or "unknown",
        "python": platform.python_version(),
    }


def commit(repo: Path = REPO) -> str:
    """The commit the report describes, marked when the work tree differs."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes)" if dirty else head


def demote(markdown: str, levels: int = 1) -> str:
    """Push every heading down ``levels`` (the report owns the top levels)."""
    return re.sub(
        r"^(#{1,6}) ",
        lambda m: "#" * min(6, len(m.group(1)) + levels) + " ",
        markdown,
        flags=re.M,
    )


# -- plots -------------------------------------------------------------------------

Plotter = Callable[[dict[str, Any], Path], str]


def pyplot() -> Any:
    """matplotlib's pyplot on a file-only backend (optional: only plots need it)."""
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def plot_energy_error(data: dict[str, Any], path: Path) -> str:
    """|Energy error| per load: read path by rate, power register, tutorial."""
    plt = pyplot()

    rows = data["read_path"]
    default_rate = data["default_rate_hz"]
    loads: list[tuple[str, float, float]] = []
    for row in rows:
        key = (row["shape"], row["level_w"], row["bus_v"])
        if key not in loads:
            loads.append(key)

    def series(
        pick: Callable[[dict[str, Any]], float | None], rate: int
    ) -> list[float]:
        by_load = {
            (r["shape"], r["level_w"], r["bus_v"]): pick(r)
            for r in rows
            if r["rate_hz"] == rate
        }
        return [
            abs(v) * 100 if (v := by_load.get(k)) is not None else float("nan")
            for k in loads
        ]

    averaging = {
        (r["shape"], r["level_w"], r["bus_v"]): r["error"]
        for r in data.get("averaging", [])
        if r["adc"] == "128samples"
        and r["shunt_ohms"] == sized_ohms_of(data, r["shape"], r["level_w"], r["bus_v"])
    }
    figure, axes = plt.subplots(figsize=(13, 5.5))
    x = list(range(len(loads)))
    for rate in sorted({r["rate_hz"] for r in rows}):
        axes.plot(
            x,
            series(lambda r: r["read_path"], rate),
            "o",
            label=f"read path, {rate} Hz",
        )
    axes.plot(
        x,
        series(lambda r: r["power_register"], default_rate),
        "x",
        label=f"power register, {default_rate} Hz",
    )
    axes.plot(
        x,
        series(lambda r: r["tutorial"], 1),
        "s",
        mfc="none",
        label="tutorial's bill (1 Hz)",
    )
    if averaging:
        axes.plot(
            x,
            [abs(averaging.get(k, float("nan"))) * 100 for k in loads],
            "D",
            label=f"128-sample averaging, sized shunt, {default_rate} Hz",
        )
    axes.axhline(0.1, color="grey", linestyle="--", linewidth=1, label="goal 0.1 %")
    axes.set_yscale("log")
    axes.set_ylabel("|energy error| (%)")
    axes.set_xticks(
        x,
        [f"{s} {w * 1000:g} mW {v:g} V" for s, w, v in loads],
        rotation=90,
        fontsize=7,
    )
    axes.set_title("Energy error through the full read path, by load and rate")
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return (
        "energy error by load and rate (log scale; the dashed line is the 0.1 % goal)"
    )


def sized_ohms_of(
    data: dict[str, Any], shape: str, level_w: float, bus_v: float
) -> float | None:
    for r in data["read_path"]:
        if (r["shape"], r["level_w"], r["bus_v"]) == (shape, level_w, bus_v):
            return float(r["sized_shunt_ohms"])
    return None


def plot_payment_latency(data: dict[str, Any], path: Path) -> str:
    """Distribution of period close -> payment confirmed, per proof-of-work mode."""
    plt = pyplot()

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for mode, latencies in sorted(data["latencies_s"].items()):
        axes.hist(
            latencies, bins=20, alpha=0.6, label=f"{mode} ({len(latencies)} payments)"
        )
    axes.set_xlabel("period close -> confirmed (s)")
    axes.set_ylabel("payments")
    axes.set_title("Payment latency")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return "payment latency distribution"


def plot_soak_memory(data: dict[str, Any], path: Path) -> str:
    """Resident memory against simulated time over the soak."""
    plt = pyplot()

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for run in data["runs"]:
        hours = [point[0] / 3600 for point in run["memory"]]
        mib = [point[1] / 1024**2 for point in run["memory"]]
        axes.plot(hours, mib, label=run["name"])
    axes.set_xlabel("simulated time (h)")
    axes.set_ylabel("resident memory (MiB)")
    axes.set_title("Memory over the soak")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return "memory over the soak"


PLOTS: tuple[tuple[str, str, Plotter], ...] = (
    ("metering", "energy_error.png", plot_energy_error),
    ("payments", "payment_latency.png", plot_payment_latency),
    ("soak", "soak_memory.png", plot_soak_memory),
)


def draw_plots(results: Path) -> list[str]:
    """Draw what the data allows; one markdown line per plot (or its absence)."""
    lines = []
    if importlib.util.find_spec("matplotlib") is None:
        return [
            "Plots: matplotlib is not installed here (`scripts/report` installs it)."
        ]
    (results / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    for name, file_name, plotter in PLOTS:
        data_file = results / "data" / f"{name}.json"
        if not data_file.exists():
            lines.append(
                f"- *{name}*: no data yet (`{data_file.relative_to(results)}`)"
            )
            continue
        target = results / PLOTS_DIR / file_name
        try:
            caption = plotter(json.loads(data_file.read_text("utf-8")), target)
        except (KeyError, TypeError, ValueError) as err:
            lines.append(
                f"- *{name}*: its data does not have the expected shape ({err!r})"
            )
            continue
        lines.append(f"- ![{caption}]({PLOTS_DIR}/{file_name})")
    return lines


# -- the report --------------------------------------------------------------------


def build(
    results: Path, *, when: datetime | None = None, revision: str | None = None
) -> str:
    when = when or datetime.now(UTC)
    lines = [
        "# iota_energy: the benchmark report",
        "",
        f"Gathered by `benchmarks/report.py` on {when:%Y-%m-%d %H:%M} UTC at commit "
        f"`{revision or commit()}`. Each section is one results file as its benchmark "
        "wrote it (each says when and on what it ran); nothing here is re-measured.",
        "",
        "Machine that gathered it:",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in machine().items()]
    lines += ["", "## Contents", ""]
    present = []
    for section in SECTIONS:
        path = results / f"{section.name}.md"
        if path.exists():
            present.append((section, path.read_text("utf-8")))
            lines.append(f"- [{section.title}](#{anchor(section.title)})")
        else:
            lines.append(
                f"- {section.title}: **not measured yet** (`{section.command}` writes "
                f"`benchmarks/results/{section.name}.md`)"
            )
    lines += ["", "## Plots", "", *draw_plots(results), ""]
    for section, text in present:
        lines += [f"## {section.title}", "", demote(strip_title(text), 1).strip(), ""]
    return "\n".join(lines)


def strip_title(markdown: str) -> str:
    """Drop a results file's own top-level title (the section names it)."""
    return re.sub(r"\A# [^\n]*\n+", "", markdown)


def anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    text = build(args.results)
    output = args.output or args.results / REPORT_NAME
    output.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
