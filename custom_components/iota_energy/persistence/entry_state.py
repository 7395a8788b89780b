"""The in-memory state of one entry, and how it is written and read back.

Kept in one object so it is saved as one document (see document_slots.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..core.billing import BillingEngine
from ..core.energy_account import EnergyAccount, PeriodStart
from ..core.ledger import Ledger
from ..core.metering import Meter
from ..core.numbers import format_fraction, is_int, parse_fraction
from ..core.periods import Schedule
from ..core.pricing import PriceTracker


@dataclass(slots=True)
class EntryState:
    """The energy account (meter, billing, prices) and the ledger of one entry."""

    account: EnergyAccount
    ledger: Ledger

    @property
    def meter(self) -> Meter:
        return self.account.meter

    @property
    def engine(self) -> BillingEngine:
        return self.account.engine

    @property
    def prices(self) -> PriceTracker:
        return self.account.prices

    @property
    def billed_energy_j(self) -> Fraction:
        """Lifetime energy (J) of the meter that has already been handed to billing."""
        return self.account.billed_energy_j


@dataclass(slots=True)
class LiveState:
    """The fast-changing part of the state, and the ledger document it continues."""

    account: EnergyAccount
    ledger_revision: int

    @property
    def engine(self) -> BillingEngine:
        return self.account.engine

    def continuing(self, closed: EntryState) -> EntryState:
        """The state as of the last close, brought up to date by this one."""
        return EntryState(account=self.account, ledger=closed.ledger)


@dataclass(frozen=True, slots=True)
class StateFactory:
    """Builds and restores EntryState with this entry's settings."""

    schedule: Schedule
    min_payment_iota: int
    static_price: Fraction
    uses_price_entity: bool
    max_gap_s: float

    def new(self) -> EntryState:
        """A first-run state: nothing metered, nothing billed."""
        return EntryState(
            account=EnergyAccount(
                Meter(max_gap_s=self.max_gap_s),
                BillingEngine(self.schedule, min_payment_iota=self.min_payment_iota),
                PriceTracker(self.static_price, uses_entity=self.uses_price_entity),
            ),
            ledger=Ledger(),
        )

    def encode(self, state: EntryState) -> dict[str, Any]:
        """JSON-able, exact document of the whole state."""
        return self.encode_live(state) | {"ledger": state.ledger.to_dict()}

    def encode_live(self, state: EntryState) -> dict[str, Any]:
        """The fast-changing part only: everything but the ledger.

        Written every save interval, so the ledger is not even serialised.
        """
        account = state.account
        return {
            "meter": account.meter.export_state(),
            "billing": account.engine.export_state(),
            "prices": account.prices.export_state(),
            "billed_energy_j": format_fraction(account.billed_energy_j),
        } | account.export_state()

    def decode(self, data: dict[str, Any]) -> EntryState:
        """Rebuild the whole state; raise ValueError on anything malformed."""
        live = self._decode_parts(data)
        return EntryState(account=live.account, ledger=Ledger.from_dict(data["ledger"]))

    def decode_live(self, data: dict[str, Any]) -> LiveState:
        """Rebuild a live document; raise ValueError on anything malformed."""
        revision = data.get("ledger_revision") if isinstance(data, dict) else None
        if not is_int(revision) or revision < 0:
            raise ValueError("live state names no ledger revision")
        live = self._decode_parts(data)
        live.ledger_revision = revision
        return live

    def _decode_parts(self, data: dict[str, Any]) -> LiveState:
        # Both callers have checked that ``data`` is an object.
        billed = parse_fraction(
            data["billed_energy_j"], "billed_energy_j", nonnegative=True
        )
        # Absent from state written before the period's start was recorded.
        start = data.get("period_start")
        account = EnergyAccount(
            Meter.from_state(data["meter"], max_gap_s=self.max_gap_s),
            BillingEngine(
                self.schedule,
                min_payment_iota=self.min_payment_iota,
                state=data["billing"],
            ),
            PriceTracker.from_state(
                self.static_price,
                data["prices"],
                uses_entity=self.uses_price_entity,
            ),
            billed_energy_j=billed,
            period_start=None if start is None else PeriodStart.from_dict(start),
        )
        return LiveState(account=account, ledger_revision=0)
