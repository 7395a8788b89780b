"""Settled payments leave the outbox's document; nothing owed goes with them.

Real PyOTA paying into a running devtangle over HTTP, with a history of two
finished payments so that a few payments cross the pruning boundary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json

from custom_components.iota_energy.core.outbox import Outbox, PaymentPolicy
from custom_components.iota_energy.core.payments import PaymentStatus

from .conftest import (
    BOB_SEED,
    DAY,
    PAYER_SEED,
    T0,
    Payer,
    address_of,
    receiver,
    run_until,
    statement,
)
from .test_outbox import bundles_to, confirmed, status_of

HISTORY = 2
PAYMENTS = 6
DUES = [10 + n for n in range(1, PAYMENTS + 1)]


def pay_all(payer: Payer, outbox: Outbox) -> tuple[datetime, list[int], set[int]]:
    """Pay ``DUES`` one after the other; the stored size and inputs of each."""
    now = T0
    sizes: list[int] = []
    signed_from: list[int] = []
    for number, due in enumerate(DUES, start=1):
        payment = outbox.enqueue([statement(number, due)], now)
        assert payment is not None
        now, _ = run_until(
            outbox, confirmed(payment.id), now, milestones=payer.milestone
        )
        done = outbox.state.payment(payment.id)
        assert done is not None
        signed_from += [index for index, _ in done.inputs]
        assert payer.store.text is not None
        sizes.append(len(payer.store.text))
        now += timedelta(seconds=5)
    assert len(signed_from) == len(set(signed_from)), "an index signed twice"
    return now, sizes, set(signed_from)


def test_settled_payments_leave_the_document_and_nothing_owed_goes_with_them(
    payer: Payer,
) -> None:
    """Bounded document; after a restart nothing is paid twice, the cap holds."""
    payer.history = HISTORY
    payer.policy = PaymentPolicy(receiver=receiver(), max_daily=sum(DUES) + 5)
    outbox = payer.outbox()
    now, sizes, signed_from = pay_all(payer, outbox)

    stored = json.loads(payer.store.text or "")
    kept = stored["payments"]
    assert [p["id"] for p in kept] == ["P000005", "P000006"]
    assert all(not p["signed_trytes"] and not p["attached_trytes"] for p in kept)
    assert all(p["message"] == "" for p in kept)
    # What the pruned payments leave behind: the sums and the keys signed from.
    assert stored["paid_total"] == sum(DUES)
    assert stored["sent_by_day"] == {DAY: sum(DUES)}
    assert signed_from <= {
        i for first, last in stored["spent_ranges"] for i in range(first, last + 1)
    }
    # Once the history is full the size stops growing with the payments: a
    # settled payment here is about 700 bytes, one with its trytes 10 kB.
    assert max(sizes[HISTORY:]) - min(sizes[HISTORY:]) < 300, sizes
    bob = address_of(BOB_SEED, 0)
    assert payer.balance(bob) == sum(DUES)
    bundles = set(bundles_to(payer, bob))
    assert len(bundles) == PAYMENTS

    restarted = payer.outbox()  # reads the pruned document
    assert restarted.state == outbox.state
    writes = payer.store.writes
    for _ in range(20):
        assert restarted.step(now, DAY) == []
        payer.milestone()
        now += timedelta(seconds=5)
    assert payer.store.writes == writes, "nothing to do, nothing written"
    assert set(bundles_to(payer, bob)) == bundles

    # Six payments today, four of them pruned: 5 i more is the cap's limit.
    over = restarted.enqueue([statement(PAYMENTS + 1, 6)], now)
    assert over is not None
    events = restarted.step(now, DAY)
    assert status_of(restarted, over.id) is PaymentStatus.AWAITING_APPROVAL
    assert events[0].payment.reason == "over_daily_cap"
    restarted = payer.outbox()
    assert status_of(restarted, over.id) is PaymentStatus.AWAITING_APPROVAL
    restarted.approve(over.id)
    run_until(restarted, confirmed(over.id), now, milestones=payer.milestone)
    assert payer.balance(bob) == sum(DUES) + 6
    last = restarted.state.payment(over.id)
    assert last is not None
    assert not {index for index, _ in last.inputs} & signed_from
    assert restarted.state.sent_by_day == {DAY: sum(DUES) + 6}
    assert [p.id for p in restarted.state.payments] == ["P000006", "P000007"]
    assert payer.balance(address_of(PAYER_SEED, 0)) == 0
