"""The IOTA Rebased rail: the :class:`~.rail.Rail` protocol over iota-sdk.

``sign`` reads the wallet's coins and the reference gas price, dry-runs the
transfer for its gas, and signs it offline with a budget of the dry run's
cost plus a margin, never above the configured cap. ``advance`` applies the
resume rule (``rebased_wallet.resume_decision``) on every call: it reads the
gas coins' versions, then the effects; executed means confirmed (the
service's effects come from checkpoints), dead means the outbox may sign
anew, anything else sends the same stored bytes again. Every call blocks
(run it in a worker thread).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .legacy_node import NodeError
from .rail import (
    Advance,
    Funds,
    Progress,
    RailName,
    ReceiverError,
    Shortfall,
    SignedTransfer,
    TransferOrder,
)
from .rebased_keys import RebasedKey, check_receiver
from .rebased_node import RebasedNode
from .rebased_wallet import (
    Resume,
    TransferError,
    build_transfer,
    resume_decision,
    sign_transfer,
)
from .units import Amount, Denomination

# Added to the dry run's cost, in gas units (x the gas price): room for the
# price of storage or computation to move a little before execution.
GAS_MARGIN_UNITS = 1000
# The most gas one payment may burn unless configured (0.05 IOTA): a plain
# transfer costs a few million nanos at today's reference price.
DEFAULT_MAX_GAS_BUDGET = 50_000_000


class RebasedRail:
    """Pays from one Rebased key through one GraphQL service."""

    name = RailName.REBASED
    unit = Denomination.NANOS

    def __init__(
        self,
        key: RebasedKey,
        node: RebasedNode,
        *,
        max_gas_budget: int,
        chain_id: str | None = None,
    ):
        """``chain_id``: the chain the entry was set up on (None: not checked)."""
        if max_gas_budget <= 0:
            raise ValueError("the gas budget cap is > 0")
        self.key = key
        self.node = node
        self.max_gas_budget = max_gas_budget
        self.chain_id = chain_id

    def __repr__(self) -> str:
        return f"RebasedRail(address={self.key.address!r}, node={self.node.url!r})"

    def check_network(self, chain_id: str | None = None) -> None:
        """NodeError ``wrong_network`` unless the service serves ``chain_id``.

        Without an argument the rail's own ``chain_id`` (none: nothing to
        check). The detail is the chain the service serves.
        """
        expected = chain_id or self.chain_id
        if expected is None:
            return
        served = self.node.chain_id()
        if served != expected:
            raise NodeError("chainIdentifier", "wrong_network", served)

    def check_receiver(self, receiver: str) -> str:
        address = check_receiver(receiver)
        if address == self.key.address:
            raise ReceiverError("receiver_is_wallet")
        return address

    def deposit_address(self, book: Mapping[str, Any]) -> str:
        return self.key.address

    def funds(self, book: Mapping[str, Any]) -> Funds:
        balance = Amount(self.node.balance(self.key.address), Denomination.NANOS)
        return Funds(spendable=balance, total=balance)

    def sign(
        self,
        order: TransferOrder,
        book: Mapping[str, Any],
        reserve: Callable[[Mapping[str, Any]], None],
    ) -> tuple[SignedTransfer | Shortfall, Mapping[str, Any]]:
        """Sign ``order``; nothing to reserve first (no key indexes here)."""
        coins = self.node.gas_coins(self.key.address)
        price = self.node.reference_gas_price()
        held = sum(c.balance for c in coins)
        trial_budget = min(self.max_gas_budget, held - order.amount.value)
        if trial_budget <= 0:
            missing = order.amount.value + price * GAS_MARGIN_UNITS - held
            return Shortfall(Amount(max(1, missing), Denomination.NANOS)), book
        trial = build_transfer(
            self.key.address,
            order,
            coins,
            gas_price=price,
            gas_budget=trial_budget,
            max_gas_budget=self.max_gas_budget,
        )
        if isinstance(trial, Shortfall):
            return trial, book
        try:
            cost = self.node.dry_run(trial.transaction)
        except NodeError as err:
            if err.kind != "refused" or trial_budget >= self.max_gas_budget:
                raise
            # The coins leave less gas than even the dry run needs: short of
            # funds, by at most what the cap lets a payment burn.
            missing = order.amount.value + self.max_gas_budget - held
            return Shortfall(Amount(max(1, missing), Denomination.NANOS)), book
        budget = cost.gas_needed + price * GAS_MARGIN_UNITS
        if budget > self.max_gas_budget:
            raise TransferError("gas_budget_over_cap")
        signed = sign_transfer(
            self.key,
            order,
            coins,
            gas_price=price,
            gas_budget=budget,
            max_gas_budget=self.max_gas_budget,
        )
        return signed, book

    def advance(
        self, transfer: SignedTransfer, book: Mapping[str, Any], now: datetime
    ) -> Advance:
        """One step by the resume rule: confirmed, dead, or sent (again)."""
        ids = [reference[0] for reference in transfer.record["gas"]]
        versions = self.node.object_versions(self.key.address, ids)
        effects = self.node.effects(transfer.transfer_id)
        decision = resume_decision(
            transfer,
            current_versions=versions,
            effects="none" if effects is None else effects.status,
        )
        fee = (
            None
            if effects is None
            else Amount(max(0, effects.gas_fee), Denomination.NANOS)
        )
        if decision is Resume.EXECUTED:
            return Advance(transfer, Progress.CONFIRMED, fee)
        if decision is Resume.DEAD:
            return Advance(transfer, Progress.DEAD, fee)
        self.node.execute(transfer)
        return Advance(transfer, Progress.SENT)
