"""Seed, receiver and tag checks of the wallet configuration.

The checksum is checked three ways: fixed vectors that PyOTA 2.1.0 produced
from seed-derived addresses, an independent Kerl written here from the
specification (Keccak-384 over 243 trits as a 384-bit integer), and
property tests over random addresses and single-character typos.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
import pytest
import sha3

from custom_components.iota_energy.core.addresses import (
    VALUE_ADDRESS_LAST_TRYTES,
    WalletInputError,
    address_checksum,
    generate_seed,
    validate_receiver,
    validate_seed,
    validate_tag,
)
from custom_components.iota_energy.core.trits import (
    TRYTE_ALPHABET,
    trits_to_int,
    trits_to_trytes,
    trytes_to_trits,
)

# Security-2 addresses with checksum, as PyOTA 2.1.0 derives them:
# ("A" * 81, index 0 and 1), (devtangle's test seed ALICE, index 0 and 1).
PYOTA_VECTORS = (
    "XUERGHWTYRTFUYKFKXURKHMFEVLOIFTTCNTXOGLDPCZ9CJLKHROOPGNAQYFJEPGK9OKUQROUECBAVNXRXMJUHIGLX9",
    "RJBYLCIOUKWJVCUKZQZCPIKNBUOGRGVXHRTTE9ZFSCGTFRKELMJBDDAKEYYCLHLJDNSHQ9RTIUIDLMUOBVG9LXZ9PB",
    "XZTMXWTMJXSIQVIJRMMTOIYITCFWMFCXPQCRVNNHJVNDCOENRD9AC9VSAPFIOZEVTS9JOGYVDXLBSZMSAHL9DCH9VZ",
    "XKXHWXCMOSPUNIPRKJVRJJSEREZPG9NEMYOILCAARFCJ9RBLMVKDFRGJJ9WAQLQVBAKIKXEXALAKQPAEALVALDLYLC",
)
SEED = "SEEDFORTESTS9ONLY".ljust(81, "9")

_HALF = 3**242 // 2  # the largest magnitude 242 balanced trits hold


def _reference_kerl_checksum(address: str) -> str:
    """Kerl's one-block hash of the address, last 9 trytes; from the spec.

    Absorb: 243 trits, the last forced to 0, as a signed integer in 48 bytes
    big-endian two's complement. Squeeze: Keccak-384 digest back to a signed
    integer, then 242 balanced trits and a final 0.
    """
    trits = trytes_to_trits(address)[:242]
    value = trits_to_int(trits)
    sponge = sha3.keccak_384()
    sponge.update(value.to_bytes(48, "big", signed=True))
    number = int.from_bytes(sponge.digest(), "big", signed=True)
    # The digest spans 2^384; balanced trits span 3^242: wrap into that range.
    if number > _HALF:
        number -= 3**242
    elif number < -_HALF:
        number += 3**242
    out: list[int] = []
    rest = number
    for _ in range(242):
        trit = (rest + 1) % 3 - 1
        out.append(trit)
        rest = (rest - trit) // 3
    return trits_to_trytes([*out, 0])[-9:]


addresses = st.text(alphabet=TRYTE_ALPHABET, min_size=81, max_size=81)


@pytest.mark.parametrize("receiver", PYOTA_VECTORS)
def test_pyota_vectors_are_accepted_as_they_are(receiver: str) -> None:
    assert validate_receiver(receiver) == receiver
    assert address_checksum(receiver[:81]) == receiver[81:]


@pytest.mark.parametrize("receiver", PYOTA_VECTORS)
def test_independent_kerl_agrees_with_the_vectors(receiver: str) -> None:
    assert _reference_kerl_checksum(receiver[:81]) == receiver[81:]


@settings(max_examples=60, deadline=None)
@given(addresses)
def test_checksum_agrees_with_independent_kerl(address: str) -> None:
    assert address_checksum(address) == _reference_kerl_checksum(address)


def test_receiver_is_normalised() -> None:
    receiver = PYOTA_VECTORS[0]
    assert validate_receiver(f"  {receiver.lower()}\n") == receiver


@pytest.mark.parametrize("position", range(90))
def test_every_single_character_typo_is_caught(position: int) -> None:
    receiver = PYOTA_VECTORS[2]
    for replacement in ("9", "M", "Z"):
        if receiver[position] == replacement:
            continue
        typo = receiver[:position] + replacement + receiver[position + 1 :]
        with pytest.raises(WalletInputError) as caught:
            validate_receiver(typo)
        assert caught.value.reason == "receiver_checksum"


# Value addresses: the last trit is 0 (the only kind a payment may go to).
value_addresses = st.tuples(
    st.text(alphabet=TRYTE_ALPHABET, min_size=80, max_size=80),
    st.sampled_from(sorted(VALUE_ADDRESS_LAST_TRYTES)),
).map("".join)


@settings(max_examples=40, deadline=None)
@given(value_addresses, st.integers(0, 89), st.sampled_from(TRYTE_ALPHABET))
def test_random_typos_are_caught(address: str, position: int, char: str) -> None:
    """Every one-character typo of a value address is refused.

    The checksum (Kerl) ignores the address's last trit, so a typo that only
    flips it keeps the checksum: the value-address rule catches those.
    """
    receiver = address + address_checksum(address)
    typo = receiver[:position] + char + receiver[position + 1 :]
    if typo == receiver:
        return
    with pytest.raises(WalletInputError) as caught:
        validate_receiver(typo)
    assert caught.value.reason in {"receiver_checksum", "receiver_not_value_address"}


def test_address_without_checksum_asks_for_the_90_tryte_form() -> None:
    with pytest.raises(WalletInputError) as caught:
        validate_receiver(PYOTA_VECTORS[0][:81])
    assert caught.value.reason == "receiver_no_checksum"
    assert "90" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        PYOTA_VECTORS[0][:89],
        PYOTA_VECTORS[0] + "9",
        PYOTA_VECTORS[0][:80],
        PYOTA_VECTORS[0][:89] + "1",
        PYOTA_VECTORS[0][:45] + " " + PYOTA_VECTORS[0][46:],
        "Ä" * 90,
    ],
)
def test_malformed_receivers_are_refused(text: str) -> None:
    with pytest.raises(WalletInputError) as caught:
        validate_receiver(text)
    assert caught.value.reason == "invalid_receiver"


@pytest.mark.parametrize("last", TRYTE_ALPHABET)
def test_only_addresses_ending_in_trit_zero_receive_value(last: str) -> None:
    address = "WORTHLESS9ADDRESS".ljust(80, "9") + last
    receiver = address + address_checksum(address)
    ends_in_zero = trytes_to_trits(last)[2] == 0
    assert (last in VALUE_ADDRESS_LAST_TRYTES) == ends_in_zero
    if ends_in_zero:
        assert validate_receiver(receiver) == receiver
    else:
        with pytest.raises(WalletInputError) as caught:
            validate_receiver(receiver)
        assert caught.value.reason == "receiver_not_value_address"


def test_seed_is_normalised_not_padded() -> None:
    assert validate_seed(f" {SEED.lower()} ") == SEED


@pytest.mark.parametrize(
    "text",
    [
        "",
        SEED[:80],  # PyOTA would pad this with '9': refused instead
        SEED + "A",
        SEED[:80] + "1",
        SEED[:40] + " " + SEED[41:],
        "SHORT",
    ],
)
def test_bad_seeds_are_refused_without_repeating_them(text: str) -> None:
    with pytest.raises(WalletInputError) as caught:
        validate_seed(text)
    error: Any = caught.value
    assert error.reason == "invalid_seed"
    leaked = bool(text.strip()) and (
        text.strip().upper() in str(error) or text.strip().upper() in repr(error)
    )
    assert not leaked, "the seed text appears in the exception"


def test_generated_seeds_are_valid_random_and_use_every_tryte() -> None:
    seeds = [generate_seed() for _ in range(60)]
    assert all(validate_seed(seed) == seed for seed in seeds)
    assert len(set(seeds)) == len(seeds)
    assert set("".join(seeds)) == set(TRYTE_ALPHABET)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("HOTELIOTA", "HOTELIOTA"),
        (" hoteliota ", "HOTELIOTA"),
        ("A" * 27, "A" * 27),
        ("9", "9"),
    ],
)
def test_tags_are_normalised_and_left_unpadded(text: str, tag: str) -> None:
    assert validate_tag(text) == tag


@pytest.mark.parametrize("text", ["", "  ", "A" * 28, "HOTEL IOTA", "HOTEL-1"])
def test_bad_tags_are_refused(text: str) -> None:
    with pytest.raises(WalletInputError) as caught:
        validate_tag(text)
    assert caught.value.reason == "invalid_tag"


# --- found by mutation testing (scripts/mutation) ---------------------------------

_NOT_VALUE = "WORTHLESS9ADDRESS".ljust(80, "9") + "M"


@pytest.mark.parametrize(
    ("check", "text", "reason", "message"),
    [
        (
            validate_seed,
            "SHORT",
            "invalid_seed",
            "a seed is exactly 81 characters A-Z and 9",
        ),
        (validate_receiver, "", "invalid_receiver", "an address consists of A-Z and 9"),
        (
            validate_receiver,
            PYOTA_VECTORS[0][:81],
            "receiver_no_checksum",
            "give the address with its checksum (90 trytes)",
        ),
        (
            validate_receiver,
            PYOTA_VECTORS[0][:89],
            "invalid_receiver",
            "an address has 90 trytes",
        ),
        (
            validate_receiver,
            PYOTA_VECTORS[0][:81] + "9" * 9,
            "receiver_checksum",
            "the address checksum does not match",
        ),
        (
            validate_receiver,
            _NOT_VALUE + address_checksum(_NOT_VALUE),
            "receiver_not_value_address",
            "the address does not end in trit 0, so it cannot receive value",
        ),
        (
            validate_tag,
            "A" * 28,
            "invalid_tag",
            "a tag is 1 to 27 characters A-Z and 9",
        ),
    ],
)
def test_each_refusal_has_its_reason_and_message(
    check: Any, text: str, reason: str, message: str
) -> None:
    with pytest.raises(WalletInputError) as caught:
        check(text)
    assert caught.value.reason == reason
    assert str(caught.value) == message
