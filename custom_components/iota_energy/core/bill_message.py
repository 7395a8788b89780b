"""The bill a payment carries on the Tangle, and how to read it back.

Every payment bundle's output transaction carries a message: compact JSON
(ASCII only) listing the statements the payment settles, so the energy's
owner can check each payment against the bill without trusting this wallet.

Format (version 1; keys short because every byte costs two trytes)::

    {"v": 1, "app": "iota_energy", "pay": "P000001", "amt": 240, "unit": "i",
     "st": [{"id": "S000001", "from": "2026-12-02T10:00:00+00:00",
             "to": "2026-12-02T11:00:00+00:00", "wh": "1/3000",
             "p": [["720000000/1", "1/3000"]], "owed": "240/1", "in": "0/1",
             "due": 240, "out": "0/1"}]}

``wh`` is the period's energy in Wh and ``p`` the price slices as
``[IOTA per kWh, Wh at that price]``; ``owed`` is the exact cost, ``in`` and
``out`` the fractions carried in and out, and ``due`` the whole IOTA paid
for the statement: ``in + owed = due + out`` and the ``due`` add up to
``amt``. All fractions are exact ``"n/d"`` strings.

Bytes become trytes as IOTA's wallets did it (two trytes per byte, low
tryte first), so any IOTA library's ``fromTrytes``/``decode`` reads the JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
import json
from typing import Any

from .ledger import Statement, parse_datetime
from .numbers import format_fraction, is_int, parse_fraction
from .pricing import JOULES_PER_KWH, JOULES_PER_WH
from .trits import TRYTE_ALPHABET

MESSAGE_VERSION = 1
APP_NAME = "iota_energy"
UNIT_LEGACY_IOTA = "i"


class BillFormatError(ValueError):
    """A message is not a bill of this format, or its numbers do not add up."""


@dataclass(frozen=True, slots=True)
class BilledStatement:
    """One statement as the bill states it."""

    id: str
    period_start: datetime
    period_end: datetime
    energy_wh: Fraction
    slices: tuple[tuple[Fraction, Fraction], ...]  # (IOTA per kWh, Wh)
    owed: Fraction
    carried_in: Fraction
    due_iota: int
    carried_out: Fraction


@dataclass(frozen=True, slots=True)
class Bill:
    """A decoded bill: what a payment says it pays."""

    payment_id: str
    amount_iota: int
    unit: str
    statements: tuple[BilledStatement, ...]


def bill_statements(statements: Iterable[Statement]) -> list[dict[str, Any]]:
    """The ``st`` entries for ``statements``."""
    return [
        {
            "id": s.id,
            "from": s.period_start.isoformat(),
            "to": s.period_end.isoformat(),
            "wh": format_fraction(s.energy_j / JOULES_PER_WH),
            "p": [
                [
                    format_fraction(x.iota_per_kwh),
                    format_fraction(x.energy_j / JOULES_PER_WH),
                ]
                for x in s.slices
            ],
            "owed": format_fraction(s.owed),
            "in": format_fraction(s.carried_in),
            "due": s.due_iota,
            "out": format_fraction(s.carried_out),
        }
        for s in statements
    ]


def encode_bill(
    payment_id: str, amount_iota: int, entries: Sequence[dict[str, Any]]
) -> str:
    """The message trytes for a payment of ``amount_iota`` settling ``entries``."""
    if sum(int(e["due"]) for e in entries) != amount_iota:
        raise ValueError("the statements' due IOTA must add up to the amount")
    document = {
        "v": MESSAGE_VERSION,
        "app": APP_NAME,
        "pay": payment_id,
        "amt": amount_iota,
        "unit": UNIT_LEGACY_IOTA,
        "st": list(entries),
    }
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    return ascii_to_trytes(text)


def decode_bill(message: str | Sequence[str]) -> Bill:
    """Read a bill from message trytes (one string, or fragments in order).

    Trailing ``9`` padding is ignored. Raises BillFormatError when the text
    is not a bill of this format or its numbers do not add up.
    """
    trytes = message if isinstance(message, str) else "".join(message)
    text = trytes_to_ascii(trytes)
    try:
        document = json.loads(text)
    except ValueError as err:
        raise BillFormatError(f"the message is not JSON: {err}") from None
    try:
        return _parse_bill(document)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, BillFormatError):
            raise
        raise BillFormatError(f"the message is not a valid bill: {err}") from None


def _parse_bill(document: Any) -> Bill:
    if not isinstance(document, dict) or document.get("app") != APP_NAME:
        raise BillFormatError("the message is not an iota_energy bill")
    if document.get("v") != MESSAGE_VERSION:
        raise BillFormatError(f"unknown bill version {document.get('v')!r}")
    amount = _int(document["amt"], "amt")
    entries = document["st"]
    if not isinstance(entries, list) or not entries:
        raise BillFormatError("a bill lists at least one statement")
    statements = tuple(_parse_statement(e) for e in entries)
    if sum(s.due_iota for s in statements) != amount:
        raise BillFormatError("the statements' due IOTA do not add up to the amount")
    payment_id = document["pay"]
    unit = document["unit"]
    if not isinstance(payment_id, str) or not isinstance(unit, str):
        raise BillFormatError("pay and unit are strings")
    return Bill(
        payment_id=payment_id, amount_iota=amount, unit=unit, statements=statements
    )


def _parse_statement(entry: Any) -> BilledStatement:
    if not isinstance(entry, dict):
        raise BillFormatError("a statement entry is an object")
    slices = tuple(
        (parse_fraction(price, "price"), parse_fraction(wh, "wh"))
        for price, wh in entry["p"]
    )
    statement = BilledStatement(
        id=str(entry["id"]),
        period_start=parse_datetime(entry["from"], "from"),
        period_end=parse_datetime(entry["to"], "to"),
        energy_wh=parse_fraction(entry["wh"], "wh"),
        slices=slices,
        owed=parse_fraction(entry["owed"], "owed"),
        carried_in=parse_fraction(entry["in"], "in"),
        due_iota=_int(entry["due"], "due"),
        carried_out=parse_fraction(entry["out"], "out"),
    )
    # The checks the energy's owner would make.
    if statement.energy_wh != sum((wh for _, wh in slices), Fraction(0)):
        raise BillFormatError(f"{statement.id}: slices do not add up to the energy")
    cost = sum(
        (price * wh * JOULES_PER_WH / JOULES_PER_KWH for price, wh in slices),
        Fraction(0),
    )
    if statement.owed != cost:
        raise BillFormatError(f"{statement.id}: owed is not energy times price")
    if (
        statement.carried_in + statement.owed
        != statement.due_iota + statement.carried_out
    ):
        raise BillFormatError(f"{statement.id}: carried + owed != due + carried out")
    return statement


def _int(value: object, name: str) -> int:
    if not is_int(value) or value < 0:
        raise BillFormatError(f"{name} is an integer >= 0")
    return value


# --- the ASCII <-> trytes codec of IOTA's wallets ------------------------------


def ascii_to_trytes(text: str) -> str:
    """Two trytes per byte: ``byte % 27`` then ``byte // 27``."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as err:
        raise ValueError("bill messages are ASCII") from err
    return "".join(TRYTE_ALPHABET[b % 27] + TRYTE_ALPHABET[b // 27] for b in data)


def trytes_to_ascii(trytes: str) -> str:
    """The inverse of :func:`ascii_to_trytes`; trailing ``9`` padding is dropped."""
    body = trytes.rstrip("9")
    if len(body) % 2:
        body += "9"
    out = bytearray()
    for i in range(0, len(body), 2):
        low, high = TRYTE_ALPHABET.find(body[i]), TRYTE_ALPHABET.find(body[i + 1])
        if low < 0 or high < 0:
            raise BillFormatError(
                "the message holds characters outside the tryte alphabet"
            )
        value = low + 27 * high
        if value > 127:
            raise BillFormatError("the message is not ASCII")
        out.append(value)
    return out.decode("ascii")
