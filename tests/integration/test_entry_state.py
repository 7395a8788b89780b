"""The entry's state as documents: built with the entry's settings, read back exactly.

StateFactory alone: a new state takes every setting of the entry; a state
written and read back (through JSON, as on disk) is the same state, with the
settings that are not stored (gap length, minimum payment, schedule, price
entity) taken from the entry again; a live document names the ledger it
continues, and malformed documents are refused with the field named.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
import json
import re
from typing import Any

import pytest

from custom_components.iota_energy.core.billing import BillingEngine
from custom_components.iota_energy.core.energy_account import (
    EnergyAccount,
    PeriodStart,
)
from custom_components.iota_energy.core.ledger import Ledger
from custom_components.iota_energy.core.metering import Meter
from custom_components.iota_energy.core.periods import FixedLengthSchedule
from custom_components.iota_energy.core.pricing import PriceTracker
from custom_components.iota_energy.persistence.entry_state import (
    EntryState,
    StateFactory,
)

START = datetime(2025, 6, 1, tzinfo=UTC)
SCHEDULE = FixedLengthSchedule(timedelta(minutes=15))
FACTORY = StateFactory(
    schedule=SCHEDULE,
    min_payment_iota=7,
    static_price=Fraction(720_000_000),
    uses_price_entity=True,
    max_gap_s=2.5,
)


def lived_state() -> EntryState:
    """A state with something in every part: statements, energy, prices, totals."""
    account = EnergyAccount(
        Meter(max_gap_s=FACTORY.max_gap_s),
        BillingEngine(SCHEDULE, min_payment_iota=FACTORY.min_payment_iota),
        PriceTracker(FACTORY.static_price, uses_entity=True),
        billed_energy_j=Fraction(37, 3),
        period_start=PeriodStart(covered_ns=123_000, gaps=2, covered=True),
    )
    state = EntryState(account=account, ledger=Ledger())
    state.engine.start(START)
    quote = account.prices.update("900000000", "IOTA/kWh")
    for _ in range(3):
        state.engine.add_energy(Fraction(9, 2), quote)
        for statement in state.engine.roll(state.engine.next_boundary()):
            state.ledger.add(statement)
    state.engine.add_energy(Fraction(1, 3), quote)
    return state


def on_disk(document: dict[str, Any]) -> dict[str, Any]:
    written: dict[str, Any] = json.loads(json.dumps(document))
    return written


def test_a_new_state_takes_every_setting_of_the_entry() -> None:
    state = FACTORY.new()
    assert state.engine.schedule is SCHEDULE
    assert state.engine.min_payment_iota == 7
    assert state.account.meter.max_gap_s == 2.5
    assert state.account.prices.uses_entity is True
    assert state.ledger.statements == []
    assert state.billed_energy_j == 0
    assert state.account.period_start is None


def test_a_state_read_back_is_the_same_with_the_entrys_settings() -> None:
    state = lived_state()
    document = FACTORY.encode(state)
    restored = FACTORY.decode(on_disk(document))
    assert FACTORY.encode(restored) == document
    assert restored.ledger.statements == state.ledger.statements
    assert restored.billed_energy_j == Fraction(37, 3)
    assert restored.account.period_start == PeriodStart(123_000, 2, True)
    assert restored.engine.open_period.energy_j == Fraction(1, 3)
    # Not stored: taken from the entry's settings again.
    assert restored.engine.schedule is SCHEDULE
    assert restored.engine.min_payment_iota == 7
    assert restored.account.meter.max_gap_s == 2.5
    assert restored.account.prices.uses_entity is True
    assert restored.account.prices.export_state() == state.account.prices.export_state()


def test_a_state_from_before_period_starts_were_recorded_has_none() -> None:
    document = on_disk(FACTORY.encode(lived_state()))
    del document["period_start"]
    assert FACTORY.decode(document).account.period_start is None


@pytest.mark.parametrize("revision", [0, 1, 42])
def test_a_live_document_names_the_ledger_revision_it_continues(revision: int) -> None:
    state = lived_state()
    document = on_disk(FACTORY.encode_live(state) | {"ledger_revision": revision})
    assert "ledger" not in document
    live = FACTORY.decode_live(document)
    assert live.ledger_revision == revision
    assert live.engine.open_period.energy_j == Fraction(1, 3)
    assert live.account.meter.max_gap_s == 2.5
    continued = live.continuing(FACTORY.new())
    assert continued.account is live.account


@pytest.mark.parametrize("revision", [None, -1, True, "3", 2.0])
def test_a_live_document_without_a_revision_is_refused(revision: object) -> None:
    document = on_disk(FACTORY.encode_live(lived_state()))
    document["ledger_revision"] = revision
    with pytest.raises(ValueError, match=r"^live state names no ledger revision$"):
        FACTORY.decode_live(document)
    with pytest.raises(ValueError, match=r"^live state names no ledger revision$"):
        FACTORY.decode_live(["not", "an", "object"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("billed", "complaint"),
    [
        ("-1/3", "billed_energy_j must not be negative: '-1/3'"),
        (5, "billed_energy_j must be an exact 'n/d' string, not 5"),
    ],
)
def test_a_malformed_total_is_refused_by_name(billed: object, complaint: str) -> None:
    document = on_disk(FACTORY.encode(lived_state()))
    document["billed_energy_j"] = billed
    with pytest.raises(ValueError, match=f"^{re.escape(complaint)}$"):
        FACTORY.decode(document)
