"""The outbox and wallet paying into a running devtangle over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import http.server
from pathlib import Path
import threading
import time
from typing import Any

import pytest

from custom_components.iota_energy.core.bill_message import decode_bill
from custom_components.iota_energy.core.legacy_node import LegacyNode, NodeError
from custom_components.iota_energy.core.outbox import (
    Outbox,
    PaymentEventKind,
    PaymentPolicy,
)
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.wallet import LegacyWallet
from devtangle.genesis import Allocation
from devtangle.server import DevTangle

from .bill_on_tangle import message_of
from .conftest import (
    BOB_SEED,
    DAY,
    PAYER_FUNDS,
    PAYER_SEED,
    T0,
    TEST_MWM,
    Crash,
    Payer,
    address_of,
    funded_tangle,
    no_pow_limits,
    receiver,
    run_until,
    statement,
)


def status_of(outbox: Outbox, payment_id: str) -> PaymentStatus:
    payment = outbox.state.payment(payment_id)
    assert payment is not None
    return payment.status


def confirmed(payment_id: str) -> Any:
    return lambda o: status_of(o, payment_id) is PaymentStatus.CONFIRMED


def bundles_to(payer: Payer, address: str) -> dict[str, list[Any]]:
    """Every value bundle that sends to ``address``: bundle hash -> transactions."""
    iota = import_pyota()
    node = LegacyNode(payer.tangle.url)
    hashes = node.transactions_of(address)
    found: dict[str, list[Any]] = {}
    for trytes in node.trytes(hashes):
        tx = iota.Transaction.from_tryte_string(iota.TransactionTrytes(trytes))
        if tx.value > 0:
            bundle_hash = str(tx.bundle_hash)
            members = node.trytes(
                [
                    str(h)
                    for h in payer_api(payer).find_transactions(
                        bundles=[tx.bundle_hash]
                    )["hashes"]
                ]
            )
            found[bundle_hash] = [
                iota.Transaction.from_tryte_string(iota.TransactionTrytes(t))
                for t in members
            ]
    return found


def payer_api(payer: Payer) -> Any:
    iota = import_pyota()
    return iota.Iota(payer.tangle.url)


def test_a_statement_is_paid_end_to_end(payer: Payer) -> None:
    outbox = payer.outbox()
    bob = address_of(BOB_SEED, 0)
    payment = outbox.enqueue([statement(1, 240), statement(2, 2)], T0)
    assert payment is not None
    assert payment.amount == 242

    _, events = run_until(outbox, confirmed(payment.id), T0, milestones=payer.milestone)

    assert [e.kind for e in events] == [
        PaymentEventKind.SENT,
        PaymentEventKind.CONFIRMED,
    ]
    done = outbox.state.payment(payment.id)
    assert done is not None
    assert done.bundle_hash
    # Balances moved exactly: Bob got 242, the rest went to a fresh index.
    assert payer.balance(bob) == 242
    assert payer.balance(address_of(PAYER_SEED, 0)) == 0
    assert done.remainder_index is not None
    assert done.remainder_index >= 1
    remainder = address_of(PAYER_SEED, done.remainder_index)
    assert payer.balance(remainder) == PAYER_FUNDS - 242
    # Index 0 is spent and never handed out again; the deposit moved on.
    assert 0 in outbox.state.spent_indexes
    assert outbox.state.deposit_index not in {0, done.remainder_index}
    # The bill on the Tangle decodes to the statements paid.
    (bundle,) = bundles_to(payer, bob).values()
    bill = decode_bill(message_of(bundle))
    assert bill.payment_id == payment.id
    assert bill.amount_iota == 242
    assert [s.id for s in bill.statements] == ["S000001", "S000002"]
    assert [s.due_iota for s in bill.statements] == [240, 2]
    assert str(bundle[0].tag).startswith("HOTELIOTA")


def test_one_bundle_in_flight_and_no_address_signed_twice(payer: Payer) -> None:
    """The tutorial's trap: a second payment while the first is pending."""
    outbox = payer.outbox()
    first = outbox.enqueue([statement(1, 100)], T0)
    assert first is not None
    now, _ = run_until(
        outbox, lambda o: status_of(o, first.id) is PaymentStatus.BROADCAST, T0
    )
    second = outbox.enqueue([statement(2, 50)], now)
    assert second is not None
    assert second.id != first.id
    # No milestone: the first stays pending; the second must not be signed.
    for _ in range(10):
        now += timedelta(seconds=5)
        outbox.step(now, "2026-12-02")
    assert status_of(outbox, second.id) is PaymentStatus.QUEUED
    # Someone refunds the spent address 0: it must still never be an input.
    _faucet(payer, address_of(PAYER_SEED, 0), 5_000)
    run_until(outbox, confirmed(second.id), now, milestones=payer.milestone)

    signed_from = [index for p in outbox.state.payments for index, _ in p.inputs]
    assert len(signed_from) == len(set(signed_from)), "an index signed twice"
    second_done = outbox.state.payment(second.id)
    assert second_done is not None
    assert 0 not in {index for index, _ in second_done.inputs}
    assert payer.balance(address_of(BOB_SEED, 0)) == 150


def _faucet(payer: Payer, address: str, value: int) -> None:
    import requests

    answer = requests.post(
        payer.tangle.url,
        json={"command": "devtangleFaucet", "address": address, "value": value},
        headers={"X-IOTA-API-Version": "1"},
        timeout=10,
    )
    answer.raise_for_status()


def test_funded_address_the_node_reports_spent_is_never_an_input(
    tmp_path: Path,
) -> None:
    """Index 1 was spent by someone else holding the seed: skip it."""
    iota = import_pyota()
    with funded_tangle(tmp_path, {0: 10, 1: 1_000}) as tangle:
        payer = Payer(tangle)
        # Another wallet signs from index 1 (sending 1 i to Bob), unconfirmed.
        api = iota.Iota(tangle.url, seed=PAYER_SEED)
        api.send_transfer(
            transfers=[
                iota.ProposedTransaction(
                    address=iota.Address(address_of(BOB_SEED, 0)), value=1
                )
            ],
            inputs=[
                iota.Address(
                    address_of(PAYER_SEED, 1),
                    balance=1_000,
                    key_index=1,
                    security_level=2,
                )
            ],
            change_address=iota.Address(address_of(PAYER_SEED, 1)),
            min_weight_magnitude=TEST_MWM,
        )
        outbox = payer.outbox()
        outbox.state.next_index = 3  # the wallet has handed out 0..2
        payment = outbox.enqueue([statement(1, 500)], T0)
        assert payment is not None
        outbox.step(T0, "2026-12-02")
        waiting = outbox.state.payment(payment.id)
        assert waiting is not None
        assert waiting.status is PaymentStatus.WAITING_FUNDS
        assert waiting.missing == 490
        assert 1 in outbox.state.spent_indexes


# Five durable writes: remainder reserved, signed, attached, broadcast, confirmed.
@pytest.mark.parametrize("crash_at", range(1, 6))
def test_crash_after_each_durable_write_pays_exactly_once(
    payer: Payer, crash_at: int
) -> None:
    bob = address_of(BOB_SEED, 0)
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 300)], T0)
    assert payment is not None
    payer.store.crash_after_write = payer.store.writes + crash_at
    now = T0
    restarts = 0
    for _ in range(100):
        try:
            outbox.step(now, "2026-12-02")
        except Crash:
            restarts += 1
            outbox = payer.outbox()  # the restart reads the last durable write
        if status_of(outbox, payment.id) is PaymentStatus.CONFIRMED:
            break
        payer.milestone()
        now += timedelta(seconds=5)
    assert status_of(outbox, payment.id) is PaymentStatus.CONFIRMED
    assert restarts == 1
    assert payer.balance(bob) == 300
    assert len(bundles_to(payer, bob)) == 1
    assert payer.balance(address_of(PAYER_SEED, 0)) == 0


class CrashAfterNodeWrite:
    """A node whose n-th write (attach, broadcast) completes, then the power fails."""

    def __init__(self, inner: LegacyNode, countdown: list[int]) -> None:
        self._inner = inner
        self._countdown = countdown

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _after(self, result: Any) -> Any:
        self._countdown[0] -= 1
        if self._countdown[0] == 0:
            raise Crash("crash after a node write")
        return result

    def attach(self, *args: Any) -> Any:
        return self._after(self._inner.attach(*args))

    def broadcast(self, *args: Any) -> Any:
        return self._after(self._inner.broadcast(*args))


@pytest.mark.parametrize("crash_at", [1, 2])
def test_crash_after_a_node_write_before_it_is_recorded(
    payer: Payer, crash_at: int
) -> None:
    countdown = [crash_at]
    payer.node_wrapper = lambda node: CrashAfterNodeWrite(node, countdown)  # type: ignore[assignment,return-value]
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 70)], T0)
    assert payment is not None
    now = T0
    for _ in range(60):
        try:
            outbox.step(now, "2026-12-02")
        except Crash:
            outbox = payer.outbox()
        if status_of(outbox, payment.id) is PaymentStatus.CONFIRMED:
            break
        payer.milestone()
        now += timedelta(seconds=5)
    assert status_of(outbox, payment.id) is PaymentStatus.CONFIRMED
    bob = address_of(BOB_SEED, 0)
    assert payer.balance(bob) == 70
    assert len(bundles_to(payer, bob)) == 1


def _tangle_that_can_go_down(tmp_path: Path) -> tuple[DevTangle, Path, int]:
    """A node of the test's own (payer funded), with what restarts it on its port."""
    from .conftest import free_port

    port = free_port()
    db = tmp_path / "t.sqlite3"
    genesis = [Allocation(address_of(PAYER_SEED, 0), PAYER_FUNDS)]
    tangle = DevTangle(
        db, genesis=genesis, port=port, mwm=TEST_MWM, milestone_interval=None
    ).start()
    return tangle, db, port


def test_node_down_for_a_while_then_back_pays_once(tmp_path: Path) -> None:
    tangle, db, port = _tangle_that_can_go_down(tmp_path)
    payer = Payer(tangle)
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 42)], T0)
    assert payment is not None
    run_until(outbox, lambda o: status_of(o, payment.id) is PaymentStatus.BROADCAST, T0)
    tangle.stop()
    now = T0 + timedelta(minutes=1)
    writes = payer.store.writes
    for _ in range(20):
        assert outbox.step(now, "2026-12-02") == []
        now += timedelta(minutes=1)
    problem = outbox.node_problem
    assert problem is not None
    assert problem.last_error.kind == "unreachable"
    assert problem.since == T0 + timedelta(minutes=1)
    assert payer.store.writes == writes, "an outage changed what is stored"
    tangle = DevTangle(db, port=port, mwm=TEST_MWM, milestone_interval=None).start()
    payer.tangle = tangle
    try:
        run_until(outbox, confirmed(payment.id), now, milestones=payer.milestone)
        assert outbox.node_problem is None
        assert payer.balance(address_of(BOB_SEED, 0)) == 42
        assert len(bundles_to(payer, address_of(BOB_SEED, 0))) == 1
    finally:
        tangle.stop()


def test_an_outage_while_waiting_for_funds_lasts_until_the_node_answers(
    tmp_path: Path,
) -> None:
    """A retry that finds nothing due has not heard the node: the outage goes on.

    A payment waiting for funds asks the node once a minute; the retries of an
    outage come sooner. Each retry must ask the node, and only an answer ends
    the outage (its start is what the repair issue counts from).
    """
    tangle, db, port = _tangle_that_can_go_down(tmp_path)
    payer = Payer(tangle)
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, PAYER_FUNDS + 500)], T0)
    assert payment is not None
    outbox.step(T0, "2026-12-02")
    assert status_of(outbox, payment.id) is PaymentStatus.WAITING_FUNDS
    tangle.stop()
    down_at = T0 + timedelta(minutes=1)
    now = down_at
    for _ in range(120):  # ten minutes, a step every 5 s
        outbox.step(now, "2026-12-02")
        problem = outbox.node_problem
        assert problem is not None, f"the outage ended at {now - down_at} unheard"
        assert problem.since == down_at
        now += timedelta(seconds=5)
    assert problem.failures >= 7  # retried on the backoff, not once a minute
    tangle = DevTangle(db, port=port, mwm=TEST_MWM, milestone_interval=None).start()
    try:
        now += outbox.schedule.backoff_max
        outbox.step(now, "2026-12-02")
        assert outbox.node_problem is None
        assert status_of(outbox, payment.id) is PaymentStatus.WAITING_FUNDS
    finally:
        tangle.stop()


def test_insufficient_funds_waits_then_pays_once_funded(payer: Payer) -> None:
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, PAYER_FUNDS + 500)], T0)
    assert payment is not None
    events = outbox.step(T0, "2026-12-02")
    waiting = outbox.state.payment(payment.id)
    assert waiting is not None
    assert waiting.status is PaymentStatus.WAITING_FUNDS
    assert waiting.reason == "insufficient_funds"
    assert waiting.missing == 500
    assert [e.kind for e in events] == [PaymentEventKind.WAITING]
    deposit = outbox.wallet.address(outbox.state.deposit_index)
    _faucet(payer, deposit, 500)
    payer.milestone()
    run_until(
        outbox,
        confirmed(payment.id),
        T0 + timedelta(minutes=2),
        milestones=payer.milestone,
    )
    assert payer.balance(address_of(BOB_SEED, 0)) == PAYER_FUNDS + 500


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"max_payment": 100}, "over_payment_cap"),
        ({"max_daily": 150}, "over_daily_cap"),
    ],
)
def test_a_payment_over_a_cap_waits_for_approval(
    payer: Payer, policy: dict[str, int], reason: str
) -> None:
    payer.policy = PaymentPolicy(receiver=receiver(), **policy)
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 120), statement(2, 40)], T0)
    assert payment is not None
    events = outbox.step(T0, "2026-12-02")
    assert status_of(outbox, payment.id) is PaymentStatus.AWAITING_APPROVAL
    assert events[0].payment.reason == reason
    for minute in range(1, 5):
        outbox.step(T0 + timedelta(minutes=minute), "2026-12-02")
    assert status_of(outbox, payment.id) is PaymentStatus.AWAITING_APPROVAL
    assert payer.balance(address_of(BOB_SEED, 0)) == 0
    outbox.approve(payment.id)
    run_until(
        outbox,
        confirmed(payment.id),
        T0 + timedelta(minutes=5),
        milestones=payer.milestone,
    )
    assert payer.balance(address_of(BOB_SEED, 0)) == 160
    with pytest.raises(ValueError, match="does not await approval"):
        outbox.approve(payment.id)
    with pytest.raises(KeyError):
        outbox.approve("P999999")


def test_a_spent_receiver_fails_the_payment_before_signing(payer: Payer) -> None:
    iota = import_pyota()
    # Bob's index 0 signs once (he spends what he got): it is spent now.
    api = iota.Iota(payer.tangle.url, seed=PAYER_SEED)
    bob0 = address_of(BOB_SEED, 0)
    _faucet(payer, bob0, 10)
    payer.milestone()
    bob = iota.Iota(payer.tangle.url, seed=BOB_SEED)
    bob.send_transfer(
        transfers=[
            iota.ProposedTransaction(
                address=iota.Address(address_of(PAYER_SEED, 5)), value=10
            )
        ],
        inputs=[iota.Address(bob0, balance=10, key_index=0, security_level=2)],
        min_weight_magnitude=TEST_MWM,
    )
    del api
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 10)], T0)
    assert payment is not None
    events = outbox.step(T0, "2026-12-02")
    failed = outbox.state.payment(payment.id)
    assert failed is not None
    assert failed.status is PaymentStatus.FAILED
    assert failed.reason == "receiver_spent"
    assert failed.inputs == ()
    assert failed.bundle_hash is None
    assert [e.kind for e in events] == [PaymentEventKind.FAILED]
    assert outbox.state.spent_indexes == set()
    # The failed statement can be queued again (to a new receiver, say).
    again = outbox.enqueue([statement(1, 10)], T0)
    assert again is not None
    assert again.id != payment.id


@pytest.fixture
def pow_refusing_tangle(tmp_path: Path) -> Iterator[DevTangle]:
    """A node that refuses attachToTangle, as public nodes did."""
    with funded_tangle(tmp_path, limits=no_pow_limits()) as tangle:
        yield tangle


def test_local_pow_when_the_node_refuses_attach(pow_refusing_tangle: DevTangle) -> None:
    payer = Payer(pow_refusing_tangle)
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 33)], T0)
    assert payment is not None
    run_until(outbox, confirmed(payment.id), T0, milestones=payer.milestone)
    assert outbox.state.node_pow_refused is True
    assert payer.balance(address_of(BOB_SEED, 0)) == 33


def test_node_pow_only_policy_does_not_fall_back(
    pow_refusing_tangle: DevTangle,
) -> None:
    payer = Payer(pow_refusing_tangle)
    payer.policy = PaymentPolicy(receiver=receiver(), pow_mode="node")
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 33)], T0)
    assert payment is not None
    outbox.step(T0, "2026-12-02")  # signs
    outbox.step(T0, "2026-12-02")  # attach refused
    assert status_of(outbox, payment.id) is PaymentStatus.SIGNED
    problem = outbox.node_problem
    assert problem is not None
    assert problem.last_error.kind == "refused"


def test_stale_attachment_is_reattached_with_the_same_signature(payer: Payer) -> None:
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 21)], T0)
    assert payment is not None
    now, _ = run_until(
        outbox, lambda o: status_of(o, payment.id) is PaymentStatus.BROADCAST, T0
    )
    signed = outbox.state.payment(payment.id)
    assert signed is not None
    # No milestone for 12 minutes: promoted while young, then reattached.
    for _ in range(12 * 12 + 6):
        now += timedelta(seconds=5)
        outbox.step(now, "2026-12-02")
    later = outbox.state.payment(payment.id)
    assert later is not None
    assert len(later.attachments) >= 2
    assert later.attachments[0].promotions >= 10
    assert later.signed_trytes == signed.signed_trytes
    assert later.bundle_hash == signed.bundle_hash
    run_until(outbox, confirmed(payment.id), now, milestones=payer.milestone)
    assert payer.balance(address_of(BOB_SEED, 0)) == 21
    assert len(bundles_to(payer, address_of(BOB_SEED, 0))) == 1


def test_the_change_of_a_reattached_payment_funds_the_next_one(
    payer: Payer,
) -> None:
    """The copy of a bundle that lost to its reattachment pends forever.

    Its change output sits on the wallet's remainder address as an
    unconfirmed value transfer; it must not make that address look busy once
    another copy of the same bundle is confirmed.
    """
    outbox = payer.outbox()
    first = outbox.enqueue([statement(1, 21)], T0)
    assert first is not None
    now, _ = run_until(
        outbox, lambda o: status_of(o, first.id) is PaymentStatus.BROADCAST, T0
    )
    for _ in range(12 * 12 + 6):
        now += timedelta(seconds=5)
        outbox.step(now, "2026-12-02")
    reattached = outbox.state.payment(first.id)
    assert reattached is not None
    assert len(reattached.attachments) >= 2
    now, _ = run_until(outbox, confirmed(first.id), now, milestones=payer.milestone)
    # Both copies put the change on the remainder address: one confirmed,
    # the first one still unconfirmed.
    assert reattached.remainder_index is not None
    node = LegacyNode(payer.tangle.url)
    on_remainder = node.transactions_of(
        address_of(PAYER_SEED, reattached.remainder_index)
    )
    states = node.confirmed(on_remainder)
    assert any(states)
    assert not all(states)

    second = outbox.enqueue([statement(2, 13)], now)
    assert second is not None
    run_until(outbox, confirmed(second.id), now, milestones=payer.milestone)
    assert payer.balance(address_of(BOB_SEED, 0)) == 21 + 13


def test_a_failed_write_acts_on_nothing(payer: Payer) -> None:
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 9)], T0)
    assert payment is not None
    payer.store.fail_writes = True
    with pytest.raises(OSError, match="No space"):
        outbox.step(T0, "2026-12-02")
    assert status_of(outbox, payment.id) is PaymentStatus.QUEUED
    assert outbox.state.spent_indexes == set()
    assert LegacyNode(payer.tangle.url).spent([address_of(PAYER_SEED, 0)]) == [False]
    payer.store.fail_writes = False
    run_until(outbox, confirmed(payment.id), T0, milestones=payer.milestone)


def test_statements_queued_during_an_outage_go_in_one_payment(payer: Payer) -> None:
    outbox = payer.outbox()
    first = outbox.enqueue([statement(1, 5)], T0)
    second = outbox.enqueue([statement(2, 6), statement(1, 5)], T0)
    assert first is not None
    assert second is not None
    assert second.id == first.id
    assert second.statement_ids == ("S000001", "S000002")
    assert second.amount == 11
    assert outbox.enqueue([statement(1, 5)], T0) is None
    run_until(outbox, confirmed(first.id), T0, milestones=payer.milestone)
    (bundle,) = bundles_to(payer, address_of(BOB_SEED, 0)).values()
    assert decode_bill(message_of(bundle)).amount_iota == 11


def test_node_error_kinds(tmp_path: Path) -> None:
    with pytest.raises(NodeError) as err:
        LegacyNode("http://127.0.0.1:9", timeout_s=2).balances(
            [address_of(PAYER_SEED, 0)]
        )
    assert err.value.kind == "unreachable"
    assert PAYER_SEED not in str(err.value)


def test_a_queued_payment_goes_to_the_receiver_configured_now(payer: Payer) -> None:
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 12)], T0)
    assert payment is not None
    # The user reconfigures the receiver before the payment is signed.
    bob1 = address_of(BOB_SEED, 1)
    payer.policy = PaymentPolicy(receiver=bob1)
    outbox = payer.outbox()
    run_until(outbox, confirmed(payment.id), T0, milestones=payer.milestone)
    assert payer.balance(bob1) == 12
    assert payer.balance(address_of(BOB_SEED, 0)) == 0


def test_the_first_promotion_waits_one_interval(payer: Payer) -> None:
    """A bundle the next milestone confirms needs no promotion (and no PoW)."""
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 8)], T0)
    assert payment is not None
    now, _ = run_until(
        outbox, lambda o: status_of(o, payment.id) is PaymentStatus.BROADCAST, T0
    )
    attached_at = outbox.state.payments[-1].attachments[-1].attached_at
    for seconds in range(5, 30, 5):
        outbox.step(attached_at + timedelta(seconds=seconds), DAY)
        assert outbox.state.payments[-1].attachments[-1].promotions == 0
    outbox.step(attached_at + timedelta(seconds=30), DAY)
    assert outbox.state.payments[-1].attachments[-1].promotions == 1
    del now


class _OddNode(http.server.BaseHTTPRequestHandler):
    """Answers every command with JSON of the wrong shape, or not at all."""

    silent = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.silent:
            time.sleep(3)  # longer than the wallet's timeout
        body = b'{"balances": "lots", "states": 7, "hashes": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.parametrize(("silent", "kind"), [(False, "garbage"), (True, "timeout")])
def test_a_node_answering_garbage_or_nothing_changes_nothing(
    payer: Payer, silent: bool, kind: str
) -> None:
    handler = type("Handler", (_OddNode,), {"silent": silent})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # server_close joins a request thread still sleeping past the wallet's
    # timeout (Home Assistant's harness fails a test that leaves a thread).
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        node = LegacyNode(f"http://127.0.0.1:{server.server_address[1]}/", timeout_s=1)
        wallet = LegacyWallet(PAYER_SEED, node, mwm=TEST_MWM, tag="HOTELIOTA")
        store = payer.store
        outbox = Outbox(store.load(), wallet, payer.policy, store.persist)
        payment = outbox.enqueue([statement(1, 5)], T0)
        assert payment is not None
        writes = store.writes
        assert outbox.step(T0, DAY) == []
        problem = outbox.node_problem
        assert problem is not None
        assert problem.last_error.kind == kind
        assert PAYER_SEED not in str(problem.last_error)
        assert store.writes == writes
        assert status_of(outbox, payment.id) is PaymentStatus.QUEUED
        # Backing off: the next attempt waits.
        assert problem.retry_at > T0
        assert outbox.step(T0 + timedelta(seconds=1), DAY) == []
        assert outbox.node_problem is not None
        assert outbox.node_problem.failures == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    # The real node again: the same payment goes out, once.
    again = payer.outbox()
    run_until(
        again,
        confirmed(payment.id),
        T0 + timedelta(minutes=1),
        milestones=payer.milestone,
    )
    assert payer.balance(address_of(BOB_SEED, 0)) == 5
