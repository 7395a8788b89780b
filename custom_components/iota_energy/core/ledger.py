"""Statements and the ledger that keeps them.

A :class:`Statement` is one closed billing period: the energy measured in it,
the price slices that energy was charged at, what it cost (exactly), the
integer IOTA made due, and the fraction carried to the next period. Its
amounts never change after closing; only its payment state and payment record
do (payments themselves are another module's business).

The ledger serializes to a versioned JSON-able dict. :meth:`Ledger.from_dict`
migrates older versions and validates every field; on any defect it raises
:class:`LedgerFormatError` and never returns a partial ledger, so the shell can
keep the unreadable file aside instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace as dataclass_replace
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from fractions import Fraction
import math
from typing import Any

from .numbers import format_fraction, is_int, parse_fraction
from .pricing import (
    FLAGGED_SOURCES,
    JOULES_PER_KWH,
    JOULES_PER_WH,
    PRICE_SOURCES,
    format_decimal,
)

SCHEMA_VERSION = 1
# Digits shown after the decimal point in event data (the exact value rides along).
DISPLAY_IOTA_PLACES = 6
DISPLAY_ENERGY_WH_PLACES = 6


class LedgerFormatError(ValueError):
    """Persisted billing data is malformed, from the future, or inconsistent."""


class PaymentState(StrEnum):
    """Where a statement's payment stands (transitions live in the payments code)."""

    NOTHING_DUE = "nothing_due"
    DUE = "due"
    SENDING = "sending"
    PAID = "paid"
    FAILED = "failed"


# Statements whose IOTA are owed but not yet settled: never pruned.
UNSETTLED_STATES = frozenset(
    {PaymentState.DUE, PaymentState.SENDING, PaymentState.FAILED}
)


@dataclass(frozen=True, slots=True)
class PriceSlice:
    """Energy charged at one price from one price source."""

    iota_per_kwh: Fraction
    energy_j: Fraction
    source: str

    def __post_init__(self) -> None:
        _require_fraction(self.iota_per_kwh, "iota_per_kwh")
        _require_fraction(self.energy_j, "energy_j")
        if self.iota_per_kwh < 0 or self.energy_j < 0:
            raise ValueError(f"a slice's price and energy are >= 0: {self!r}")
        if self.source not in PRICE_SOURCES:
            raise ValueError(f"unknown price source {self.source!r}")

    @property
    def owed(self) -> Fraction:
        """IOTA owed for this slice: energy in kWh times the price, exact."""
        return self.energy_j * self.iota_per_kwh / JOULES_PER_KWH

    def to_dict(self) -> dict[str, Any]:
        return {
            "iota_per_kwh": format_fraction(self.iota_per_kwh),
            "energy_j": format_fraction(self.energy_j),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: object) -> PriceSlice:
        fields = _require_keys(data, {"iota_per_kwh", "energy_j", "source"}, "slice")
        source = fields["source"]
        if not isinstance(source, str):
            raise ValueError(f"slice source must be a string: {source!r}")
        return cls(
            iota_per_kwh=parse_fraction(fields["iota_per_kwh"], "iota_per_kwh"),
            energy_j=parse_fraction(fields["energy_j"], "energy_j"),
            source=source,
        )


def price_flags_of(slices: Iterable[PriceSlice]) -> tuple[str, ...]:
    """The flagged price sources used by ``slices``, sorted, once each."""
    return tuple(sorted({s.source for s in slices} & FLAGGED_SOURCES))


@dataclass(frozen=True, slots=True)
class Statement:
    """One closed billing period. Construction checks every invariant.

    ``periods_covered`` is 1, or more for a statement that stands for several
    consecutive periods Home Assistant missed entirely (see the billing
    engine's catch-up). ``payment`` is reserved for the payments code.
    """

    id: str
    period_start: datetime
    period_end: datetime
    closed_at: datetime
    energy_j: Fraction
    slices: tuple[PriceSlice, ...]
    owed: Fraction
    carried_in: Fraction
    due_iota: int
    carried_out: Fraction
    complete: bool
    price_flags: tuple[str, ...]
    payment_state: PaymentState
    payment: Mapping[str, Any] | None = None
    periods_covered: int = 1
    # Seconds of the period the meter actually covered; None when unknown
    # (statements written before it was recorded).
    covered_seconds: float | None = None

    # One check per field, in field order: a flat list is easier to audit than helpers.
    def __post_init__(self) -> None:  # noqa: C901, PLR0912
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("a statement id is a non-empty string")
        for name in ("period_start", "period_end", "closed_at"):
            # Held in UTC, like Period: same-zone comparisons would ignore fold.
            object.__setattr__(self, name, _require_aware(getattr(self, name), name))
        if not self.period_start < self.period_end:
            raise ValueError("a statement's period must end after it starts")
        for name in ("energy_j", "owed", "carried_in", "carried_out"):
            _require_fraction(getattr(self, name), name)
        if not isinstance(self.slices, tuple) or not all(
            isinstance(s, PriceSlice) for s in self.slices
        ):
            raise ValueError("slices must be a tuple of PriceSlice")
        if self.energy_j != sum((s.energy_j for s in self.slices), Fraction(0)):
            raise ValueError("energy_j must equal the sum of the slices' energy")
        if self.owed != sum((s.owed for s in self.slices), Fraction(0)):
            raise ValueError("owed must equal the sum of the slices' cost")
        if self.carried_in < 0 or self.carried_out < 0:
            raise ValueError("carried amounts are never negative")
        if not is_int(self.due_iota) or self.due_iota < 0:
            raise ValueError(f"due_iota is an int >= 0, not {self.due_iota!r}")
        if self.carried_in + self.owed != self.due_iota + self.carried_out:
            raise ValueError("carried_in + owed must equal due_iota + carried_out")
        if not isinstance(self.complete, bool):
            raise ValueError("complete must be a bool")
        if self.covered_seconds is not None and (
            isinstance(self.covered_seconds, bool)
            or not isinstance(self.covered_seconds, int | float)
            or not 0 <= self.covered_seconds < math.inf
        ):
            raise ValueError(f"covered_seconds is >= 0: {self.covered_seconds!r}")
        if self.price_flags != price_flags_of(self.slices):
            raise ValueError("price_flags must list the flagged sources of the slices")
        if not isinstance(self.payment_state, PaymentState):
            raise ValueError(f"unknown payment state {self.payment_state!r}")
        # No zero-value payment: nothing due <=> NOTHING_DUE.
        if (self.due_iota == 0) != (self.payment_state is PaymentState.NOTHING_DUE):
            raise ValueError(
                f"payment state {self.payment_state} does not fit due {self.due_iota}"
            )
        if self.payment is not None and not (
            isinstance(self.payment, Mapping)
            and all(isinstance(k, str) for k in self.payment)
        ):
            raise ValueError("payment must be a mapping with string keys, or None")
        if not is_int(self.periods_covered) or self.periods_covered < 1:
            raise ValueError("periods_covered is an int >= 1")

    @property
    def energy_wh(self) -> Fraction:
        return self.energy_j / JOULES_PER_WH

    @property
    def energy_kwh(self) -> Fraction:
        return self.energy_j / JOULES_PER_KWH

    @property
    def settled(self) -> bool:
        return self.payment_state not in UNSETTLED_STATES

    def with_payment(
        self, state: PaymentState, payment: Mapping[str, Any] | None = None
    ) -> Statement:
        """A copy with a new payment state (and payment record, if given)."""
        return dataclass_replace(
            self,
            payment_state=state,
            payment=self.payment if payment is None else dict(payment),
        )

    def to_event_data(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """JSON-able data for an event or action response.

        Times are ISO 8601 in ``tz`` (UTC if None). Numbers meant for people
        are rounded (``energy_wh`` float, ``owed_iota`` decimal string); each
        has an exact ``..._exact`` twin as ``"n/d"``.
        """
        zone = tz or UTC
        return {
            "id": self.id,
            "period_start": self.period_start.astimezone(zone).isoformat(),
            "period_end": self.period_end.astimezone(zone).isoformat(),
            "closed_at": self.closed_at.astimezone(zone).isoformat(),
            "periods_covered": self.periods_covered,
            "energy_wh": round(float(self.energy_wh), DISPLAY_ENERGY_WH_PLACES),
            "energy_wh_exact": format_fraction(self.energy_wh),
            "owed_iota": format_decimal(self.owed, DISPLAY_IOTA_PLACES),
            "owed_iota_exact": format_fraction(self.owed),
            "carried_in_iota": format_decimal(self.carried_in, DISPLAY_IOTA_PLACES),
            "carried_in_iota_exact": format_fraction(self.carried_in),
            "carried_out_iota": format_decimal(self.carried_out, DISPLAY_IOTA_PLACES),
            "carried_out_iota_exact": format_fraction(self.carried_out),
            "due_iota": self.due_iota,
            "complete": self.complete,
            "covered_seconds": self.covered_seconds,
            "price_flags": list(self.price_flags),
            "payment_state": self.payment_state.value,
            "payment": None if self.payment is None else dict(self.payment),
            "slices": [
                {
                    "iota_per_kwh": format_decimal(s.iota_per_kwh, DISPLAY_IOTA_PLACES),
                    "iota_per_kwh_exact": format_fraction(s.iota_per_kwh),
                    "energy_wh": round(
                        float(s.energy_j / JOULES_PER_WH), DISPLAY_ENERGY_WH_PLACES
                    ),
                    "energy_wh_exact": format_fraction(s.energy_j / JOULES_PER_WH),
                    "source": s.source,
                }
                for s in self.slices
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        """The persisted form: exact, JSON-able."""
        return {
            "id": self.id,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "closed_at": self.closed_at.isoformat(),
            "periods_covered": self.periods_covered,
            "energy_j": format_fraction(self.energy_j),
            "slices": [s.to_dict() for s in self.slices],
            "owed": format_fraction(self.owed),
            "carried_in": format_fraction(self.carried_in),
            "due_iota": self.due_iota,
            "carried_out": format_fraction(self.carried_out),
            "complete": self.complete,
            "price_flags": list(self.price_flags),
            "payment_state": self.payment_state.value,
            "payment": None if self.payment is None else dict(self.payment),
            "covered_seconds": self.covered_seconds,
        }

    @classmethod
    def from_dict(cls, data: object) -> Statement:
        """Read the persisted form; ValueError on any malformed field."""
        if isinstance(data, dict) and "covered_seconds" not in data:
            # Written before coverage was recorded.
            data = data | {"covered_seconds": None}
        fields = _require_keys(data, _STATEMENT_KEYS, "statement")
        covered = fields["covered_seconds"]
        if covered is not None and (
            isinstance(covered, bool) or not isinstance(covered, int | float)
        ):
            raise ValueError("covered_seconds must be a number or null")
        slices_data = fields["slices"]
        if not isinstance(slices_data, list):
            raise ValueError("slices must be a list")
        flags = fields["price_flags"]
        if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
            raise ValueError("price_flags must be a list of strings")
        payment = fields["payment"]
        if payment is not None and not isinstance(payment, dict):
            raise ValueError("payment must be an object or null")
        if not isinstance(fields["complete"], bool):
            raise ValueError("complete must be a bool")
        state = fields["payment_state"]
        if state not in PaymentState._value2member_map_:
            raise ValueError(f"unknown payment state {state!r}")
        return cls(
            id=_require_str(fields["id"], "id"),
            period_start=parse_datetime(fields["period_start"], "period_start"),
            period_end=parse_datetime(fields["period_end"], "period_end"),
            closed_at=parse_datetime(fields["closed_at"], "closed_at"),
            energy_j=parse_fraction(fields["energy_j"], "energy_j"),
            slices=tuple(PriceSlice.from_dict(s) for s in slices_data),
            owed=parse_fraction(fields["owed"], "owed"),
            carried_in=parse_fraction(fields["carried_in"], "carried_in"),
            due_iota=fields["due_iota"],
            carried_out=parse_fraction(fields["carried_out"], "carried_out"),
            complete=fields["complete"],
            price_flags=tuple(flags),
            payment_state=PaymentState(state),
            payment=payment,
            periods_covered=fields["periods_covered"],
            covered_seconds=None if covered is None else float(covered),
        )


_STATEMENT_KEYS = frozenset(
    {
        "covered_seconds",
        "id",
        "period_start",
        "period_end",
        "closed_at",
        "periods_covered",
        "energy_j",
        "slices",
        "owed",
        "carried_in",
        "due_iota",
        "carried_out",
        "complete",
        "price_flags",
        "payment_state",
        "payment",
    }
)


class Ledger:
    """Statements in the order they were closed, addressable by id."""

    __slots__ = ("_by_id", "_order")

    def __init__(self, statements: Iterable[Statement] = ()) -> None:
        self._order: list[str] = []
        self._by_id: dict[str, Statement] = {}
        for statement in statements:
            self.add(statement)

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Statement]:
        return (self._by_id[i] for i in self._order)

    @property
    def statements(self) -> list[Statement]:
        """All statements, oldest first (a copy)."""
        return list(self)

    def add(self, statement: Statement) -> None:
        if not isinstance(statement, Statement):
            raise TypeError("the ledger holds Statements")
        if statement.id in self._by_id:
            raise ValueError(f"statement {statement.id!r} is already in the ledger")
        self._order.append(statement.id)
        self._by_id[statement.id] = statement

    def get(self, statement_id: str) -> Statement | None:
        return self._by_id.get(statement_id)

    def query(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        states: Collection[PaymentState] | None = None,
        limit: int | None = None,
    ) -> list[Statement]:
        """Statements whose period overlaps ``[start, end)``, oldest first.

        ``states`` keeps only those payment states; ``limit`` keeps the newest
        ``limit`` matches (still oldest first).
        """
        if limit is not None and (not is_int(limit) or limit < 0):
            raise ValueError(f"limit is an int >= 0, not {limit!r}")
        low = None if start is None else _require_aware(start, "start")
        high = None if end is None else _require_aware(end, "end")
        wanted = None if states is None else frozenset(states)
        found = [
            s
            for s in self
            if (low is None or s.period_end > low)
            and (high is None or s.period_start < high)
            and (wanted is None or s.payment_state in wanted)
        ]
        if limit is not None:
            found = found[len(found) - limit :] if limit else []
        return found

    def outstanding_iota(self) -> int:
        """IOTA made due and not yet paid (DUE, SENDING and FAILED statements)."""
        return sum(s.due_iota for s in self if s.payment_state in UNSETTLED_STATES)

    def replace(self, statement: Statement) -> None:
        """Store a new payment state/record for an existing statement.

        Everything else about a statement is fixed when it closes; trying to
        change it raises ValueError.
        """
        current = self._by_id.get(statement.id)
        if current is None:
            raise KeyError(statement.id)
        if (
            dataclass_replace(
                statement, payment_state=current.payment_state, payment=current.payment
            )
            != current
        ):
            raise ValueError(
                f"statement {statement.id!r}: only the payment state may change"
            )
        self._by_id[statement.id] = statement

    def set_payment_state(
        self,
        statement_id: str,
        state: PaymentState,
        payment: Mapping[str, Any] | None = None,
    ) -> Statement:
        """Set a statement's payment state; ``payment`` None keeps the record."""
        current = self._by_id.get(statement_id)
        if current is None:
            raise KeyError(statement_id)
        updated = current.with_payment(state, payment)
        self._by_id[statement_id] = updated
        return updated

    def prune(self, max_statements: int) -> int:
        """Drop the oldest settled statements until at most ``max_statements``.

        Unsettled statements (DUE, SENDING, FAILED) are never dropped, so the
        ledger may stay above the bound while they exist. Returns how many
        statements were dropped.
        """
        if not is_int(max_statements) or max_statements < 0:
            raise ValueError(f"max_statements is an int >= 0, not {max_statements!r}")
        excess = len(self._order) - max_statements
        if excess <= 0:
            return 0
        kept: list[str] = []
        dropped = 0
        for statement_id in self._order:
            if dropped < excess and self._by_id[statement_id].settled:
                del self._by_id[statement_id]
                dropped += 1
            else:
                kept.append(statement_id)
        self._order = kept
        return dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "statements": [s.to_dict() for s in self],
        }

    @classmethod
    def from_dict(cls, data: object) -> Ledger:
        """Migrate and validate persisted data; LedgerFormatError on any defect."""
        current = migrate(data)
        try:
            fields = _require_keys(current, {"version", "statements"}, "ledger")
            statements = fields["statements"]
            if not isinstance(statements, list):
                raise ValueError("statements must be a list")
            parsed: list[Statement] = []
            for index, item in enumerate(statements):
                try:
                    parsed.append(Statement.from_dict(item))
                except (ValueError, TypeError) as err:
                    raise ValueError(f"statement #{index}: {err}") from err
            return cls(parsed)
        except (ValueError, TypeError) as err:
            raise LedgerFormatError(f"ledger data is invalid: {err}") from err


def _migrate_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (an early draft): nested ``period``, ``paid`` flag, fewer fields.

    Its statements looked like ``{"id", "period": {"start", "end"}, "energy_j",
    "slices", "owed", "carried_in", "due_iota", "carried_out", "complete",
    "paid": bool}``: no close time (the period end stands in), no price flags
    (derived from the slices), no payment record, one period each.
    """
    statements = data.get("statements")
    if not isinstance(statements, list):
        raise LedgerFormatError("version 0 ledger: statements must be a list")
    upgraded: list[dict[str, Any]] = []
    for index, old in enumerate(statements):
        if not isinstance(old, dict):
            raise LedgerFormatError(f"version 0 statement #{index} is not an object")
        new = dict(old)
        period = new.pop("period", None)
        paid = new.pop("paid", None)
        if not isinstance(period, dict) or not isinstance(paid, bool):
            raise LedgerFormatError(
                f"version 0 statement #{index} needs 'period' and a bool 'paid'"
            )
        new["period_start"] = period.get("start")
        new["period_end"] = period.get("end")
        new["closed_at"] = period.get("end")
        new["periods_covered"] = 1
        new["payment"] = None
        slices = new.get("slices")
        sources = (
            {s.get("source") for s in slices if isinstance(s, dict)}
            if isinstance(slices, list)
            else set()
        )
        new["price_flags"] = sorted(sources & FLAGGED_SOURCES)
        if new.get("due_iota") == 0:
            new["payment_state"] = PaymentState.NOTHING_DUE.value
        else:
            state = PaymentState.PAID if paid else PaymentState.DUE
            new["payment_state"] = state.value
        upgraded.append(new)
    return {"version": 1, "statements": upgraded}


# MIGRATIONS[n] turns version n into version n + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _migrate_0_to_1,
}


def migrate(data: object) -> dict[str, Any]:
    """Upgrade persisted ledger data to :data:`SCHEMA_VERSION`, step by step.

    Data without a ``version`` key is version 0. Does not modify ``data``.
    Raises LedgerFormatError for non-objects, unknown or future versions.
    """
    if not isinstance(data, dict):
        raise LedgerFormatError(f"ledger data must be an object, not {type(data)}")
    version = data.get("version", 0)
    if not is_int(version) or version < 0:
        raise LedgerFormatError(f"ledger version must be an int >= 0: {version!r}")
    if version > SCHEMA_VERSION:
        raise LedgerFormatError(
            f"ledger version {version} is newer than this code ({SCHEMA_VERSION})"
        )
    current = dict(data)
    while version < SCHEMA_VERSION:
        current = MIGRATIONS[version](current)
        version += 1
        current["version"] = version
    return current


def parse_datetime(text: object, name: str) -> datetime:
    """An ISO 8601 timestamp with an offset, as a UTC datetime."""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be an ISO 8601 string, not {text!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"{name} is not an ISO 8601 timestamp: {text!r}") from err
    return _require_aware(moment, name)


def _require_aware(moment: object, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime: {moment!r}")
    return moment.astimezone(UTC)


def _require_fraction(value: object, name: str) -> None:
    if not isinstance(value, Fraction):
        raise ValueError(f"{name} must be a Fraction, not {type(value).__name__}")


def _require_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {value!r}")
    return value


def _require_keys(data: object, keys: Collection[str], what: str) -> dict[str, Any]:
    """``data`` as a dict with exactly ``keys``; ValueError naming what is off."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be an object, not {type(data).__name__}")
    missing = set(keys) - set(data)
    unknown = set(data) - set(keys)
    if missing or unknown:
        raise ValueError(
            f"{what} fields: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    return data
