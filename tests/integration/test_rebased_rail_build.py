"""The Rebased rail an entry's settings build (iota-sdk's key derivation, offline).

What the payment shell hands the rail from the entry: the key at the stored
path, the node at the stored URL, the gas cap and the chain; a stored wallet
that cannot be read is a reason key and nothing of the mnemonic.
"""

from __future__ import annotations

from dataclasses import replace

from homeassistant.core import HomeAssistant
import pytest

pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.core.outbox import PaymentPolicy
from custom_components.iota_energy.core.rebased_keys import DEFAULT_PATH, RebasedKey
from custom_components.iota_energy.core.rebased_rail import RebasedRail
from custom_components.iota_energy.payment_manager import (
    PaymentSettings,
    WalletUnreadableError,
    build_rebased_rail,
)
from tests.devrebased.conftest import PAYER_MNEMONIC, RECEIVER

from .helpers import unstarted_manager

OTHER_PATH = "m/44'/4218'/0'/0'/7'"
SETTINGS = PaymentSettings(
    node_url="http://127.0.0.1:9125/graphql",
    receiver=RECEIVER,
    auto_pay=True,
    policy=PaymentPolicy(RECEIVER),
    rail="rebased",
    mnemonic=PAYER_MNEMONIC,
    key_path=OTHER_PATH,
    max_gas_budget=7_000_000,
    chain_id="6364aad5",
)


def test_the_rail_pays_from_the_stored_key_through_the_stored_node() -> None:
    rail = build_rebased_rail(SETTINGS)
    assert isinstance(rail, RebasedRail)
    expected = RebasedKey.from_mnemonic(PAYER_MNEMONIC, OTHER_PATH)
    assert rail.key.address == expected.address
    assert rail.key.address != RebasedKey.from_mnemonic(PAYER_MNEMONIC).address
    assert rail.key.path == OTHER_PATH
    assert rail.node.url == "http://127.0.0.1:9125/graphql"
    assert (rail.max_gas_budget, rail.chain_id) == (7_000_000, "6364aad5")


async def test_a_rebased_entry_s_manager_builds_this_rail_and_no_worker(
    hass: HomeAssistant,
) -> None:
    manager = unstarted_manager(hass, SETTINGS)
    rail = manager._build_rail()
    assert isinstance(rail, RebasedRail)
    assert rail.key.path == OTHER_PATH
    assert rail.node.url == "http://127.0.0.1:9125/graphql"
    assert manager._worker is None


@pytest.mark.parametrize(
    ("mnemonic", "path", "reason"),
    [
        (" ".join(PAYER_MNEMONIC.split()[:-1]), DEFAULT_PATH, "mnemonic_word_count"),
        (PAYER_MNEMONIC, "m/44'/60'/0'/0'/0'", "invalid_key_path"),
    ],
)
def test_an_unreadable_wallet_is_a_reason_without_the_mnemonic(
    mnemonic: str, path: str, reason: str
) -> None:
    with pytest.raises(WalletUnreadableError) as caught:
        build_rebased_rail(replace(SETTINGS, mnemonic=mnemonic, key_path=path))
    assert caught.value.reason == reason
    assert caught.value.args == (reason,)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    text = f"{caught.value!s} {caught.value!r}"
    assert not set(text.split()) & set(PAYER_MNEMONIC.split())
