"""The node: IRI's API commands over the store, the ledger and the coordinator.

Every command takes the decoded JSON request and returns the JSON answer (a
dict without ``duration``; the HTTP layer adds it) or raises ``ApiError``.
One re-entrant lock guards the store; proof of work runs outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
import os
import random
import threading
import time
from typing import Any, Final

from . import APP_NAME, __version__, coordinator, crypto, params
from .consensus import ConeSimulation
from .errors import ApiError, InvalidTransactionError
from .store import Milestone, Store
from .transaction import NULL_HASH, Transaction
from .validation import (
    SUPPLY,
    BundleVerdict,
    gather_bundle,
    validate_bundle,
    validate_transaction,
)

# How far back a tail may reach into confirmed history, in milestones (IRI's maxDepth).
MAX_DEPTH: Final = 15
# At most this many tips referenced by one milestone (one PoW each).
MAX_MILESTONE_REFERENCES: Final = 16
# Unconfirmed tails a milestone considers.
MAX_MILESTONE_CANDIDATES: Final = 1_000
# Tips examined per tip selection, newest first.
TIP_CANDIDATES: Final = 32
# Clients date transactions this much before the node's database was created.
TIMESTAMP_SLACK_MS: Final = 24 * 60 * 60 * 1000

Json = dict[str, Any]


DEFAULT_MAX_BODY_BYTES: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """IRI's request limits (its defaults)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_requests_list: int = 1_000
    max_get_trytes: int = 10_000
    max_find_results: int = 100_000
    max_attach_mwm: int = 14
    # Public nodes often refused attachToTangle; wallets then did PoW locally.
    remote_pow: bool = True


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Node:
    """A development IOTA node over a ``Store``."""

    def __init__(
        self,
        store: Store,
        *,
        mwm: int = 9,
        limits: Limits | None = None,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.store = store
        self.mwm = mwm
        self.limits = limits or Limits()
        self._clock_ms = clock_ms
        self._lock = threading.RLock()
        self._milestone_lock = threading.Lock()
        self._pow_lock = threading.Lock()
        self._pow_cancel = threading.Event()
        self._verdicts: dict[str, str | None] = {}
        with self._lock:
            created = store.meta("created_ms")
            if created is None:
                created = str(clock_ms())
                with store.transaction():
                    store.set_meta("created_ms", created)
            self._min_timestamp_ms = int(created) - TIMESTAMP_SLACK_MS
            self._tips: set[str] = set(store.tips())
        self.commands: dict[str, Callable[[Mapping[str, Any]], Json]] = {
            "getNodeInfo": self.get_node_info,
            "getBalances": self.get_balances,
            "findTransactions": self.find_transactions,
            "getTrytes": self.get_trytes,
            "getTransactionsToApprove": self.get_transactions_to_approve,
            "attachToTangle": self.attach_to_tangle,
            "interruptAttachingToTangle": self.interrupt_attaching_to_tangle,
            "storeTransactions": self.store_transactions,
            "broadcastTransactions": self.store_transactions,
            "getInclusionStates": self.get_inclusion_states,
            "wereAddressesSpentFrom": self.were_addresses_spent_from,
            "checkConsistency": self.check_consistency,
            "getTips": self.get_tips,
            "getNeighbors": lambda _request: {"neighbors": []},
            # devtangle's own commands (no IRI node knows them):
            "devtangleFaucet": self.faucet,
            "devtangleMilestone": self.milestone,
        }

    def close(self) -> None:
        """Close the store once no command is using it."""
        self._pow_cancel.set()
        with self._milestone_lock, self._lock:
            self.store.close()

    # -- helpers ------------------------------------------------------------

    def _latest(self) -> Milestone:
        latest = self.store.latest_milestone()
        return latest if latest is not None else Milestone(0, NULL_HASH, 0)

    def _judge(self, chain: Sequence[Transaction]) -> str | None:
        tail = chain[0].hash
        if tail not in self._verdicts:
            self._verdicts[tail] = validate_bundle(chain)
        return self._verdicts[tail]

    def verdict(self, tail: Transaction) -> BundleVerdict:
        return gather_bundle(tail, self.store.get, self._judge)

    def _simulation(self, *, depth_checked: bool = True) -> ConeSimulation:
        latest = self._latest()
        oldest = latest.index - MAX_DEPTH if depth_checked else None
        return ConeSimulation(self.store, self.verdict, oldest_allowed_milestone=oldest)

    # -- node info ----------------------------------------------------------

    def get_node_info(self, _request: Mapping[str, Any]) -> Json:
        with self._lock:
            latest = self._latest()
            tips = len(self._tips)
        return {
            "appName": APP_NAME,
            "appVersion": __version__,
            "jreAvailableProcessors": os.cpu_count() or 1,
            "jreFreeMemory": 0,
            "jreMaxMemory": 0,
            "jreTotalMemory": 0,
            "jreVersion": "none (devtangle is Python)",
            "latestMilestone": latest.hash,
            "latestMilestoneIndex": latest.index,
            "latestSolidSubtangleMilestone": latest.hash,
            "latestSolidSubtangleMilestoneIndex": latest.index,
            "milestoneStartIndex": 0,
            "lastSnapshottedMilestoneIndex": 0,
            "neighbors": 0,
            "packetsQueueSize": 0,
            "time": self._clock_ms(),
            "tips": tips,
            "transactionsToRequest": 0,
            "features": (
                ["RemotePOW", "devtangle"] if self.limits.remote_pow else ["devtangle"]
            ),
            "coordinatorAddress": coordinator.COORDINATOR_ADDRESS,
        }

    def get_tips(self, _request: Mapping[str, Any]) -> Json:
        with self._lock:
            return {"hashes": self.store.arrival_order(self._tips)}

    # -- ledger queries -----------------------------------------------------

    def get_balances(self, request: Mapping[str, Any]) -> Json:
        addresses = params.addresses(request, limit=self.limits.max_requests_list)
        threshold = request.get("threshold", 100)
        if not isinstance(threshold, int) or not 0 < threshold <= 100:
            raise ApiError("Illegal 'threshold'")
        tips = params.hashes(
            request, "tips", limit=self.limits.max_requests_list, required=False
        )
        with self._lock:
            for tip in tips:
                if not self.store.contains(tip):
                    raise ApiError("Tip not found")
            latest = self._latest()
            balances = [str(self.store.balance(address)) for address in addresses]
        return {
            "balances": balances,
            "references": [latest.hash],
            "milestoneIndex": latest.index,
        }

    def were_addresses_spent_from(self, request: Mapping[str, Any]) -> Json:
        addresses = params.addresses(request, limit=self.limits.max_requests_list)
        with self._lock:
            return {"states": [self.store.was_spent_from(a) for a in addresses]}

    def get_inclusion_states(self, request: Mapping[str, Any]) -> Json:
        limit = self.limits.max_requests_list
        transactions = params.hashes(request, "transactions", limit=limit)
        tips = params.hashes(request, "tips", limit=limit, required=False)
        with self._lock:
            if tips:
                tips_index = 0
                for tip in tips:
                    if not self.store.contains(tip):
                        raise ApiError("One of the tips is absent")
                    tips_index = max(tips_index, self.store.confirmed_by(tip) or 0)
            else:
                tips_index = self._latest().index
            states = []
            for hash_ in transactions:
                index = self.store.confirmed_by(hash_)
                states.append(index is not None and index <= tips_index)
        return {"states": states}

    # -- transactions -------------------------------------------------------

    def find_transactions(self, request: Mapping[str, Any]) -> Json:
        limit = self.limits.max_requests_list
        searches: list[tuple[str, list[str]]] = []
        for name, column in (("bundles", "bundle"), ("approvees", "approvee")):
            if name in request:
                searches.append((column, params.hashes(request, name, limit=limit)))
        if "addresses" in request:
            searches.append(("address", params.addresses(request, limit=limit)))
        if "tags" in request:
            searches.append(("tag", params.tags(request, limit=limit)))
        if not searches:
            raise ApiError("Invalid find_transactions input: no search values")
        found: set[str] | None = None
        with self._lock:
            for column, values in searches:
                if column == "approvee":
                    hits = self.store.find("trunk", values) | self.store.find(
                        "branch", values
                    )
                else:
                    hits = self.store.find(column, values)
                # Several criteria: IRI answered the intersection.
                found = hits if found is None else found & hits
            assert found is not None
            if len(found) > self.limits.max_find_results:
                raise ApiError("Could not complete request: too many results")
            return {"hashes": self.store.arrival_order(found)}

    def get_trytes(self, request: Mapping[str, Any]) -> Json:
        hashes = params.hashes(request, "hashes", limit=self.limits.max_get_trytes)
        with self._lock:
            found = self.store.trytes(hashes)
        # IRI answered unknown hashes with all-9 trytes.
        return {"trytes": [t if t is not None else "9" * 2673 for t in found]}

    def store_transactions(self, request: Mapping[str, Any]) -> Json:
        trytes = params.transactions(request, limit=self.limits.max_requests_list)
        self.receive(trytes)
        return {}

    def receive(self, trytes: Sequence[str]) -> list[Transaction]:
        """Validate and store transactions; reject the lot if any is invalid."""
        now = self._clock_ms()
        txs = [
            validate_transaction(
                t, mwm=self.mwm, min_timestamp_ms=self._min_timestamp_ms, now_ms=now
            )
            for t in trytes
        ]
        with self._lock:
            added: list[Transaction] = []
            try:
                with self.store.transaction():
                    added = [tx for tx in txs if self.store.add_transaction(tx, now)]
                    self._judge_completed_bundles({tx.bundle for tx in added})
            except BaseException:
                self.store.forget(tx.hash for tx in added)
                raise
            self._update_tips(added)
        return txs

    def _judge_completed_bundles(self, bundles: Iterable[str]) -> None:
        for bundle in bundles:
            for tail_hash in self.store.tails_of_bundle(bundle):
                if self.store.bundle_verdict(tail_hash) is not None:
                    continue
                tail = self.store.get(tail_hash)
                assert tail is not None
                verdict = self.verdict(tail)
                if not verdict.complete:
                    continue
                if verdict.error is not None:
                    # Stricter than IRI (which stored it and never confirmed
                    # it): say so now, so the wallet learns why.
                    self._verdicts.pop(tail_hash, None)
                    raise InvalidTransactionError(verdict.error)
                inputs = {tx.address for tx in verdict.transactions if tx.value < 0}
                self.store.record_verdict(tail_hash, bundle, None, inputs)

    def _update_tips(self, added: Sequence[Transaction]) -> None:
        for tx in added:
            self._tips.discard(tx.trunk)
            self._tips.discard(tx.branch)
        for tx in added:
            if not self.store.approvers(tx.hash):
                self._tips.add(tx.hash)

    # -- tip selection and consistency ---------------------------------------

    def get_transactions_to_approve(self, request: Mapping[str, Any]) -> Json:
        depth = params.integer(request, "depth", "Invalid depth input")
        if not 0 < depth <= MAX_DEPTH:
            raise ApiError("Invalid depth input")
        reference = request.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise ApiError("Invalid reference input")
        if reference is not None:
            reference = params.hashes({"reference": [reference]}, "reference", limit=1)[
                0
            ]
        with self._lock:
            simulation = self._simulation()
            chosen: list[str] = []
            if reference is not None:
                if not self.store.contains(reference):
                    raise ApiError("reference transaction is unknown")
                if (rejection := simulation.try_add(reference)) is not None:
                    raise ApiError(
                        f"reference transaction is invalid: {rejection.reason}"
                    )
                chosen.append(reference)
            candidates = list(reversed(self.store.arrival_order(self._tips)))
            candidates = candidates[:TIP_CANDIDATES]
            # Spread approvals over the freshest tips, as a random walk would.
            random.shuffle(candidates)
            # If the tips conflict, fall back to consistent tails below them.
            candidates += self.store.unconfirmed_tails(
                TIP_CANDIDATES, newest_first=True
            )
            for tip in candidates:
                if len(chosen) == 2:
                    break
                if tip not in chosen and simulation.try_add(tip) is None:
                    chosen.append(tip)
            while len(chosen) < 2:
                chosen.append(chosen[0] if chosen else self._latest().hash)
        return {"trunkTransaction": chosen[0], "branchTransaction": chosen[1]}

    def check_consistency(self, request: Mapping[str, Any]) -> Json:
        tails = params.hashes(request, "tails", limit=self.limits.max_requests_list)
        with self._lock:
            for hash_ in tails:
                tx = self.store.get(hash_)
                if tx is None:
                    raise ApiError(f"Invalid transaction, missing: {hash_}")
                if not tx.is_tail:
                    raise ApiError(f"Invalid transaction, not a tail: {hash_}")
            simulation = self._simulation()
            for hash_ in tails:
                if (rejection := simulation.try_add(hash_)) is not None:
                    return {"state": False, "info": rejection.reason}
        return {"state": True}

    # -- proof of work ------------------------------------------------------

    def attach_to_tangle(self, request: Mapping[str, Any]) -> Json:
        if not self.limits.remote_pow:
            raise ApiError(
                "COMMAND attachToTangle is not available on this node", status=401
            )
        trunk = params.hashes(
            {"trunkTransaction": [request.get("trunkTransaction")]},
            "trunkTransaction",
            limit=1,
        )[0]
        branch = params.hashes(
            {"branchTransaction": [request.get("branchTransaction")]},
            "branchTransaction",
            limit=1,
        )[0]
        mwm = params.integer(
            request, "minWeightMagnitude", "Invalid minWeightMagnitude input"
        )
        if not self.mwm <= mwm <= max(self.mwm, self.limits.max_attach_mwm):
            raise ApiError(
                f"Invalid minWeightMagnitude input: this node needs "
                f"{self.mwm}..{max(self.mwm, self.limits.max_attach_mwm)}"
            )
        trytes = params.transactions(request, limit=self.limits.max_requests_list)
        # One search at a time, as IRI did; interruptAttachingToTangle stops it.
        with self._pow_lock:
            self._pow_cancel.clear()
            try:
                attached = crypto.attach_to_tangle(
                    trunk,
                    branch,
                    mwm,
                    trytes,
                    now_ms=self._clock_ms,
                    cancel=self._pow_cancel,
                )
            except crypto.PowCancelled:
                raise ApiError("attachToTangle was interrupted") from None
            except ValueError as err:
                raise ApiError(f"Invalid trytes input: {err}") from None
        return {"trytes": attached}

    def interrupt_attaching_to_tangle(self, _request: Mapping[str, Any]) -> Json:
        self._pow_cancel.set()
        return {}

    # -- milestones and the faucet (devtangle's own) ---------------------------

    def issue_milestone(self) -> Milestone:
        """Confirm what the current tips consistently reference, as a milestone."""
        with self._milestone_lock:
            with self._lock:
                latest = self._latest()
                simulation = self._simulation()
                references = self._milestone_references(simulation)
                if not references:
                    references = [latest.hash]
            index = latest.index + 1
            now = self._clock_ms()
            trytes = coordinator.build_milestone(
                index, references, mwm=self.mwm, timestamp_s=now // 1000
            )
            own = [
                validate_transaction(
                    t, mwm=self.mwm, min_timestamp_ms=self._min_timestamp_ms, now_ms=now
                )
                for t in trytes
            ]
            milestone = Milestone(index, own[-1].hash, now)
            with self._lock:
                with self.store.transaction():
                    for tx in own:
                        self.store.add_transaction(tx, now)
                        self.store.record_verdict(tx.hash, tx.bundle, None, ())
                    confirmed = simulation.confirmed + [tx.hash for tx in own]
                    self.store.confirm(milestone, confirmed, simulation.deltas)
                self._update_tips(own)
            return milestone

    def _milestone_references(self, simulation: ConeSimulation) -> list[str]:
        """Add unconfirmed tails oldest first; return what the milestone approves.

        Every tail, not only tips: a tip whose cone conflicts (say a
        reattachment approving its original) must not hide the consistent
        transactions below it. Of two conflicting bundles the older wins. The
        milestone approves the frontier: accepted transactions nothing else
        accepted approves.
        """
        frontier: set[str] = set()
        for tail in self.store.unconfirmed_tails(MAX_MILESTONE_CANDIDATES):
            if tail in frontier or simulation.accepted(tail):
                continue
            start = len(simulation.confirmed)
            if simulation.try_add(tail) is not None:
                continue
            added = simulation.confirmed[start:]
            grown = frontier | set(added)
            for hash_ in added:
                tx = self.store.get(hash_)
                assert tx is not None
                grown.discard(tx.trunk)
                grown.discard(tx.branch)
            if len(grown) > MAX_MILESTONE_REFERENCES:
                simulation.roll_back(start)
                break
            frontier = grown
        return self.store.arrival_order(frontier)

    def milestone(self, _request: Mapping[str, Any]) -> Json:
        milestone = self.issue_milestone()
        return {"milestone": milestone.hash, "milestoneIndex": milestone.index}

    def fund(self, address: str, amount: int, reason: str) -> int:
        """Credit ``amount`` to ``address`` now; return its new balance."""
        if amount <= 0:
            raise ApiError("Invalid value input: must be positive")
        with self._lock, self.store.transaction():
            if self.store.total_supply() + amount > SUPPLY:
                raise ApiError("Invalid value input: exceeds the total supply")
            self.store.credit(address, amount, reason, self._clock_ms())
            return self.store.balance(address)

    def faucet(self, request: Mapping[str, Any]) -> Json:
        address = params.address(request.get("address"), "address")
        amount = params.integer(request, "value", "Invalid value input")
        return {"address": address, "balance": self.fund(address, amount, "faucet")}
