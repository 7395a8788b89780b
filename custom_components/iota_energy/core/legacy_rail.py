"""The legacy rail: the :class:`~.rail.Rail` protocol over PyOTA's network.

Wraps :class:`~.wallet.LegacyWallet` and its node unchanged. ``sign``
chooses funded key indexes, hands out a remainder index durably (through
``reserve``) before anything is signed from it, and signs the bundle
offline. ``advance`` takes one outward step on the stored record, by its
``stage``:

========== ==================================================================
stage      the step
========== ==================================================================
signed     proof of work (node or local) on the stored signed trytes
attached   broadcast the stored attached trytes
broadcast  follow it: confirmed? else promote the newest attachment every
           ``promote_interval`` while it is younger than ``promote_window``
           and consistent; else back to ``signed`` (reattach: new proof of
           work on the **same** signed trytes)
========== ==================================================================

A W-OTS key signs once: a signed bundle is rebroadcast, promoted and
reattached until it confirms, never signed again, so ``advance`` never
answers ``DEAD``.

The wallet's book (stored in the outbox document as it always was):
``next_index`` (indexes below were handed out), ``deposit_index``,
``spent_indexes`` (signed from, never again), ``node_pow_refused`` and
``reserved`` (the remainder index handed out to the payment being signed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any

from .legacy_node import NodeError, Tips
from .payments import Attachment
from .pow import FIELDS
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
from .units import Amount, Denomination
from .wallet import Candidate, LegacyWallet, tail_hash
from .wallet_work import WalletError

_LOGGER = logging.getLogger(__name__)

# Where proof of work is done. auto: the node's, local once the node refuses
# attachToTangle; local: always here; node: only the node's.
POW_MODE_AUTO = "auto"
POW_MODE_LOCAL = "local"
POW_MODE_NODE = "node"
POW_MODES = (POW_MODE_AUTO, POW_MODE_LOCAL, POW_MODE_NODE)
MAX_REMAINDER_TRIES = 5


class LegacyRail:
    """Pays from one seed through one legacy node; see the module docstring."""

    name = RailName.LEGACY
    unit = Denomination.LEGACY_I

    def __init__(
        self,
        wallet: LegacyWallet,
        *,
        pow_mode: str = "auto",
        follow: FollowTimes | None = None,
    ) -> None:
        if pow_mode not in POW_MODES:
            raise ValueError(f"pow_mode is one of {POW_MODES}")
        self.wallet = wallet
        self.pow_mode = pow_mode
        self.follow = follow or FollowTimes()

    def __repr__(self) -> str:
        return f"LegacyRail({self.wallet!r})"

    # --- the receiver and the wallet's funds ------------------------------------

    def check_network(self) -> None:
        """Nothing to check: a legacy entry stores no network identity."""

    def check_receiver(self, receiver: str) -> str:
        """A receiver the node reports as spent from would lose the IOTA."""
        if self.wallet.node.spent([receiver])[0]:
            raise ReceiverError("receiver_spent")
        return receiver

    def deposit_address(self, book: Mapping[str, Any]) -> str:
        return self.wallet.address_with_checksum(int(book["deposit_index"]))

    def funds(self, book: Mapping[str, Any]) -> Funds:
        funds = self.wallet.funds(int(book["next_index"]), set(book["spent_indexes"]))
        return Funds(
            spendable=Amount(funds.spendable, Denomination.LEGACY_I),
            total=Amount(funds.total, Denomination.LEGACY_I),
        )

    # --- sign --------------------------------------------------------------------

    def sign(
        self,
        order: TransferOrder,
        book: Mapping[str, Any],
        reserve: Callable[[Mapping[str, Any]], None],
    ) -> tuple[SignedTransfer | Shortfall, Mapping[str, Any]]:
        """Choose inputs, reserve a remainder index durably, sign offline.

        WalletError if signing fails (nothing was signed).
        """
        amount = order.amount.to(Denomination.LEGACY_I).value
        wallet = self.wallet
        draft = _Book.read(book)
        candidates, newly_spent = wallet.candidates(draft.next_index, draft.spent)
        chosen = _choose(candidates, amount)
        draft.mark_spent(newly_spent)
        if chosen is None:
            missing = amount - sum(c.balance for c in candidates)
            return Shortfall(Amount(missing, Denomination.LEGACY_I)), draft.write()
        remainder: int | None = None
        if sum(c.balance for c in chosen) > amount:
            remainder = self._fresh_remainder(draft, draft.reserved)
            if remainder != draft.reserved:
                draft.reserved = remainder
                # The index is durably handed out before anything uses it.
                reserve(draft.write())
        signed = wallet.sign(
            order.receiver, amount, order.memo or "", chosen, remainder
        )
        draft.mark_spent({index for index, _ in signed.inputs})
        transfer = SignedTransfer(
            RailName.LEGACY,
            signed.bundle_hash,
            Amount(amount, Denomination.LEGACY_I),
            {
                "stage": "signed",
                "inputs": [list(i) for i in signed.inputs],
                "remainder_index": remainder,
                "signed_trytes": list(signed.trytes),
                "attached_trytes": [],
                "attachments": [],
            },
        )
        return transfer, draft.write()

    def _fresh_remainder(self, draft: _Book, reserved: int | None) -> int:
        """A remainder index reserved for this payment, never signed from."""
        index = reserved
        for _ in range(MAX_REMAINDER_TRIES):
            if index is None or index in draft.spent:
                index = draft.reserve_index()
            if not self.wallet.node.spent([self.wallet.address(index)])[0]:
                return index
            draft.spent.add(index)
            index = None
        raise NodeError(
            "wereAddressesSpentFrom", "garbage", "every fresh address is spent"
        )

    # --- advance -------------------------------------------------------------------

    def advance(
        self, transfer: SignedTransfer, book: Mapping[str, Any], now: datetime
    ) -> Advance:
        """One step by the record's stage (see the module docstring)."""
        stage = transfer.record["stage"]
        if stage == "signed":
            return self._attach(transfer, book, now)
        if stage == "attached":
            self.wallet.node.broadcast(transfer.record["attached_trytes"])
            return Advance(_with(transfer, stage="broadcast"), Progress.SENT)
        return self._follow_up(transfer, book, now)

    def _attach(
        self, transfer: SignedTransfer, book: Mapping[str, Any], now: datetime
    ) -> Advance:
        attached, new_book = self._pow(list(transfer.record["signed_trytes"]), book)
        if any(t[FIELDS["bundle"]] != transfer.transfer_id for t in attached):
            raise NodeError("attachToTangle", "garbage", "another bundle came back")
        attachment = Attachment(tail=tail_hash(attached), attached_at=now)
        attached_transfer = _with(
            transfer,
            stage="attached",
            attached_trytes=list(attached),
            attachments=[*transfer.record["attachments"], attachment.to_dict()],
        )
        return Advance(attached_transfer, Progress.SIGNED, book=new_book)

    def _follow_up(
        self, transfer: SignedTransfer, book: Mapping[str, Any], now: datetime
    ) -> Advance:
        node = self.wallet.node
        attachments = [Attachment.from_dict(a) for a in transfer.record["attachments"]]
        if any(node.confirmed([a.tail for a in attachments])):
            return Advance(
                _with(transfer, signed_trytes=[], attached_trytes=[]),
                Progress.CONFIRMED,
            )
        latest = attachments[-1]
        follow = self.follow
        if now - latest.attached_at < follow.promote_window and node.consistent(
            [latest.tail]
        ):
            # The first promotion waits an interval too: most bundles confirm
            # with the next milestone and need none.
            since = latest.last_promoted_at or latest.attached_at
            if now - since < follow.promote_interval:
                return Advance(transfer, Progress.SENT)
            tips = node.tips(follow.depth, reference=latest.tail)
            attached, new_book = self._pow(self.wallet.promotion_trytes(), book, tips)
            node.broadcast(attached)
            promoted = Attachment(
                tail=latest.tail,
                attached_at=latest.attached_at,
                promotions=latest.promotions + 1,
                last_promoted_at=now,
            )
            records = [a.to_dict() for a in (*attachments[:-1], promoted)]
            return Advance(
                _with(transfer, attachments=records), Progress.SENT, book=new_book
            )
        # Too old or inconsistent: new proof of work on the same signed trytes.
        return Advance(_with(transfer, stage="signed"), Progress.SIGNED)

    def _pow(
        self, trytes: list[str], book: Mapping[str, Any], tips: Tips | None = None
    ) -> tuple[list[str], Mapping[str, Any] | None]:
        """Proof of work as configured; auto falls back to local once refused.

        Returns the attached trytes and the new book when it changed.
        """
        node = self.wallet.node
        chosen = tips if tips is not None else node.tips(self.follow.depth)
        mode = self.pow_mode
        refused = bool(book.get("node_pow_refused", False))
        local = mode == "local" or (mode == "auto" and refused)
        try:
            return self.wallet.attach(trytes, chosen, local=local), None
        except NodeError as err:
            if local or mode != "auto" or err.kind != "refused":
                raise
        _LOGGER.info("The node refuses attachToTangle; doing proof of work locally")
        attached = self.wallet.attach(trytes, chosen, local=True)
        return attached, {**book, "node_pow_refused": True}


@dataclass(frozen=True, slots=True)
class FollowTimes:
    """How a broadcast bundle is followed (after the legacy wallets)."""

    promote_interval: timedelta = timedelta(seconds=30)
    # iota.js isAboveMaxDepth: older attachments are reattached, not promoted.
    promote_window: timedelta = timedelta(minutes=11)
    depth: int = 3


class _Book:
    """The legacy wallet's book as mutable values while signing."""

    def __init__(
        self,
        source: Mapping[str, Any],
        next_index: int,
        deposit_index: int,
        spent: set[int],
        reserved: int | None,
    ) -> None:
        self.source = source
        self.next_index = next_index
        self.deposit_index = deposit_index
        self.spent = spent
        self.reserved = reserved

    @classmethod
    def read(cls, book: Mapping[str, Any]) -> _Book:
        reserved = book.get("reserved")
        return cls(
            book,
            int(book["next_index"]),
            int(book["deposit_index"]),
            {int(i) for i in book["spent_indexes"]},
            None if reserved is None else int(reserved),
        )

    def reserve_index(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index

    def mark_spent(self, indexes: set[int]) -> None:
        """Never sign from these again; the deposit moves off a spent index."""
        self.spent |= indexes
        if self.deposit_index in self.spent:
            self.deposit_index = self.reserve_index()

    def write(self) -> dict[str, Any]:
        return {
            **self.source,
            "next_index": self.next_index,
            "deposit_index": self.deposit_index,
            "spent_indexes": sorted(self.spent),
            "reserved": self.reserved,
        }


def _with(transfer: SignedTransfer, **changes: Any) -> SignedTransfer:
    return SignedTransfer(
        transfer.rail,
        transfer.transfer_id,
        transfer.amount,
        {**transfer.record, **changes},
    )


def _choose(candidates: Sequence[Candidate], amount: int) -> list[Candidate] | None:
    """Oldest funded indexes first, until they cover ``amount``."""
    chosen: list[Candidate] = []
    total = 0
    for candidate in sorted(candidates, key=lambda c: c.index):
        if total >= amount:
            break
        chosen.append(candidate)
        total += candidate.balance
    return chosen if total >= amount else None


__all__ = ["POW_MODES", "FollowTimes", "LegacyRail", "WalletError"]
