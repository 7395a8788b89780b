"""Payments: latency, sampling and event-loop stalls while paying, on devtangle.

Run from the repository root:

    python benchmarks/bench_payments.py [--payments 20] [--quick] [--output PATH]

Prints the figures and writes them to ``benchmarks/results/payments.md``.

devtangle runs in its own process (``python -m devtangle serve``, MWM 9,
real HTTP on loopback), as a node on another machine would: its proof of
work and its milestones do not share this interpreter's GIL. Its milestone
clock issues a milestone every ``--milestone-interval`` seconds (2 s), on its
own, whatever the wallet does.

The wallet runs the way the Home Assistant shell runs it
(``payment_manager.py``), without Home Assistant: an asyncio loop closes a
billing period (the core's ``BillingEngine.close_now``), queues the
statement with ``Outbox.enqueue`` and runs ``Outbox.step`` in the loop's
default executor, one step at a time, while steps make progress, then
every ``--poll`` seconds (the shell's follow timer is 5 s; a short poll
here measures the node, not the timer). ``persist`` hops to the loop with
``run_coroutine_threadsafe`` and waits, and the coroutine encodes the
document on the loop and writes two slot files in the executor, as the
shell's two-slot storage does. Around it, all the time:

* a core ``Sampler`` at 10 Hz on the virtual INA219 (pi-ina219 + the
  register model), in its own thread: samples taken against slots due, the
  sampler's own count of missed slots, and the largest gap between
  consecutive sample stamps;
* a 10 ms heartbeat task on the loop: how late each wake-up is, labelled
  with the payment step running in the executor at the time.

Payments run one after the other, each from a period close to its
confirmation: first with the node's proof of work (``attachToTangle``),
then with local proof of work (``core/pow.py``, what the wallet calls).
Each mode runs twice, before and after the fix, in one run: the wallet's
CPU-bound work (address derivation, signing, local proof of work) in this
process, as before, then in a worker process (``core/worker_pool.py``, as
the shell runs it now). Before them, the same loop, sampler and heartbeat
run with no payment, as a baseline for this (shared) machine.

Last, the tutorial's way: a loop reading the chip every 0.1 s that calls
PyOTA's ``send_transfer`` with automatic inputs (node proof of work) inline
every period, as the tutorial did: how long one call takes and how long
the reading stops.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import functools
import itertools
import json
import logging
import math
import multiprocessing as mp
import os
from pathlib import Path
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
import warnings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import commit
from custom_components.iota_energy.core import pow as local_pow
from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.circuit import TutorialCircuit
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.ledger import Statement
from custom_components.iota_energy.core.legacy_node import LegacyNode
from custom_components.iota_energy.core.legacy_rail import LegacyRail
from custom_components.iota_energy.core.outbox import (
    FollowSchedule,
    Outbox,
    PaymentPolicy,
)
from custom_components.iota_energy.core.payments import OutboxState, PaymentStatus
from custom_components.iota_energy.core.periods import FixedLengthSchedule
from custom_components.iota_energy.core.power_source import Ina219Config, Ina219Source
from custom_components.iota_energy.core.pricing import (
    TUTORIAL_PRICE_IOTA_PER_KWH,
    PriceQuote,
)
from custom_components.iota_energy.core.sampler import Sample, Sampler
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.wallet import LegacyWallet
from custom_components.iota_energy.core.worker_pool import WorkerPool

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "payments.md"
DATA = REPO / "benchmarks" / "results" / "data" / "payments.json"
MWM = 9
SAMPLE_RATE_HZ = 10.0
HEARTBEAT_S = 0.010
# Public benchmark seeds (never used for anything else).
PAYER_SEED = "BENCH9PAYMENTS9PAYER".ljust(81, "9")
TUTORIAL_SEED = "BENCH9PAYMENTS9TUTORIAL".ljust(81, "9")
BANK_SEED = "BENCH9PAYMENTS9BANK".ljust(81, "9")
RECEIVER_SEED = "BENCH9PAYMENTS9RECEIVER".ljust(81, "9")
FUNDS = 10_000_000
# One tutorial minute of the LED: 57 mW for 60 s = 3.42 J, 684 IOTA.
PERIOD_ENERGY_J = Fraction(342, 100)
TAG = "HOTELIOTA"
POW_IN_THREAD = "local PoW alone, in a thread"
POW_IN_PROCESS = "local PoW alone, in a process"
# Where the wallet's CPU-bound work runs: before the fix, and after it.
IN_PROCESS = "in-process"
IN_WORKER = "worker process"
PLACEMENTS = (IN_PROCESS, IN_WORKER)

_LOGGER = logging.getLogger("bench_payments")


# --- devtangle in its own process -----------------------------------------------------


class Tangle:
    """``python -m devtangle serve`` on a free loopback port."""

    def __init__(self, directory: Path, funds: dict[str, int], milestone_s: float):
        genesis = directory / "genesis.json"
        genesis.write_text(json.dumps({"balances": funds}))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtangle",
                "serve",
                "--db",
                str(directory / "tangle.sqlite3"),
                "--genesis",
                str(genesis),
                "--port",
                "0",
                "--mwm",
                str(MWM),
                "--milestone-interval",
                str(milestone_s),
            ],
            cwd=directory,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "devtangle serving" in line:
                port = int(line.rsplit(":", 1)[1].split("/")[0])
                break
        else:
            raise RuntimeError("devtangle did not start")
        self.url = f"http://127.0.0.1:{port}/"
        # Keep reading its log so a full pipe never blocks the node.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _line in self.process.stderr:
            pass

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def seed_address(seed: str, index: int) -> str:
    iota = import_pyota()
    generator = iota.crypto.addresses.AddressGenerator(
        iota.crypto.types.Seed(seed), security_level=2, checksum=False
    )
    return str(generator.get_addresses(index, 1)[0])[:81]


def with_checksum(address: str) -> str:
    iota = import_pyota()
    return str(iota.Address(address).with_valid_checksum())


# --- what runs beside the payments ----------------------------------------------------


@dataclass
class SamplingWindow:
    """The sampler's record over one run."""

    seconds: float
    taken: int
    due: float
    missed_slots: int
    max_gap_s: float
    late_samples: int  # more than 1.5 periods after the previous one
    # Late samples by the payment step running when they arrived.
    late_by_phase: dict[str, int] = field(default_factory=dict)


class SamplerProbe:
    """A core Sampler at 10 Hz on the virtual INA219, stamps kept."""

    def __init__(self) -> None:
        chip = VirtualIna219(TutorialCircuit(potentiometer=0.3))
        self.source = Ina219Source(Ina219Config(), chip.i2c_interface)
        self.stamps_ns: list[int] = []
        self.phases: list[str] = []
        # What the payments are doing (set by the run being measured).
        self.phase: Callable[[], str] = lambda: "idle"
        self.sampler = Sampler(
            self.source, SAMPLE_RATE_HZ, self._on_sample, logger=_LOGGER
        )

    def _on_sample(self, sample: Sample) -> None:
        if sample.reading is not None:
            self.phases.append(self.phase())
            self.stamps_ns.append(sample.monotonic_ns)

    @contextlib.contextmanager
    def window(self) -> Iterator[list[SamplingWindow]]:
        """Measure from entering to leaving; the result lands in the list."""
        out: list[SamplingWindow] = []
        missed0 = self.sampler.stats().missed_slots
        start = time.monotonic_ns()
        yield out
        end = time.monotonic_ns()
        # The sampler thread appends meanwhile: a phase goes in before its stamp.
        count = len(self.stamps_ns)
        all_stamps, all_phases = self.stamps_ns[:count], self.phases[:count]
        stamps = [s for s in all_stamps if start <= s <= end]
        period_ns = 1e9 / SAMPLE_RATE_HZ
        # The gap into the window counts too: it may hold the stall.
        before = [s for s in all_stamps if s < start][-1:]
        series = before + stamps
        gaps = [b - a for a, b in itertools.pairwise(series)]
        late_by_phase: dict[str, int] = {}
        for (a, b), phase in zip(
            itertools.pairwise(all_stamps), all_phases[1:], strict=True
        ):
            if start <= b <= end and b - a > 1.5 * period_ns:
                late_by_phase[phase] = late_by_phase.get(phase, 0) + 1
        out.append(
            SamplingWindow(
                seconds=(end - start) / 1e9,
                taken=len(stamps),
                due=(end - start) / period_ns,
                missed_slots=self.sampler.stats().missed_slots - missed0,
                max_gap_s=max(gaps, default=0) / 1e9,
                late_samples=sum(g > 1.5 * period_ns for g in gaps),
                late_by_phase=late_by_phase,
            )
        )


class Heartbeat:
    """A task waking every 10 ms; records how late each wake-up is, by phase."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.lateness: dict[str, list[float]] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            phase = self.phase
            started = time.perf_counter()
            await asyncio.sleep(HEARTBEAT_S)
            late = time.perf_counter() - started - HEARTBEAT_S
            self.lateness.setdefault(phase, []).append(late)

    def all(self) -> list[float]:
        return [x for values in self.lateness.values() for x in values]


# --- the wallet, driven as the shell drives it ----------------------------------------


class SlotStore:
    """Two slot files, written as the shell's storage writes them."""

    def __init__(self, directory: Path, loop: asyncio.AbstractEventLoop) -> None:
        self._paths = [directory / "outbox.a.json", directory / "outbox.b.json"]
        self._loop = loop
        self.writes = 0
        self.sequence = 0

    async def async_save_all(self, state: OutboxState) -> bool:
        # Encoded on the loop, written in the executor (as Store does).
        self.sequence += 1
        document = {
            "sequence": self.sequence,
            "saved_at": datetime.now(UTC).isoformat(),
            "state": state.to_dict(),
        }
        data = json.dumps(document).encode()
        for path in self._paths:
            await self._loop.run_in_executor(None, _write_file, path, data)
        self.writes += 1
        return True

    def persist_blocking(self, state: OutboxState) -> None:
        """The outbox's persist: from the worker thread, wait for the loop."""
        future = asyncio.run_coroutine_threadsafe(
            self.async_save_all(state), self._loop
        )
        if not future.result():
            raise OSError("not written")


def _write_file(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


@dataclass
class PaymentTimes:
    """One payment, from its period's close (seconds)."""

    close_to_broadcast: float
    broadcast_to_confirmed: float
    sign: float  # queued -> signed step(s), including the node's checks
    pow: float  # signed -> attached
    send: float  # attached -> broadcast (broadcast + store)
    follow_busy: float  # the wallet's own time while following (checks, promotions)
    promotions: int
    attachments: int
    cpu: float  # this process's CPU seconds from close to confirmed
    worker_cpu: float  # the worker process's, the same time (0 in-process)

    @property
    def close_to_confirmed(self) -> float:
        return self.close_to_broadcast + self.broadcast_to_confirmed


@dataclass
class Run:
    """One run of payments (or none) with the probes around it."""

    name: str
    payments: list[PaymentTimes] = field(default_factory=list)
    sampling: SamplingWindow | None = None
    lateness: dict[str, list[float]] = field(default_factory=dict)
    persists: int = 0


PHASE_NAMES = {
    "sign": "signing",
    "pow": "PoW",
    "send": "sending",
    "follow": "following",
    "idle": "between steps",
}
PHASES = {
    PaymentStatus.QUEUED: "sign",
    PaymentStatus.WAITING_FUNDS: "sign",
    PaymentStatus.SIGNED: "pow",
    PaymentStatus.ATTACHED: "send",
    PaymentStatus.BROADCAST: "follow",
}


class Payer:
    """The billing engine, the outbox and the probes on one asyncio loop."""

    def __init__(
        self,
        url: str,
        receiver: str,
        directory: Path,
        loop: asyncio.AbstractEventLoop,
        poll_s: float,
        *,
        worker: WorkerPool,
    ) -> None:
        self.loop = loop
        self.poll_s = poll_s
        self.store = SlotStore(directory, loop)
        node = LegacyNode(url, timeout_s=60)
        # One seed, one node, one outbox document: only where the work runs differs.
        self.wallets = {
            IN_PROCESS: LegacyWallet(PAYER_SEED, node, mwm=MWM, tag=TAG),
            IN_WORKER: LegacyWallet(PAYER_SEED, node, mwm=MWM, tag=TAG, run=worker.run),
        }
        self.receiver = receiver
        self.worker_pid: int | None = None  # set once the worker runs
        self.outbox = Outbox(
            OutboxState(),
            self.wallets[IN_PROCESS],
            PaymentPolicy(receiver=receiver),
            self.store.persist_blocking,
            FollowSchedule(check_interval=timedelta(seconds=poll_s)),
        )
        self.billing = BillingEngine(FixedLengthSchedule(timedelta(days=1)))
        self.billing.start(datetime.now(UTC))
        self.quote = PriceQuote(TUTORIAL_PRICE_IOTA_PER_KWH, "static")

    def use(self, mode: str, placement: str) -> None:
        self.outbox.policy = PaymentPolicy(receiver=self.receiver, pow_mode=mode)
        # The proof of work mode belongs to the legacy rail over the wallet.
        self.outbox.rail = LegacyRail(
            self.wallets[placement],
            pow_mode=mode,
            follow=self.outbox.schedule.legacy(),
        )

    async def _step(self) -> None:
        now = datetime.now(UTC)
        await self.loop.run_in_executor(
            None, self.outbox.step, now, now.date().isoformat()
        )

    def worker_cpu(self) -> float:
        """CPU seconds the worker process has used (user + system)."""
        if self.worker_pid is None:
            return 0.0
        stat = Path(f"/proc/{self.worker_pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def pay_one(self, heartbeat: Heartbeat) -> PaymentTimes:
        closed = time.perf_counter()
        cpu0, worker_cpu0 = time.process_time(), self.worker_cpu()
        # The coordinator closes the period on the loop; the shell then queues
        # the statement in the executor and ticks at once.
        self.billing.add_energy(PERIOD_ENERGY_J, self.quote)
        statement: Statement = self.billing.close_now(datetime.now(UTC))
        payment = await self.loop.run_in_executor(
            None, self.outbox.enqueue, [statement], datetime.now(UTC)
        )
        assert payment is not None
        busy = dict.fromkeys(("sign", "pow", "send", "follow"), 0.0)
        broadcast_at: float | None = None
        while True:
            current = self.outbox.state.payment(payment.id)
            assert current is not None
            if current.status is PaymentStatus.CONFIRMED:
                break
            if current.status not in PHASES:
                raise RuntimeError(f"payment stuck: {current.status} {current.reason}")
            phase = PHASES[current.status]
            heartbeat.phase = phase
            before = self.outbox.state
            started = time.perf_counter()
            await self._step()
            busy[phase] += time.perf_counter() - started
            after = self.outbox.state.payment(payment.id)
            assert after is not None
            if broadcast_at is None and after.status is PaymentStatus.BROADCAST:
                broadcast_at = time.perf_counter()
            if self.outbox.node_problem is not None:
                raise RuntimeError(f"node failed: {self.outbox.node_problem}")
            if self.outbox.state is before:
                # Nothing moved: wait for the next check, as the shell's timer.
                heartbeat.phase = "idle"
                await asyncio.sleep(self.poll_s)
        confirmed_at = time.perf_counter()
        heartbeat.phase = "idle"
        assert broadcast_at is not None
        done = self.outbox.state.payment(payment.id)
        assert done is not None
        return PaymentTimes(
            close_to_broadcast=broadcast_at - closed,
            broadcast_to_confirmed=confirmed_at - broadcast_at,
            sign=busy["sign"],
            pow=busy["pow"],
            send=busy["send"],
            follow_busy=busy["follow"],
            promotions=sum(a.promotions for a in done.attachments),
            attachments=len(done.attachments),
            cpu=time.process_time() - cpu0,
            worker_cpu=self.worker_cpu() - worker_cpu0,
        )


async def wallet_runs(
    *,
    url: str,
    receiver: str,
    directory: Path,
    payments: int,
    baseline_s: float,
    poll_s: float,
    pow_rounds: int,
    sampler: SamplerProbe,
) -> list[Run]:
    loop = asyncio.get_running_loop()
    # The shell's executor is Home Assistant's; a default-sized pool here.
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="executor"))
    worker = WorkerPool()
    try:
        return await _wallet_runs(
            worker,
            url=url,
            receiver=receiver,
            directory=directory,
            payments=payments,
            baseline_s=baseline_s,
            poll_s=poll_s,
            pow_rounds=pow_rounds,
            sampler=sampler,
        )
    finally:
        await loop.run_in_executor(None, worker.shutdown)


async def _wallet_runs(
    worker: WorkerPool,
    *,
    url: str,
    receiver: str,
    directory: Path,
    payments: int,
    baseline_s: float,
    poll_s: float,
    pow_rounds: int,
    sampler: SamplerProbe,
) -> list[Run]:
    loop = asyncio.get_running_loop()
    payer = await loop.run_in_executor(
        None,
        functools.partial(Payer, url, receiver, directory, loop, poll_s, worker=worker),
    )
    runs: list[Run] = []

    async def measured(name: str, body: Callable[[Heartbeat], Any]) -> Run:
        heartbeat = Heartbeat()
        run = Run(name)
        writes0 = payer.store.writes
        sampler.phase = lambda: heartbeat.phase
        with sampler.window() as window:
            heartbeat.start()
            await body(heartbeat)
            await heartbeat.stop()
        run.sampling = window[0]
        run.lateness = heartbeat.lateness
        run.persists = payer.store.writes - writes0
        return run

    # Warm-up (imports, connections, the worker's start, the first addresses):
    # not measured.
    for placement in PLACEMENTS:
        payer.use("node", placement)
        await payer.pay_one(Heartbeat())
    payer.worker_pid = await loop.run_in_executor(None, worker.run, os.getpid)

    async def idle(_heartbeat: Heartbeat) -> None:
        await asyncio.sleep(baseline_s)

    runs.append(await measured("no payment (baseline)", idle))
    for mode in ("node", "local"):
        for placement in PLACEMENTS:
            name = run_name(mode, placement)
            payer.use(mode, placement)
            done: list[PaymentTimes] = []
            run = await measured(
                name, functools.partial(_pay, payer, payments, name, done)
            )
            run.payments = done
            runs.append(run)
    # The suggested fix, measured: the same proof of work in a thread, then in
    # a process of its own (no payment around it).
    bundle = payer.outbox.wallet.promotion_trytes() * 4
    for name, executor in (
        (POW_IN_THREAD, ThreadPoolExecutor(1)),
        (POW_IN_PROCESS, ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))),
    ):
        with executor:
            # Start the worker (and its imports) before measuring.
            await loop.run_in_executor(executor, _pow_job, bundle)
            print(f"  {name}: {pow_rounds} x proof of work on 4 transactions")
            runs.append(
                await measured(
                    name,
                    functools.partial(_pow_rounds, executor, bundle, pow_rounds),
                )
            )
    return runs


def run_name(mode: str, placement: str) -> str:
    return f"{mode} PoW, {placement}"


async def _pay(
    payer: Payer, count: int, name: str, out: list[PaymentTimes], heartbeat: Heartbeat
) -> None:
    for number in range(count):
        last = await payer.pay_one(heartbeat)
        out.append(last)
        print(
            f"  {name} payment {number + 1}/{count}: "
            f"{last.close_to_broadcast:.2f} s to broadcast (sign {last.sign:.2f}, "
            f"PoW {last.pow:.2f}, send {last.send:.2f}), "
            f"{last.close_to_confirmed:.2f} s to confirmed, CPU {last.cpu:.2f} s",
            flush=True,
        )


def _pow_job(trytes: list[str]) -> int:
    """Local proof of work as the wallet calls it (importable by a worker)."""
    tip = "9" * 81
    return len(local_pow.attach_to_tangle(tip, tip, MWM, trytes))


async def _pow_rounds(
    executor: Executor, trytes: list[str], rounds: int, heartbeat: Heartbeat
) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        heartbeat.phase = "pow"
        await loop.run_in_executor(executor, _pow_job, trytes)
    heartbeat.phase = "idle"


# --- the tutorial's way ---------------------------------------------------------------


@dataclass
class TutorialRun:
    calls: list[float]
    cpu: list[float]  # this process's CPU seconds per call
    sampling: SamplingWindow
    key_reuse: int  # bundles signing from an address already signed from


def fund_tutorial(url: str) -> None:
    """Fund the tutorial's index 0 with a real transfer, as a faucet did.

    PyOTA's automatic inputs only see addresses that have transactions, so a
    genesis credit alone would look like an empty wallet to it.
    """
    iota = import_pyota()
    api = iota.Iota(iota.HttpAdapter(url, timeout=60), seed=BANK_SEED)
    result = api.send_transfer(
        depth=3,
        transfers=[
            iota.ProposedTransaction(
                address=iota.Address(seed_address(TUTORIAL_SEED, 0)), value=FUNDS
            )
        ],
        inputs=[
            iota.Address(
                seed_address(BANK_SEED, 0),
                balance=FUNDS,
                key_index=0,
                security_level=2,
            )
        ],
        min_weight_magnitude=MWM,
    )
    tail = next(str(t.hash) for t in result["bundle"] if t.current_index == 0)
    node = LegacyNode(url, timeout_s=60)
    deadline = time.monotonic() + 120
    while not node.confirmed([tail])[0]:
        if time.monotonic() > deadline:
            raise RuntimeError("the tutorial's funding did not confirm")
        time.sleep(0.5)


def tutorial_run(
    url: str, receiver: str, payments: int, period_ticks: int
) -> TutorialRun:
    """Read every 0.1 s; every ``period_ticks`` reads, pay inline with PyOTA."""
    iota = import_pyota()
    api = iota.Iota(iota.HttpAdapter(url, timeout=60), seed=TUTORIAL_SEED)
    chip = VirtualIna219(TutorialCircuit(potentiometer=0.3))
    source = Ina219Source(Ina219Config(), chip.i2c_interface)
    source.open()
    period = 1 / SAMPLE_RATE_HZ
    stamps: list[int] = []
    calls: list[float] = []
    cpu: list[float] = []
    signed_from: set[str] = set()
    reuse = 0
    ticks = 0
    start = time.monotonic_ns()
    while len(calls) < payments:
        source.read()
        stamps.append(time.monotonic_ns())
        ticks += 1
        if ticks % period_ticks == 0:
            began, cpu0 = time.perf_counter(), time.process_time()
            result = api.send_transfer(
                depth=3,
                transfers=[
                    iota.ProposedTransaction(
                        address=iota.Address(receiver[:81]),
                        value=684,
                        tag=iota.Tag(TAG),
                    )
                ],
                min_weight_magnitude=MWM,
            )
            calls.append(time.perf_counter() - began)
            cpu.append(time.process_time() - cpu0)
            inputs = {str(t.address) for t in result["bundle"] if t.value < 0}
            again = bool(inputs & signed_from)
            reuse += again
            signed_from |= inputs
            print(
                f"  tutorial payment {len(calls)}/{payments}: {calls[-1]:.2f} s inline,"
                f" CPU {cpu[-1]:.2f} s"
                + (
                    " (signed again from an address it had signed from)"
                    if again
                    else ""
                ),
                flush=True,
            )
        # The tutorial: sleep after the work, whatever the work took.
        time.sleep(period)
    end = time.monotonic_ns()
    source.close()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    period_ns = period * 1e9
    return TutorialRun(
        calls=calls,
        cpu=cpu,
        sampling=SamplingWindow(
            seconds=(end - start) / 1e9,
            taken=len(stamps),
            due=(end - start) / period_ns,
            missed_slots=0,
            max_gap_s=max(gaps, default=0) / 1e9,
            late_samples=sum(g > 1.5 * period_ns for g in gaps),
        ),
        key_reuse=reuse,
    )


# --- report ---------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float], unit: float = 1.0, digits: int = 2) -> str:
    """median / p90 / max."""
    if not values:
        return "-"
    return " / ".join(
        f"{x / unit:.{digits}f}"
        for x in (statistics.median(values), quantile(values, 0.9), max(values))
    )


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def report(
    args: argparse.Namespace,
    runs: list[Run],
    tutorial: TutorialRun,
    load: tuple[float, float],
    seconds: float,
) -> str:
    paying = [r for r in runs if r.payments]
    ms = 1e-3
    lines = [
        "# Payment benchmarks",
        "",
        f"Written by `benchmarks/bench_payments.py` on {time.strftime('%Y-%m-%d')} "
        f"at commit {commit()}; Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.machine()}, {cpu_name()}, "
        f"{os.cpu_count()} logical cores shared with other work (load average "
        f"{load[0]:.1f} at the start, {load[1]:.1f} at the end); the whole run took "
        f"{seconds / 60:.1f} min{' (--quick)' if args.quick else ''}.",
        "",
        f"devtangle in its own process over real HTTP on loopback, MWM {MWM}, its "
        f"milestone clock issuing a milestone every {args.milestone_interval:g} s on "
        "its own (plus the milestone's own proof of work, a few tenths of a second). "
        "The wallet as the Home Assistant shell runs it: `Outbox.step` in an asyncio "
        "loop's default executor, `persist` hopping to the loop and waiting (two slot "
        "files written in the executor), one step after another while they make "
        f"progress, then every {args.poll:g} s (the shell's timer: 5 s, which adds "
        "0-5 s to *broadcast -> confirmed* in Home Assistant). A period closes "
        "(`BillingEngine.close_now`), its statement is queued, and the payment runs "
        f"to confirmation before the next period closes; {args.payments} payments per "
        "proof-of-work mode and per place of the wallet's CPU-bound work (address "
        "derivation, signing, local proof of work): *in-process* as before the fix, "
        "*worker process* as the shell runs it now (`core/worker_pool.py`, one "
        "`spawn` worker), after one unmeasured warm-up payment each. Around it all "
        "the "
        f"time: the core `Sampler` at {SAMPLE_RATE_HZ:g} Hz on the virtual INA219 "
        f"in its thread, and a {HEARTBEAT_S * 1000:g} ms heartbeat task on the loop.",
        "",
        "## Period close -> broadcast -> confirmed (seconds: median / p90 / max)",
        "",
        "| proof of work | close -> broadcast (the wallet) | broadcast -> confirmed "
        "(milestone wait) | close -> confirmed | CPU of this process, close -> "
        "confirmed | CPU of the worker process, close -> confirmed |",
        "|---|---|---|---|---|---|",
    ]
    for run in paying:
        p = run.payments
        lines.append(
            f"| {run.name} | {spread([x.close_to_broadcast for x in p])} | "
            f"{spread([x.broadcast_to_confirmed for x in p])} | "
            f"{spread([x.close_to_confirmed for x in p])} | "
            f"{spread([x.cpu for x in p])} | {spread([x.worker_cpu for x in p])} |"
        )
    lines += [
        "",
        "*broadcast -> confirmed* is the wait for the next milestone plus the "
        "wallet's following in that time (its first inclusion check finds the "
        "payment unconfirmed and promotes it, with proof of work of the mode). The "
        "CPU column (this process: wallet, sampler, heartbeat; not the node) does "
        "not depend on how busy the machine is; wall times do.",
        "",
        "The wallet's own time by step (seconds in the executor per payment, "
        "median / p90 / max). *sign*: the receiver's and inputs' spent checks, "
        "balances, pending-transfer check, a fresh remainder address (derived and "
        "checked) and PyOTA's signing; *PoW*: tips plus proof of work on the 4 "
        "transactions; *send*: broadcastTransactions + storeTransactions; "
        "*following*: inclusion checks and promotions while waiting for the "
        "milestone.",
        "",
        "| proof of work | sign | PoW | send | following (wallet busy) | "
        "promotions per payment | attachments per payment |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in paying:
        p = run.payments
        lines.append(
            f"| {run.name} | {spread([x.sign for x in p])} | "
            f"{spread([x.pow for x in p])} | {spread([x.send for x in p])} | "
            f"{spread([x.follow_busy for x in p])} | "
            f"{statistics.mean(x.promotions for x in p):.1f} | "
            f"{statistics.mean(x.attachments for x in p):.1f} |"
        )
    lines += [
        "",
        f"## Samples while paying (core Sampler, {SAMPLE_RATE_HZ:g} Hz, own thread)",
        "",
        "| run | seconds | samples taken | slots due | missed slots (sampler's "
        "count) | largest gap | samples > 1.5 periods after the previous (by the "
        "step running when they arrived) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        s = run.sampling
        assert s is not None
        by_phase = ", ".join(
            f"{PHASE_NAMES.get(phase, phase)} {count}"
            for phase, count in sorted(s.late_by_phase.items())
        )
        lines.append(
            f"| {run.name} | {s.seconds:.1f} | {s.taken} | {s.due:.1f} | "
            f"{s.missed_slots} | {s.max_gap_s * 1000:.0f} ms | {s.late_samples}"
            + (f" ({by_phase})" if by_phase else "")
            + " |"
        )
    late = {r.name: r.sampling.late_samples for r in runs if r.sampling}
    in_thread, in_process = late.get(POW_IN_THREAD), late.get(POW_IN_PROCESS)
    losses = []
    for placement in PLACEMENTS:
        placed = [r.sampling for r in paying if r.name.endswith(placement)]
        windows = [w for w in placed if w is not None]
        lost = sum(w.missed_slots for w in windows)
        losses.append(
            f"{placement}: {lost} of {sum(w.due for w in windows):.0f} slots due, "
            f"{sum(w.late_samples for w in windows)} samples late "
            f"({'**goal missed**' if lost else 'goal met'})"
        )
    lines += [
        "",
        "Samples lost while paying (goal 0): " + "; ".join(losses) + ". The meter "
        "integrates across a missed slot on the real stamps, so a lost slot costs "
        "resolution, not energy. With the proof of work alone in a thread "
        f"{in_thread} samples came late, in a worker process {in_process}."
        + " Slots due is the window "
        "length times the rate; taken may differ from it by one at the edges. A "
        "late sample arriving while this process only waited for the node (the "
        "PoW step with node PoW, or between steps) was held up by the machine, not "
        "by the wallet.",
        "",
        f"## Event-loop lateness ({HEARTBEAT_S * 1000:g} ms heartbeat; ms: median / "
        "p99 / max)",
        "",
        "| run | heartbeats | all | while signing | during PoW | while sending | "
        "while following | between steps |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(values: Sequence[float]) -> str:
        if not values:
            return "-"
        return " / ".join(
            f"{x / ms:.1f}"
            for x in (statistics.median(values), quantile(values, 0.99), max(values))
        )

    for run in runs:
        everything = [x for v in run.lateness.values() for x in v]
        lines.append(
            f"| {run.name} | {len(everything)} | {cell(everything)} | "
            + " | ".join(
                cell(run.lateness.get(phase, []))
                for phase in ("sign", "pow", "send", "follow", "idle")
            )
            + " |"
        )
    lines += ["", *verdict(runs), ""]
    t = tutorial
    ts = t.sampling
    lines += [
        "## The tutorial's way, side by side",
        "",
        f"PyOTA 2.1.0's `send_transfer` with automatic inputs and the node's proof "
        f"of work, called inline in a loop reading the chip every "
        f"{1 / SAMPLE_RATE_HZ:g} s (`sleep` after each read, as the tutorial), one "
        f"payment every {args.tutorial_ticks} reads, {len(t.calls)} payments; same "
        "devtangle, same milestone clock. The tutorial never checks confirmation.",
        "",
        "| | tutorial (send_transfer inline) | "
        + " | ".join(f"this wallet, {r.name}" for r in paying)
        + " |",
        "|---|---|" + "---|" * len(paying),
        f"| close -> broadcast, s (median / p90 / max) | {spread(t.calls)} | "
        + " | ".join(spread([x.close_to_broadcast for x in r.payments]) for r in paying)
        + " |",
        f"| CPU of this process, s (median / p90 / max) | {spread(t.cpu)} | "
        + " | ".join(spread([x.cpu for x in r.payments]) for r in paying)
        + " (to confirmed) |",
        "| reading stopped for (largest gap between samples) | "
        f"{ts.max_gap_s:.2f} s | "
        + " | ".join(
            f"{r.sampling.max_gap_s:.2f} s" for r in paying if r.sampling is not None
        )
        + " |",
        f"| samples taken / due | {ts.taken} / {ts.due:.0f} | "
        + " | ".join(
            f"{r.sampling.taken} / {r.sampling.due:.0f}"
            for r in paying
            if r.sampling is not None
        )
        + " |",
        f"| signed again from an address already signed from | {t.key_reuse} of "
        f"{len(t.calls)} bundles | never (checked by the wallet) |"
        + " never |"
        * (len(paying) - 1),
        "",
        "In the tutorial the reading stops for the whole call: every payment is a "
        "hole of that length in the metering (and the tutorial bills the minute as "
        "if it were 60 s).",
        "",
    ]
    return "\n".join(lines)


def verdict(runs: list[Run]) -> list[str]:
    """Say plainly how much paying stalls the event loop, before and after."""
    by_name = {r.name: r for r in runs}
    base = by_name["no payment (baseline)"]
    local = by_name[run_name("local", IN_PROCESS)]
    node = by_name[run_name("node", IN_PROCESS)]
    worker_local = by_name[run_name("local", IN_WORKER)]
    worker_node = by_name[run_name("node", IN_WORKER)]

    def worst(run: Run, phases: Sequence[str] | None = None) -> float:
        values = [
            x
            for phase, v in run.lateness.items()
            if phases is None or phase in phases
            for x in v
        ]
        return max(values, default=0.0) * 1000

    def p99(run: Run) -> float:
        return quantile([x for v in run.lateness.values() for x in v], 0.99) * 1000

    def median_ms(run: Run, phase: str | None = None) -> float:
        values = (
            [x for v in run.lateness.values() for x in v]
            if phase is None
            else run.lateness.get(phase, [])
        )
        return statistics.median(values or [0.0]) * 1000

    idle = median_ms(base)
    lines = [
        "Longest stall of the loop during a payment, ms (p99; median lateness "
        "while signing / during PoW): "
        + "; ".join(
            f"{run.name} {worst(run):.0f} ({p99(run):.1f}; "
            f"{median_ms(run, 'sign'):.1f} / {median_ms(run, 'pow'):.1f})"
            for run in (node, worker_node, local, worker_local)
        )
        + f"; no payment {worst(base):.0f} ({p99(base):.1f}; median {idle:.1f})."
    ]
    before = max(worst(node), worst(local))
    after = max(worst(worker_node), worst(worker_local))
    lines += [
        "",
        "**Before the fix** (the wallet's CPU-bound work in this process) the "
        f"loop stalled up to {before:.0f} ms: signing, address derivation (PyOTA) "
        "and local proof of work are pure Python that hold the GIL, and the loop "
        "thread gets it back only at the interpreter's switch interval "
        f"({sys.getswitchinterval() * 1000:g} ms), after every wait, later still "
        f"on a busy machine. **After it** (in a worker process) up to {after:.0f} "
        f"ms, against {worst(base):.0f} ms with no payment at all: what is left "
        "in this process is waiting for the node and the worker, writing the "
        "outbox document, checksums and bundle checks, and the machine's own load.",
    ]
    thread, process = by_name.get(POW_IN_THREAD), by_name.get(POW_IN_PROCESS)
    if thread is not None and process is not None:
        lines += [
            "",
            "The same local proof of work with no payment around it (4 transactions "
            "per round): in an executor thread the loop is late by "
            f"{median_ms(thread, 'pow'):.1f} ms in the median, {worst(thread):.0f} ms "
            f"at worst; in a worker process by {median_ms(process, 'pow'):.1f} ms, "
            f"{worst(process):.0f} ms at worst (idle: {idle:.1f} ms, "
            f"{worst(base):.0f} ms).",
        ]
    return lines


# --- main -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20, help="per PoW mode")
    parser.add_argument("--tutorial-payments", type=int, default=3)
    parser.add_argument(
        "--tutorial-ticks", type=int, default=20, help="reads between payments"
    )
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds")
    parser.add_argument("--milestone-interval", type=float, default=2.0)
    parser.add_argument("--poll", type=float, default=0.25, help="follow interval, s")
    parser.add_argument(
        "--pow-rounds", type=int, default=10, help="thread vs process comparison"
    )
    parser.add_argument("--quick", action="store_true", help="3 payments, short runs")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    if args.quick:
        args.payments, args.tutorial_payments, args.baseline = 3, 2, 3.0
        args.pow_rounds = 3
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # PyOTA's utcnow
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    load0 = os.getloadavg()[0]
    receiver = with_checksum(seed_address(RECEIVER_SEED, 0))
    funds = {
        seed_address(PAYER_SEED, 0): FUNDS,
        seed_address(BANK_SEED, 0): FUNDS,
    }
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        tangle = Tangle(directory, funds, args.milestone_interval)
        sampler = SamplerProbe()
        sampler.sampler.start()
        try:
            print("funding the tutorial's wallet", flush=True)
            fund_tutorial(tangle.url)
            print("wallet runs", flush=True)
            runs = asyncio.run(
                wallet_runs(
                    url=tangle.url,
                    receiver=receiver,
                    directory=directory,
                    payments=args.payments,
                    baseline_s=args.baseline,
                    poll_s=args.poll,
                    pow_rounds=args.pow_rounds,
                    sampler=sampler,
                )
            )
            sampler.sampler.stop(10)
            print("tutorial run", flush=True)
            tutorial = tutorial_run(
                tangle.url, receiver, args.tutorial_payments, args.tutorial_ticks
            )
        finally:
            sampler.sampler.stop(10)
            tangle.stop()
    text = report(
        args, runs, tutorial, (load0, os.getloadavg()[0]), time.perf_counter() - started
    )
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    write_data(args.data, runs)


def write_data(path: Path, runs: Sequence[Run]) -> None:
    """The latencies behind the tables, for benchmarks/report.py's plot."""
    latencies = {
        run.name: [p.close_to_confirmed for p in run.payments]
        for run in runs
        if run.payments
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"latencies_s": latencies}, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
