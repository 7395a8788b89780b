"""Statements and the ledger: invariants, queries, pruning, strict persistence."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import json
import math
import re
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.ledger import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Ledger,
    LedgerFormatError,
    PaymentState,
    PriceSlice,
    Statement,
    migrate,
    price_flags_of,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
PRICE = Fraction(720_000_000)


def make_statement(
    number: int,
    *,
    slices: tuple[PriceSlice, ...] = (),
    carried_in: Fraction = Fraction(0),
    min_payment: int = 1,
    paid: bool = False,
    complete: bool = True,
) -> Statement:
    """A statement closed the way the billing rule closes one."""
    owed = sum((s.owed for s in slices), Fraction(0))
    total = carried_in + owed
    due = math.floor(total) if math.floor(total) >= min_payment else 0
    if due == 0:
        state = PaymentState.NOTHING_DUE
    else:
        state = PaymentState.PAID if paid else PaymentState.DUE
    start = T0 + timedelta(minutes=number)
    return Statement(
        id=f"s{number}",
        period_start=start,
        period_end=start + timedelta(minutes=1),
        closed_at=start + timedelta(minutes=1, seconds=2),
        energy_j=sum((s.energy_j for s in slices), Fraction(0)),
        slices=slices,
        owed=owed,
        carried_in=carried_in,
        due_iota=due,
        carried_out=total - due,
        complete=complete,
        price_flags=price_flags_of(slices),
        payment_state=state,
    )


def joules(millijoules: int) -> Fraction:
    return Fraction(millijoules, 1000)


def test_statement_energy_units_and_slice_cost() -> None:
    piece = PriceSlice(PRICE, joules(3_600), "static")  # 3.6 J = 1 mWh
    assert piece.owed == Fraction(720)  # 1e-6 kWh x 720e6 IOTA/kWh
    statement = make_statement(1, slices=(piece,))
    assert statement.energy_wh == Fraction(1, 1000)
    assert statement.energy_kwh == Fraction(1, 1_000_000)
    assert statement.due_iota == 720
    assert statement.payment_state is PaymentState.DUE


def test_statement_times_are_held_in_utc() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    statement = make_statement(1)
    moved = replace(statement, period_start=statement.period_start.astimezone(berlin))
    assert moved.period_start.tzinfo is UTC
    assert moved == statement


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"id": ""}, "id"),
        ({"period_end": T0}, "end after"),
        ({"closed_at": datetime(2025, 3, 1)}, "aware"),
        ({"energy_j": Fraction(1)}, "energy_j"),
        ({"owed": Fraction(1)}, "owed"),
        ({"due_iota": 1}, "carried_in"),
        ({"due_iota": 1.0}, "due_iota"),
        ({"carried_out": Fraction(1, 2)}, "carried_in"),
        ({"complete": 1}, "complete"),
        ({"price_flags": ("fallback",)}, "price_flags"),
        ({"payment_state": PaymentState.DUE}, "payment state"),
        ({"payment_state": "nothing_due"}, "payment state"),
        ({"periods_covered": 0}, "periods_covered"),
        ({"payment": {1: "x"}}, "payment"),
        ({"energy_j": 0.0}, "Fraction"),
    ],
)
def test_statement_rejects_broken_invariants(
    change: dict[str, Any], match: str
) -> None:
    base = make_statement(1, slices=(PriceSlice(Fraction(1), joules(1), "static"),))
    with pytest.raises(ValueError, match=match):
        replace(base, **change)


def test_statement_never_carries_negative_or_pays_zero() -> None:
    base = make_statement(1)
    with pytest.raises(ValueError, match="negative"):
        replace(base, carried_in=Fraction(-1), carried_out=Fraction(-1))
    with pytest.raises(ValueError, match="payment state"):
        replace(base, payment_state=PaymentState.PAID)


def test_price_flags_are_the_flagged_sources_once_sorted() -> None:
    slices = (
        PriceSlice(Fraction(1), joules(1), "last_valid"),
        PriceSlice(Fraction(2), joules(1), "entity"),
        PriceSlice(Fraction(3), joules(1), "fallback"),
        PriceSlice(Fraction(1), joules(1), "last_valid"),
    )
    assert price_flags_of(slices) == ("fallback", "last_valid")


def test_event_data_is_json_and_has_exact_twins() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    slices = (
        PriceSlice(Fraction(1, 3), joules(1_234_567), "entity"),
        PriceSlice(Fraction(2), joules(10), "last_valid"),
    )
    statement = make_statement(1, slices=slices, carried_in=Fraction(1, 7))
    data = statement.to_event_data(berlin)
    assert json.loads(json.dumps(data)) == data
    assert data["period_start"] == "2025-03-01T01:01:00+01:00"
    assert Fraction(data["owed_iota_exact"]) == statement.owed
    assert Fraction(data["energy_wh_exact"]) == statement.energy_wh
    assert Fraction(data["carried_out_iota_exact"]) == statement.carried_out
    assert abs(Fraction(data["owed_iota"]) - statement.owed) <= Fraction(1, 2_000_000)
    assert data["energy_wh"] == pytest.approx(float(statement.energy_wh))
    assert data["price_flags"] == ["last_valid"]
    assert data["payment_state"] == "nothing_due"
    assert [Fraction(s["iota_per_kwh_exact"]) for s in data["slices"]] == [
        Fraction(1, 3),
        Fraction(2),
    ]


# --- the ledger ---------------------------------------------------------------


def billed_ledger(count: int) -> Ledger:
    """Odd-numbered statements owe 720 IOTA, paid when ``number % 3 == 1``."""
    statements = []
    for number in range(count):
        energy = joules(3_600 * (number % 2))  # 720 IOTA or nothing
        slices = (PriceSlice(PRICE, energy, "static"),) if energy else ()
        statements.append(make_statement(number, slices=slices, paid=number % 3 == 1))
    return Ledger(statements)


def test_add_rejects_duplicate_ids() -> None:
    ledger = billed_ledger(2)
    with pytest.raises(ValueError, match="already"):
        ledger.add(make_statement(0))
    assert len(ledger) == 2


def test_get_and_query_by_time_state_and_limit() -> None:
    ledger = billed_ledger(10)
    assert ledger.get("s3") is not None
    assert ledger.get("nope") is None
    window = ledger.query(T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert [s.id for s in window] == ["s2", "s3", "s4"]
    due = ledger.query(states={PaymentState.DUE})
    assert [s.id for s in due] == ["s3", "s5", "s9"]
    assert [s.id for s in ledger.query(limit=2)] == ["s8", "s9"]
    assert ledger.query(limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        ledger.query(limit=-1)


def test_outstanding_counts_due_sending_and_failed() -> None:
    ledger = billed_ledger(10)
    assert ledger.outstanding_iota() == 3 * 720
    ledger.set_payment_state("s3", PaymentState.SENDING, {"bundle": "ABC"})
    ledger.set_payment_state("s5", PaymentState.FAILED)
    assert ledger.outstanding_iota() == 3 * 720
    updated = ledger.set_payment_state("s9", PaymentState.PAID)
    assert updated.payment_state is PaymentState.PAID
    assert ledger.outstanding_iota() == 2 * 720
    # payment=None keeps the stored record.
    assert ledger.set_payment_state("s3", PaymentState.PAID).payment == {
        "bundle": "ABC"
    }


def test_replace_may_change_only_the_payment() -> None:
    ledger = billed_ledger(4)
    original = ledger.get("s1")
    assert original is not None
    ledger.replace(original.with_payment(PaymentState.DUE, {"tries": 2}))
    stored = ledger.get("s1")
    assert stored is not None
    assert stored.payment_state is PaymentState.DUE
    with pytest.raises(ValueError, match="only the payment"):
        ledger.replace(replace(original, complete=False))
    with pytest.raises(KeyError):
        ledger.replace(make_statement(99))


def test_prune_drops_oldest_settled_and_never_unpaid() -> None:
    ledger = billed_ledger(12)
    unsettled = {s.id for s in ledger if not s.settled}
    dropped = ledger.prune(5)
    remaining = {s.id for s in ledger}
    assert unsettled <= remaining
    assert dropped == 12 - len(remaining)
    # Only unsettled ones exceed the bound, and the kept settled ones are the newest.
    assert len(ledger) == max(5, len(unsettled))
    ledger.prune(0)
    assert {s.id for s in ledger} == unsettled
    assert ledger.prune(100) == 0


def test_prune_keeps_the_newest_settled() -> None:
    ledger = billed_ledger(6)  # settled: s0, s1 (paid), s2, s4; due: s3, s5
    settled = [s.id for s in ledger if s.settled]
    ledger.prune(len(ledger) - 2)
    assert [s.id for s in ledger if s.settled] == settled[2:]


# --- persistence ------------------------------------------------------------------


def test_round_trip_through_json_is_exact() -> None:
    ledger = billed_ledger(7)
    ledger.set_payment_state("s3", PaymentState.SENDING, {"bundle": "XYZ", "n": 1})
    data = json.loads(json.dumps(ledger.to_dict()))
    assert data["version"] == SCHEMA_VERSION
    restored = Ledger.from_dict(data)
    assert restored.statements == ledger.statements


SLICES = st.lists(
    st.builds(
        PriceSlice,
        iota_per_kwh=st.fractions(min_value=0, max_value=10**10),
        energy_j=st.fractions(min_value=0, max_value=10**6),
        source=st.sampled_from(["static", "entity", "last_valid", "fallback"]),
    ),
    max_size=4,
).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    slices=SLICES,
    carried_in=st.fractions(min_value=0, max_value=50),
    min_payment=st.integers(min_value=1, max_value=100),
    complete=st.booleans(),
)
def test_any_valid_statement_round_trips(
    slices: tuple[PriceSlice, ...],
    carried_in: Fraction,
    min_payment: int,
    complete: bool,
) -> None:
    statement = make_statement(
        5,
        slices=slices,
        carried_in=carried_in,
        min_payment=min_payment,
        complete=complete,
    )
    data = json.loads(json.dumps(Ledger([statement]).to_dict()))
    assert Ledger.from_dict(data).statements == [statement]


def valid_dict() -> dict[str, Any]:
    return billed_ledger(3).to_dict()


def corrupt(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = valid_dict()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


DELETE = object()


NAIVE = "datetime.datetime(2025, 3, 1, 0, 0)"


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("statements",), {"not": "a list"}, "statements must be a list"),
        (("statements", 0, "id"), 7, "#0: id must be a string, not 7"),
        (
            ("statements", 0, "period_start"),
            "yesterday",
            "#0: period_start is not an ISO 8601 timestamp: 'yesterday'",
        ),
        (
            ("statements", 0, "period_end"),
            "2025-03-01T00:00:00",
            f"#0: period_end must be a timezone-aware datetime: {NAIVE}",
        ),
        (
            ("statements", 0, "closed_at"),
            "2025-03-01T00:00:00",
            f"#0: closed_at must be a timezone-aware datetime: {NAIVE}",
        ),
        (
            ("statements", 0, "energy_j"),
            0.5,
            "#0: energy_j must be an exact 'n/d' string, not 0.5",
        ),
        (("statements", 0, "owed"), "1/0", "#0: owed has a zero denominator: '1/0'"),
        (
            ("statements", 0, "carried_in"),
            "x",
            "#0: carried_in must be an exact 'n/d' string, not 'x'",
        ),
        (
            ("statements", 1, "due_iota"),
            "720",
            "#1: due_iota is an int >= 0, not '720'",
        ),
        (
            ("statements", 1, "due_iota"),
            719,
            "#1: carried_in + owed must equal due_iota + carried_out",
        ),
        (
            ("statements", 1, "carried_out"),
            "-1/2",
            "#1: carried amounts are never negative",
        ),
        (("statements", 0, "complete"), "yes", "#0: complete must be a bool"),
        (
            ("statements", 0, "payment_state"),
            "lost",
            "#0: unknown payment state 'lost'",
        ),
        (("statements", 0, "payment"), ["x"], "#0: payment must be an object or null"),
        (
            ("statements", 0, "price_flags"),
            "fallback",
            "#0: price_flags must be a list of strings",
        ),
        (
            ("statements", 0, "price_flags"),
            [1],
            "#0: price_flags must be a list of strings",
        ),
        (
            ("statements", 0, "covered_seconds"),
            "42",
            "#0: covered_seconds must be a number or null",
        ),
        (("statements", 0, "slices"), {}, "#0: slices must be a list"),
        (("statements", 0, "periods_covered"), 0, "#0: periods_covered is an int >= 1"),
        (
            ("statements", 1, "slices", 0, "source"),
            "guess",
            "#1: unknown price source 'guess'",
        ),
        (
            ("statements", 1, "slices", 0, "source"),
            3,
            "#1: slice source must be a string: 3",
        ),
        (
            ("statements", 1, "slices", 0, "energy_j"),
            "1/1",
            "#1: energy_j must equal the sum of the slices' energy",
        ),
        (
            ("statements", 1, "slices", 0, "energy_j"),
            1,
            "#1: energy_j must be an exact 'n/d' string, not 1",
        ),
        (
            ("statements", 1, "slices", 0, "iota_per_kwh"),
            1,
            "#1: iota_per_kwh must be an exact 'n/d' string, not 1",
        ),
        (
            ("statements", 1, "slices", 0, "iota_per_kwh"),
            DELETE,
            "#1: slice fields: missing ['iota_per_kwh'], unknown []",
        ),
        (
            ("statements", 1, "slices"),
            [None],
            "#1: slice must be an object, not NoneType",
        ),
        (
            ("statements", 0, "surprise"),
            1,
            "#0: statement fields: missing [], unknown ['surprise']",
        ),
        (
            ("statements", 0, "closed_at"),
            DELETE,
            "#0: statement fields: missing ['closed_at'], unknown []",
        ),
        (("statements", 2, "id"), "s0", "'s0' is already in the ledger"),
        (
            ("statements", 0),
            "not an object",
            "#0: statement must be an object, not str",
        ),
    ],
)
def test_from_dict_rejects_any_malformed_field(
    path: tuple[Any, ...], value: Any, reason: str
) -> None:
    """Each malformed field is refused, and the message names it."""
    where = "" if path == ("statements",) else "statement "
    message = f"ledger data is invalid: {where}{reason}"
    with pytest.raises(LedgerFormatError, match=f"^{re.escape(message)}$"):
        Ledger.from_dict(corrupt(path, value))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "ledger data must be an object, not <class 'NoneType'>"),
        ([], "ledger data must be an object, not <class 'list'>"),
        ("ledger", "ledger data must be an object, not <class 'str'>"),
        ({"version": "1", "statements": []}, "ledger version must be an int >= 0: '1'"),
        ({"version": -1}, "ledger version must be an int >= 0: -1"),
    ],
)
def test_from_dict_rejects_non_ledgers(data: Any, reason: str) -> None:
    with pytest.raises(LedgerFormatError, match=f"^{re.escape(reason)}$"):
        Ledger.from_dict(data)


def test_from_dict_refuses_a_newer_version() -> None:
    data = valid_dict()
    data["version"] = SCHEMA_VERSION + 1
    with pytest.raises(LedgerFormatError, match="newer"):
        Ledger.from_dict(data)


def test_from_dict_does_not_modify_its_input() -> None:
    data = valid_dict()
    snapshot = copy.deepcopy(data)
    Ledger.from_dict(data)
    assert data == snapshot


def version_0_shape() -> dict[str, Any]:
    """A ledger as the version-0 draft wrote it (no ``version`` key at all)."""
    return {
        "statements": [
            {
                "id": "old-1",
                "period": {
                    "start": "2024-12-31T23:00:00+00:00",
                    "end": "2025-01-31T23:00:00+00:00",
                },
                "energy_j": "3600/1",
                "slices": [
                    {
                        "iota_per_kwh": "720000000/1",
                        "energy_j": "3600/1",
                        "source": "fallback",
                    }
                ],
                "owed": "720000/1",
                "carried_in": "1/3",
                "due_iota": 720000,
                "carried_out": "1/3",
                "complete": True,
                "paid": True,
            },
            {
                "id": "old-2",
                "period": {
                    "start": "2025-01-31T23:00:00+00:00",
                    "end": "2025-02-28T23:00:00+00:00",
                },
                "energy_j": "0/1",
                "slices": [],
                "owed": "0/1",
                "carried_in": "1/3",
                "due_iota": 0,
                "carried_out": "1/3",
                "complete": False,
                "paid": False,
            },
        ]
    }


def test_migrates_a_version_0_ledger() -> None:
    old = version_0_shape()
    snapshot = copy.deepcopy(old)
    ledger = Ledger.from_dict(old)
    assert old == snapshot
    first, second = ledger.statements
    assert first.payment_state is PaymentState.PAID
    assert first.price_flags == ("fallback",)
    assert first.closed_at == first.period_end
    assert first.owed == Fraction(720_000)
    assert second.payment_state is PaymentState.NOTHING_DUE
    assert not second.complete
    assert migrate(old)["version"] == SCHEMA_VERSION
    # Migrated data is written back in the current shape and reads back equal.
    assert Ledger.from_dict(ledger.to_dict()).statements == ledger.statements


def test_migration_of_a_broken_version_0_is_a_format_error() -> None:
    old = version_0_shape()
    del old["statements"][0]["paid"]
    with pytest.raises(LedgerFormatError, match="paid"):
        Ledger.from_dict(old)


def test_covered_seconds_round_trip_and_older_statements() -> None:
    """Coverage is kept exactly; statements written before it read as unknown."""
    statement = replace(make_statement(1), covered_seconds=42.625)
    data = statement.to_dict()
    assert Statement.from_dict(json.loads(json.dumps(data))) == statement
    assert statement.to_event_data()["covered_seconds"] == 42.625
    older = {k: v for k, v in data.items() if k != "covered_seconds"}
    assert Statement.from_dict(older).covered_seconds is None
    for bad in (-1.0, True, "42", math.inf):
        with pytest.raises(ValueError, match="covered_seconds"):
            Statement.from_dict(data | {"covered_seconds": bad})


# --- found by mutation testing (scripts/mutation) ---------------------------------


def test_event_data_in_full() -> None:
    """Every key and value of an event's statement, worked out by hand."""
    slices = (
        PriceSlice(PRICE, joules(3_600), "static"),  # 1/1000 Wh: 720 IOTA
        PriceSlice(Fraction(1, 3), joules(1_800), "last_valid"),  # 1/2000 Wh
    )
    statement = replace(
        make_statement(1, slices=slices, carried_in=Fraction(1, 4), paid=True),
        covered_seconds=59.5,
    ).with_payment(PaymentState.PAID, {"bundle": "ABC"})
    # owed = 720 + 1/3 IOTA/kWh x 1/2 000 000 kWh = 720 + 1/6 000 000
    assert statement.to_event_data(ZoneInfo("Europe/Berlin")) == {
        "id": "s1",
        "period_start": "2025-03-01T01:01:00+01:00",
        "period_end": "2025-03-01T01:02:00+01:00",
        "closed_at": "2025-03-01T01:02:02+01:00",
        "periods_covered": 1,
        "energy_wh": 0.0015,
        "energy_wh_exact": "3/2000",
        "owed_iota": "720.000000",
        "owed_iota_exact": "4320000001/6000000",
        "carried_in_iota": "0.250000",
        "carried_in_iota_exact": "1/4",
        "carried_out_iota": "0.250000",
        "carried_out_iota_exact": "1500001/6000000",
        "due_iota": 720,
        "complete": True,
        "covered_seconds": 59.5,
        "price_flags": ["last_valid"],
        "payment_state": "paid",
        "payment": {"bundle": "ABC"},
        "slices": [
            {
                "iota_per_kwh": "720000000.000000",
                "iota_per_kwh_exact": "720000000/1",
                "energy_wh": 0.001,
                "energy_wh_exact": "1/1000",
                "source": "static",
            },
            {
                "iota_per_kwh": "0.333333",
                "iota_per_kwh_exact": "1/3",
                "energy_wh": 0.0005,
                "energy_wh_exact": "1/2000",
                "source": "last_valid",
            },
        ],
    }


def test_query_names_a_naive_bound() -> None:
    ledger = billed_ledger(3)
    naive = datetime(2025, 3, 1)
    with pytest.raises(ValueError, match=r"^start must be a timezone-aware datetime"):
        ledger.query(naive)
    with pytest.raises(ValueError, match=r"^end must be a timezone-aware datetime"):
        ledger.query(None, naive)


def test_replace_of_an_unknown_statement_names_it() -> None:
    with pytest.raises(KeyError, match="s99"):
        billed_ledger(2).replace(make_statement(99))


def test_replace_may_change_a_stored_payment_record() -> None:
    ledger = billed_ledger(4)
    ledger.set_payment_state("s1", PaymentState.SENDING, {"tries": 1})
    stored = ledger.get("s1")
    assert stored is not None
    ledger.replace(stored.with_payment(PaymentState.PAID, {"tries": 2}))
    assert ledger.get("s1") == stored.with_payment(PaymentState.PAID, {"tries": 2})


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_prune_refuses_a_bound_that_is_not_a_count(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"^max_statements is an int >= 0, not "):
        billed_ledger(3).prune(bad)


def test_prune_drops_a_single_excess_statement() -> None:
    ledger = billed_ledger(6)  # settled: s0, s1, s2, s4
    assert ledger.prune(5) == 1
    assert [s.id for s in ledger] == ["s1", "s2", "s3", "s4", "s5"]


def test_migration_gives_one_period_each() -> None:
    ledger = Ledger.from_dict(version_0_shape())
    assert [s.periods_covered for s in ledger] == [1, 1]


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (
            lambda old: old.update(statements={}),
            "version 0 ledger: statements must be a list",
        ),
        (
            lambda old: old["statements"].append(3),
            "version 0 statement #2 is not an object",
        ),
        (
            lambda old: old["statements"][0].pop("period"),
            "version 0 statement #0 needs 'period'",
        ),
    ],
)
def test_broken_version_0_says_what_is_broken(break_it: Any, reason: str) -> None:
    old = version_0_shape()
    break_it(old)
    with pytest.raises(LedgerFormatError, match=f"^{reason}"):
        Ledger.from_dict(old)


def test_version_0_slices_that_are_not_a_list_are_a_format_error() -> None:
    old = version_0_shape()
    old["statements"][0]["slices"] = None
    with pytest.raises(LedgerFormatError):
        Ledger.from_dict(old)


# Every invariant's message in full: a check that raises for the wrong reason,
# or names the wrong field, fails here.
OWES_720 = PriceSlice(PRICE, joules(3_600), "static")
NAIVE_TIME = datetime(2025, 3, 1)


@pytest.mark.parametrize(
    ("base_slices", "change", "message"),
    [
        ((), {"id": ""}, "a statement id is a non-empty string"),
        ((), {"id": 5}, "a statement id is a non-empty string"),
        (
            (),
            {"period_start": NAIVE_TIME},
            f"period_start must be a timezone-aware datetime: {NAIVE_TIME!r}",
        ),
        (
            (),
            {"period_end": NAIVE_TIME},
            f"period_end must be a timezone-aware datetime: {NAIVE_TIME!r}",
        ),
        (
            (),
            {"closed_at": NAIVE_TIME},
            f"closed_at must be a timezone-aware datetime: {NAIVE_TIME!r}",
        ),
        (
            (),
            {"period_end": T0 + timedelta(minutes=1)},
            "a statement's period must end after it starts",
        ),
        ((), {"energy_j": 0.0}, "energy_j must be a Fraction, not float"),
        ((), {"owed": 0}, "owed must be a Fraction, not int"),
        ((), {"carried_in": 0.0}, "carried_in must be a Fraction, not float"),
        ((), {"carried_out": None}, "carried_out must be a Fraction, not NoneType"),
        ((), {"slices": []}, "slices must be a tuple of PriceSlice"),
        ((), {"slices": ("static",)}, "slices must be a tuple of PriceSlice"),
        (
            (OWES_720,),
            {"energy_j": joules(3_601)},
            "energy_j must equal the sum of the slices' energy",
        ),
        (
            (OWES_720,),
            {"owed": Fraction(721)},
            "owed must equal the sum of the slices' cost",
        ),
        (
            (OWES_720,),
            {"carried_in": Fraction(-1), "due_iota": 719},
            "carried amounts are never negative",
        ),
        (
            (OWES_720,),
            {"carried_out": Fraction(-1), "due_iota": 721},
            "carried amounts are never negative",
        ),
        (
            (),
            {
                "due_iota": -1,
                "carried_out": Fraction(1),
                "payment_state": PaymentState.DUE,
            },
            "due_iota is an int >= 0, not -1",
        ),
        ((OWES_720,), {"due_iota": 720.0}, "due_iota is an int >= 0, not 720.0"),
        (
            (OWES_720,),
            {"due_iota": 719},
            "carried_in + owed must equal due_iota + carried_out",
        ),
        ((), {"complete": 1}, "complete must be a bool"),
        ((), {"covered_seconds": -1.0}, "covered_seconds is >= 0: -1.0"),
        ((), {"covered_seconds": True}, "covered_seconds is >= 0: True"),
        ((), {"covered_seconds": math.inf}, "covered_seconds is >= 0: inf"),
        ((), {"covered_seconds": math.nan}, "covered_seconds is >= 0: nan"),
        ((), {"covered_seconds": "5"}, "covered_seconds is >= 0: '5'"),
        (
            (),
            {"price_flags": ("fallback",)},
            "price_flags must list the flagged sources of the slices",
        ),
        ((), {"payment_state": "nothing_due"}, "unknown payment state 'nothing_due'"),
        (
            (),
            {"payment_state": PaymentState.DUE},
            "payment state due does not fit due 0",
        ),
        (
            (OWES_720,),
            {"payment_state": PaymentState.NOTHING_DUE},
            "payment state nothing_due does not fit due 720",
        ),
        ((), {"payment": "abc"}, "payment must be a mapping with string keys, or None"),
        (
            (),
            {"payment": {1: "x"}},
            "payment must be a mapping with string keys, or None",
        ),
        ((), {"periods_covered": 0}, "periods_covered is an int >= 1"),
        ((), {"periods_covered": 1.5}, "periods_covered is an int >= 1"),
        ((), {"periods_covered": True}, "periods_covered is an int >= 1"),
    ],
)
def test_statement_invariant_messages_in_full(
    base_slices: tuple[PriceSlice, ...], change: dict[str, Any], message: str
) -> None:
    base = make_statement(1, slices=base_slices)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        replace(base, **change)


@pytest.mark.parametrize(
    "change",
    [
        {"covered_seconds": 0},
        {"covered_seconds": 0.0},
        {"covered_seconds": 5},
        {"covered_seconds": 1e9},
        {"periods_covered": 2},
        {"payment": MappingProxyType({"bundle": "ABC"})},
    ],
)
def test_statement_accepts_edge_values(change: dict[str, Any]) -> None:
    statement = replace(make_statement(1), **change)
    for name, value in change.items():
        assert getattr(statement, name) == value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1.0, Fraction(1), "static"), "iota_per_kwh must be a Fraction, not float"),
        ((Fraction(1), 1, "static"), "energy_j must be a Fraction, not int"),
        (
            (Fraction(-1), Fraction(1), "static"),
            "a slice's price and energy are >= 0: PriceSlice(iota_per_kwh="
            "Fraction(-1, 1), energy_j=Fraction(1, 1), source='static')",
        ),
        (
            (Fraction(1), Fraction(-1), "static"),
            "a slice's price and energy are >= 0: PriceSlice(iota_per_kwh="
            "Fraction(1, 1), energy_j=Fraction(-1, 1), source='static')",
        ),
        ((Fraction(1), Fraction(1), "guess"), "unknown price source 'guess'"),
    ],
)
def test_slice_invariant_messages_in_full(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        PriceSlice(*args)


def test_a_free_or_empty_slice_is_valid() -> None:
    assert PriceSlice(Fraction(0), Fraction(1), "static").owed == 0
    assert PriceSlice(Fraction(1), Fraction(0), "entity").owed == 0


def test_the_ledger_says_what_it_refuses_to_add() -> None:
    ledger = billed_ledger(1)
    with pytest.raises(TypeError, match=r"^the ledger holds Statements$"):
        ledger.add(make_statement(5).to_dict())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^statement 's0' is already in the ledger$"):
        ledger.add(make_statement(0))
    assert [s.id for s in ledger] == ["s0"]


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (
            ("statements", 0, "carried_out"),
            "x",
            "statement #0: carried_out must be an exact 'n/d' string, not 'x'",
        ),
        (
            ("statements", 0, "period_start"),
            5,
            "statement #0: period_start must be an ISO 8601 string, not 5",
        ),
        (("surprise",), 1, "ledger fields: missing [], unknown ['surprise']"),
    ],
)
def test_from_dict_names_every_field_it_refuses(
    path: tuple[Any, ...], value: Any, reason: str
) -> None:
    message = f"ledger data is invalid: {reason}"
    with pytest.raises(LedgerFormatError, match=f"^{re.escape(message)}$"):
        Ledger.from_dict(corrupt(path, value))


def test_setting_the_payment_of_an_unknown_statement_names_it() -> None:
    with pytest.raises(KeyError, match="s99"):
        billed_ledger(2).set_payment_state("s99", PaymentState.PAID)


def test_an_unpaid_version_0_statement_is_due() -> None:
    old = version_0_shape()
    old["statements"][0]["paid"] = False
    first, _ = Ledger.from_dict(old).statements
    assert first.payment_state is PaymentState.DUE


def test_each_migration_step_says_which_version_it_made() -> None:
    assert MIGRATIONS[0](version_0_shape())["version"] == 1
