"""Payments under node faults and a full disk: real outbox, wallet, PyOTA, devtangle.

The core's ``Outbox`` and ``LegacyWallet`` (real PyOTA over HTTP) pay into a
devtangle node through a :class:`FaultProxy`; statements come from the core's
``BillingEngine`` closing one-minute periods. Time is simulated (5 s ticks, the
shell's check interval; hours of node outage pass in seconds), the network
and the node are real. The harness plays the shell's part
(``payment_manager.py``): it queues each closed statement, steps the outbox
while it makes progress, treats a failing write as "nothing was acted on"
(and queues statements whose queueing failed again at the next tick), and
restarts now and then: a fresh outbox from the file on disk. The outbox's
document is written to a real file (a temporary file, then a rename; no
fsync: a crash of the machine is not what is injected here); "disk full"
makes the write itself fail with ENOSPC.

When the faults stop the harness runs until every statement is paid, then
reads devtangle's database and counts:

* IOTA owed (statements' ``due_iota``) against IOTA the receiver holds;
* statements paid twice or never;
* value bundles per payment (a payment signed twice would be two bundles)
  and confirmed bundles per payment;
* addresses that signed more than one bundle (W-OTS key reuse);
* reattachments whose signed content differs from the first attachment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import errno
from fractions import Fraction
import json
from pathlib import Path
import random
import sqlite3
import tempfile

from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.ledger import Statement
from custom_components.iota_energy.core.legacy_node import LegacyNode
from custom_components.iota_energy.core.outbox import (
    FollowSchedule,
    Outbox,
    PaymentPolicy,
)
from custom_components.iota_energy.core.payments import (
    OutboxState,
    Payment,
    PaymentStatus,
)
from custom_components.iota_energy.core.periods import FixedLengthSchedule
from custom_components.iota_energy.core.pricing import PriceTracker
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.wallet import LegacyWallet
from devtangle import crypto
from devtangle.genesis import Allocation
from devtangle.server import DevTangle

from .proxy import FaultProxy

# Test constants, never real seeds; the suite never prints them.
PAYER_SEED = "FAULT9SUITE9PAYER9SEED".ljust(81, "9")
RECEIVER_SEED = "FAULT9SUITE9RECEIVER9SEED".ljust(81, "9")
FUNDS = 1_000_000
MWM = 1
TICK = timedelta(seconds=5)
PERIOD = timedelta(seconds=60)
PRICE = Fraction(720_000_000)
CLIENT_TIMEOUT_S = 1.0
MAX_STEPS_PER_TICK = 10
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
FAULTY = ("http500", "http400", "garbage", "wrong_shape", "reset", "truncated")
SLOW = ("slow_after", "slow_before")


class OutboxFile:
    """The outbox document on disk; ``full`` makes writes fail as on a full disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.full = False
        self.writes = 0
        self.failed_writes = 0

    def persist(self, state: OutboxState) -> None:
        text = json.dumps(state.to_dict())
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            if self.full:
                self.failed_writes += 1
                raise OSError(errno.ENOSPC, "No space left on device")
            handle.write(text)
        temporary.replace(self.path)
        self.writes += 1

    def load(self) -> OutboxState:
        if not self.path.exists():
            return OutboxState()
        return OutboxState.from_dict(json.loads(self.path.read_text("utf-8")))


@dataclass
class PaymentResult:
    name: str
    simulated_h: float
    statements: int = 0
    payments: int = 0
    owed_iota: int = 0
    paid_iota: int = 0
    carry: Fraction = Fraction(0)
    never_paid: int = 0
    paid_twice: int = 0
    extra_bundles: int = 0
    confirmed_twice: int = 0
    spent_reuse: int = 0
    reattach_mismatch: int = 0
    reattachments: int = 0
    restarts: int = 0
    down_s: float = 0.0
    failed_writes: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    drain_ticks: int = 0

    @property
    def lost(self) -> int:
        return (
            abs(self.owed_iota - self.paid_iota)
            + self.never_paid
            + self.paid_twice
            + self.extra_bundles
            + self.confirmed_twice
            + self.spent_reuse
            + self.reattach_mismatch
        )


@dataclass(frozen=True)
class PaymentScenario:
    """``plan(tick, seconds, world)`` sets the faults before each tick."""

    name: str
    ticks: int
    plan: Callable[[int, float, World], None]
    restart_chance: float = 0.0
    # Chance of a restart right after a tick in which a write failed: memory
    # is lost, only what reached the disk counts.
    restart_after_failed_write: float = 0.0


@dataclass
class World:
    proxy: FaultProxy
    disk: OutboxFile
    rng: random.Random


def receiver_address() -> str:
    iota = import_pyota()
    address = crypto.seed_address(RECEIVER_SEED, 0, 2)
    return str(iota.Address(address).with_valid_checksum())


class _Run:
    def __init__(self, scenario: PaymentScenario, directory: Path, seed: int) -> None:
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.payer = crypto.seed_address(PAYER_SEED, 0, 2)
        self.receiver = receiver_address()
        self.db = directory / "tangle.sqlite3"
        self.tangle = DevTangle(
            self.db,
            genesis=[Allocation(self.payer, FUNDS)],
            port=0,
            mwm=MWM,
            milestone_interval=None,
        ).start()
        self.proxy = FaultProxy(self.tangle.url, slow_s=CLIENT_TIMEOUT_S + 0.5).up()
        self.disk = OutboxFile(directory / "outbox.json")
        self.world = World(self.proxy, self.disk, self.rng)
        # Local proof of work: the node's, in this process and on a busy
        # machine, can outlast the short client timeout every time.
        self.policy = PaymentPolicy(receiver=self.receiver, pow_mode="local")
        self.schedule = FollowSchedule()
        self.engine = BillingEngine(FixedLengthSchedule(PERIOD))
        self.prices = PriceTracker(PRICE)
        self.statements: list[Statement] = []
        self.unqueued: list[Statement] = []
        self.outbox = self._fresh_outbox()
        # Every payment as last seen after a tick: the outbox's document
        # keeps only the newest finished ones (what it held was written).
        self.seen: dict[str, Payment] = {}
        self.restarts = 0
        self.down_s = 0.0
        self.stopped = False

    def _fresh_outbox(self) -> Outbox:
        """As after a restart: everything from the file, nothing from memory."""
        node = LegacyNode(self.proxy.url, timeout_s=CLIENT_TIMEOUT_S)
        wallet = LegacyWallet(PAYER_SEED, node, mwm=MWM, tag="FAULTSUITE")
        return Outbox(
            self.disk.load(), wallet, self.policy, self.disk.persist, self.schedule
        )

    def _tick(self, now: datetime) -> None:
        self.engine.add_energy(
            Fraction(self.rng.randint(20, 200), 1000), self.prices.current()
        )
        if now >= self.engine.next_boundary():
            closed = self.engine.roll(now)
            self.statements += closed
            self.unqueued += [s for s in closed if s.due_iota > 0]
        if self.unqueued:
            try:
                self.outbox.enqueue(self.unqueued, now)
                self.unqueued = []
            except OSError:
                pass  # nothing was queued; the next tick tries again
        day = now.date().isoformat()
        for _ in range(MAX_STEPS_PER_TICK):
            before = self.outbox.state
            try:
                events = self.outbox.step(now, day)
            except OSError:
                break  # nothing was acted on (the shell's OutboxWriteError)
            if self.outbox.state is before and not events:
                break
        self.seen.update((p.id, p) for p in self.outbox.state.payments)
        if any(p.status is PaymentStatus.BROADCAST for p in self.outbox.state.payments):
            # A milestone costs devtangle about 0.4 s: only when one can confirm.
            self.tangle.node.issue_milestone()

    def run(self) -> PaymentResult:
        scenario = self.scenario
        now = T0
        self.engine.start(now)
        self.disk.persist(OutboxState())
        try:
            for tick in range(scenario.ticks):
                seconds = (now - T0).total_seconds()
                scenario.plan(tick, seconds, self.world)
                if not self.proxy.is_up:
                    self.down_s += TICK.total_seconds()
                if self.rng.random() < scenario.restart_chance:
                    self.restarts += 1
                    self.outbox = self._fresh_outbox()
                failed_before = self.disk.failed_writes
                self._tick(now)
                if (
                    self.disk.failed_writes > failed_before
                    and self.rng.random() < scenario.restart_after_failed_write
                ):
                    self.restarts += 1
                    self.outbox = self._fresh_outbox()
                now += TICK
            # The faults end; everything owed must now be paid.
            self.proxy.decide = lambda _command: "pass"
            self.proxy.up()
            self.disk.full = False
            self.outbox = self._fresh_outbox()
            drain = 0
            while drain < 400 and not self._settled():
                self._tick(now)
                now += TICK
                drain += 1
            return self._count(now, drain)
        finally:
            self.proxy.down()
            self._stop_tangle()

    def _stop_tangle(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.tangle.stop()

    def _settled(self) -> bool:
        if self.unqueued:
            return False
        payments = list(self.seen.values())
        return all(p.status is PaymentStatus.CONFIRMED for p in payments) and (
            sum(p.amount for p in payments) == sum(s.due_iota for s in self.statements)
        )

    def _count(self, now: datetime, drain: int) -> PaymentResult:
        scenario = self.scenario
        result = PaymentResult(scenario.name, (now - T0).total_seconds() / 3600)
        payments = list(self.seen.values())
        result.statements = len(self.statements)
        result.payments = len(payments)
        result.owed_iota = sum(s.due_iota for s in self.statements)
        result.carry = self.engine.carry
        result.restarts = self.restarts
        result.down_s = self.down_s
        result.failed_writes = self.disk.failed_writes
        result.requests = Counter(self.proxy.counts)
        result.drain_ticks = drain
        paid = Counter(
            sid
            for p in payments
            if p.status is PaymentStatus.CONFIRMED
            for sid in p.statement_ids
        )
        due_ids = [s.id for s in self.statements if s.due_iota > 0]
        result.never_paid = sum(1 for sid in due_ids if paid[sid] == 0)
        result.paid_twice = sum(1 for sid in due_ids if paid[sid] > 1)
        self._stop_tangle()
        self._count_tangle(result, {p.bundle_hash for p in payments if p.bundle_hash})
        return result

    def _count_tangle(self, result: PaymentResult, ours: set[str]) -> None:
        """What devtangle's database says happened."""
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            bare = self.receiver[:81]
            row = db.execute(
                "SELECT balance FROM balances WHERE address = ?", (bare,)
            ).fetchone()
            result.paid_iota = row[0] if row else 0
            spending = db.execute(
                "SELECT DISTINCT bundle FROM transactions WHERE value < 0"
            ).fetchall()
            bundles = {b for (b,) in spending}
            result.extra_bundles = len(bundles - ours)
            confirmed = {
                b
                for (b,) in db.execute(
                    "SELECT DISTINCT bundle FROM transactions "
                    "WHERE value < 0 AND current_index = 0 "
                    "AND confirmed_by IS NOT NULL"
                )
            }
            result.confirmed_twice = len(confirmed - ours)
            result.spent_reuse = db.execute(
                "SELECT COUNT(*) FROM (SELECT address FROM transactions "
                "WHERE value < 0 GROUP BY address HAVING COUNT(DISTINCT bundle) > 1)"
            ).fetchone()[0]
            # Signed content (signature or message fragment) of each bundle's
            # transactions must be the same in every attachment.
            fragments = db.execute(
                "SELECT bundle, current_index, COUNT(DISTINCT substr(trytes, 1, 2187)),"
                " COUNT(*) FROM transactions WHERE bundle IN "
                "(SELECT DISTINCT bundle FROM transactions WHERE value < 0) "
                "GROUP BY bundle, current_index"
            ).fetchall()
            result.reattach_mismatch = sum(1 for row in fragments if row[2] > 1)
            tails = db.execute(
                "SELECT COUNT(*) FROM transactions WHERE current_index = 0 "
                "AND bundle IN (SELECT DISTINCT bundle FROM transactions "
                "WHERE value < 0)"
            ).fetchone()[0]
            result.reattachments = tails - len(bundles)
        finally:
            db.close()


# --- the scenarios ------------------------------------------------------------------


def _node_down(start_s: float, hours: float) -> Callable[[int, float, World], None]:
    def plan(_tick: int, seconds: float, world: World) -> None:
        if start_s <= seconds < start_s + hours * 3600:
            world.proxy.down()
        else:
            world.proxy.up()

    return plan


def _flapping(_tick: int, seconds: float, world: World) -> None:
    """Down for 20-60 s now and then, several times mid-payment."""
    if world.proxy.is_up and world.rng.random() < 0.08:
        world.proxy.down()
    elif not world.proxy.is_up and world.rng.random() < 0.3:
        world.proxy.up()
    del seconds


def _bad_answers(
    chance: float, slow_chance: float
) -> Callable[[int, float, World], None]:
    def plan(_tick: int, _seconds: float, world: World) -> None:
        rng = world.rng

        def decide(_command: str) -> str:
            roll = rng.random()
            if roll < slow_chance:
                return rng.choice(SLOW)
            if roll < slow_chance + chance:
                return rng.choice(FAULTY)
            return "pass"

        world.proxy.decide = decide

    return plan


def _disk_full(_tick: int, _seconds: float, world: World) -> None:
    """Full for a while, often: a write fails wherever it falls."""
    if not world.disk.full and world.rng.random() < 0.25:
        world.disk.full = True
    elif world.disk.full and world.rng.random() < 0.4:
        world.disk.full = False


def scenarios(short: bool) -> list[PaymentScenario]:
    """Node and storage faults; ``short`` keeps the test suite's run quick."""
    if short:
        ticks = 3 * 12
        return [
            PaymentScenario(
                "node down 15 min (connection refused), from mid-payment",
                ticks + 180,
                _node_down(62.0, 0.25),
            ),
            PaymentScenario(
                "node answers errors, garbage, wrong shapes, timeouts; restarts",
                ticks,
                _bad_answers(0.3, 0.1),
                0.05,
            ),
            PaymentScenario(
                "disk full (ENOSPC on the outbox write), restarts",
                ticks,
                _disk_full,
                0.1,
                restart_after_failed_write=0.5,
            ),
        ]
    ticks = 30 * 12
    return [
        PaymentScenario(
            "node down 3 h (connection refused), from mid-payment",
            ticks + 3 * 720,
            _node_down(62.0, 3.0),
        ),
        PaymentScenario(
            "node flapping (down 5-60 s, often), restarts", ticks, _flapping, 0.05
        ),
        PaymentScenario(
            "node answers 500/400, garbage, wrong shapes, resets, truncation",
            ticks,
            _bad_answers(0.3, 0.0),
            0.05,
        ),
        PaymentScenario(
            "node times out (before and after acting)", ticks, _bad_answers(0.0, 0.15)
        ),
        PaymentScenario(
            "disk full (ENOSPC on the outbox write), restarts",
            ticks,
            _disk_full,
            0.1,
            restart_after_failed_write=0.5,
        ),
    ]


def run_scenario(scenario: PaymentScenario, seed: int = 1) -> PaymentResult:
    with tempfile.TemporaryDirectory(prefix="iota-faults-") as directory:
        return _Run(scenario, Path(directory), seed).run()


def run_all(short: bool, seed: int = 1) -> list[PaymentResult]:
    return [run_scenario(s, seed) for s in scenarios(short)]
