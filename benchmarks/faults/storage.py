"""Damaged storage files under a real ``hass``: what a start restores, what it says.

The crash suite's Home Assistant (benchmarks/crash/processes.py: scripts/develop's
venv and config preparation, the demo's entry paying into devtangle) builds a
state worth damaging: eleven closed statements (so the oldest ten are sealed
in a chunk), a payment confirmed (so the outbox holds spent keys), then a
SIGKILL well after a save, so the two live slots differ by one save interval.
That folder is the base. Each scenario starts from a copy of it, damages one
document, starts ``hass``, reads the entry's state, the repair issues and the
diagnostics (meter samples and energy as restored), stops it cleanly and reads
the files again. Documents: the ledger head, the sealed chunk, the live
document, the outbox; damage: emptied (a file cut at 0 bytes), half-written
(its first half), garbage (random bytes of the same length); in one slot (the
newest, for the live document) or in both.

The documented fallback (README, Durability and Payments) is what may be
given up: the older live slot (one save interval of energy) when the newest
is damaged, the ledger head's meter (the energy since the last ledger write)
when both live slots are; a start refused with a repair issue, the damaged
files kept aside, when both slots of the ledger or of a chunk are damaged;
payments stopped with a repair issue, metering going on, when both outbox
slots are. **lost** counts anything beyond: a statement missing after the
start, energy restored from older than the fallback, a payment or a spent key
index forgotten, a start that failed without the repair issue, a damaged file
not kept aside, Home Assistant itself failing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from fractions import Fraction
import json
from pathlib import Path
import random
import shutil
import tempfile
import time
from typing import Any

from benchmarks.crash import storage as files
from benchmarks.crash.processes import (
    Hass,
    Tangle,
    develop_ha,
    develop_python,
    devtangle,
)
from custom_components.iota_energy.core.numbers import parse_fraction
from custom_components.iota_energy.core.payments import OutboxState, PaymentStatus

DOCUMENTS = ("ledger", "chunk", "live", "outbox")
DAMAGES = ("empty", "half", "garbage")
SPREADS = ("one", "both")
FLUSH_INTERVAL_S = 10
SETTLE_TIMEOUT_S = 120.0
BASE_ATTEMPTS = 5
# Samples read between the meter's snapshot and the sampler's statistics.
SAMPLE_SLACK = 3
# Entry states a start ends in (once Home Assistant runs).
ENTRY_FINAL = {"loaded", "setup_error", "setup_retry", "migration_error"}


@dataclass(frozen=True)
class StorageScenario:
    document: str
    spread: str
    damage: str

    @property
    def name(self) -> str:
        slots = "both slots" if self.spread == "both" else "one slot"
        return f"{self.document}, {slots}, {self.damage}"


@dataclass
class StorageResult:
    name: str
    expected: str = ""
    entry_state: str = ""
    issues: list[str] = field(default_factory=list)
    restored_from: str = ""
    statements_before: int = 0
    statements_lost: int = 0
    energy_beyond_fallback_j: float = 0.0
    fallback_cost_j: float = 0.0
    payments_lost: int = 0
    keys_forgotten: int = 0
    copies_kept: int = 0
    unexpected: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (
            self.statements_lost
            + (1 if self.energy_beyond_fallback_j > 0 else 0)
            + self.payments_lost
            + self.keys_forgotten
            + len(self.unexpected)
        )


@dataclass(frozen=True)
class Candidate:
    """A document the meter may be restored from: its samples and energy."""

    name: str
    samples: int
    energy_j: Fraction


def scenarios(short: bool) -> list[StorageScenario]:
    if short:
        return [
            StorageScenario("ledger", "one", "garbage"),
            StorageScenario("live", "both", "half"),
            StorageScenario("outbox", "both", "empty"),
        ]
    return [
        StorageScenario(document, spread, damage)
        for document in DOCUMENTS
        for spread in SPREADS
        for damage in DAMAGES
    ]


def damage(path: Path, how: str, rng: random.Random) -> None:
    raw = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "half":
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(bytes(rng.randrange(256) for _ in range(len(raw))))


class StorageFaults:
    """Builds the base once, then runs each scenario from a copy of it."""

    def __init__(self, directory: Path, seed: int) -> None:
        self.directory = directory
        self.config_dir = directory / "config"
        self.base = directory / "base-storage"
        self.base_tangle = directory / "base-tangle"
        self.rng = random.Random(seed)
        self.entry_id = ""
        self.hass: Hass | None = None
        self.tangle: Tangle | None = None
        self.token: str | None = None

    # --- talking to hass --------------------------------------------------------

    def _call(self, what: str, *args: Any) -> Any:
        module = develop_ha()
        hass = self.hass
        assert hass is not None

        async def run() -> Any:
            import aiohttp  # Home Assistant's venv has it

            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=60)
            ) as session:
                client = module.Client(session, f"http://127.0.0.1:{hass.port}")
                if self.token is None:
                    await client.log_in()
                    self.token = client.token
                client.token = self.token
                if what == "running":
                    return await module.wait_running(client, 180)
                if what == "entry_state":
                    found = await module.entries(client)
                    entry = next(e for e in found if e["entry_id"] == self.entry_id)
                    return entry["state"]
                if what == "issues":
                    listed = await client.websocket({"type": "repairs/list_issues"})
                    return sorted(
                        i["translation_key"]
                        for i in listed["issues"]
                        if i["domain"] == files.DOMAIN
                    )
                if what == "diagnostics":
                    answer = await client.request(
                        "GET", f"/api/diagnostics/config_entry/{self.entry_id}"
                    )
                    return answer["data"]
                if what == "close_period":
                    return await client.request(
                        "POST",
                        "/api/services/iota_energy/close_period",
                        json_body={"config_entry_id": self.entry_id},
                    )
                raise ValueError(what)

        return asyncio.run(run())

    def _wait_entry(self) -> str:
        """The entry's state once setup is over (loaded or failed)."""
        hass = self.hass
        assert hass is not None
        deadline = time.monotonic() + 180
        state = "no answer"
        running = False
        while time.monotonic() < deadline and hass.alive():
            try:
                if not running:
                    self._call("running")
                    running = True
                state = self._call("entry_state")
            except Exception:  # not serving yet (or a login race): keep asking
                self.token = None
                time.sleep(0.5)
                continue
            if state in ENTRY_FINAL:
                return str(state)
            time.sleep(0.2)
        return "hass exited" if not hass.alive() else f"stuck: {state}"

    # --- the base ---------------------------------------------------------------

    def build_base(self, hass: Hass) -> None:
        hass.prepare()
        hass.start()
        self.entry_id = hass.set_up_entry(
            {"publish_interval": 2, "flush_interval": FLUSH_INTERVAL_S}
        )
        storage = files.storage_dir(self.config_dir)
        for _ in range(30):
            self._call("close_period")
            if list(storage.glob(f"{files.DOMAIN}.{self.entry_id}.chunk-*.a")):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("no chunk was sealed")
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            outbox = files.snapshot(self.config_dir, self.entry_id).outbox
            if outbox and any(
                p.status is PaymentStatus.CONFIRMED for p in outbox.payments
            ):
                break
            time.sleep(1)
        else:
            raise RuntimeError("no payment confirmed")
        # Two live saves after the last ledger write, then a kill mid-interval.
        # A payment confirming writes the ledger at any moment, so the kill can
        # land after a ledger write that no live save has followed yet: then no
        # live slot continues the head and the one-slot scenarios would test
        # the head's fallback twice. Start again and kill again until it holds.
        for _ in range(BASE_ATTEMPTS):
            self._wait_live_saves(2)
            time.sleep(FLUSH_INTERVAL_S / 2)
            hass.kill()
            if self._live_slots_continuing(storage) == len(files.SLOTS):
                break
            hass.start()
            self._wait_entry()
        else:
            raise RuntimeError("no kill left both live slots continuing the ledger")
        shutil.copytree(storage, self.base)
        # The node's ledger goes back with the files: a scenario's payments
        # must not meet the spent addresses of the one before.
        tangle = self.tangle
        assert tangle is not None
        tangle.stop()
        self.base_tangle.mkdir()
        for path in tangle.database_files():
            shutil.copy2(path, self.base_tangle / path.name)
        tangle.start()

    def _live_slots_continuing(self, storage: Path) -> int:
        """How many live slots were saved after the ledger head's last write."""
        head = files.read_document(storage, self.entry_id, "ledger")
        if head is None:
            return 0
        return sum(
            1
            for slot in files.SLOTS
            if (
                doc := files.read_slot(
                    storage / files.file_name(self.entry_id, "live", slot)
                )
            )
            and doc.state.get("ledger_revision") == head.sequence
        )

    def _wait_live_saves(self, count: int) -> None:
        storage = files.storage_dir(self.config_dir)
        seen: set[int] = set()
        deadline = time.monotonic() + 10 * FLUSH_INTERVAL_S
        while len(seen) < count and time.monotonic() < deadline:
            live = files.read_document(storage, self.entry_id, "live")
            head = files.read_document(storage, self.entry_id, "ledger")
            if live and head and live.state.get("ledger_revision") == head.sequence:
                seen.add(live.sequence)
            else:
                seen.clear()
            time.sleep(0.3)

    # --- one scenario -----------------------------------------------------------

    def run(self, scenario: StorageScenario) -> StorageResult:
        hass = self.hass
        assert hass is not None
        storage = files.storage_dir(self.config_dir)
        shutil.rmtree(storage)
        shutil.copytree(self.base, storage)
        tangle = self.tangle
        assert tangle is not None
        tangle.stop()
        for path in tangle.database_files():
            path.unlink()
        for path in self.base_tangle.iterdir():
            shutil.copy2(path, tangle.db.parent / path.name)
        tangle.start()
        base = files.snapshot(self.config_dir, self.entry_id)
        result = StorageResult(scenario.name, statements_before=len(base.statements))
        targets = self._targets(scenario, storage)
        fallback, candidates = self._fallback(scenario, storage)
        result.expected = fallback
        for path in targets:
            damage(path, scenario.damage, self.rng)
        self.token = None
        hass.start()
        result.entry_state = self._wait_entry()
        diagnostics = None
        if result.entry_state == "loaded":
            diagnostics = self._call("diagnostics")
        if hass.alive():
            result.issues = self._call("issues")
            status = hass.stop()
            if status != 0:
                result.unexpected.append(f"hass stopped with status {status}")
        else:
            result.unexpected.append("hass exited")
        copies = list(storage.glob("*.corrupt-*"))
        result.copies_kept = len(copies)
        if len(copies) < len(targets):
            result.unexpected.append(
                f"{len(targets) - len(copies)} damaged files not kept"
            )
        self._judge(scenario, result, base, diagnostics, candidates)
        return result

    def _targets(self, scenario: StorageScenario, storage: Path) -> list[Path]:
        if scenario.document == "chunk":
            names = sorted(storage.glob(f"{files.DOMAIN}.{self.entry_id}.chunk-*.a"))
            kind = names[0].name.split(".")[2]
        else:
            kind = scenario.document
        paths = [storage / files.file_name(self.entry_id, kind, s) for s in files.SLOTS]
        if scenario.spread == "both":
            return paths
        # One slot: the newest (for the live document the one a start prefers).
        return [max(paths, key=_sequence)]

    def _fallback(
        self, scenario: StorageScenario, storage: Path
    ) -> tuple[str, list[Candidate]]:
        """What the documentation says a start gives up, and where it restores from."""
        head = files.read_document(storage, self.entry_id, "ledger")
        assert head is not None
        lives = [
            (slot, doc)
            for slot in files.SLOTS
            if (
                doc := files.read_slot(
                    storage / files.file_name(self.entry_id, "live", slot)
                )
            )
        ]
        continuing = [
            (slot, doc)
            for slot, doc in sorted(lives, key=lambda x: -x[1].sequence)
            if doc.state.get("ledger_revision") == head.sequence
        ]
        candidates = [
            Candidate(
                f"live slot {slot}", doc.state["meter"]["samples"], _energy(doc.state)
            )
            for slot, doc in continuing
        ] + [
            Candidate(
                "ledger head", head.state["meter"]["samples"], _energy(head.state)
            )
        ]
        if scenario.document == "live" and scenario.spread == "one":
            expected = candidates[1].name if len(candidates) > 2 else "ledger head"
            return expected, candidates
        if scenario.document == "live":
            return "ledger head", candidates
        if scenario.spread == "both" and scenario.document in ("ledger", "chunk"):
            return "start refused", candidates
        if scenario.document == "outbox" and scenario.spread == "both":
            return "payments stopped", candidates
        return candidates[0].name, candidates

    def _judge(
        self,
        scenario: StorageScenario,
        result: StorageResult,
        base: files.Snapshot,
        diagnostics: dict[str, Any] | None,
        candidates: list[Candidate],
    ) -> None:
        expected = result.expected
        issues = set(result.issues)
        if expected == "start refused":
            if result.entry_state != "setup_error":
                result.unexpected.append(f"entry {result.entry_state}, not refused")
            if not {"state_corrupt", "start_new_ledger"} <= issues:
                result.unexpected.append(f"repair issues {sorted(issues)}")
            result.restored_from = "-"
            return
        if result.entry_state != "loaded" or diagnostics is None:
            result.unexpected.append(f"entry {result.entry_state}")
            return
        wanted_issue = {
            "live both": "live_state_lost",
            "outbox both": "outbox_unreadable",
        }.get(f"{scenario.document} {scenario.spread}", "state_recovered")
        if wanted_issue not in issues:
            result.unexpected.append(f"no {wanted_issue} issue (got {sorted(issues)})")
        # Where the meter came from: its samples less those read since the start.
        restored = diagnostics["meter"]["samples"] - diagnostics["sampler"]["samples"]
        match = next(
            (c for c in candidates if abs(c.samples - restored) <= SAMPLE_SLACK), None
        )
        newest = candidates[0]
        wanted = (
            next(c for c in candidates if c.name == expected)
            if expected in {c.name for c in candidates}
            else newest
        )
        if match is None:
            result.restored_from = f"unknown ({restored} samples)"
            below = restored < wanted.samples - SAMPLE_SLACK
            if below:
                result.energy_beyond_fallback_j = float(wanted.energy_j)
        else:
            result.restored_from = match.name
            result.energy_beyond_fallback_j = max(
                0.0, float(wanted.energy_j - match.energy_j)
            )
            result.fallback_cost_j = float(newest.energy_j - match.energy_j)
        after = files.snapshot(self.config_dir, self.entry_id)
        now = {s.id for s in after.statements}
        result.statements_lost = sum(1 for s in base.statements if s.id not in now)
        if expected == "payments stopped":
            return
        self._judge_outbox(result, base.outbox, after.outbox)

    @staticmethod
    def _judge_outbox(
        result: StorageResult, before: OutboxState | None, after: OutboxState | None
    ) -> None:
        if before is None:
            return
        if after is None:
            result.payments_lost = len(before.payments)
            result.keys_forgotten = len(before.spent_indexes)
            return
        ids = {p.id for p in after.payments}
        result.payments_lost = sum(1 for p in before.payments if p.id not in ids)
        result.keys_forgotten = len(before.spent_indexes - after.spent_indexes) + (
            1 if after.next_index < before.next_index else 0
        )


def _sequence(path: Path) -> int:
    doc = files.read_slot(path)
    return -1 if doc is None else doc.sequence


def _energy(state: dict[str, Any]) -> Fraction:
    return parse_fraction(state["meter"]["energy_j"], "energy_j")


def run_all(
    short: bool, seed: int = 1, keep: Path | None = None
) -> list[StorageResult]:
    def go(directory: Path) -> list[StorageResult]:
        suite = StorageFaults(directory, seed)
        python = develop_python()
        results = []
        with devtangle(python, directory) as tangle:
            suite.tangle = tangle
            hass = suite.hass = Hass(python, suite.config_dir, tangle.url)
            try:
                suite.build_base(hass)
                for scenario in scenarios(short):
                    results.append(suite.run(scenario))
            finally:
                if hass.alive():
                    hass.kill()
        return results

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return go(keep)
    with tempfile.TemporaryDirectory(prefix="iota-energy-storage-") as directory:
        return go(Path(directory))


if __name__ == "__main__":  # a quick look: python -m benchmarks.faults.storage
    for r in run_all(short=True, keep=Path(tempfile.mkdtemp())):
        print(json.dumps(r.__dict__ | {"lost": r.lost}, default=str))
