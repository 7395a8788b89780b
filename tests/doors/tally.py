"""Count what each door was given and how it answered.

Every case ends in one of three ways: ``accepted`` (the input was good after
all, or harmless), ``refused`` (a clear, translated error), or ``unhandled``
(anything else: the tests fail on it). When ``IOTA_ENERGY_DOORS_RESULTS``
names a file, each door appends one JSON line with its counts there;
``python -m benchmarks.doors`` turns them into the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import os
from pathlib import Path

RESULTS_ENV = "IOTA_ENERGY_DOORS_RESULTS"


@dataclass
class Tally:
    """The cases one door was tried with."""

    door: str
    accepted: int = 0
    refused: int = 0
    unhandled: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return self.accepted + self.refused + len(self.unhandled)

    def record(self) -> None:
        """Append this door's counts to the results file, if one is named."""
        target = os.environ.get(RESULTS_ENV)
        if not target:
            return
        line = {
            "door": self.door,
            "cases": self.cases,
            "refused": self.refused,
            "accepted": self.accepted,
            "unhandled": len(self.unhandled),
        }
        with Path(target).open("a", encoding="utf-8") as results:
            results.write(json.dumps(line) + "\n")

    def check(self) -> None:
        """Record, then fail on the first unhandled case (listed, short)."""
        self.record()
        print(f"{self.door}: {self.cases} cases, {self.refused} refused")
        assert self.cases > 0, f"{self.door}: no case was tried"
        assert not self.unhandled, "\n".join(self.unhandled[:10])
