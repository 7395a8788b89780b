"""The legacy IOTA node as the wallet sees it: PyOTA's HTTP adapter, narrowed.

Every call goes through PyOTA 2.1.0's real HTTP adapter with a timeout.
Whatever goes wrong on the way (no connection, a timeout, an error answer,
an answer of the wrong shape) becomes one :class:`NodeError` whose text
names the command and the kind of failure, never the request body: the
wallet sends signed trytes, never the seed, but errors stay short anyway.

Calls block: run them in a worker thread, never in an event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import functools
import importlib
from typing import Any

from .thirdparty import import_pyota
from .trits import is_hash

DEFAULT_TIMEOUT_S = 20.0
# Tip selection depth the legacy wallets used.
DEFAULT_DEPTH = 3


class NodeError(Exception):
    """The node could not be reached or gave an unusable answer."""

    def __init__(self, command: str, kind: str, detail: str = "") -> None:
        super().__init__(f"{command}: {kind}" + (f" ({detail})" if detail else ""))
        self.command = command
        self.kind = kind  # unreachable | timeout | refused | garbage
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Tips:
    """Two transactions to approve."""

    trunk: str
    branch: str


def _answers_checked[**P, R](
    command: str,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """An answer of the wrong shape (a null list, text for numbers) is garbage.

    PyOTA checks requests more than answers; whatever slips through and
    breaks reading the answer becomes a NodeError, never a crash.
    """

    def wrap(read: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(read)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return read(*args, **kwargs)
            except NodeError:
                raise
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
                raise NodeError(command, "garbage", type(err).__name__) from None

        return checked

    return wrap


class LegacyNode:
    """The IRI HTTP API calls a wallet needs, each with a timeout."""

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        iota = import_pyota()
        self.url = url
        self._iota = iota
        self._api = iota.Iota(iota.HttpAdapter(url, timeout=timeout_s))

    # --- reads ----------------------------------------------------------------

    @_answers_checked("getBalances")
    def balances(self, addresses: Sequence[str]) -> list[int]:
        answer = self._call(
            "getBalances",
            lambda: self._api.get_balances(self._addresses(addresses), threshold=100),
        )
        balances = [int(b) for b in _field(answer, "balances", "getBalances")]
        if len(balances) != len(addresses) or any(b < 0 for b in balances):
            raise NodeError("getBalances", "garbage", "wrong number of balances")
        return balances

    @_answers_checked("wereAddressesSpentFrom")
    def spent(self, addresses: Sequence[str]) -> list[bool]:
        answer = self._call(
            "wereAddressesSpentFrom",
            lambda: self._api.were_addresses_spent_from(self._addresses(addresses)),
        )
        states = list(_field(answer, "states", "wereAddressesSpentFrom"))
        if len(states) != len(addresses) or not all(
            isinstance(s, bool) for s in states
        ):
            raise NodeError("wereAddressesSpentFrom", "garbage", "wrong states")
        return states

    @_answers_checked("findTransactions")
    def transactions_of(self, address: str) -> list[str]:
        # Asked past PyOTA's response filter, which reads an answer without
        # hashes as "none": an address with a pending transfer would pass
        # as idle and be signed from.
        request = {
            "command": "findTransactions",
            "addresses": [str(a) for a in self._addresses([address])],
        }
        answer = self._call(
            "findTransactions", lambda: self._api.adapter.send_request(request)
        )
        hashes = _field(answer, "hashes", "findTransactions")
        if not isinstance(hashes, list) or not all(is_hash(h) for h in hashes):
            raise NodeError("findTransactions", "garbage", "wrong hashes")
        return hashes

    @_answers_checked("getTrytes")
    def trytes(self, hashes: Sequence[str]) -> list[str]:
        answer = self._call(
            "getTrytes",
            lambda: self._api.get_trytes(
                [self._iota.TransactionHash(h) for h in hashes]
            ),
        )
        trytes = [str(t) for t in _field(answer, "trytes", "getTrytes")]
        if len(trytes) != len(hashes):
            raise NodeError("getTrytes", "garbage", "wrong number of transactions")
        return trytes

    @_answers_checked("getInclusionStates")
    def confirmed(self, hashes: Sequence[str]) -> list[bool]:
        """Inclusion states against the latest solid milestone."""
        if not hashes:
            return []
        answer = self._call(
            "getInclusionStates",
            lambda: self._api.get_latest_inclusion(
                [self._iota.TransactionHash(h) for h in hashes]
            ),
        )
        # PyOTA pairs the answer's states with the hashes asked, whatever they
        # are: only true and false count ("no" must not read as confirmed).
        states = _field(answer, "states", "getInclusionStates")
        found = [states.get(self._iota.TransactionHash(h)) for h in hashes]
        if not all(isinstance(state, bool) for state in found):
            raise NodeError("getInclusionStates", "garbage", "wrong states")
        return found

    @_answers_checked("checkConsistency")
    def consistent(self, tails: Sequence[str]) -> bool:
        answer = self._call(
            "checkConsistency",
            lambda: self._api.check_consistency(
                [self._iota.TransactionHash(h) for h in tails]
            ),
        )
        state = _field(answer, "state", "checkConsistency")
        if not isinstance(state, bool):
            raise NodeError("checkConsistency", "garbage", "state is not a bool")
        return state

    @_answers_checked("getTransactionsToApprove")
    def tips(self, depth: int = DEFAULT_DEPTH, reference: str | None = None) -> Tips:
        ref = None if reference is None else self._iota.TransactionHash(reference)
        answer = self._call(
            "getTransactionsToApprove",
            lambda: self._api.get_transactions_to_approve(depth, reference=ref),
        )
        trunk = str(_field(answer, "trunkTransaction", "getTransactionsToApprove"))
        branch = str(_field(answer, "branchTransaction", "getTransactionsToApprove"))
        return Tips(trunk=trunk, branch=branch)

    # --- writes ---------------------------------------------------------------

    @_answers_checked("attachToTangle")
    def attach(self, tips: Tips, mwm: int, trytes: Sequence[str]) -> list[str]:
        """The node's proof of work (attachToTangle); head-first in, as answered out."""
        iota = self._iota
        answer = self._call(
            "attachToTangle",
            lambda: self._api.attach_to_tangle(
                iota.TransactionHash(tips.trunk),
                iota.TransactionHash(tips.branch),
                [iota.TransactionTrytes(t) for t in trytes],
                min_weight_magnitude=mwm,
            ),
        )
        attached = [str(t) for t in _field(answer, "trytes", "attachToTangle")]
        if len(attached) != len(trytes):
            raise NodeError("attachToTangle", "garbage", "wrong number of transactions")
        return attached

    def broadcast(self, trytes: Sequence[str]) -> None:
        """Broadcast and store (both: IRI needed both to keep the transactions)."""
        iota = self._iota
        items = [iota.TransactionTrytes(t) for t in trytes]
        self._call(
            "broadcastTransactions", lambda: self._api.broadcast_transactions(items)
        )
        self._call("storeTransactions", lambda: self._api.store_transactions(items))

    # --- plumbing -------------------------------------------------------------

    def _addresses(self, addresses: Sequence[str]) -> list[Any]:
        return [self._iota.Address(a[:81]) for a in addresses]

    def _call(self, command: str, call: Any) -> Any:
        requests = _requests()
        try:
            return call()
        except requests.Timeout:
            raise NodeError(command, "timeout") from None
        except requests.RequestException as err:
            raise NodeError(command, "unreachable", type(err).__name__) from None
        except self._iota.BadApiResponse as err:
            # "401 response from node: COMMAND ... is not available" and the like.
            raise NodeError(command, "refused", _short(str(err))) from None
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # PyOTA's response filters reject answers of the wrong shape.
            raise NodeError(command, "garbage", type(err).__name__) from None


def _field(answer: Any, name: str, command: str) -> Any:
    try:
        value = answer[name]
    except (KeyError, TypeError):
        value = None
    # PyOTA's response filters answer a missing key with None: as missing,
    # never the text "None" where a hash belongs.
    if value is None:
        raise NodeError(command, "garbage", f"no {name}")
    return value


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _requests() -> Any:
    # PyOTA's HTTP library; typed as Any (no stubs in Home Assistant's venv).
    return importlib.import_module("requests")
