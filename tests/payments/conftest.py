"""Payments against a running devtangle over real HTTP, with real PyOTA.

The seeds are test constants; they are never printed (see test_secrecy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import json
from pathlib import Path
import socket
from typing import Any

import pytest

from custom_components.iota_energy.core.ledger import (
    PaymentState,
    PriceSlice,
    Statement,
)
from custom_components.iota_energy.core.legacy_node import LegacyNode
from custom_components.iota_energy.core.outbox import (
    FollowSchedule,
    Outbox,
    PaymentPolicy,
)
from custom_components.iota_energy.core.payments import OutboxState
from custom_components.iota_energy.core.wallet import LegacyWallet
from custom_components.iota_energy.core.worker_pool import CpuRunner, run_here
from devtangle.genesis import Allocation
from devtangle.node import Limits
from devtangle.server import DevTangle
from tests.devtangle.conftest import (  # noqa: F401 - fixtures
    BOB_SEED,
    TEST_MWM,
    address_of,
    loopback_sockets,
)

# The payer: a hotel's wallet seed, for tests only.
PAYER_SEED = "HOTEL9TEST9SEED9PAYER".ljust(81, "9")
PAYER_FUNDS = 10_000
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DAY = "2026-12-02"
# 720,000,000 IOTA per kWh is 0.2 IOTA per mW s (the tutorial's price).
PRICE = Fraction(720_000_000)


def receiver() -> str:
    """Bob's index-0 address with its checksum, as a user would enter it."""
    from custom_components.iota_energy.core.thirdparty import import_pyota

    iota = import_pyota()
    return str(iota.Address(address_of(BOB_SEED, 0)).with_valid_checksum())


def statement(number: int, due: int) -> Statement:
    """A closed statement with exactly ``due`` IOTA owed and due."""
    energy = Fraction(due) * 3_600_000 / PRICE
    start = T0 + timedelta(hours=number)
    return Statement(
        id=f"S{number:06d}",
        period_start=start,
        period_end=start + timedelta(hours=1),
        closed_at=start + timedelta(hours=1),
        energy_j=energy,
        slices=(PriceSlice(PRICE, energy, "static"),),
        owed=Fraction(due),
        carried_in=Fraction(0),
        due_iota=due,
        carried_out=Fraction(0),
        complete=True,
        price_flags=(),
        payment_state=PaymentState.DUE,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Crash(Exception):  # noqa: N818 - a power cut, not an error
    """A simulated power cut."""


@dataclass
class DiskStore:
    """The durable document as JSON text, as the shell would keep it."""

    text: str | None = None
    writes: int = 0
    crash_after_write: int | None = None
    fail_writes: bool = False

    def persist(self, state: OutboxState) -> None:
        if self.fail_writes:
            raise OSError(28, "No space left on device")
        self.text = json.dumps(state.to_dict())
        self.writes += 1
        if self.crash_after_write is not None and self.writes >= self.crash_after_write:
            self.crash_after_write = None
            raise Crash(f"crash after write {self.writes}")

    def load(self) -> OutboxState:
        return (
            OutboxState()
            if self.text is None
            else OutboxState.from_dict(json.loads(self.text))
        )


@dataclass
class Payer:
    """Everything one test needs to pay: node, store, and outbox factory."""

    tangle: DevTangle
    store: DiskStore = field(default_factory=DiskStore)
    policy: PaymentPolicy = field(
        default_factory=lambda: PaymentPolicy(receiver=receiver())
    )
    schedule: FollowSchedule = field(
        default_factory=lambda: FollowSchedule(promote_interval=timedelta(seconds=30))
    )
    node_wrapper: Callable[[LegacyNode], LegacyNode] | None = None
    # Where the wallet's CPU-bound work runs (a WorkerPool's run, or here).
    run: CpuRunner = run_here
    # Finished payments the document keeps (None: the outbox's default).
    history: int | None = None

    def outbox(self) -> Outbox:
        """A fresh outbox from the stored document, as after a restart."""
        node = LegacyNode(self.tangle.url, timeout_s=10)
        if self.node_wrapper is not None:
            node = self.node_wrapper(node)
        wallet = LegacyWallet(
            PAYER_SEED, node, mwm=TEST_MWM, tag="HOTELIOTA", run=self.run
        )
        return Outbox(
            self.store.load(),
            wallet,
            self.policy,
            self.store.persist,
            self.schedule,
            history=self.history,
        )

    def milestone(self) -> None:
        self.tangle.node.issue_milestone()

    def balance(self, address: str) -> int:
        node = LegacyNode(self.tangle.url)
        return node.balances([address])[0]


def run_until(
    outbox: Outbox,
    done: Callable[[Outbox], bool],
    start: datetime,
    *,
    milestones: Callable[[], None] | None = None,
    step: timedelta = timedelta(seconds=5),
    limit: int = 200,
) -> tuple[datetime, list[Any]]:
    """Step the outbox on a simulated clock until ``done``; collect events."""
    now = start
    events: list[Any] = []
    for _ in range(limit):
        events += outbox.step(now, DAY)
        if done(outbox):
            return now, events
        if milestones is not None:
            milestones()
        now += step
    raise AssertionError(f"not done after {limit} steps: {outbox.state.payments}")


@pytest.fixture
def payer_address() -> str:
    return address_of(PAYER_SEED, 0)


@contextmanager
def funded_tangle(
    folder: Path, funds: int | Mapping[int, int] = PAYER_FUNDS, **options: Any
) -> Iterator[DevTangle]:
    """A devtangle node whose genesis funds the payer's wallet.

    ``funds``: IOTA on index 0, or IOTA by key index. Milestones only when a
    test issues them (``Payer.milestone``); further ``options`` go to
    ``DevTangle`` (e.g. its ``cache_size`` or ``limits``).
    """
    by_index = {0: funds} if isinstance(funds, int) else funds
    node = DevTangle(
        folder / "tangle.sqlite3",
        genesis=[
            Allocation(address_of(PAYER_SEED, index), amount)
            for index, amount in by_index.items()
        ],
        port=0,
        mwm=TEST_MWM,
        milestone_interval=None,
        **options,
    ).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def tangle(tmp_path: Path) -> Iterator[DevTangle]:
    with funded_tangle(tmp_path) as node:
        yield node


@pytest.fixture
def payer(tangle: DevTangle) -> Payer:
    return Payer(tangle)


def no_pow_limits() -> Limits:
    return Limits(remote_pow=False)
