"""benchmarks/report.py: every results file under one header, nothing lost.

The plots need matplotlib, which only ``scripts/report``'s venv has; here the
report must say so instead of failing.
"""

from __future__ import annotations

from datetime import UTC, datetime
import importlib.util
from pathlib import Path

import pytest

from benchmarks import report

WHEN = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


def write(results: Path, name: str, text: str) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.md").write_text(text, encoding="utf-8")


def test_every_results_file_is_gathered_in_order_under_its_section(
    tmp_path: Path,
) -> None:
    write(
        tmp_path, "payments", "# Payment benchmarks\n\nLatency 11.2 s\n\n## Tail\n\nx\n"
    )
    write(tmp_path, "metering", "# Metering benchmarks\n\n## Read path\n\n+0.01 %\n")
    text = report.build(tmp_path, when=WHEN, revision="abc123")
    assert "2026-12-02 16:00 UTC" in text
    assert "`abc123`" in text
    metering = text.index("## Metering accuracy and sampling cost")
    payments = text.index("## Payments")
    assert metering < payments  # the report's order, not the directory's
    # A file's own title goes (the section names it); its headings move down.
    assert "# Metering benchmarks" not in text
    assert "### Read path" in text[metering:payments]
    assert "+0.01 %" in text[metering:payments]
    assert "Latency 11.2 s" in text[payments:]
    assert "### Tail" in text[payments:]


def test_missing_results_say_which_command_writes_them(tmp_path: Path) -> None:
    write(tmp_path, "metering", "# M\n\nfigures\n")
    text = report.build(tmp_path, when=WHEN, revision="abc123")
    for section in report.SECTIONS:
        if section.name == "metering":
            assert f"- [{section.title}](#" in text
        else:
            assert (
                f"- {section.title}: **not measured yet** (`{section.command}` writes "
                f"`benchmarks/results/{section.name}.md`)"
            ) in text


def test_the_machine_is_described() -> None:
    described = report.machine()
    assert set(described) == {"system", "cpu", "logical cores", "memory", "python"}
    assert all(described.values())


def test_the_commit_is_this_checkout() -> None:
    revision = report.commit()
    assert revision.split()[0].isalnum()
    assert len(revision.split()[0]) == 12


def test_a_non_checkout_has_no_commit(tmp_path: Path) -> None:
    assert report.commit(tmp_path).startswith("unknown")


def test_headings_move_down_but_not_past_six() -> None:
    assert report.demote("# a\n## b\n###### c\nnot # a heading\n") == (
        "## a\n### b\n###### c\nnot # a heading\n"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is not None,
    reason="matplotlib is installed: the plots are drawn instead",
)
def test_without_matplotlib_the_report_says_so(tmp_path: Path) -> None:
    write(tmp_path, "metering", "# M\n")
    text = report.build(tmp_path, when=WHEN, revision="abc123")
    assert "matplotlib is not installed here" in text
    assert not (tmp_path / report.PLOTS_DIR).exists()


def test_main_writes_the_report_next_to_the_results(tmp_path: Path) -> None:
    write(tmp_path, "ledger", "# L\n\n23 KB per close\n")
    report.main(["--results", str(tmp_path)])
    written = (tmp_path / report.REPORT_NAME).read_text("utf-8")
    assert "## Ledger writes" in written
    assert "23 KB per close" in written
