"""The wallet's CPU-bound work (core/wallet_work.py), called in this process.

``test_worker_pool.py`` compares what a worker computes with what this
process computes; both run the same code, so that comparison cannot catch
a wrong value. Here each result is checked against what it must be: the
addresses against devtangle's own derivation, each signed transaction's
fields as PyOTA reads them back, the signatures by PyOTA's validator, and
the proof of work by its weight and chaining.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from custom_components.iota_energy.core import wallet_work
from custom_components.iota_energy.core.pow import (
    trailing_zero_trits,
    transaction_hash,
)
from custom_components.iota_energy.core.thirdparty import import_pyota
from custom_components.iota_energy.core.wallet_work import (
    BundleOrder,
    InputKey,
    SignedBundle,
    WalletError,
)
from tests.devtangle.conftest import BOB_SEED, TEST_MWM, address_of

from .conftest import PAYER_SEED

TAG = "HOTELIOTA".ljust(27, "9")
STAMP = 1_764_669_600
MESSAGE = "RECEIPT9FOR9PERIOD9ONE"


def order(**changes: Any) -> BundleOrder:
    """242 IOTA from index 0 (1,000) to Bob, 758 back to index 1."""
    fields: dict[str, Any] = {
        "receiver": address_of(BOB_SEED, 0),
        "amount": 242,
        "message": "",
        "tag": TAG,
        "inputs": (InputKey(0, address_of(PAYER_SEED, 0), 1_000),),
        "remainder_address": address_of(PAYER_SEED, 1),
        "timestamp": STAMP,
    }
    fields.update(changes)
    return BundleOrder(**fields)


def read_back(signed: SignedBundle) -> Any:
    """The signed trytes as PyOTA's Bundle, after its validator accepted them."""
    iota = import_pyota()
    from iota.transaction.validator import BundleValidator

    bundle = iota.Bundle.from_tryte_strings(signed.trytes)
    validator = BundleValidator(bundle)
    assert validator.is_valid(), validator.errors
    return bundle


def test_addresses_are_those_of_the_seed() -> None:
    assert wallet_work.derive_addresses(PAYER_SEED, (5, 0)) == (
        address_of(PAYER_SEED, 5),
        address_of(PAYER_SEED, 0),
    )
    assert wallet_work.derive_addresses(PAYER_SEED, ()) == ()


def test_a_bundle_with_a_remainder_signed_whole() -> None:
    signed = wallet_work.sign_bundle(PAYER_SEED, order())
    bundle = read_back(signed)
    payer = address_of(PAYER_SEED, 0)
    assert [(str(t.address), t.value) for t in bundle] == [
        (address_of(BOB_SEED, 0), 242),
        (payer, -1_000),
        (payer, 0),  # the input's second signature fragment
        (address_of(PAYER_SEED, 1), 758),
    ]
    assert all(t.timestamp == STAMP for t in bundle)
    assert [str(t.tag) for t in bundle] == [TAG] * 4
    # No message: the output's fragment is empty (all nines).
    assert str(bundle[0].signature_message_fragment) == "9" * 2187
    assert signed.bundle_hash == str(bundle.hash)
    assert all(str(t.bundle_hash) == signed.bundle_hash for t in bundle)
    # Head (last index) first, as PyOTA sends them to attachToTangle.
    assert signed.trytes == tuple(str(t.as_tryte_string()) for t in bundle)[::-1]
    assert signed.inputs == ((0, 1_000),)


def test_an_exact_payment_has_no_remainder_and_carries_its_message() -> None:
    exact = order(
        amount=1_000,
        remainder_address=None,
        message=MESSAGE,
        inputs=(
            InputKey(0, address_of(PAYER_SEED, 0), 600),
            InputKey(2, address_of(PAYER_SEED, 2), 400),
        ),
    )
    signed = wallet_work.sign_bundle(PAYER_SEED, exact)
    bundle = read_back(signed)
    assert [t.value for t in bundle] == [1_000, -600, 0, -400, 0]
    assert str(bundle[0].signature_message_fragment) == MESSAGE.ljust(2187, "9")
    assert signed.inputs == ((0, 600), (2, 400))


def test_the_same_order_signs_to_the_same_trytes() -> None:
    first = wallet_work.sign_bundle(PAYER_SEED, order())
    assert wallet_work.sign_bundle(PAYER_SEED, order()) == first
    later = wallet_work.sign_bundle(PAYER_SEED, order(timestamp=STAMP + 1))
    assert later.bundle_hash != first.bundle_hash


def test_a_change_of_one_iota_goes_to_the_remainder() -> None:
    bundle = read_back(wallet_work.sign_bundle(PAYER_SEED, order(amount=999)))
    assert [t.value for t in bundle] == [999, -1_000, 0, 1]


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 1_001},  # more than the inputs hold
        {"amount": 999, "remainder_address": None},  # one IOTA left over
        {"remainder_address": None},  # change left without an address
        {"amount": 1_000},  # no change, but a remainder address
    ],
)
def test_inputs_and_remainder_must_fit_the_amount(changes: dict[str, Any]) -> None:
    with pytest.raises(WalletError) as caught:
        wallet_work.sign_bundle(PAYER_SEED, order(**changes))
    assert str(caught.value) == "inputs and remainder do not fit the amount"


def test_failures_name_the_step_and_the_type_only() -> None:
    bad_seed = PAYER_SEED[:40] + "a" + PAYER_SEED[41:]
    with pytest.raises(WalletError) as derived:
        wallet_work.derive_addresses(bad_seed, (0,))
    assert str(derived.value) == "address derivation failed (ValueError)"
    assert derived.value.__cause__ is None
    assert derived.value.__suppress_context__
    bad_order = dataclasses.replace(order(), receiver="b" * 81)
    with pytest.raises(WalletError) as signing:
        wallet_work.sign_bundle(PAYER_SEED, bad_order)
    assert str(signing.value) == "signing failed (ValueError)"
    assert signing.value.__cause__ is None
    assert signing.value.__suppress_context__


def test_local_proof_of_work_chains_the_bundle_tail_first() -> None:
    signed = wallet_work.sign_bundle(PAYER_SEED, order())
    trunk, branch = "A" * 81, "B" * 81
    attached = wallet_work.proof_of_work(trunk, branch, TEST_MWM, signed.trytes)
    iota = import_pyota()
    transactions = [iota.Transaction.from_tryte_string(t) for t in attached]
    # Tail first; the head (last index) approves trunk and branch, every
    # other transaction the one after it and the trunk.
    assert [t.current_index for t in transactions] == [0, 1, 2, 3]
    for here, after in zip(transactions, [*transactions[1:], None], strict=True):
        assert trailing_zero_trits(transaction_hash(str(here.as_tryte_string()))) >= (
            TEST_MWM
        )
        if after is None:
            assert (
                str(here.trunk_transaction_hash),
                str(here.branch_transaction_hash),
            ) == (
                trunk,
                branch,
            )
        else:
            assert str(here.trunk_transaction_hash) == str(after.hash)
            assert str(here.branch_transaction_hash) == trunk
    # The signatures are untouched (the signed trytes come head first).
    assert [t[:2187] for t in attached] == [t[:2187] for t in signed.trytes[::-1]]
