"""Who holds the soak's memory: tracemalloc snapshots, each block given an owner.

The soak's resident set is the whole test process: Home Assistant, the
integration, devtangle (the node stores every transaction) and the harness.
:class:`AllocationTracker` traces Python allocations with a deep enough stack
to tell them apart: a block belongs to the first of ``devtangle``,
``integration``, ``harness`` with a frame in its stack (devtangle calls the
integration's proof of work, never the other way round; the harness calls
both), at that owner's innermost frame; else to the library its innermost
frame lies in (``homeassistant``, ``iota``, ``stdlib``...). So a ``Fraction``
the billing builds is the integration's, a milestone devtangle attaches with
the integration's proof of work is devtangle's. The tracker's own blocks are
left out.

At each mark it records every owner's traced bytes; at the end it writes the
growth per owner (a least-squares slope per simulated hour over the marks
after warm-up) and the allocation sites that grew most, by the line that
allocated and by the owner's line that caused it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
import gc
import logging
from pathlib import Path
import sys
import sysconfig
import threading
import tracemalloc
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# The repository's own code, the outermost caller first.
_PROJECT = (
    ("devtangle", f"{REPO / 'devtangle'}/"),
    ("integration", f"{REPO / 'custom_components' / 'iota_energy'}/"),
    ("harness", f"{REPO / 'tests'}/"),
)
# Blocks the tracker makes itself (its tallies) are no one's growth.
_OWN = (
    tracemalloc.Filter(inclusive=False, filename_pattern=__file__, all_frames=True),
    tracemalloc.Filter(
        inclusive=False, filename_pattern=tracemalloc.__file__, all_frames=True
    ),
)
_STDLIB = f"{sysconfig.get_paths()['stdlib']}/"
# Deep enough to reach a repository frame from inside json, sqlite3,
# fractions or Home Assistant's helpers.
FRAMES = 16
TOP = 25


def _library(filename: str) -> str:
    """The top-level package (or ``stdlib``) a file outside the repository is in."""
    marker = "site-packages/"
    at = filename.rfind(marker)
    if at >= 0:
        head = filename[at + len(marker) :].split("/", 1)[0]
        return head.removesuffix(".py")
    if filename.startswith((_STDLIB, "<frozen")):
        return "stdlib"
    return "other"


def owner_site(frames: Sequence[tracemalloc.Frame]) -> tuple[str, str, int]:
    """The block's owner and its line that made it: ``frames`` innermost first."""
    for owner, prefix in _PROJECT:
        for frame in frames:
            if frame.filename.startswith(prefix):
                return owner, frame.filename.removeprefix(f"{REPO}/"), frame.lineno
    if not frames:
        return "unknown", "?", 0
    inner = frames[0]
    return _library(inner.filename), inner.filename, inner.lineno


def _short(filename: str) -> str:
    for marker in ("site-packages/", _STDLIB):
        at = filename.rfind(marker)
        if at >= 0:
            return filename[at + len(marker) :]
    return filename


# A key of a tally: ("site", owner, file, line) for the owner's line that
# caused a block, ("line", "", file, line) for the line that allocated it.
type Key = tuple[str, str, str, int]


@dataclass
class _Tally:
    """One snapshot, summed by owner and by key (bytes and blocks)."""

    owners: Counter[str] = field(default_factory=Counter)
    sizes: Counter[Key] = field(default_factory=Counter)
    blocks: Counter[Key] = field(default_factory=Counter)

    @classmethod
    def of(cls, snapshot: tracemalloc.Snapshot) -> _Tally:
        tally = cls()
        for stat in snapshot.statistics("traceback"):
            # Traceback: oldest frame first.
            frames = list(reversed(stat.traceback))
            owner, file, line = owner_site(frames)
            tally.owners[owner] += stat.size
            keys: list[Key] = [("site", owner, file, line)]
            if frames:
                keys.append(("line", "", _short(frames[0].filename), frames[0].lineno))
            for key in keys:
                tally.sizes[key] += stat.size
                tally.blocks[key] += stat.count
        return tally

    def top_growth(self, base: _Tally, kind: str) -> list[tuple[Key, int, int]]:
        """The keys of ``kind`` that grew most since ``base``: key, bytes, blocks."""
        grown = {
            key: self.sizes[key] - base.sizes[key]
            for key in set(self.sizes) | set(base.sizes)
            if key[0] == kind
        }
        top = sorted(grown, key=lambda key: -grown[key])[:TOP]
        return [(key, grown[key], self.blocks[key] - base.blocks[key]) for key in top]


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points (0 for fewer than two x values)."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


@dataclass
class AllocationTracker:
    """Traces allocations from ``start`` to ``stop``; ``mark`` at simulated hours."""

    frames: int = FRAMES
    series: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    _tallies: list[tuple[float, _Tally]] = field(default_factory=list)

    def start(self) -> None:
        tracemalloc.start(self.frames)

    def mark(self, hours: float) -> None:
        """Record every owner's bytes now; keep the first two tallies and the last
        (the second is the sites' baseline when there are three or more: the
        first comes before warm-up, caches and the first statements)."""
        gc.collect()
        tally = _Tally.of(tracemalloc.take_snapshot().filter_traces(_OWN))
        self.series.append((hours, dict(tally.owners)))
        self._tallies = [*self._tallies[:2], (hours, tally)]

    def stop(self) -> None:
        tracemalloc.stop()

    def owner_growth(self) -> dict[str, tuple[int, int, float]]:
        """Per owner: bytes at the first mark, at the last, slope in bytes per hour
        over the marks from the second on."""
        if not self.series:
            return {}
        first, last = self.series[0][1], self.series[-1][1]
        fitted = self.series[1:] if len(self.series) > 2 else self.series
        names = set(first) | set(last)
        return {
            name: (
                first.get(name, 0),
                last.get(name, 0),
                slope([(hours, owners.get(name, 0)) for hours, owners in fitted]),
            )
            for name in names
        }

    def figures(self) -> dict[str, Any]:
        """The integration's own traced memory, for the soak's table (MiB)."""
        growth = self.owner_growth().get("integration", (0, 0, 0.0))
        return {
            "integration_start_mb": round(growth[0] / 2**20, 2),
            "integration_end_mb": round(growth[1] / 2**20, 2),
            "integration_kib_per_h": round(growth[2] / 1024, 1),
        }

    def report(self, title: str) -> str:
        """The owners' growth and the top growing sites, as markdown."""
        lines = [f"## {title}", "", *self._owners_table()]
        if len(self._tallies) < 2:
            return "\n".join([*lines, "", "(too few marks for site growth)", ""])
        base_h, base = self._tallies[1 if len(self._tallies) > 2 else 0]
        last_h, last = self._tallies[-1]
        hours = last_h - base_h
        return "\n".join(
            [
                *lines,
                "",
                f"Top sites by growth from {base_h:.2f} h to {last_h:.2f} h "
                "(simulated), by the owner's line that caused the allocation:",
                "",
                *_growth_table(("owner", "site"), last.top_growth(base, "site"), hours),
                "",
                "The same growth by the line that allocated:",
                "",
                *_growth_table(
                    ("allocating line",), last.top_growth(base, "line"), hours
                ),
                "",
            ]
        )

    def _owners_table(self) -> list[str]:
        rows = sorted(self.owner_growth().items(), key=lambda item: -abs(item[1][2]))
        out = [
            "| owner | first mark, KiB | last mark, KiB | KiB per simulated h |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, (first, last, per_h) in rows:
            # Owners under 64 KiB that do not grow are left out.
            if max(first, last) < 64 * 1024 and abs(per_h) < 4 * 1024:
                continue
            kib = [f"{first / 1024:.0f}", f"{last / 1024:.0f}", f"{per_h / 1024:.1f}"]
            out.append(f"| {name} | " + " | ".join(kib) + " |")
        marks = ", ".join(f"{hours:.2f}" for hours, _ in self.series)
        out += ["", f"Marks (simulated hours): {marks}."]
        return out


def _growth_table(
    heads: tuple[str, ...], rows: Sequence[tuple[Key, int, int]], hours: float
) -> list[str]:
    out = [
        "| " + " | ".join(heads) + " | KiB | blocks | KiB per simulated h |",
        "| " + " | ".join("---" for _ in heads) + " | ---: | ---: | ---: |",
    ]
    for (_, owner, file, line), size, blocks in rows:
        cells = [owner] if owner else []
        cells.append(f"`{_short(file)}:{line}`")
        per_h = size / 1024 / hours if hours else 0.0
        out.append(
            f"| {' | '.join(cells)} | {size / 1024:.1f} | {blocks} | {per_h:.1f} |"
        )
    return out


# Objects a walk from the integration's runtime data must not enter: Home
# Assistant's core, the event loop (every scheduled callback), modules,
# classes and code; functions are entered only through their closures.
_SHARED: tuple[type, ...] = (
    ModuleType,
    type,
    CodeType,
    FrameType,
    asyncio.AbstractEventLoop,
    logging.Logger,
    threading.Thread,
)


def retained_bytes(root: object, *, shared: tuple[type, ...] = ()) -> int:
    """Bytes of the objects reachable from ``root`` that are not shared.

    The cheap census of what the integration keeps (no tracing): a walk over
    ``gc.get_referents`` that stops at ``shared`` types (and ``_SHARED``) and
    enters a function only through its closure and defaults (never its
    module's globals). Strings and numbers shared with others count in full.
    """
    stop = _SHARED + shared
    seen: set[int] = set()
    todo = [root]
    total = 0
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, stop) or obj is None:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, FunctionType):
            todo.extend(obj.__closure__ or ())
            todo.extend(obj.__defaults__ or ())
            todo.extend((obj.__kwdefaults__ or {}).values())
            continue
        todo.extend(gc.get_referents(obj))
    return total
