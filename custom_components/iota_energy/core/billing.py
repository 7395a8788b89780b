"""The billing engine: energy in, statements out, exact money throughout.

Energy is added to the open period together with the price in force when it
was measured, so a varying price is applied time-weighted, slice by slice.
When a period closes, what it cost is added to the carry (owed but not yet
made due) and the whole IOTA of that sum become due::

    total = carry_in + owed                       (exact Fraction)
    due   = floor(total) if floor(total) >= min_payment_iota else 0
    carry_out = total - due                       (exact, 0 <= carry_out)

so no fraction of an IOTA is ever discarded, no payment is smaller than the
minimum (never a zero-value payment), and the carry always stays below the
minimum payment. Summed over any run of periods:
``sum(due) + final carry == initial carry + sum(owed)`` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
import math
from typing import Any

from .ledger import (
    LedgerFormatError,
    PaymentState,
    PriceSlice,
    Statement,
    parse_datetime,
    price_flags_of,
)
from .numbers import format_fraction, is_int, parse_fraction
from .periods import Period, Schedule, count_periods, require_aware
from .pricing import PriceQuote

__all__ = [
    "STATE_VERSION",
    "BillingEngine",
    "OpenPeriod",
    "PriceSlice",
]

STATE_VERSION = 1

# Up to this many periods missed entirely (Home Assistant down) get one
# statement each; a longer outage is summed up in one statement.
MAX_SEPARATE_MISSED_PERIODS = 100


class OpenPeriod:
    """The period being metered: its energy, split into price slices.

    ``complete`` turns False as soon as metering was interrupted within it
    (Home Assistant started after its start, or the shell reports a gap).
    ``covered_seconds``, set by whoever meters (the energy account) before the
    period closes, goes into the statement.
    """

    __slots__ = ("_slices", "complete", "covered_seconds", "period")

    def __init__(
        self,
        period: Period,
        *,
        complete: bool = True,
        slices: tuple[PriceSlice, ...] = (),
    ) -> None:
        self.period = period
        self.complete = complete
        self.covered_seconds: float | None = None
        self._slices: list[PriceSlice] = list(slices)

    @property
    def slices(self) -> tuple[PriceSlice, ...]:
        return tuple(self._slices)

    @property
    def energy_j(self) -> Fraction:
        return sum((s.energy_j for s in self._slices), Fraction(0))

    def add_energy(self, energy_j: Fraction | int, quote: PriceQuote) -> None:
        """Charge ``energy_j`` joules at ``quote``.

        Consecutive energy at the same price from the same source merges into
        one slice, so a static price keeps one slice per period. Zero energy
        adds nothing. Negative energy raises ValueError; floats raise TypeError
        (convert measurements with ``Fraction(x)`` deliberately).
        """
        energy = _exact(energy_j, "energy_j")
        if energy < 0:
            raise ValueError(f"energy is never negative: {energy}")
        if not isinstance(quote, PriceQuote):
            raise TypeError("quote must be a PriceQuote")
        if energy == 0:
            return
        last = self._slices[-1] if self._slices else None
        if (
            last is not None
            and last.iota_per_kwh == quote.iota_per_kwh
            and last.source == quote.source
        ):
            self._slices[-1] = PriceSlice(
                last.iota_per_kwh, last.energy_j + energy, last.source
            )
        else:
            self._slices.append(PriceSlice(quote.iota_per_kwh, energy, quote.source))

    def owed(self) -> Fraction:
        """IOTA owed for the energy so far: sum of energy (kWh) x price, exact."""
        return sum((s.owed for s in self._slices), Fraction(0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "complete": self.complete,
            "slices": [s.to_dict() for s in self._slices],
        }


@dataclass(frozen=True, slots=True)
class _Restored:
    start: datetime
    complete: bool
    slices: tuple[PriceSlice, ...]
    carry: Fraction
    next_seq: int


class BillingEngine:
    """Turns metered energy into statements along a schedule.

    Life cycle: build it (fresh, or from :meth:`export_state`), call
    :meth:`start` once with the current time, then :meth:`add_energy` as
    energy is measured and :meth:`roll` at (or after) :meth:`next_boundary`.
    Call ``roll(now)`` before adding energy measured after a boundary, so the
    energy lands in the right period. Persist :meth:`export_state` together
    with the statements each call returns.

    The open period runs from its durable start to the schedule's next
    boundary after that start, ``schedule.period_at(start).end``; so after a
    manual close, or a schedule change in the options, the engine falls back
    into step with the schedule at the next boundary.
    """

    __slots__ = (
        "_carry",
        "_min_payment",
        "_next_seq",
        "_open",
        "_restored",
        "_schedule",
        "_started",
    )

    def __init__(
        self,
        schedule: Schedule,
        *,
        min_payment_iota: int = 1,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        if not is_int(min_payment_iota) or min_payment_iota < 1:
            raise ValueError(f"min_payment_iota is an int >= 1: {min_payment_iota!r}")
        self._schedule = schedule
        self._min_payment = min_payment_iota
        self._carry = Fraction(0)
        self._next_seq = 1
        self._open: OpenPeriod | None = None
        self._started = False
        self._restored = None if state is None else _parse_state(state)
        if self._restored is not None:
            self._carry = self._restored.carry
            self._next_seq = self._restored.next_seq
            self._open = OpenPeriod(
                self._period_from(self._restored.start),
                complete=self._restored.complete,
                slices=self._restored.slices,
            )

    @classmethod
    def from_state(
        cls,
        schedule: Schedule,
        state: Mapping[str, Any],
        *,
        min_payment_iota: int = 1,
    ) -> BillingEngine:
        """Restore an engine from :meth:`export_state` (LedgerFormatError if bad)."""
        return cls(schedule, min_payment_iota=min_payment_iota, state=state)

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    @property
    def min_payment_iota(self) -> int:
        return self._min_payment

    @property
    def carry(self) -> Fraction:
        """IOTA owed by closed periods but not yet made due (< min payment)."""
        return self._carry

    @property
    def open_period(self) -> OpenPeriod:
        if self._open is None:
            raise RuntimeError("the billing engine has not been started")
        return self._open

    @property
    def next_statement_number(self) -> int:
        """Sequence number the next statement's id will carry."""
        return self._next_seq

    @property
    def started(self) -> bool:
        return self._started

    def next_boundary(self) -> datetime:
        """When the open period ends (UTC)."""
        return self.open_period.period.end

    def start(self, now: datetime) -> list[Statement]:
        """Catch up after start-up; returns the statements closed (oldest first).

        * Fresh engine: opens the period containing ``now``, complete only if
          ``now`` is exactly its start.
        * Restored engine: Home Assistant was not metering while it was down,
          so the restored period is incomplete. If it ended before ``now`` it
          is closed with the energy measured in it; periods missed entirely
          are closed as incomplete, zero-energy statements, one each, or one
          for the whole span beyond MAX_SEPARATE_MISSED_PERIODS
          (``periods_covered`` says how many); then the current period
          opens, incomplete.
        * A restored period that starts after ``now`` (the clock went back) is
          kept as it is, incomplete; it closes when the clock reaches its end.
        """
        instant = require_aware(now, "now")
        if self._started:
            raise RuntimeError("the billing engine was already started")
        self._started = True
        if self._open is None:
            period = self._schedule.period_at(instant)
            self._open = OpenPeriod(period, complete=instant == period.start)
            return []
        self._open.complete = False
        return self._catch_up(instant, interrupted=True)

    def add_energy(self, energy_j: Fraction | int, quote: PriceQuote) -> None:
        """Add energy measured now, at the price in force now, to the open period."""
        self._require_started()
        self.open_period.add_energy(energy_j, quote)

    def mark_incomplete(self) -> None:
        """Record that metering missed part of the open period (e.g. a sensor gap)."""
        self.open_period.complete = False

    def roll(self, now: datetime) -> list[Statement]:
        """Close every period whose end is at or before ``now``.

        Normally that is the open period alone. If whole periods passed
        without a roll (the machine was suspended, the clock jumped), they
        are closed as incomplete statements, as in :meth:`start`.
        """
        self._require_started()
        return self._catch_up(require_aware(now, "now"), interrupted=False)

    def close_now(self, now: datetime) -> Statement:
        """Close the open period early, at ``now`` (a manual close).

        The next period runs from ``now`` to the schedule's next boundary, so
        the schedule stays aligned. ``now`` must lie strictly inside the open
        period: call :meth:`roll` first; if it closed a period ending exactly
        at ``now`` there is nothing left to close (ValueError).
        """
        self._require_started()
        instant = require_aware(now, "now")
        current = self.open_period
        if not current.period.start < instant < current.period.end:
            raise ValueError(
                f"close_now({instant.isoformat()}) must fall strictly inside the "
                f"open period {current.period.start.isoformat()} .. "
                f"{current.period.end.isoformat()}; call roll(now) first"
            )
        closed = self._close(
            current, Period(current.period.start, instant), closed_at=instant
        )
        self._open = OpenPeriod(self._period_from(instant), complete=True)
        return closed

    def export_state(self) -> dict[str, Any]:
        """Everything needed to resume exactly: open period, carry, next id."""
        current = self.open_period
        return {
            "version": STATE_VERSION,
            "open_period": current.to_dict(),
            "carry": format_fraction(self._carry),
            "next_seq": self._next_seq,
        }

    def _catch_up(self, now: datetime, *, interrupted: bool) -> list[Statement]:
        """Close the open period if it ended by ``now``; open the next one.

        ``interrupted`` says metering stopped before ``now`` (a restart), so a
        period opened after its start is incomplete.
        """
        current = self.open_period
        ended = current.period.end
        if ended > now:
            return []
        closed = [self._close(current, current.period, closed_at=now)]
        # ``ended`` is a boundary of the schedule, so ``resume.start >= ended``.
        resume = self._schedule.period_at(now)
        if resume.start > ended:
            closed.extend(self._close_missed(Period(ended, resume.start), now))
            interrupted = True
        self._open = OpenPeriod(resume, complete=not interrupted or now == resume.start)
        return closed

    def _close_missed(self, span: Period, now: datetime) -> list[Statement]:
        """Statements for periods no one metered: zero energy, incomplete.

        Up to MAX_SEPARATE_MISSED_PERIODS each missed period gets its own
        statement (three days down with daily billing: three statements);
        beyond that, one statement covers the whole span and says how many
        periods it stands for, so a month down with 60 s periods does not
        flood the ledger with 43 200 empty statements.
        """
        periods: list[Period] = []
        start = span.start
        while start < span.end and len(periods) <= MAX_SEPARATE_MISSED_PERIODS:
            period = Period(start, min(self._schedule.period_at(start).end, span.end))
            periods.append(period)
            start = period.end
        if len(periods) > MAX_SEPARATE_MISSED_PERIODS:
            covered = count_periods(self._schedule, span.start, span.end)
            periods = [span]
        else:
            covered = 1
        missed = []
        for period in periods:
            nobody = OpenPeriod(period, complete=False)
            nobody.covered_seconds = 0.0
            missed.append(nobody)
        return [
            self._close(
                nobody,
                nobody.period,
                closed_at=now,
                covered=covered,
            )
            for nobody in missed
        ]

    def _close(
        self,
        source: OpenPeriod,
        period: Period,
        *,
        closed_at: datetime,
        covered: int = 1,
    ) -> Statement:
        owed = source.owed()
        carried_in = self._carry
        total = carried_in + owed
        whole = math.floor(total)
        due = whole if whole >= self._min_payment else 0
        statement = Statement(
            id=self._new_id(period.start),
            period_start=period.start,
            period_end=period.end,
            closed_at=closed_at,
            energy_j=source.energy_j,
            slices=source.slices,
            owed=owed,
            carried_in=carried_in,
            due_iota=due,
            carried_out=total - due,
            complete=source.complete,
            price_flags=price_flags_of(source.slices),
            payment_state=PaymentState.DUE if due else PaymentState.NOTHING_DUE,
            periods_covered=max(1, covered),
            covered_seconds=source.covered_seconds,
        )
        self._carry = statement.carried_out
        return statement

    def _new_id(self, period_start: datetime) -> str:
        # The sequence makes ids unique; the start keeps them unique even if
        # the engine state were lost while an old ledger survived.
        statement_id = f"{self._next_seq:08d}-{period_start:%Y%m%dT%H%M%S}Z"
        self._next_seq += 1
        return statement_id

    def _period_from(self, start: datetime) -> Period:
        return Period(start, self._schedule.period_at(start).end)

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError("call start(now) before using the billing engine")


def _parse_state(state: Mapping[str, Any]) -> _Restored:
    try:
        if not isinstance(state, Mapping):
            raise ValueError("billing state must be an object")
        if set(state) != {"version", "open_period", "carry", "next_seq"}:
            raise ValueError(f"billing state keys: {sorted(state)}")
        if state["version"] != STATE_VERSION:
            raise ValueError(f"unsupported billing state version {state['version']!r}")
        open_data = state["open_period"]
        if not isinstance(open_data, Mapping) or set(open_data) != {
            "start",
            "end",
            "complete",
            "slices",
        }:
            raise ValueError(f"open_period is malformed: {open_data!r}")
        if not isinstance(open_data["complete"], bool):
            raise ValueError("open_period.complete must be a bool")
        slices_data = open_data["slices"]
        if not isinstance(slices_data, list):
            raise ValueError("open_period.slices must be a list")
        carry = parse_fraction(state["carry"], "carry")
        if carry < 0:
            raise ValueError(f"carry is never negative: {carry}")
        next_seq = state["next_seq"]
        if not is_int(next_seq) or next_seq < 1:
            raise ValueError(f"next_seq is an int >= 1: {next_seq!r}")
        # The stored end is informative only: the schedule decides the end.
        parse_datetime(open_data["end"], "open_period.end")
        return _Restored(
            start=parse_datetime(open_data["start"], "open_period.start"),
            complete=open_data["complete"],
            slices=tuple(PriceSlice.from_dict(s) for s in slices_data),
            carry=carry,
            next_seq=next_seq,
        )
    except (ValueError, TypeError) as err:
        raise LedgerFormatError(f"billing state is invalid: {err}") from err


def _exact(value: object, name: str) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if is_int(value):
        return Fraction(value)
    raise TypeError(f"{name} must be a Fraction or int, not {type(value).__name__}")
