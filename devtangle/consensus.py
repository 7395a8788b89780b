"""Which transactions a milestone may confirm: cones, bundles and the ledger.

A transaction confirms only together with its whole unconfirmed past cone,
and only if every bundle in that cone is valid and the ledger stays
non-negative after applying them in order (approvees first, then by the
order the node saw them). ``ConeSimulation`` tries roots one by one on top
of the confirmed ledger and rolls a root back if it does not fit, which is
how conflicting bundles are kept apart: the first one in wins, the other
can never join a milestone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .store import Store
from .transaction import NULL_HASH, Transaction
from .validation import BundleVerdict


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a root cannot be confirmed (IRI's checkConsistency ``info``)."""

    reason: str


class ConeSimulation:
    """Confirm roots hypothetically, keeping the ledger consistent."""

    def __init__(
        self,
        store: Store,
        verdict: Callable[[Transaction], BundleVerdict],
        *,
        oldest_allowed_milestone: int | None = None,
    ) -> None:
        self._store = store
        self._verdict = verdict
        self._oldest = oldest_allowed_milestone
        self.confirmed: list[str] = []  # in confirmation order
        self._confirmed_set: set[str] = set()
        self.deltas: dict[str, int] = {}
        self._undo_points: list[tuple[int, dict[str, int]]] = []

    def _is_confirmed(self, hash_: str) -> bool:
        if hash_ == NULL_HASH or hash_ in self._confirmed_set:
            return True
        index = self._store.confirmed_by(hash_)
        if index is None:
            return False
        if self._oldest is not None and index < self._oldest:
            raise _RejectedError("tails are below max depth")
        return True

    def try_add(self, root: str) -> Rejection | None:
        """Add ``root``'s unconfirmed cone, or leave everything unchanged."""
        confirmed_before = len(self.confirmed)
        deltas_before = dict(self.deltas)
        try:
            self._add(root)
        except _RejectedError as rejection:
            self._undo(confirmed_before, deltas_before)
            return Rejection(rejection.reason)
        self._undo_points.append((confirmed_before, deltas_before))
        return None

    def roll_back(self, confirmed_count: int) -> None:
        """Undo the ``try_add`` calls that confirmed past ``confirmed_count``."""
        while self._undo_points and self._undo_points[-1][0] >= confirmed_count:
            count, deltas = self._undo_points.pop()
            self._undo(count, deltas)

    def accepted(self, hash_: str) -> bool:
        """Whether ``hash_`` is confirmed in this simulation."""
        return hash_ in self._confirmed_set

    def _undo(self, confirmed_count: int, deltas: dict[str, int]) -> None:
        for hash_ in self.confirmed[confirmed_count:]:
            self._confirmed_set.discard(hash_)
        del self.confirmed[confirmed_count:]
        self.deltas = deltas

    def _add(self, root: str) -> None:
        # Iterative post-order walk: approvees (trunk, then branch) first.
        visited: set[str] = set()
        non_tails: list[str] = []
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            hash_, expanded = stack.pop()
            if expanded:
                tx = self._store.get(hash_)
                assert tx is not None  # checked before expanding
                if tx.is_tail:
                    self._confirm_bundle(tx)
                else:
                    non_tails.append(hash_)
                continue
            if hash_ in visited or self._is_confirmed(hash_):
                continue
            visited.add(hash_)
            tx = self._store.get(hash_)
            if tx is None:
                raise _RejectedError(f"transaction {hash_} is missing (not solid)")
            stack.append((hash_, True))
            stack.append((tx.branch, False))
            stack.append((tx.trunk, False))
        # A bundle member only confirms through its tail: approving the
        # middle of a bundle whose tail is not in the cone cannot confirm.
        for hash_ in non_tails:
            if hash_ not in self._confirmed_set:
                raise _RejectedError(
                    f"transaction {hash_} is not part of a confirmable bundle"
                )

    def _confirm_bundle(self, tail: Transaction) -> None:
        verdict = self._verdict(tail)
        if not verdict.complete:
            raise _RejectedError(f"tail {tail.hash}: bundle is incomplete")
        if verdict.error is not None:
            raise _RejectedError(f"tail {tail.hash}: {verdict.error}")
        changes: dict[str, int] = {}
        for tx in verdict.transactions:
            if tx.value:
                changes[tx.address] = changes.get(tx.address, 0) + tx.value
        for address, change in changes.items():
            after = self._store.balance(address) + self.deltas.get(address, 0) + change
            if after < 0:
                raise _RejectedError(f"tail {tail.hash}: inconsistent ledger state")
        for address, change in changes.items():
            self.deltas[address] = self.deltas.get(address, 0) + change
        for tx in verdict.transactions:
            if tx.hash not in self._confirmed_set:
                self._confirmed_set.add(tx.hash)
                self.confirmed.append(tx.hash)


class _RejectedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
