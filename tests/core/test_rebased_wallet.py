"""The Rebased wallet's offline half, on the real iota-sdk (no network).

Skipped with a reason where ``iota-sdk==3.0.0b1`` is not installed
(requirements/runtime.txt).
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import re
from typing import Any

import pytest

from custom_components.iota_energy.core import rebased_keys
from custom_components.iota_energy.core.rail import (
    RailName,
    ReceiverError,
    Shortfall,
    SignedTransfer,
    TransferOrder,
)
from custom_components.iota_energy.core.rebased_keys import (
    DEFAULT_PATH,
    MnemonicError,
    PathError,
    RebasedKey,
    account_path,
    check_receiver,
    generate_mnemonic,
    normalize_mnemonic,
    validate_path,
)
from custom_components.iota_energy.core.rebased_wallet import (
    MAX_GAS_COINS,
    GasCoin,
    Resume,
    TransferError,
    choose_coins,
    resume_decision,
    sign_transfer,
    stored_transaction,
)
from custom_components.iota_energy.core.units import Amount, Denomination
from tests.rebased_vectors import OFFICIAL_VECTORS

sdk: Any = pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

MNEMONIC = OFFICIAL_VECTORS[0][0]
RECEIVER = "0x" + "ab" * 32


def coin(number: int, balance: int, version: int = 7) -> GasCoin:
    return GasCoin(
        object_id="0x" + f"{number:02x}" * 32,
        version=version,
        digest=sdk.ObjectDigest.from_bytes(bytes([number]) * 32).to_base58(),
        balance=balance,
    )


def order(nanos: int = 1_000_000, receiver: str = RECEIVER) -> TransferOrder:
    return TransferOrder("P000001", receiver, Amount(nanos, Denomination.NANOS))


def signed(
    key: RebasedKey, coins: list[GasCoin], budget: int = 2_000_000
) -> SignedTransfer:
    result = sign_transfer(
        key, order(), coins, gas_price=1000, gas_budget=budget, max_gas_budget=10**8
    )
    assert isinstance(result, SignedTransfer)
    return result


@pytest.fixture(scope="module")
def key() -> RebasedKey:
    return RebasedKey.from_mnemonic(MNEMONIC)


# --- keys ----------------------------------------------------------------------


@pytest.mark.parametrize(("mnemonic", "private_key", "address"), OFFICIAL_VECTORS)
def test_official_vectors(mnemonic: str, private_key: str, address: str) -> None:
    key = RebasedKey.from_mnemonic(mnemonic)
    assert key.address == address
    assert key.path == DEFAULT_PATH == "m/44'/4218'/0'/0'/0'"
    # The same key the SDK's bech32 private key names.
    expected = sdk.Ed25519PrivateKey.from_bech32(private_key)
    assert expected.public_key().derive_address().to_hex() == address


def test_address_index_is_part_of_the_path() -> None:
    first = RebasedKey.from_mnemonic(MNEMONIC, account_path(0))
    second = RebasedKey.from_mnemonic(MNEMONIC, account_path(1))
    assert first.address == OFFICIAL_VECTORS[0][2]
    assert second.address != first.address
    assert second.path == "m/44'/4218'/0'/0'/1'"


@pytest.mark.parametrize(
    "path",
    [
        "m/44/4218/0/0/0",  # the SDK hardens this silently into the default
        "m/44'/4218'/0'/0/0",  # secp256k1's shape
        "m/44'/784'/0'/0'/0'",  # Sui's coin type
        "m/54'/4218'/0'/0'/0'",
        "m/44'/4218'/0'/0'",
        "m/44'/4218'/0'/0'/0'/0'",
        "m/44'/4218'/0'/0'/2147483648'",
        "m/044'/4218'/0'/0'/0'",
        "m/0",
        "44'/4218'/0'/0'/0'",
        "",
        "garbage",
    ],
)
def test_paths_other_than_iotas_are_refused(path: str) -> None:
    with pytest.raises(PathError) as caught:
        validate_path(path)
    assert str(caught.value) == (
        f"not IOTA's Ed25519 path m/44'/4218'/a'/c'/i': {path!r}"
    )
    with pytest.raises(PathError):
        RebasedKey.from_mnemonic(MNEMONIC, path)


def test_mnemonic_is_normalized() -> None:
    messy = "  " + MNEMONIC.upper().replace(" ", " \t ") + "\n"
    assert normalize_mnemonic(messy) == MNEMONIC
    assert RebasedKey.from_mnemonic(messy).address == OFFICIAL_VECTORS[0][2]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m: m.rsplit(" ", 1)[0] + " abandon", "mnemonic_checksum"),
        (lambda m: m.replace("film", "filmx"), "mnemonic_unknown_word"),
        (lambda m: " ".join(m.split()[:11]), "mnemonic_word_count"),
        (lambda m: "", "mnemonic_word_count"),
    ],
)
def test_bad_mnemonics_say_why_and_nothing_else(change: Any, reason: str) -> None:
    bad = change(MNEMONIC)
    with pytest.raises(MnemonicError) as caught:
        RebasedKey.from_mnemonic(bad)
    err = caught.value
    assert err.reason == reason
    assert err.args == (reason,)
    # Nothing of the SDK's exception travels with it.
    assert err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__
    shown = str(err) + repr(err)
    assert not any(word in shown for word in bad.split() if len(word) > 3)


def test_generated_mnemonics_are_valid_and_new() -> None:
    first, second = generate_mnemonic(), generate_mnemonic()
    assert len(first.split()) == 24
    assert first != second
    assert len(generate_mnemonic(12).split()) == 12
    assert RebasedKey.from_mnemonic(first).address.startswith("0x")
    with pytest.raises(ValueError, match=r"^a new mnemonic has 12 or 24 words$"):
        generate_mnemonic(13)


def test_the_key_shows_its_address_only(key: RebasedKey) -> None:
    shown = repr(key) + str(key) + repr(vars(type(key)))
    assert key.address in repr(key)
    assert "film" not in shown
    assert "iotaprivkey" not in shown
    with pytest.raises(TypeError, match=r"^a wallet key is not pickled$"):
        pickle.dumps(key)


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (13, "mnemonic_word_count"),
        (11, "mnemonic_word_count"),
        (12, "mnemonic_checksum"),
    ],
)
def test_the_sdks_own_complaints_are_sorted(words: int, reason: str) -> None:
    """What the SDK says, mapped to a reason key.

    ``from_mnemonic`` counts the words itself before the SDK sees them, so
    the SDK's word-count text reaches ``_mnemonic_reason`` only here.
    """
    phrase = " ".join((MNEMONIC.split() * 2)[:words])
    # The SDK's one generic type.
    with pytest.raises(Exception, match=r"^mnemonic error: ") as caught:
        sdk.Ed25519PrivateKey.from_mnemonic_with_path(phrase, DEFAULT_PATH, "")
    assert rebased_keys._mnemonic_reason(str(caught.value)) == reason


def test_an_sdk_complaint_of_another_kind_is_invalid() -> None:
    assert rebased_keys._mnemonic_reason("mnemonic error: bad entropy") == (
        "mnemonic_invalid"
    )
    assert rebased_keys._mnemonic_reason("Unknown Word (word 3)") == (
        "mnemonic_unknown_word"
    )


# --- receivers -------------------------------------------------------------------


def test_receiver_is_0x_and_64_hex() -> None:
    assert check_receiver(" 0x" + "AB" * 32 + " ") == RECEIVER
    for bad in (
        "ab" * 32,
        "0x" + "ab" * 31,
        "0x" + "ab" * 33,
        "0x" + "ab" * 31 + "zz",
        "0x12",
        "iota1qrhacyfwlcnzkvzteumekfkrrwks98mpdm37cj4xx3drvmjvnep6xqgyzyx",
        "",
    ):
        with pytest.raises(ReceiverError) as caught:
            check_receiver(bad)
        assert caught.value.reason == "receiver_format"
    with pytest.raises(ReceiverError) as caught:
        check_receiver("0x" + "0" * 64)
    assert caught.value.reason == "receiver_zero"


# --- building and signing offline -------------------------------------------------


def test_a_signed_transfer_is_stored_whole_and_checks_out(key: RebasedKey) -> None:
    transfer = signed(key, [coin(1, 5_000_000)])
    assert transfer.rail is RailName.REBASED
    assert transfer.amount == Amount(1_000_000, Denomination.NANOS)
    stored = SignedTransfer.from_dict(json.loads(json.dumps(transfer.to_dict())))
    assert stored == transfer
    transaction, signature = stored_transaction(stored)
    # The digest the network will report is the stored transfer id.
    raw = base64.b64decode(stored.record["tx_bytes"])
    assert sdk.Transaction.from_bcs(raw).digest().to_base58() == transfer.transfer_id
    assert transaction.sender().to_hex() == key.address
    gas = transaction.gas_payment()
    assert (gas.budget, gas.price) == (2_000_000, 1000)
    # The signature verifies with the SDK's own verifier.
    sdk.UserSignatureVerifier().verify(transaction.signing_digest(), signature)
    payload = json.loads(transaction.to_json())["V1"]["kind"]["Programmable"]
    commands = [next(iter(c)) for c in payload["commands"]]
    assert commands == ["SplitCoins", "TransferObjects"]
    # The record keeps whole what was signed: who pays whom, with which gas.
    assert transfer.record == {
        "sender": key.address,
        "receiver": RECEIVER,
        "tx_bytes": base64.b64encode(transaction.to_bcs()).decode("ascii"),
        "signature": signature.to_base64(),
        "gas": [coin(1, 5_000_000).reference()],
        "gas_budget": 2_000_000,
        "gas_price": 1000,
    }


def test_signing_is_deterministic(key: RebasedKey) -> None:
    coins = [coin(1, 5_000_000)]
    assert signed(key, coins) == signed(key, coins)
    assert signed(key, [coin(1, 5_000_000, version=8)]) != signed(key, coins)


def test_a_damaged_record_is_never_executed(key: RebasedKey) -> None:
    transfer = signed(key, [coin(1, 5_000_000)])
    other = RebasedKey.from_mnemonic(OFFICIAL_VECTORS[1][0])
    transaction, _ = stored_transaction(transfer)
    foreign = other.sign_transaction(transaction).to_base64()
    changes: list[dict[str, Any]] = [
        {"signature": foreign},  # valid signature, not the sender's
        {"tx_bytes": base64.b64encode(b"\x00" * 10).decode()},
        {"sender": other.address},
    ]
    not_the_senders = "the stored signature is not the sender's"
    complaints = [
        not_the_senders,
        # The SDK's exception shows by its type's name only.
        "the stored transfer is damaged (Generic)",
        not_the_senders,
    ]
    for change, complaint in zip(changes, complaints, strict=True):
        damaged = SignedTransfer(
            transfer.rail,
            transfer.transfer_id,
            transfer.amount,
            dict(transfer.record) | change,
        )
        with pytest.raises(ValueError, match=f"^{re.escape(complaint)}$"):
            stored_transaction(damaged)
    renamed = SignedTransfer(transfer.rail, "1" * 44, transfer.amount, transfer.record)
    with pytest.raises(
        ValueError, match=r"^the stored bytes do not hash to the stored digest$"
    ):
        stored_transaction(renamed)


def test_coins_must_cover_amount_and_budget(key: RebasedKey) -> None:
    result = sign_transfer(
        key,
        order(1_000_000),
        [coin(1, 2_500_000)],
        gas_price=1000,
        gas_budget=2_000_000,
        max_gas_budget=10**8,
    )
    assert result == Shortfall(Amount(500_000, Denomination.NANOS))
    two = signed(key, [coin(1, 2_000_000), coin(2, 1_000_000), coin(3, 10)])
    assert sorted(g[0] for g in two.record["gas"]) == [
        coin(1, 0).object_id,
        coin(2, 0).object_id,
    ]


def test_funds_in_too_many_coins_fall_short_by_one_nano(key: RebasedKey) -> None:
    # 33 coins of 100 000 hold 3.3 M nanos, but 32 of them (3.2 M) do not
    # cover 1 M + 2.25 M of gas: short, though the total would do.
    coins = [coin(n, 100_000) for n in range(1, MAX_GAS_COINS + 2)]
    result = sign_transfer(
        key,
        order(1_000_000),
        coins,
        gas_price=1000,
        gas_budget=2_250_000,
        max_gas_budget=10**8,
    )
    assert result == Shortfall(Amount(1, Denomination.NANOS))


def test_the_smallest_order_and_gas_and_the_cap_itself_are_allowed(
    key: RebasedKey,
) -> None:
    one = sign_transfer(
        key, order(1), [coin(1, 10**9)], gas_price=1, gas_budget=1, max_gas_budget=1
    )
    assert isinstance(one, SignedTransfer)
    assert one.amount == Amount(1, Denomination.NANOS)
    assert (one.record["gas_budget"], one.record["gas_price"]) == (1, 1)
    transaction, _ = stored_transaction(one)
    gas = transaction.gas_payment()
    assert (gas.budget, gas.price) == (1, 1)


def test_coin_choice_takes_the_fewest_and_stops_at_the_limit() -> None:
    coins = [coin(n, 10) for n in range(1, MAX_GAS_COINS + 2)]
    assert choose_coins(coins, 10 * MAX_GAS_COINS) is not None
    assert choose_coins(coins, 10 * MAX_GAS_COINS + 1) is None
    assert choose_coins([coin(1, 5), coin(2, 50)], 40) == [coin(2, 50)]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"gas_budget": 0}, "gas_zero"),
        ({"gas_price": 0}, "gas_zero"),
        ({"gas_budget": 10**8 + 1}, "gas_budget_over_cap"),
    ],
)
def test_gas_is_checked(key: RebasedKey, kwargs: dict[str, int], reason: str) -> None:
    arguments = {"gas_price": 1000, "gas_budget": 2_000_000, "max_gas_budget": 10**8}
    with pytest.raises(TransferError) as caught:
        sign_transfer(key, order(), [coin(1, 10**9)], **(arguments | kwargs))
    assert caught.value.reason == reason


def test_orders_are_checked(key: RebasedKey) -> None:
    gas = {"gas_price": 1000, "gas_budget": 2_000_000, "max_gas_budget": 10**8}
    cases = [
        (
            TransferOrder("P1", RECEIVER, Amount(5, Denomination.LEGACY_I)),
            "amount_unit",
        ),
        (order(0), "amount_zero"),
        (order(receiver=key.address), "receiver_is_wallet"),
    ]
    for wrong, reason in cases:
        with pytest.raises(TransferError) as caught:
            sign_transfer(key, wrong, [coin(1, 10**9)], **gas)
        assert caught.value.reason == reason
        assert caught.value.args == (reason,)
    with pytest.raises(ReceiverError):
        sign_transfer(key, order(receiver="0x12"), [coin(1, 10**9)], **gas)


def test_the_mnemonic_never_reaches_logs_or_output(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    key = RebasedKey.from_mnemonic(MNEMONIC)
    signed(key, [coin(1, 5_000_000)])
    with pytest.raises(MnemonicError):
        RebasedKey.from_mnemonic(MNEMONIC.replace("film", "filmx"))
    captured = capsys.readouterr()
    seen = caplog.text + captured.out + captured.err
    assert "crazy soon" not in seen
    assert "iotaprivkey" not in seen


# --- the resume rule ---------------------------------------------------------------


def test_resume_rule(key: RebasedKey) -> None:
    transfer = signed(key, [coin(1, 2_000_000), coin(2, 1_000_000)])
    ids = [g[0] for g in transfer.record["gas"]]
    unchanged: dict[str, int | None] = dict.fromkeys(ids, 7)

    def decide(versions: dict[str, int | None], effects: Any = "none") -> Resume:
        return resume_decision(transfer, current_versions=versions, effects=effects)

    assert decide(unchanged, "success") is Resume.EXECUTED
    # Executed but failed: gas charged, the digest is used up.
    assert decide(unchanged, "failure") is Resume.DEAD
    assert decide(unchanged) is Resume.SEND_AGAIN
    # A gas coin moved on without it: it can never execute.
    assert decide(unchanged | {ids[1]: 8}) is Resume.DEAD
    assert decide(unchanged | {ids[0]: None}) is Resume.DEAD
    # A node behind the wallet proves nothing: send the same bytes again.
    assert decide(unchanged | {ids[0]: 6}) is Resume.SEND_AGAIN
    # Effects win over versions (they were looked up after the versions).
    assert decide(unchanged | {ids[0]: 8}, "success") is Resume.EXECUTED
    with pytest.raises(ValueError, match="no current version"):
        decide({ids[0]: 7})
