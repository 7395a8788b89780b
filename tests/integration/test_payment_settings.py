"""What an entry says about paying, read into settings; the helpers the entities use.

Plain functions of payment_manager.py, tested value by value: which rail, node,
caps and defaults an entry's data and options give, and how the payment
entities and repair issues word amounts and addresses. The PaymentManager
itself runs in test_payments.py, test_payment_paths.py and
test_rebased_payments.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_CHAIN_ID,
    CONF_GRAPHQL_URL,
    CONF_KEY_PATH,
    CONF_MAX_DAILY,
    CONF_MAX_GAS_BUDGET,
    CONF_MAX_PAYMENT,
    CONF_MNEMONIC,
    CONF_MWM,
    CONF_NETWORK,
    CONF_NODE_URL,
    CONF_POW_MODE,
    CONF_RAIL,
    CONF_RECEIVER,
    CONF_SEED,
    CONF_TAG,
    NETWORK_CUSTOM,
    RAIL_LEGACY,
    RAIL_REBASED,
)
from custom_components.iota_energy.core.outbox import PaymentPolicy
from custom_components.iota_energy.core.payments import (
    OutboxState,
    Payment,
    PaymentStatus,
)
from custom_components.iota_energy.core.rail import RailName, SignedTransfer
from custom_components.iota_energy.core.rebased_keys import DEFAULT_PATH
from custom_components.iota_energy.core.rebased_node import NETWORK_URLS
from custom_components.iota_energy.core.units import Amount, Denomination
from custom_components.iota_energy.payment_manager import (
    PaymentSettings,
    _current,
    _in_i,
    _missing_text,
    _nanos_cap_in_i,
    shown_url,
)

SEED = "HOTEL9SETTINGS9SEED".ljust(81, "9")
MNEMONIC = "abandon " * 23 + "art"
LEGACY_RECEIVER = "B" * 90
REBASED_RECEIVER = "0x" + "b0" * 32
T0 = datetime(2026, 12, 2, 10, tzinfo=UTC)

LEGACY_DATA: dict[str, Any] = {
    CONF_NODE_URL: "http://127.0.0.1:14265",
    CONF_SEED: SEED,
    CONF_RECEIVER: LEGACY_RECEIVER,
    CONF_MWM: 9,
}
REBASED_DATA: dict[str, Any] = {
    CONF_RAIL: RAIL_REBASED,
    CONF_NETWORK: NETWORK_CUSTOM,
    CONF_GRAPHQL_URL: "http://127.0.0.1:9125/graphql",
    CONF_MNEMONIC: MNEMONIC,
    CONF_RECEIVER: REBASED_RECEIVER,
}


# --- the legacy rail ----------------------------------------------------------


def test_a_legacy_entry_with_no_options_takes_every_default() -> None:
    settings = PaymentSettings.from_entry(dict(LEGACY_DATA), {})
    assert settings == PaymentSettings(
        node_url="http://127.0.0.1:14265",
        receiver=LEGACY_RECEIVER,
        auto_pay=True,
        policy=PaymentPolicy(LEGACY_RECEIVER, max_payment=0, max_daily=0),
        rail=RAIL_LEGACY,
        seed=SEED,
        mwm=9,
        tag="HOTELIOTA",
    )


def test_a_legacy_entrys_options_are_its_settings() -> None:
    options = {
        CONF_AUTO_PAY: False,
        CONF_MAX_PAYMENT: 40,
        CONF_MAX_DAILY: 90,
        CONF_POW_MODE: "local",
        CONF_TAG: "GARDEN9LIGHTS",
    }
    data = LEGACY_DATA | {CONF_RAIL: RAIL_LEGACY, CONF_MWM: "14"}
    settings = PaymentSettings.from_entry(data, options)
    assert settings is not None
    assert settings.auto_pay is False
    assert settings.mwm == 14
    assert settings.tag == "GARDEN9LIGHTS"
    # The legacy forms take the caps in i, as the outbox counts them.
    assert settings.policy == PaymentPolicy(
        LEGACY_RECEIVER, max_payment=40, max_daily=90, pow_mode="local"
    )


@pytest.mark.parametrize("node_url", [None, ""])
def test_an_entry_without_a_node_only_meters_and_bills(node_url: str | None) -> None:
    data = {k: v for k, v in LEGACY_DATA.items() if k != CONF_NODE_URL}
    if node_url is not None:
        data[CONF_NODE_URL] = node_url
    assert PaymentSettings.from_entry(data, {}) is None


def test_the_secrets_are_in_no_repr() -> None:
    legacy = PaymentSettings.from_entry(dict(LEGACY_DATA), {})
    rebased = PaymentSettings.from_entry(dict(REBASED_DATA), {})
    text = f"{legacy!r} {rebased!r}"
    assert SEED not in text
    assert "abandon" not in text
    assert LEGACY_RECEIVER in text  # the repr is not empty: the rest shows


# --- the Rebased rail ---------------------------------------------------------


def test_a_rebased_entry_with_no_options_takes_every_default() -> None:
    settings = PaymentSettings.from_entry(dict(REBASED_DATA), {})
    assert settings == PaymentSettings(
        node_url="http://127.0.0.1:9125/graphql",
        receiver=REBASED_RECEIVER,
        auto_pay=True,
        policy=PaymentPolicy(REBASED_RECEIVER, max_payment=0, max_daily=0),
        rail=RAIL_REBASED,
        mnemonic=MNEMONIC,
        key_path=DEFAULT_PATH,
        max_gas_budget=50_000_000,
        chain_id=None,
    )


@pytest.mark.parametrize("network", sorted(NETWORK_URLS))
def test_a_public_network_is_paid_through_its_own_service(network: str) -> None:
    data = REBASED_DATA | {CONF_NETWORK: network}
    settings = PaymentSettings.from_entry(data, {})
    assert settings is not None
    assert settings.node_url == NETWORK_URLS[network]


def test_an_entry_without_a_network_uses_its_own_service() -> None:
    data = {k: v for k, v in REBASED_DATA.items() if k != CONF_NETWORK}
    settings = PaymentSettings.from_entry(data, {})
    assert settings is not None
    assert settings.node_url == "http://127.0.0.1:9125/graphql"


def test_a_rebased_entrys_stored_choices_are_its_settings() -> None:
    data = REBASED_DATA | {
        CONF_KEY_PATH: "m/44'/4218'/1'/0'/0'",
        CONF_CHAIN_ID: "6364aad5",
        CONF_MAX_GAS_BUDGET: 7_000_000,
    }
    options = {CONF_AUTO_PAY: False, CONF_MAX_PAYMENT: 5_000, CONF_MAX_DAILY: 12_345}
    settings = PaymentSettings.from_entry(data, options)
    assert settings is not None
    assert (settings.key_path, settings.chain_id) == (
        "m/44'/4218'/1'/0'/0'",
        "6364aad5",
    )
    assert settings.max_gas_budget == 7_000_000
    assert settings.auto_pay is False
    # The Rebased forms take the caps in nanos; the outbox counts whole i.
    assert (settings.policy.max_payment, settings.policy.max_daily) == (5, 12)


@pytest.mark.parametrize(
    ("data_budget", "option_budget", "budget"),
    [
        (7_000_000, None, 7_000_000),
        (7_000_000, 9_000_000, 9_000_000),
        (None, 9_000_000, 9_000_000),
        (None, None, 50_000_000),
        (0, None, 50_000_000),
    ],
)
def test_the_gas_cap_of_the_options_wins_over_the_one_set_up(
    data_budget: int | None, option_budget: int | None, budget: int
) -> None:
    data = dict(REBASED_DATA)
    if data_budget is not None:
        data[CONF_MAX_GAS_BUDGET] = data_budget
    options = {} if option_budget is None else {CONF_MAX_GAS_BUDGET: option_budget}
    settings = PaymentSettings.from_entry(data, options)
    assert settings is not None
    assert settings.max_gas_budget == budget


@pytest.mark.parametrize(("key_path", "chain_id"), [("", ""), (None, None)])
def test_an_empty_key_path_or_chain_id_is_the_default(
    key_path: str | None, chain_id: str | None
) -> None:
    data = REBASED_DATA | {CONF_KEY_PATH: key_path, CONF_CHAIN_ID: chain_id}
    settings = PaymentSettings.from_entry(data, {})
    assert settings is not None
    assert (settings.key_path, settings.chain_id) == (DEFAULT_PATH, None)


@pytest.mark.parametrize("mnemonic", [None, ""])
def test_a_rebased_entry_without_a_wallet_only_meters_and_bills(
    mnemonic: str | None,
) -> None:
    data = REBASED_DATA | {CONF_MNEMONIC: mnemonic}
    assert PaymentSettings.from_entry(data, {}) is None


@pytest.mark.parametrize(
    ("nanos", "i"),
    [
        (0, 0),
        (-5, 0),
        (1, 1),
        (999, 1),
        (1000, 1),
        (1999, 1),
        (2000, 2),
        (10**9, 10**6),
    ],
)
def test_a_cap_in_nanos_is_whole_i_rounded_down_but_never_lifted(
    nanos: int, i: int
) -> None:
    assert _nanos_cap_in_i(nanos) == i


# --- what the entities and issues show -------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:14265", "http://127.0.0.1:14265"),
        ("https://hotel:s3cret@node.example:443/api", "https://node.example:443/api"),
        ("https://token@node.example/graphql", "https://node.example/graphql"),
        ("https://a@b:c@node.example/", "https://node.example/"),
    ],
)
def test_a_nodes_address_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert shown_url(url) == shown


@pytest.mark.parametrize(
    ("amount", "i"),
    [
        (Amount(7, Denomination.LEGACY_I), 7),
        (Amount(5999, Denomination.NANOS), 5),
        (Amount(6000, Denomination.NANOS), 6),
        (Amount(999, Denomination.NANOS), 0),
    ],
)
def test_amounts_are_shown_in_whole_i_on_both_rails(amount: Amount, i: int) -> None:
    assert _in_i(amount) == i


def _payment(number: int, status: PaymentStatus, **fields: Any) -> Payment:
    return Payment(
        f"P{number:06d}",
        (f"S{number:06d}",),
        5000,
        REBASED_RECEIVER,
        "",
        T0,
        status=status,
        unit=Denomination.NANOS,
        **fields,
    )


@pytest.mark.parametrize(
    ("unit", "missing", "text"),
    [
        (Denomination.LEGACY_I, 42, "42 i"),
        (Denomination.NANOS, 1_500_000_000, "1.500000000 IOTA"),
        (Denomination.NANOS, 42, "0.000000042 IOTA"),
    ],
)
def test_the_missing_funds_are_worded_in_the_payments_unit(
    unit: Denomination, missing: int, text: str
) -> None:
    payment = _payment(1, PaymentStatus.WAITING_FUNDS, missing=missing).evolve(
        unit=unit
    )
    assert _missing_text(payment) == text


def _in_flight(number: int) -> Payment:
    transfer = SignedTransfer(
        RailName.REBASED, f"D{number}", Amount(5000, Denomination.NANOS)
    )
    return _payment(number, PaymentStatus.BROADCAST, transfer=transfer)


@pytest.mark.parametrize(
    ("payments", "current"),
    [
        ([], None),
        ([PaymentStatus.FAILED], "P000001"),
        ([PaymentStatus.FAILED, PaymentStatus.FAILED], "P000002"),
        ([PaymentStatus.QUEUED, PaymentStatus.WAITING_FUNDS], "P000001"),
        ([PaymentStatus.FAILED, PaymentStatus.AWAITING_APPROVAL], "P000002"),
        ([PaymentStatus.QUEUED, "in flight"], "P000002"),
        (["in flight", PaymentStatus.QUEUED], "P000001"),
    ],
)
def test_the_current_payment_is_in_flight_else_open_else_the_newest(
    payments: list[PaymentStatus | str], current: str | None
) -> None:
    state = OutboxState(
        payments=[
            _in_flight(n)
            if status == "in flight"
            else _payment(n, PaymentStatus(status))
            for n, status in enumerate(payments, start=1)
        ]
    )
    found = _current(state)
    assert (None if found is None else found.id) == current
