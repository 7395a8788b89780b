"""The bill each payment carries: encoding, decoding and the owner's checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
import json
import re
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.bill_message import (
    BillFormatError,
    ascii_to_trytes,
    bill_statements,
    decode_bill,
    encode_bill,
    trytes_to_ascii,
)
from custom_components.iota_energy.core.ledger import (
    PaymentState,
    PriceSlice,
    Statement,
)
from custom_components.iota_energy.core.thirdparty import import_pyota

T0 = datetime(2026, 12, 2, 10, tzinfo=UTC)


def statement(
    number: int, slices: tuple[PriceSlice, ...], carried_in: Fraction
) -> Statement:
    owed = sum((s.owed for s in slices), Fraction(0))
    due = int(carried_in + owed)
    return Statement(
        id=f"S{number:06d}",
        period_start=T0 + timedelta(hours=number),
        period_end=T0 + timedelta(hours=number + 1),
        closed_at=T0 + timedelta(hours=number + 1),
        energy_j=sum((s.energy_j for s in slices), Fraction(0)),
        slices=slices,
        owed=owed,
        carried_in=carried_in,
        due_iota=due,
        carried_out=carried_in + owed - due,
        complete=True,
        price_flags=(),
        payment_state=PaymentState.DUE if due else PaymentState.NOTHING_DUE,
    )


def two_statements() -> list[Statement]:
    return [
        statement(
            1,
            (PriceSlice(Fraction(720_000_000), Fraction(100, 3), "static"),),
            Fraction(1, 3),
        ),
        statement(
            2,
            (
                PriceSlice(Fraction(720_000_000), Fraction(7), "static"),
                PriceSlice(Fraction(800_000_001, 3), Fraction(11, 2), "entity"),
            ),
            Fraction(2, 7),
        ),
    ]


def test_round_trip_keeps_every_exact_figure() -> None:
    statements = two_statements()
    amount = sum(s.due_iota for s in statements)
    bill = decode_bill(encode_bill("P000001", amount, bill_statements(statements)))
    assert bill.payment_id == "P000001"
    assert bill.amount_iota == amount
    assert bill.unit == "i"
    for decoded, original in zip(bill.statements, statements, strict=True):
        assert decoded.id == original.id
        assert decoded.period_start == original.period_start
        assert decoded.period_end == original.period_end
        assert decoded.energy_wh == original.energy_wh
        assert decoded.owed == original.owed
        assert decoded.carried_in == original.carried_in
        assert decoded.carried_out == original.carried_out
        assert decoded.due_iota == original.due_iota
        assert decoded.slices == tuple(
            (s.iota_per_kwh, s.energy_j / 3600) for s in original.slices
        )


def test_padding_and_fragments_are_read_as_one_message() -> None:
    statements = two_statements()
    trytes = encode_bill(
        "P1", sum(s.due_iota for s in statements), bill_statements(statements)
    )
    padded = trytes + "9" * (2187 - len(trytes) % 2187)
    fragments = [padded[i : i + 2187] for i in range(0, len(padded), 2187)]
    assert decode_bill(fragments).payment_id == "P1"


def test_encoding_is_iotas_two_trytes_per_byte() -> None:
    # "A" is 65 = 11 + 2 * 27 -> "K" then "B" (iota.js asciiToTrytes gives "KB").
    assert ascii_to_trytes("A") == "KB"
    assert ascii_to_trytes("{}") == "ODQD"
    assert trytes_to_ascii("ODQD99") == "{}"


@given(
    st.text(
        alphabet=st.characters(min_codepoint=1, max_codepoint=127),
        min_size=1,
        max_size=200,
    )
)
@settings(deadline=None)  # the first example imports PyOTA
def test_pyotas_codec_agrees(text: str) -> None:
    """PyOTA (and so every IOTA library) reads the same trytes back."""
    iota = import_pyota()
    trytes = ascii_to_trytes(text)
    assert trytes == str(iota.TryteString.from_bytes(text.encode("ascii")))
    assert iota.TryteString(trytes).decode() == text


@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127)))
def test_any_ascii_text_round_trips(text: str) -> None:
    assert trytes_to_ascii(ascii_to_trytes(text)) == text


def tamper(field: str, value: object) -> str:
    statements = two_statements()
    amount = sum(s.due_iota for s in statements)
    document = json.loads(
        trytes_to_ascii(encode_bill("P1", amount, bill_statements(statements)))
    )
    if field == "amt":
        document["amt"] = value
    else:
        document["st"][1][field] = value
    return ascii_to_trytes(json.dumps(document))


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("amt", 1, "do not add up to the amount"),
        ("owed", "1/1", "owed is not energy times price"),
        ("wh", "999/1", "slices do not add up"),
        ("out", "0/1", "carried"),
        ("due", -1, "integer"),
    ],
)
def test_a_bill_that_does_not_add_up_is_refused(
    field: str, value: object, complaint: str
) -> None:
    with pytest.raises(BillFormatError, match=complaint):
        decode_bill(tamper(field, value))


@pytest.mark.parametrize(
    "message",
    [
        "",
        ascii_to_trytes("not json"),
        ascii_to_trytes('{"app": "someone else", "v": 1}'),
        ascii_to_trytes('{"app": "iota_energy", "v": 2}'),
        ascii_to_trytes('{"app": "iota_energy", "v": 1, "amt": 0, "st": []}'),
        "ZZ",  # 26 + 26 * 27: not ASCII
    ],
)
def test_messages_that_are_no_bill_are_refused(message: str) -> None:
    with pytest.raises(BillFormatError):
        decode_bill(message)


def test_encode_refuses_entries_that_do_not_add_up() -> None:
    entries = bill_statements(two_statements())
    with pytest.raises(ValueError, match="add up"):
        encode_bill("P1", 1, entries)


# --- found by mutation testing (scripts/mutation) ---------------------------------


def test_the_message_text_in_full() -> None:
    """Compact ASCII JSON, every key and figure as the format documents it."""
    first = two_statements()[0]
    text = trytes_to_ascii(encode_bill("P000001", 6667, bill_statements([first])))
    assert text == (
        '{"v":1,"app":"iota_energy","pay":"P000001","amt":6667,"unit":"i","st":'
        '[{"id":"S000001","from":"2026-12-02T11:00:00+00:00",'
        '"to":"2026-12-02T12:00:00+00:00","wh":"1/108",'
        '"p":[["720000000/1","1/108"]],"owed":"20000/3","in":"1/3",'
        '"due":6667,"out":"0/1"}]}'
    )


def document() -> dict[str, Any]:
    statements = two_statements()
    amount = sum(s.due_iota for s in statements)
    text = trytes_to_ascii(encode_bill("P1", amount, bill_statements(statements)))
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def changed(change: Callable[[dict[str, Any]], object]) -> str:
    data = document()
    change(data)
    return ascii_to_trytes(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.clear(), "the message is not an iota_energy bill"),
        (lambda d: d.update(v=2), "unknown bill version 2"),
        (lambda d: d.pop("amt"), "the message is not a valid bill: 'amt'"),
        (lambda d: d.update(amt=-1), "amt is an integer >= 0"),
        (lambda d: d.update(amt=1.5), "amt is an integer >= 0"),
        (lambda d: d.update(st=[]), "a bill lists at least one statement"),
        (lambda d: d.update(st={"a": 1}), "a bill lists at least one statement"),
        (
            lambda d: d.update(amt=d["amt"] + 1),
            "the statements' due IOTA do not add up to the amount",
        ),
        (lambda d: d.update(pay=1), "pay and unit are strings"),
        (lambda d: d.update(unit=None), "pay and unit are strings"),
        (lambda d: d["st"].append(3), "a statement entry is an object"),
        (
            lambda d: d["st"][1].update(wh="999/1"),
            "S000002: slices do not add up to the energy",
        ),
        (
            lambda d: d["st"][1].update(owed="1/1"),
            "S000002: owed is not energy times price",
        ),
        (
            lambda d: d["st"][1].update(out="0/1"),
            "S000002: carried + owed != due + carried out",
        ),
        (lambda d: d["st"][1].update(due=-1), "due is an integer >= 0"),
        (
            lambda d: d["st"][1]["p"][0].__setitem__(0, 1),
            "the message is not a valid bill: price must be an exact 'n/d' string, "
            "not 1",
        ),
        (
            lambda d: d["st"][1]["p"][0].__setitem__(1, 1),
            "the message is not a valid bill: wh must be an exact 'n/d' string, not 1",
        ),
        (
            lambda d: d["st"][1].update(wh=1),
            "the message is not a valid bill: wh must be an exact 'n/d' string, not 1",
        ),
        (
            lambda d: d["st"][1].update(owed=1),
            "the message is not a valid bill: owed must be an exact 'n/d' string, "
            "not 1",
        ),
        (
            lambda d: d["st"][1].update({"in": 1}),
            "the message is not a valid bill: in must be an exact 'n/d' string, not 1",
        ),
        (
            lambda d: d["st"][1].update(out=1),
            "the message is not a valid bill: out must be an exact 'n/d' string, not 1",
        ),
        (
            lambda d: d["st"][1].update({"from": 1}),
            "the message is not a valid bill: from must be an ISO 8601 string, not 1",
        ),
        (
            lambda d: d["st"][1].update(to=1),
            "the message is not a valid bill: to must be an ISO 8601 string, not 1",
        ),
    ],
)
def test_each_refusal_says_why(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    with pytest.raises(BillFormatError, match=f"^{re.escape(message)}$"):
        decode_bill(changed(change))


def test_a_bill_that_is_not_json_or_no_object_says_so() -> None:
    with pytest.raises(BillFormatError, match=r"^the message is not JSON: "):
        decode_bill(ascii_to_trytes("not json"))
    with pytest.raises(
        BillFormatError, match=r"^the message is not an iota_energy bill$"
    ):
        decode_bill(ascii_to_trytes('["iota_energy"]'))


def test_a_numeric_statement_id_reads_as_text() -> None:
    bill = decode_bill(changed(lambda d: d["st"][0].update(id=7)))
    assert bill.statements[0].id == "7"


def test_codec_errors_say_why() -> None:
    with pytest.raises(ValueError, match=r"^bill messages are ASCII$"):
        ascii_to_trytes("é")
    with pytest.raises(
        BillFormatError,
        match=r"^the message holds characters outside the tryte alphabet$",
    ):
        trytes_to_ascii("KBKa")  # one tryte of the pair is no tryte
    with pytest.raises(BillFormatError, match=r"outside the tryte alphabet$"):
        trytes_to_ascii("KBaK")
    with pytest.raises(BillFormatError, match=r"^the message is not ASCII$"):
        trytes_to_ascii("ZZ")
    # 127 (DEL) is the last ASCII byte.
    assert trytes_to_ascii(ascii_to_trytes("\x7f")) == "\x7f"


def test_encode_says_what_does_not_add_up() -> None:
    with pytest.raises(
        ValueError, match=r"^the statements' due IOTA must add up to the amount$"
    ):
        encode_bill("P1", 1, bill_statements(two_statements()))


def test_text_beyond_ascii_is_escaped_into_ascii() -> None:
    statements = two_statements()
    amount = sum(s.due_iota for s in statements)
    trytes = encode_bill("Pé→", amount, bill_statements(statements))
    assert "\\u00e9" in trytes_to_ascii(trytes)
    assert decode_bill(trytes).payment_id == "Pé→"


def test_fragments_join_without_anything_between() -> None:
    statements = two_statements()
    trytes = encode_bill(
        "P1", sum(s.due_iota for s in statements), bill_statements(statements)
    )
    assert decode_bill([trytes[:10], trytes[10:21], trytes[21:]]).payment_id == "P1"


def test_a_statement_with_nothing_due_is_billed() -> None:
    first = two_statements()[0]
    nothing = statement(3, (), Fraction(0))
    assert nothing.due_iota == 0
    bill = decode_bill(
        encode_bill("P1", first.due_iota, bill_statements([first, nothing]))
    )
    assert [s.due_iota for s in bill.statements] == [first.due_iota, 0]


def test_a_control_byte_before_the_padding_survives() -> None:
    # 24 (CAN) is "X9": stripping the padding must leave its "X".
    assert trytes_to_ascii(ascii_to_trytes("A\x18") + "999") == "A\x18"


def test_byte_128_is_the_first_that_is_not_ascii() -> None:
    # 128 = 20 + 4 x 27: "T" then "D".
    with pytest.raises(BillFormatError, match=r"^the message is not ASCII$"):
        trytes_to_ascii("KBTD")
