"""``python -m devtangle serve`` / ``python -m devrebased serve`` as a child.

The command lines' own tests (tests/devtangle, tests/devrebased) start the
node as a user does and stop it with the signal scripts/develop sends.
"""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[1]


class Stopped(NamedTuple):
    """How a node's process ended."""

    code: int
    # What it logged after the "serving" line.
    log: str


def start_node(
    name: str, args: list[str], cwd: Path
) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m NAME serve ARGS`` in ``cwd``; return it and its URL.

    The URL is read from the line the node logs once it serves.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", name, "serve", *args],
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stderr is not None
    for line in process.stderr:
        if f"{name} serving" in line:
            return process, line.split("serving ")[1].split()[0]
    process.kill()
    process.wait()
    pytest.fail(f"{name} did not start")


def stop_node(process: subprocess.Popen[str]) -> Stopped:
    """Send SIGTERM (kill after 30 s); its exit code and the rest of its log."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log = ""
    if process.stderr is not None:
        log = process.stderr.read()
        process.stderr.close()
    return Stopped(process.returncode, log)
