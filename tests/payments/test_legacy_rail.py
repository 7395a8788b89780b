"""The outbox through the legacy rail: documents from before the rail interface.

``fixtures/outbox_v1_signed.json`` was written by the outbox as it was before
it drove a :class:`~custom_components.iota_energy.core.rail.Rail` (commit
05cfdbf), against a devtangle with this module's genesis: payment P000001
(12 i) signed from index 0 with its remainder reserved at index 1, stored and
not yet attached; P000002 (11 i) queued behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json
from pathlib import Path

from custom_components.iota_energy.core.legacy_rail import LegacyRail
from custom_components.iota_energy.core.outbox import Outbox
from custom_components.iota_energy.core.payments import OutboxState, PaymentStatus
from custom_components.iota_energy.core.rail import Progress, RailName

from .conftest import (
    BOB_SEED,
    DAY,
    PAYER_FUNDS,
    PAYER_SEED,
    T0,
    Payer,
    address_of,
    run_until,
    statement,
)
from .test_outbox import bundles_to

STORED = Path(__file__).parent / "fixtures" / "outbox_v1_signed.json"


def stored_text() -> str:
    return STORED.read_text(encoding="utf-8")


def all_confirmed(outbox: Outbox) -> bool:
    return all(p.status is PaymentStatus.CONFIRMED for p in outbox.state.payments)


def test_the_stored_document_is_in_the_old_shape() -> None:
    """Guard: the fixture has none of the keys the rail interface added."""
    document = json.loads(stored_text())
    assert document["version"] == 1
    for payment in document["payments"]:
        assert not {"transfer", "fee", "superseded"} & payment.keys()
    signed, queued = OutboxState.from_dict(document).payments
    assert signed.status is PaymentStatus.SIGNED
    assert signed.remainder_index == 1
    assert signed.transfer is None
    assert queued.status is PaymentStatus.QUEUED


def test_a_payment_signed_by_the_old_outbox_finishes_with_the_same_bundle(
    payer: Payer,
) -> None:
    payer.store.text = stored_text()
    stored = OutboxState.from_dict(json.loads(stored_text()))
    signed_hash = stored.payments[0].bundle_hash
    outbox = payer.outbox()
    assert isinstance(outbox.rail, LegacyRail)

    run_until(outbox, all_confirmed, T0, milestones=payer.milestone)

    first, second = outbox.state.payments
    # The very bundle signed before the upgrade, never a second one for it.
    assert first.bundle_hash == signed_hash
    assert first.transfer_id == signed_hash
    assert first.signed_trytes == ()  # dropped once confirmed, as before
    bob = address_of(BOB_SEED, 0)
    assert set(bundles_to(payer, bob)) == {signed_hash, second.bundle_hash}
    assert payer.balance(bob) == 12 + 11
    # The remainder index reserved by the old code took the change, and the
    # second payment signed from it (never from index 0 again).
    assert {index for index, _ in second.inputs} == {1}
    assert 0 not in {index for index, _ in second.inputs}
    assert second.remainder_index not in {0, 1}
    assert second.remainder_index is not None
    assert payer.balance(address_of(PAYER_SEED, second.remainder_index)) == (
        PAYER_FUNDS - 23
    )
    assert outbox.state.paid_total == 23
    assert outbox.state.sent_by_day[DAY] == 23
    # And the document written now reads back to the same state.
    assert payer.store.load() == outbox.state


def test_a_signed_bundle_is_never_dead_on_the_legacy_rail(payer: Payer) -> None:
    """W-OTS: reattached with the same trytes, never given up and re-signed."""
    outbox = payer.outbox()
    payment = outbox.enqueue([statement(1, 5)], T0)
    assert payment is not None
    seen: list[Progress] = []
    rail = outbox.rail
    assert rail.name is RailName.LEGACY
    original = rail.advance

    def watched(*args: object) -> object:
        result = original(*args)  # type: ignore[arg-type]
        seen.append(result.progress)
        return result

    rail.advance = watched  # type: ignore[method-assign]
    # No milestones for 20 minutes: promoted, then reattached; then confirmed.
    now: datetime = T0
    now, _ = run_until(
        outbox,
        lambda o: len(o.state.payments[0].attachments) >= 2,
        now,
        step=timedelta(minutes=1),
    )
    run_until(
        outbox,
        lambda o: o.state.payments[0].status is PaymentStatus.CONFIRMED,
        now,
        milestones=payer.milestone,
    )
    assert Progress.DEAD not in seen
    assert Progress.CONFIRMED in seen
    assert len(set(bundles_to(payer, address_of(BOB_SEED, 0)))) == 1
