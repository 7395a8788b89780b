"""The Rebased rail through the Rail protocol, crash by crash, on the dev node.

"A crash" here is what the outbox leaves behind: the last record it wrote
(JSON, read back), and a new rail object, with nothing kept in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
import json
from typing import Any

import pytest

pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.core.legacy_node import NodeError
from custom_components.iota_energy.core.rail import (
    Advance,
    Funds,
    Progress,
    Rail,
    ReceiverError,
    Shortfall,
    SignedTransfer,
    TransferOrder,
)
from custom_components.iota_energy.core.rebased_keys import RebasedKey
from custom_components.iota_energy.core.rebased_node import Effects, RebasedNode
from custom_components.iota_energy.core.rebased_rail import (
    GAS_MARGIN_UNITS,
    RebasedRail,
)
from custom_components.iota_energy.core.rebased_wallet import (
    GasCoin,
    TransferError,
    sign_transfer,
)
from custom_components.iota_energy.core.units import Amount, Denomination
from devrebased.ledger import (
    CHAIN_ID,
    REFERENCE_GAS_PRICE,
    TRANSFER_GAS_UNITS,
)

from .conftest import PAYER_COINS, RECEIVER

NOW = datetime(2026, 12, 2, 16, tzinfo=UTC)
GAS_FEE = TRANSFER_GAS_UNITS * REFERENCE_GAS_PRICE
BUDGET = GAS_FEE + GAS_MARGIN_UNITS * REFERENCE_GAS_PRICE
AMOUNT = 1_234_567_890  # 1.23456789 IOTA


def rail(node: Any, payer: RebasedKey, cap: int = 10**8) -> RebasedRail:
    """A fresh rail, as after a restart."""
    return RebasedRail(payer, RebasedNode(node.url), max_gas_budget=cap)


def order(nanos: int = AMOUNT) -> TransferOrder:
    return TransferOrder("P000001", RECEIVER, Amount(nanos, Denomination.NANOS))


def no_reserve(book: Mapping[str, Any]) -> None:
    raise AssertionError("the Rebased rail reserves nothing")


def stored(transfer: SignedTransfer) -> SignedTransfer:
    """What the outbox wrote, read back."""
    return SignedTransfer.from_dict(json.loads(json.dumps(transfer.to_dict())))


def sign(node: Any, payer: RebasedKey, nanos: int = AMOUNT) -> SignedTransfer:
    result, book = rail(node, payer).sign(order(nanos), {}, no_reserve)
    assert book == {}
    assert isinstance(result, SignedTransfer)
    return stored(result)


def test_it_is_a_rail(node: Any, payer: RebasedKey) -> None:
    typed: Rail = rail(node, payer)
    assert typed.name == "rebased"
    assert typed.unit is Denomination.NANOS
    assert typed.deposit_address({}) == payer.address
    held = Amount(sum(PAYER_COINS), Denomination.NANOS)
    assert typed.funds({}) == Funds(spendable=held, total=held)
    assert repr(typed) == f"RebasedRail(address='{payer.address}', node='{node.url}')"
    assert "film" not in repr(typed)


def test_the_gas_budget_cap_is_positive(payer: RebasedKey) -> None:
    # Nothing here asks the node: no node runs behind this URL.
    client = RebasedNode("http://127.0.0.1:9/graphql")
    for cap in (0, -1):
        with pytest.raises(ValueError, match=r"^the gas budget cap is > 0$"):
            RebasedRail(payer, client, max_gas_budget=cap)
    assert RebasedRail(payer, client, max_gas_budget=1).max_gas_budget == 1


def test_paid_end_to_end_with_gas_accounted(node: Any, payer: RebasedKey) -> None:
    transfer = sign(node, payer)
    assert transfer.record["gas_budget"] == BUDGET
    sent = rail(node, payer).advance(transfer, {}, NOW)
    assert sent == Advance(transfer, Progress.SENT)
    done = rail(node, payer).advance(transfer, {}, NOW)
    assert done == Advance(
        transfer, Progress.CONFIRMED, Amount(GAS_FEE, Denomination.NANOS)
    )
    client = RebasedNode(node.url)
    assert client.balance(RECEIVER) == AMOUNT
    assert client.balance(payer.address) == sum(PAYER_COINS) - AMOUNT - GAS_FEE


def test_a_crash_after_each_step_executes_one_transaction(
    node: Any, payer: RebasedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    execute = node.ledger.execute

    def counted(tx_bytes: str, signatures: list[str]) -> bytes:
        sent.append(tx_bytes)
        effects: bytes = execute(tx_bytes, signatures)
        return effects

    monkeypatch.setattr(node.ledger, "execute", counted)
    # Crash after signing, before the record was written: signing again
    # builds the very same transaction (same coins, price, budget).
    lost = sign(node, payer)
    transfer = sign(node, payer)
    assert transfer == lost
    # Crash after the record was written, before sending: sent on resume.
    assert rail(node, payer).advance(transfer, {}, NOW).progress is Progress.SENT
    # Crash after sending, before anything else was written: the resume
    # rule finds the effects and never sends anything else.
    for _ in range(3):
        assert (
            rail(node, payer).advance(transfer, {}, NOW).progress is Progress.CONFIRMED
        )
    assert len(node.ledger.executed) == 1
    assert len(sent) == 1  # sent once, never again after it executed
    assert RebasedNode(node.url).balance(RECEIVER) == AMOUNT


def test_dead_only_when_it_can_never_execute(node: Any, payer: RebasedKey) -> None:
    transfer = sign(node, payer)
    # Something else spends the same coin version first (another wallet
    # holding the same mnemonic, say).
    other = sign(node, payer, 5)
    rail(node, payer).advance(other, {}, NOW)
    # Never executed: dead, and no fee paid.
    assert rail(node, payer).advance(transfer, {}, NOW) == Advance(
        transfer, Progress.DEAD
    )
    # Only now a new transaction: it pays, once.
    again = sign(node, payer)
    assert again.transfer_id != transfer.transfer_id
    rail(node, payer).advance(again, {}, NOW)
    assert rail(node, payer).advance(again, {}, NOW).progress is Progress.CONFIRMED
    assert RebasedNode(node.url).balance(RECEIVER) == AMOUNT + 5


def test_insufficient_funds_is_a_shortfall(node: Any, payer: RebasedKey) -> None:
    # Nothing left for gas at all: short by the margin's gas at the price.
    result, _ = rail(node, payer).sign(order(sum(PAYER_COINS)), {}, no_reserve)
    assert result == Shortfall(
        Amount(GAS_MARGIN_UNITS * REFERENCE_GAS_PRICE, Denomination.NANOS)
    )
    nearly = sum(PAYER_COINS) - GAS_FEE
    result, _ = rail(node, payer).sign(order(nearly), {}, no_reserve)
    assert result == Shortfall(Amount(BUDGET - GAS_FEE, Denomination.NANOS))
    assert len(node.ledger.executed) == 0


def test_too_little_gas_for_the_dry_run_is_short_by_what_the_cap_burns(
    node: Any, payer: RebasedKey
) -> None:
    held = sum(PAYER_COINS)
    # One nano left for gas: the dry run is refused; to pay, the wallet
    # needs what a payment may burn at most (the cap), less that nano.
    result, _ = rail(node, payer).sign(order(held - 1), {}, no_reserve)
    assert result == Shortfall(Amount(10**8 - 1, Denomination.NANOS))
    # A cap of exactly the transfer's gas, one nano short of it: one nano.
    result, _ = rail(node, payer, cap=GAS_FEE).sign(
        order(held - GAS_FEE + 1), {}, no_reserve
    )
    assert result == Shortfall(Amount(1, Denomination.NANOS))
    assert len(node.ledger.executed) == 0


def test_the_gas_budget_cap(node: Any, payer: RebasedKey) -> None:
    with pytest.raises(TransferError) as caught:
        rail(node, payer, cap=BUDGET - 1).sign(order(), {}, no_reserve)
    assert caught.value.reason == "gas_budget_over_cap"
    # A cap below the transfer's gas, with coins enough: the dry run is
    # refused under the cap itself, which no amount of funds would change.
    with pytest.raises(NodeError) as refused:
        rail(node, payer, cap=GAS_FEE - 1).sign(order(), {}, no_reserve)
    assert (refused.value.command, refused.value.kind) == (
        "dryRunTransactionBlock",
        "refused",
    )
    assert len(node.ledger.executed) == 0
    # A cap of exactly the budget it needs: signed with that budget.
    transfer = sign_at_cap(node, payer, BUDGET)
    assert transfer.record["gas_budget"] == BUDGET


def sign_at_cap(node: Any, payer: RebasedKey, cap: int) -> SignedTransfer:
    result, _ = rail(node, payer, cap=cap).sign(order(), {}, no_reserve)
    assert isinstance(result, SignedTransfer)
    return result


def test_receiver_and_network_checks(node: Any, payer: RebasedKey) -> None:
    chosen = rail(node, payer)
    assert chosen.check_receiver(RECEIVER.upper().replace("0X", "0x")) == RECEIVER
    for bad, reason in (
        ("0x12", "receiver_format"),
        (payer.address, "receiver_is_wallet"),
    ):
        with pytest.raises(ReceiverError) as caught:
            chosen.check_receiver(bad)
        assert caught.value.reason == reason
    chosen.check_network(CHAIN_ID)
    with pytest.raises(NodeError) as wrong:
        chosen.check_network("6364aad5")
    assert (wrong.value.command, wrong.value.kind, wrong.value.detail) == (
        "chainIdentifier",
        "wrong_network",
        CHAIN_ID,
    )


def test_the_network_the_entry_was_set_up_on(node: Any, payer: RebasedKey) -> None:
    def entry(chain_id: str | None) -> RebasedRail:
        return RebasedRail(
            payer, RebasedNode(node.url), max_gas_budget=10**8, chain_id=chain_id
        )

    entry(CHAIN_ID).check_network()
    with pytest.raises(NodeError) as wrong:
        entry("6364aad5").check_network()
    assert (wrong.value.command, wrong.value.kind, wrong.value.detail) == (
        "chainIdentifier",
        "wrong_network",
        CHAIN_ID,
    )
    # The chain named in the call wins over the entry's.
    entry("6364aad5").check_network(CHAIN_ID)
    # No chain to check: the service is not even asked.
    node.stop()
    RebasedRail(payer, RebasedNode(node.url), max_gas_budget=10**8).check_network()


def test_an_executed_failure_is_dead_and_its_gas_paid(
    node: Any, payer: RebasedKey
) -> None:
    # Signed over the small coin as if it held more: the service takes
    # the budget it covers, then the transfer fails in execution (the coin
    # pays the gas, not the amount).
    (small,) = [
        c
        for c in RebasedNode(node.url).gas_coins(payer.address)
        if c.balance == GAS_FEE
    ]
    lying = GasCoin(small.object_id, small.version, small.digest, 10**8)
    result = sign_transfer(
        payer,
        order(1),
        [lying],
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=GAS_FEE,
        max_gas_budget=10**8,
    )
    assert isinstance(result, SignedTransfer)
    transfer = stored(result)
    assert rail(node, payer).advance(transfer, {}, NOW).progress is Progress.SENT
    dead = rail(node, payer).advance(transfer, {}, NOW)
    assert dead == Advance(transfer, Progress.DEAD, Amount(GAS_FEE, Denomination.NANOS))
    assert RebasedNode(node.url).balance(RECEIVER) == 0


class _RebateNode(RebasedNode):
    """The dev node's answers, but effects whose storage rebate beats the cost
    (the dev node charges no storage, so it never has a rebate)."""

    def effects(self, digest: str) -> Effects | None:
        return Effects(digest, "success", -5, 1000)


def test_a_rebate_over_the_cost_is_no_negative_fee(
    node: Any, payer: RebasedKey
) -> None:
    transfer = sign(node, payer)
    chosen = RebasedRail(payer, _RebateNode(node.url), max_gas_budget=10**8)
    done = chosen.advance(transfer, {}, NOW)
    assert done == Advance(transfer, Progress.CONFIRMED, Amount(0, Denomination.NANOS))


def test_a_node_down_changes_nothing_stored(payer: RebasedKey, node: Any) -> None:
    transfer = sign(node, payer)
    before = transfer.to_dict()
    url = node.url
    node.stop()
    with pytest.raises(NodeError) as caught:
        RebasedRail(payer, RebasedNode(url, timeout_s=5), max_gas_budget=10**8).advance(
            transfer, {}, NOW
        )
    assert caught.value.kind == "unreachable"
    assert transfer.to_dict() == before
