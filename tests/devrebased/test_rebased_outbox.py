"""The outbox paying through the Rebased rail: real iota-sdk, devrebased over HTTP.

"A crash" is a power cut: the outbox is rebuilt from the last JSON it wrote,
with a new rail and nothing kept in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from http.server import ThreadingHTTPServer
import json
import socket
import threading
from typing import Any

import pytest

pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.core.ledger import (
    PaymentState,
    PriceSlice,
    Statement,
)
from custom_components.iota_energy.core.outbox import (
    FollowSchedule,
    Outbox,
    PaymentEventKind,
    PaymentPolicy,
)
from custom_components.iota_energy.core.payments import OutboxState, PaymentStatus
from custom_components.iota_energy.core.rail import (
    RailName,
    SignedTransfer,
    TransferOrder,
)
from custom_components.iota_energy.core.rebased_keys import RebasedKey
from custom_components.iota_energy.core.rebased_node import RebasedNode
from custom_components.iota_energy.core.rebased_rail import RebasedRail
from custom_components.iota_energy.core.units import Amount, Denomination
from devrebased.ledger import REFERENCE_GAS_PRICE, TRANSFER_GAS_UNITS

from .conftest import PAYER_COINS, PAYER_MNEMONIC, RECEIVER
from .test_rebased_node import _Garbage

T0 = datetime(2026, 12, 2, 16, tzinfo=UTC)
DAY = "2026-12-02"
GAS_FEE = TRANSFER_GAS_UNITS * REFERENCE_GAS_PRICE
PRICE = Fraction(720_000_000)
CAP = 10**8


class Crash(Exception):  # noqa: N818 - a power cut, not an error
    """A simulated power cut."""


@dataclass
class Disk:
    """The outbox document as JSON text; can cut the power around a write."""

    text: str | None = None
    writes: int = 0
    crash_after: int | None = None  # the write lands, then the power goes
    crash_before: int | None = None  # the power goes, the write is lost

    def persist(self, state: OutboxState) -> None:
        if self.crash_before is not None and self.writes + 1 >= self.crash_before:
            self.crash_before = None
            raise Crash("before the write")
        self.text = json.dumps(state.to_dict())
        self.writes += 1
        if self.crash_after is not None and self.writes >= self.crash_after:
            self.crash_after = None
            raise Crash("after the write")

    def load(self) -> OutboxState:
        if self.text is None:
            return OutboxState()
        return OutboxState.from_dict(json.loads(self.text))


def statement(number: int, due: int) -> Statement:
    """A closed statement with exactly ``due`` legacy i due."""
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


def outbox_on(url: str, disk: Disk, policy: PaymentPolicy | None = None) -> Outbox:
    """A fresh outbox from the stored document, as after a restart."""
    key = RebasedKey.from_mnemonic(PAYER_MNEMONIC)
    rail = RebasedRail(key, RebasedNode(url, timeout_s=5), max_gas_budget=CAP)
    return Outbox(
        disk.load(),
        rail,
        policy or PaymentPolicy(receiver=RECEIVER),
        disk.persist,
        FollowSchedule(),
    )


def run_until(
    make: Callable[[], Outbox],
    done: Callable[[Outbox], bool],
    *,
    limit: int = 60,
) -> tuple[Outbox, list[Any], int]:
    """Step on a simulated clock, restarting after every crash."""
    outbox = make()
    now = T0
    events: list[Any] = []
    crashes = 0
    for _ in range(limit):
        try:
            events += outbox.step(now, DAY)
        except Crash:
            crashes += 1
            outbox = make()
        if done(outbox):
            return outbox, events, crashes
        now += timedelta(seconds=5)
    raise AssertionError(f"not done after {limit} steps: {outbox.state.payments}")


def confirmed(outbox: Outbox) -> bool:
    return all(p.status is PaymentStatus.CONFIRMED for p in outbox.state.payments)


def balance(node: Any, address: str) -> int:
    return RebasedNode(node.url).balance(address)


def test_paid_end_to_end_balances_exact_gas_accounted(
    node: Any, payer: RebasedKey
) -> None:
    disk = Disk()
    outbox = outbox_on(node.url, disk)
    payment = outbox.enqueue([statement(1, 1_234), statement(2, 6)], T0)
    assert payment is not None
    # Statements owe i; the Rebased rail pays the same IOTA in nanos.
    assert (payment.amount, payment.unit) == (1_240_000, Denomination.NANOS)

    outbox, events, _ = run_until(lambda: outbox_on(node.url, disk), confirmed)

    assert [e.kind for e in events] == [
        PaymentEventKind.SENT,
        PaymentEventKind.CONFIRMED,
    ]
    (done,) = outbox.state.payments
    assert done.transfer is not None
    assert done.transfer.rail is RailName.REBASED
    assert list(node.ledger.executed) == [done.transfer_id]
    assert done.fee == Amount(GAS_FEE, Denomination.NANOS)
    assert balance(node, RECEIVER) == 1_240_000
    assert balance(node, payer.address) == sum(PAYER_COINS) - 1_240_000 - GAS_FEE
    summary = events[-1].payment.summary()
    assert summary["transfer_id"] == done.transfer_id
    assert summary["bundle_hash"] is None
    assert (summary["amount_iota"], summary["amount_unit"]) == (1_240_000, "nanos")
    assert (summary["fee"], summary["fee_unit"]) == (GAS_FEE, "nanos")
    # Caps and sums count i: the same IOTA whatever the rail.
    assert outbox.state.paid_total == 1_240
    assert outbox.state.sent_by_day[DAY] == 1_240
    # Nothing of the key is in the document.
    assert disk.text is not None
    assert "film" not in disk.text
    assert payer.address in disk.text


@pytest.mark.parametrize("when", ["after", "before"])
@pytest.mark.parametrize("write", ["signed", "sent", "confirmed"])
def test_a_crash_around_each_write_executes_one_transaction(
    node: Any, payer: RebasedKey, write: str, when: str
) -> None:
    """The power goes right after a step's write lands, or right before it
    (the step acted: signed, executed or looked up; nothing written)."""
    disk = Disk()
    outbox_on(node.url, disk).enqueue([statement(1, 500)], T0)
    number = disk.writes + ["signed", "sent", "confirmed"].index(write) + 1
    if when == "after":
        disk.crash_after = number
    else:
        disk.crash_before = number

    outbox, _, crashes = run_until(lambda: outbox_on(node.url, disk), confirmed)

    assert crashes == 1
    assert len(node.ledger.executed) == 1
    (done,) = outbox.state.payments
    assert list(node.ledger.executed) == [done.transfer_id]
    assert done.superseded == ()
    assert balance(node, RECEIVER) == 500_000
    assert balance(node, payer.address) == sum(PAYER_COINS) - 500_000 - GAS_FEE


def test_insufficient_funds_waits_with_nothing_lost_then_pays_once(
    payer: RebasedKey,
) -> None:
    from devrebased.server import DevRebased

    poor = DevRebased({payer.address: [1_000_000]}).start()
    try:
        disk = Disk()
        outbox = outbox_on(poor.url, disk)
        payment = outbox.enqueue([statement(1, 5_000)], T0)  # 5 000 000 nanos
        assert payment is not None
        events = outbox.step(T0, DAY)
        waiting = outbox.state.payments[0]
        assert waiting.status is PaymentStatus.WAITING_FUNDS
        assert waiting.reason == "insufficient_funds"
        assert waiting.missing > 4_000_000  # the amount and gas, in nanos
        assert waiting.transfer is None
        assert [e.kind for e in events] == [PaymentEventKind.WAITING]
        assert poor.ledger.executed == {}
        # Funded (a coin arrives), the same payment goes out, once.
        _fund(poor, payer.address, 10_000_000_000)
        outbox, _, _ = run_until(lambda: outbox_on(poor.url, disk), confirmed)
        assert len(poor.ledger.executed) == 1
        assert balance(poor, RECEIVER) == 5_000_000
    finally:
        poor.stop()


def test_coins_too_small_even_for_the_gas_wait_for_funds(payer: RebasedKey) -> None:
    """The dry run itself is refused for lack of gas: funds, not node trouble."""
    from devrebased.server import DevRebased

    poor = DevRebased({payer.address: [1_000_000]}).start()  # < one transfer's gas
    try:
        disk = Disk()
        outbox = outbox_on(poor.url, disk)
        outbox.enqueue([statement(1, 4)], T0)  # 4 000 nanos
        (event,) = outbox.step(T0, DAY)
        assert event.kind is PaymentEventKind.WAITING
        assert outbox.node_problem is None
        waiting = outbox.state.payments[0]
        assert (waiting.status, waiting.reason) == (
            PaymentStatus.WAITING_FUNDS,
            "insufficient_funds",
        )
        # Asks for enough to cover the amount and the most gas the cap allows.
        assert waiting.missing == 4_000 + CAP - 1_000_000
        _fund(poor, payer.address, waiting.missing)
        outbox, _, _ = run_until(lambda: outbox_on(poor.url, disk), confirmed)
        assert len(poor.ledger.executed) == 1
        assert balance(poor, RECEIVER) == 4_000
    finally:
        poor.stop()


def _fund(chain: Any, owner: str, nanos: int) -> None:
    """A coin arrives for ``owner`` (as a faucet would send it)."""
    from devrebased.ledger import CoinState, _object_id

    coins = chain.ledger.coins
    coins[_object_id(f"faucet/{len(coins)}".encode())] = CoinState(
        owner, nanos, 1, bytes(32)
    )


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def garbage_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/graphql"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("which", "kind"), [("down", "unreachable"), ("garbage", "garbage")]
)
def test_a_node_down_or_answering_garbage_changes_nothing(
    node: Any, closed_port: int, garbage_url: str, which: str, kind: str
) -> None:
    url = f"http://127.0.0.1:{closed_port}/graphql" if which == "down" else garbage_url
    disk = Disk()
    outbox = outbox_on(url, disk)
    payment = outbox.enqueue([statement(1, 300)], T0)
    assert payment is not None
    writes, text = disk.writes, disk.text
    assert outbox.step(T0, DAY) == []
    problem = outbox.node_problem
    assert problem is not None
    assert problem.last_error.kind == kind
    assert "film" not in str(problem.last_error)
    assert (disk.writes, disk.text) == (writes, text)
    assert outbox.state.payments[0].status is PaymentStatus.QUEUED
    # The real node: the same payment goes out, once.
    outbox, _, _ = run_until(lambda: outbox_on(node.url, disk), confirmed)
    assert len(node.ledger.executed) == 1
    assert balance(node, RECEIVER) == 300_000


def test_a_node_lost_after_signing_keeps_the_signed_transfer(
    node: Any, closed_port: int
) -> None:
    disk = Disk()
    outbox = outbox_on(node.url, disk)
    outbox.enqueue([statement(1, 300)], T0)
    outbox.step(T0, DAY)
    signed = outbox.state.payments[0]
    assert signed.status is PaymentStatus.SIGNED
    down = outbox_on(f"http://127.0.0.1:{closed_port}/graphql", disk)
    assert down.step(T0, DAY) == []
    assert down.node_problem is not None
    assert down.state.payments[0] == signed
    outbox, _, _ = run_until(lambda: outbox_on(node.url, disk), confirmed)
    assert outbox.state.payments[0].transfer_id == signed.transfer_id
    assert len(node.ledger.executed) == 1


def test_a_transfer_that_can_never_execute_is_signed_anew_and_pays_once(
    node: Any, payer: RebasedKey
) -> None:
    disk = Disk()
    outbox = outbox_on(node.url, disk)
    outbox.enqueue([statement(1, 700)], T0)
    outbox.step(T0, DAY)
    stale = outbox.state.payments[0]
    assert stale.status is PaymentStatus.SIGNED
    assert stale.transfer is not None
    # Another wallet with the same mnemonic spends the same coin version.
    rail = RebasedRail(payer, RebasedNode(node.url), max_gas_budget=CAP)
    other, _ = rail.sign(
        TransferOrder("X", RECEIVER, Amount(5, Denomination.NANOS)), {}, dict
    )
    assert isinstance(other, SignedTransfer)
    rail.advance(other, {}, T0)

    outbox, _, _ = run_until(lambda: outbox_on(node.url, disk), confirmed)

    (done,) = outbox.state.payments
    assert done.superseded == (stale.transfer_id,)
    assert done.transfer_id != stale.transfer_id
    assert stale.transfer_id not in node.ledger.executed
    assert len(node.ledger.executed) == 2  # the other wallet's and ours
    assert balance(node, RECEIVER) == 700_000 + 5


def test_a_gas_budget_over_the_cap_fails_before_signing(node: Any) -> None:
    key = RebasedKey.from_mnemonic(PAYER_MNEMONIC)
    rail = RebasedRail(key, RebasedNode(node.url), max_gas_budget=GAS_FEE)
    disk = Disk()
    outbox = Outbox(disk.load(), rail, PaymentPolicy(receiver=RECEIVER), disk.persist)
    outbox.enqueue([statement(1, 300)], T0)
    (event,) = outbox.step(T0, DAY)
    assert event.kind is PaymentEventKind.FAILED
    failed = outbox.state.payments[0]
    assert (failed.status, failed.reason) == (
        PaymentStatus.FAILED,
        "gas_budget_over_cap",
    )
    assert failed.transfer is None
    assert node.ledger.executed == {}


def test_the_wallet_itself_is_no_receiver(node: Any, payer: RebasedKey) -> None:
    disk = Disk()
    outbox = outbox_on(node.url, disk, PaymentPolicy(receiver=payer.address))
    outbox.enqueue([statement(1, 300)], T0)
    (event,) = outbox.step(T0, DAY)
    assert event.kind is PaymentEventKind.FAILED
    assert outbox.state.payments[0].reason == "receiver_is_wallet"
    assert node.ledger.executed == {}
