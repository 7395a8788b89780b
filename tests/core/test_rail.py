"""The rail interface's stored record: exact round trips, refusal of defects."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from custom_components.iota_energy.core.rail import (
    RailName,
    ReceiverError,
    SignedTransfer,
)
from custom_components.iota_energy.core.units import Amount, Denomination

SIGNED = SignedTransfer(
    rail=RailName.REBASED,
    transfer_id="BAY9KjNcqD9nbbG1T3HwpCCFHdiD7JTWUEfrdjxiu9h3",
    amount=Amount(1_000_000, Denomination.NANOS),
    record={"tx_bytes": "AAAC", "gas": [["0x11", 7, "1thX"]]},
)


def test_round_trip_through_json_is_exact() -> None:
    document = json.loads(json.dumps(SIGNED.to_dict()))
    assert document["amount"] == {"value": 1_000_000, "unit": "nanos"}
    assert SignedTransfer.from_dict(document) == SIGNED


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d.update(rail="stardust"), "unknown rail 'stardust'"),
        (lambda d: d.pop("rail"), "unknown rail None"),
        (lambda d: d.update(transfer_id=""), "a signed transfer names its transfer id"),
        (lambda d: d.pop("transfer_id"), "a signed transfer names its transfer id"),
        (lambda d: d.update(transfer_id=7), "a signed transfer names its transfer id"),
        (lambda d: d.update(record=[]), "a signed transfer's record is an object"),
        (lambda d: d.update(amount={"value": 5, "unit": "Mi"}), "unknown unit 'Mi'"),
        (lambda d: d.pop("amount"), "an amount is an object with value and unit"),
    ],
)
def test_defects_are_refused(change: Any, complaint: str) -> None:
    document = json.loads(json.dumps(SIGNED.to_dict()))
    change(document)
    with pytest.raises(ValueError, match=f"^{re.escape(complaint)}$"):
        SignedTransfer.from_dict(document)
    with pytest.raises(ValueError, match=r"^a signed transfer is an object$"):
        SignedTransfer.from_dict([document])


def test_invalid_receiver_carries_its_reason() -> None:
    err = ReceiverError("receiver_format")
    assert err.reason == "receiver_format"
    # The reason is its message too: what a log line or a flow error shows.
    assert err.args == ("receiver_format",)
    assert str(err) == "receiver_format"
    assert isinstance(err, ValueError)
