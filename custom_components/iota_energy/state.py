"""The in-memory state of one entry, and how it is written and read back.

Kept in one object so it is saved as one document (see storage.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .core.billing import BillingEngine
from .core.ledger import Ledger
from .core.metering import Meter
from .core.periods import Schedule
from .core.pricing import PriceTracker


@dataclass(slots=True)
class EntryState:
    """Meter, billing engine, price tracker and ledger of one config entry."""

    meter: Meter
    engine: BillingEngine
    prices: PriceTracker
    ledger: Ledger
    # Lifetime energy (J) of the meter that has already been handed to billing.
    billed_energy_j: Fraction


@dataclass(slots=True)
class LiveState:
    """The fast-changing part of the state, and the ledger document it continues."""

    meter: Meter
    engine: BillingEngine
    prices: PriceTracker
    billed_energy_j: Fraction
    ledger_revision: int

    def continuing(self, closed: EntryState) -> EntryState:
        """The state as of the last close, brought up to date by this one."""
        return EntryState(
            meter=self.meter,
            engine=self.engine,
            prices=self.prices,
            ledger=closed.ledger,
            billed_energy_j=self.billed_energy_j,
        )


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
            meter=Meter(max_gap_s=self.max_gap_s),
            engine=BillingEngine(self.schedule, min_payment_iota=self.min_payment_iota),
            prices=PriceTracker(self.static_price, uses_entity=self.uses_price_entity),
            ledger=Ledger(),
            billed_energy_j=Fraction(0),
        )

    def encode(self, state: EntryState) -> dict[str, Any]:
        """JSON-able, exact document of the whole state."""
        return self.encode_live(state) | {"ledger": state.ledger.to_dict()}

    def encode_live(self, state: EntryState) -> dict[str, Any]:
        """The fast-changing part only: everything but the ledger.

        Written every save interval, so the ledger is not even serialised.
        """
        return {
            "meter": state.meter.export_state(),
            "billing": state.engine.export_state(),
            "prices": state.prices.export_state(),
            "billed_energy_j": _fraction_text(state.billed_energy_j),
        }

    def decode(self, data: dict[str, Any]) -> EntryState:
        """Rebuild the whole state; raise ValueError on anything malformed."""
        live = self._decode_parts(data)
        return EntryState(
            meter=live.meter,
            engine=live.engine,
            prices=live.prices,
            ledger=Ledger.from_dict(data["ledger"]),
            billed_energy_j=live.billed_energy_j,
        )

    def decode_live(self, data: dict[str, Any]) -> LiveState:
        """Rebuild a live document; raise ValueError on anything malformed."""
        revision = data.get("ledger_revision") if isinstance(data, dict) else None
        if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
            raise ValueError("live state names no ledger revision")
        live = self._decode_parts(data)
        live.ledger_revision = revision
        return live

    def _decode_parts(self, data: dict[str, Any]) -> LiveState:
        if not isinstance(data, dict):
            raise TypeError("state is not an object")
        billed = Fraction(str(data["billed_energy_j"]))
        if billed < 0:
            raise ValueError("billed energy is negative")
        return LiveState(
            meter=Meter.from_state(data["meter"], max_gap_s=self.max_gap_s),
            engine=BillingEngine(
                self.schedule,
                min_payment_iota=self.min_payment_iota,
                state=data["billing"],
            ),
            prices=PriceTracker.from_state(
                self.static_price,
                data["prices"],
                uses_entity=self.uses_price_entity,
            ),
            billed_energy_j=billed,
            ledger_revision=0,
        )


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"
