"""The wallet's CPU-bound work in a worker process (core/worker_pool.py).

A real ``spawn`` worker process, real PyOTA in it, real devtangle over HTTP:
what the worker computes equals what this process computes, a worker
killed in the middle of a step loses nothing and signs nothing twice, and
nothing the worker raises carries the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
import contextlib
import multiprocessing
import os
from pathlib import Path
import pickle
import signal
import sys
import threading
import time
import traceback
from typing import Any

import pytest

from custom_components.iota_energy.core import wallet_work, worker_pool
from custom_components.iota_energy.core.legacy_node import LegacyNode
from custom_components.iota_energy.core.outbox import PaymentPolicy
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.pow import (
    trailing_zero_trits,
    transaction_hash,
)
from custom_components.iota_energy.core.wallet import Candidate, LegacyWallet
from custom_components.iota_energy.core.wallet_work import (
    BundleOrder,
    InputKey,
    WalletError,
)
from custom_components.iota_energy.core.worker_pool import (
    WorkerLost,
    WorkerPool,
    run_here,
)
from tests.devtangle.conftest import BOB_SEED, TEST_MWM, address_of

from .conftest import PAYER_FUNDS, PAYER_SEED, T0, Payer, receiver, run_until, statement
from .test_outbox import bundles_to, confirmed

TAG = "HOTELIOTA".ljust(27, "9")


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    """A worker for one test (Home Assistant's harness wants no thread left)."""
    worker = WorkerPool()
    yield worker
    worker.shutdown()


def order(timestamp: int = 1_764_669_600) -> BundleOrder:
    """242 IOTA from index 0 (funded with 1,000) to Bob, the rest to index 1."""
    return BundleOrder(
        receiver=address_of(BOB_SEED, 0),
        amount=242,
        message="",
        tag=TAG,
        inputs=(InputKey(0, address_of(PAYER_SEED, 0), 1_000),),
        remainder_address=address_of(PAYER_SEED, 1),
        timestamp=timestamp,
    )


class KillWorker:
    """A runner that kills the worker process while ``target`` runs in it.

    The first call of ``target`` is submitted and the worker is sent SIGKILL
    right after, while the call is queued or running: either way the worker
    dies with the call unanswered, which is what the caller sees of any
    death mid-step (killed, out of memory).
    """

    def __init__(
        self, pool: WorkerPool, target: Callable[..., Any], after_s: float = 0.02
    ) -> None:
        self.pool = pool
        self.target = target
        self.after_s = after_s
        self.killed = 0

    def __call__[R](self, fn: Callable[..., R], /, *args: Any) -> R:
        if fn is self.target and not self.killed:
            pid = self.pool.run(os.getpid)
            self.killed += 1
            threading.Timer(self.after_s, os.kill, (pid, signal.SIGKILL)).start()
        return self.pool.run(fn, *args)


def test_the_worker_derives_and_signs_exactly_as_this_process(
    pool: WorkerPool,
) -> None:
    indexes = (0, 1, 5)
    in_worker = pool.run(wallet_work.derive_addresses, PAYER_SEED, indexes)
    assert in_worker == run_here(wallet_work.derive_addresses, PAYER_SEED, indexes)
    # ...and both equal PyOTA's own derivation (what devtangle's tests use).
    assert in_worker == tuple(address_of(PAYER_SEED, i) for i in indexes)

    signed = pool.run(wallet_work.sign_bundle, PAYER_SEED, order())
    assert signed == run_here(wallet_work.sign_bundle, PAYER_SEED, order())
    assert len(signed.trytes) == 4  # output, input and its second fragment, change
    assert signed.inputs == ((0, 1_000),)
    # The timestamp is the order's: another one is another bundle.
    assert pool.run(wallet_work.sign_bundle, PAYER_SEED, order(1)) != signed


def test_the_wallet_through_the_worker_signs_what_it_signs_here(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = LegacyNode("http://127.0.0.1:9")  # never called: signing is local
    here = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM, tag="HOTELIOTA")
    there = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM, tag="HOTELIOTA", run=pool.run)
    monkeypatch.setattr("time.time", lambda: 1_764_669_600.5)
    bob = receiver()
    inputs = [Candidate(0, 1_000)]
    assert there.sign(bob, 242, "", inputs, 1) == here.sign(bob, 242, "", inputs, 1)
    assert there.addresses([3, 0]) == here.addresses([3, 0])


def test_local_proof_of_work_in_the_worker_meets_the_weight(pool: WorkerPool) -> None:
    signed = pool.run(wallet_work.sign_bundle, PAYER_SEED, order())
    tip = "9" * 81
    attached = pool.run(wallet_work.proof_of_work, tip, tip, TEST_MWM, signed.trytes)
    assert len(attached) == 4
    for trytes in attached:
        assert trailing_zero_trits(transaction_hash(trytes)) >= TEST_MWM
        assert trytes[:2187] in {t[:2187] for t in signed.trytes}  # same signature


def test_a_killed_worker_is_replaced_and_the_call_can_be_repeated(
    pool: WorkerPool,
) -> None:
    first = pool.run(os.getpid)
    killer = KillWorker(pool, wallet_work.sign_bundle)
    with pytest.raises(WorkerLost):
        killer(wallet_work.sign_bundle, PAYER_SEED, order())
    assert pool.run(os.getpid) != first
    assert pool.starts == 2
    assert pool.run(wallet_work.sign_bundle, PAYER_SEED, order()) == run_here(
        wallet_work.sign_bundle, PAYER_SEED, order()
    )


def test_a_shut_dpool_refuses_work_and_its_process_is_gone(
    pool: WorkerPool,
) -> None:
    pid = pool.run(os.getpid)
    pool.shutdown()
    assert not pool.started
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(WorkerLost):
        pool.run(os.getpid)


def _all_text(err: BaseException) -> str:
    """Everything an exception could show: text, repr, traceback, pickle."""
    return "\n".join(
        [
            str(err),
            repr(err),
            repr(err.args),
            repr(vars(err)) if hasattr(err, "__dict__") else "",
            "".join(traceback.format_exception(err)),
            repr(pickle.dumps(err)),
        ]
    )


def _raised(call: Callable[[], object]) -> Exception:
    try:
        call()
    except Exception as err:  # whatever it is, it is checked
        return err
    raise AssertionError("nothing was raised")


def test_nothing_the_worker_raises_carries_the_seed(pool: WorkerPool) -> None:
    # A malformed seed: PyOTA's own exception keeps the value it refused.
    bad_seed = PAYER_SEED[:40] + "a" + PAYER_SEED[41:]
    derive = _raised(lambda: pool.run(wallet_work.derive_addresses, bad_seed, (0,)))
    # A receiver PyOTA refuses, failing after the seed went into the signer.
    bad_order = BundleOrder(**{**_fields(order()), "receiver": "b" * 81})
    sign = _raised(lambda: pool.run(wallet_work.sign_bundle, PAYER_SEED, bad_order))
    for caught, seed in ((derive, bad_seed), (sign, PAYER_SEED)):
        text = _all_text(caught)
        # Says whether, never what: a failing test must not print the seed.
        leaked = seed in text or seed[:40] in text
        assert not leaked, "the seed came back from the worker"
        assert caught.__cause__ is None  # no remote traceback chained on
    assert isinstance(derive, WalletError)
    assert isinstance(sign, WalletError)
    assert "address derivation failed" in str(derive)
    assert "signing failed" in str(sign)


def _fields(bundle_order: BundleOrder) -> dict[str, Any]:
    return {name: getattr(bundle_order, name) for name in BundleOrder.__slots__}


def test_a_worker_killed_mid_sign_leaves_the_payment_queued_then_paid_once(
    payer: Payer, pool: WorkerPool
) -> None:
    killer = KillWorker(pool, wallet_work.sign_bundle)
    payer.run = killer
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 240)], T0)
    assert payment is not None
    before = outbox.state

    assert outbox.step(T0, "2026-12-02") == []

    assert killer.killed == 1
    assert outbox.workers_lost == 1
    after = outbox.state.payment(payment.id)
    assert after is not None
    assert after.status is PaymentStatus.QUEUED
    assert not after.signed_trytes
    assert after.bundle_hash is None
    assert outbox.state.spent_indexes == before.spent_indexes
    assert outbox.node_problem is None

    run_until(outbox, confirmed(payment.id), T0, milestones=payer.milestone)
    assert outbox.workers_lost == 0
    bob = address_of(BOB_SEED, 0)
    assert len(bundles_to(payer, bob)) == 1
    assert payer.balance(bob) == 240
    done = outbox.state.payment(payment.id)
    assert done is not None
    assert done.remainder_index is not None
    remainder = address_of(PAYER_SEED, done.remainder_index)
    assert payer.balance(remainder) == PAYER_FUNDS - 240


def test_a_worker_killed_during_local_pow_keeps_the_signed_bundle(
    payer: Payer, pool: WorkerPool
) -> None:
    # MWM 9 (devtangle asks 5): about a second of work, killed 0.1 s in.
    killer = KillWorker(pool, wallet_work.proof_of_work, after_s=0.1)
    payer.run = killer
    payer.policy = PaymentPolicy(receiver=receiver(), pow_mode="local")
    outbox = payer.outbox()
    outbox.wallet.mwm = 9
    payment = outbox.enqueue([statement(1, 240)], T0)
    assert payment is not None
    outbox.step(T0, "2026-12-02")  # signed
    signed = outbox.state.payment(payment.id)
    assert signed is not None
    assert signed.status is PaymentStatus.SIGNED

    outbox.step(T0, "2026-12-02")  # proof of work: the worker dies

    assert killer.killed == 1
    after = outbox.state.payment(payment.id)
    assert after is not None
    assert after.status is PaymentStatus.SIGNED
    assert after.signed_trytes == signed.signed_trytes
    assert not after.attachments

    run_until(outbox, confirmed(payment.id), T0, milestones=payer.milestone)
    done = outbox.state.payment(payment.id)
    assert done is not None
    assert done.bundle_hash == signed.bundle_hash
    bob = address_of(BOB_SEED, 0)
    assert list(bundles_to(payer, bob)) == [signed.bundle_hash]
    assert payer.balance(bob) == 240


# A process like Home Assistant's: it imports this package from a folder that
# it then takes off sys.path (HA mounts its config folder for the import), so
# a spawned worker cannot find the package by the parent's path alone.
_FOREIGN_PATH_SCRIPT = """
import sys
root = sys.argv[1]
sys.path.insert(0, root)
from custom_components.iota_energy.core import wallet_work
from custom_components.iota_energy.core.worker_pool import WorkerPool
sys.path.remove(root)
pool = WorkerPool()
try:
    print(pool.run(wallet_work.derive_addresses, "A" * 81, (0,))[0])
finally:
    pool.shutdown()
"""


def test_the_worker_finds_the_package_where_the_parent_found_it(
    tmp_path: Any,
) -> None:
    import subprocess
    import sys

    from custom_components.iota_energy.core.worker_pool import (
        PACKAGE_ROOT,
    )

    done = subprocess.run(
        [sys.executable, "-c", _FOREIGN_PATH_SCRIPT, str(PACKAGE_ROOT)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == wallet_work.derive_addresses("A" * 81, (0,))[0]


_ORPHAN_SCRIPT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from custom_components.iota_energy.core.worker_pool import WorkerPool
pool = WorkerPool()
print(pool.run(os.getpid), flush=True)
time.sleep(600)
"""


def test_the_worker_ends_when_its_parent_is_killed() -> None:
    """SIGKILL of Home Assistant alone (not its process group) leaves no worker.

    A worker outliving its parent would hold its memory for good, one more
    after every crash; it watches its parent and exits when it is gone.
    """
    import subprocess
    import sys

    from custom_components.iota_energy.core.worker_pool import PACKAGE_ROOT

    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(PACKAGE_ROOT)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # alive while its parent is
        parent.kill()
        parent.wait()
        # A liveness deadline, not a speed limit: the worker notices at once.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise AssertionError(f"worker {worker} outlived its killed parent")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        if parent.stdout is not None:
            parent.stdout.close()


# --- the pool itself, with cheap calls -------------------------------------------


def test_a_pool_starts_one_worker_on_first_use(pool: WorkerPool) -> None:
    assert not pool.started
    assert pool.starts == 0
    worker = pool.run(os.getpid)
    assert pool.started
    assert pool.starts == 1
    assert worker != os.getpid()
    assert pool.run(os.getpid) == worker  # the same process again
    assert pool.run(divmod, 17, 5) == (3, 2)
    assert pool.starts == 1


def test_the_first_call_of_a_worker_makes_it_end_with_its_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``_end_with_parent`` in this process, with a stand-in for the parent.

    In a worker it runs where mutation testing cannot see it; the
    SIGKILL test above shows the whole in a real worker.
    """
    parent_gone = threading.Event()
    exits: list[int] = []

    class Parent:
        def join(self) -> None:
            parent_gone.wait()

    monkeypatch.setattr(worker_pool.multiprocessing, "parent_process", Parent)
    monkeypatch.setattr(worker_pool.os, "_exit", exits.append)
    before = set(threading.enumerate())
    worker_pool._end_with_parent()
    (watcher,) = set(threading.enumerate()) - before
    assert watcher.name == "end-with-parent"
    assert watcher.daemon
    watcher.join(0.05)
    assert watcher.is_alive()
    assert exits == []  # nothing while the parent lives
    parent_gone.set()
    watcher.join()
    assert exits == [0]


def test_without_a_parent_nothing_watches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_pool.multiprocessing, "parent_process", lambda: None)
    before = set(threading.enumerate())
    worker_pool._end_with_parent()
    assert set(threading.enumerate()) == before


def test_what_the_pool_says_when_work_is_lost(pool: WorkerPool) -> None:
    worker = pool.run(os.getpid)
    os.kill(worker, signal.SIGKILL)
    # Until the pool notices, a call may still be submitted: either way it is
    # a lost worker, and the next call starts another.
    with pytest.raises(WorkerLost) as lost:
        pool.run(time.sleep, 5)
    assert str(lost.value) in (
        "the wallet's worker process ended",
        "the wallet's worker process is gone",
    )
    assert lost.value.__cause__ is None
    assert not pool.started
    assert pool.run(os.getpid) not in (worker, os.getpid())
    assert pool.starts == 2
    pool.shutdown()
    with pytest.raises(WorkerLost, match=r"^the wallet's worker is shut down$"):
        pool.run(os.getpid)
    assert pool.starts == 2


def test_a_call_to_a_broken_pool_is_lost_before_it_is_sent(pool: WorkerPool) -> None:
    worker = pool.run(os.getpid)
    executor = pool._executor
    assert executor is not None
    os.kill(worker, signal.SIGKILL)
    while not executor._broken:  # the pool's own thread notices the death
        time.sleep(0.01)
    with pytest.raises(WorkerLost, match=r"^the wallet's worker process is gone$"):
        pool.run(os.getpid)
    assert not pool.started
    assert pool.run(os.getpid) != worker
    assert pool.starts == 2


def test_an_exception_comes_back_without_the_workers_traceback(
    pool: WorkerPool,
) -> None:
    with pytest.raises(ZeroDivisionError) as caught:
        pool.run(divmod, 1, 0)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    # The worker survives its call's exception.
    assert pool.starts == 1
    assert pool.run(divmod, 7, 2) == (3, 1)
    assert pool.starts == 1


def test_shutdown_waits_for_the_call_in_progress_and_cancels_the_queued(
    pool: WorkerPool,
) -> None:
    worker = pool.run(os.getpid)
    outcomes: dict[int, object] = {}

    def call(number: int) -> None:
        try:
            outcomes[number] = pool.run(time.sleep, 1)
        except BaseException as err:
            outcomes[number] = err

    # The first runs; a pool passes two more to the worker's queue ahead of
    # time; the rest wait in the pool, and those are cancelled.
    callers = [threading.Thread(target=call, args=(n,)) for n in range(5)]
    for caller in callers:
        caller.start()
        time.sleep(0.1)
    pool.shutdown()
    # What the worker had begun has ended: it is gone once shutdown returns.
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    for caller in callers:
        caller.join()
    assert outcomes[0] is None
    assert isinstance(outcomes[4], CancelledError)
    assert all(
        outcome is None or isinstance(outcome, CancelledError)
        for outcome in outcomes.values()
    )
    assert not pool.started
    pool.shutdown()  # twice is harmless


def test_a_pool_never_used_shuts_down_without_starting() -> None:
    unused = WorkerPool()
    unused.shutdown()
    assert unused.starts == 0
    assert not unused.started
    with pytest.raises(WorkerLost):
        unused.run(os.getpid)
    assert unused.starts == 0


def test_run_here_is_a_plain_call() -> None:
    assert run_here(divmod, 17, 5) == (3, 2)
    assert run_here(os.getpid) == os.getpid()


def _process_name_and_pid(pause_s: float = 0.0) -> tuple[str, int]:
    """In the worker: its process's name (the start method's) and its pid."""
    time.sleep(pause_s)
    return multiprocessing.current_process().name, os.getpid()


def test_one_spawned_worker_takes_the_calls_in_turn(pool: WorkerPool) -> None:
    answers: list[tuple[str, int]] = []
    callers = [
        threading.Thread(
            target=lambda: answers.append(pool.run(_process_name_and_pid, 0.5))
        )
        for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    (name, pid), second = answers
    assert second == (name, pid)  # one process, not one per call
    assert name.startswith("SpawnProcess-")  # spawned, not forked


def test_the_worker_finds_the_package_off_the_parents_path(
    pool: WorkerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in Home Assistant: the package's folder is not on the path any more."""
    root = worker_pool.PACKAGE_ROOT
    kept = [p for p in sys.path if p and Path(p).resolve() != root]
    monkeypatch.setattr(sys, "path", kept)
    monkeypatch.chdir(root.parent)
    # os.getpid needs nothing of this package; the worker's first call
    # (_end_with_parent) does, and a worker that cannot load it breaks.
    assert pool.run(os.getpid) != os.getpid()
    assert pool.run(os.getpid) != os.getpid()
    assert pool.starts == 1


def _thread_names() -> list[str]:
    """In the worker: the names of its threads."""
    return sorted(thread.name for thread in threading.enumerate())


def test_a_new_worker_watches_its_parent_from_its_first_call(
    pool: WorkerPool,
) -> None:
    assert "end-with-parent" in pool.run(_thread_names)
    assert "end-with-parent" not in _thread_names()  # only in the worker
