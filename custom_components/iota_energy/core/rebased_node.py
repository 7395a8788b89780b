"""An IOTA Rebased GraphQL service as the wallet sees it, through iota-sdk.

The SDK's network calls are coroutines run inside Rust, with no timeout of
their own. Each call here runs one on a fresh event loop in the calling
(worker) thread under ``asyncio.wait_for``: it blocks like the legacy node's
calls and must never run in Home Assistant's event loop (``asyncio.run``
refuses to). Whatever goes wrong becomes one
:class:`~.legacy_node.NodeError` naming the call and the kind:
``unreachable`` (no connection), ``timeout``, ``refused`` (the service
answered with an error, e.g. a rejected transaction) or ``garbage`` (an
answer the SDK could not read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
import functools
from typing import Any, Literal

from .legacy_node import NodeError
from .rail import SignedTransfer
from .rebased_sdk import import_iota_sdk
from .rebased_wallet import GasCoin, stored_transaction

DEFAULT_TIMEOUT_S = 20.0
# The public GraphQL services, as the SDK's GraphQlClient.new_mainnet(),
# new_testnet() and new_devnet() name them (read from iota-sdk 3.0.0b1).
NETWORK_URLS = {
    "mainnet": "https://graphql.mainnet.iota.cafe",
    "testnet": "https://graphql.testnet.iota.cafe",
    "devnet": "https://graphql.devnet.iota.cafe",
}
IOTA_COIN_TYPE = "0x2::coin::Coin<0x2::iota::IOTA>"
# Pages of coins read at most (the service's page size each).
MAX_COIN_PAGES = 20


@dataclass(frozen=True, slots=True)
class Effects:
    """What executing a transaction did, as far as the wallet cares."""

    digest: str
    status: Literal["success", "failure"]
    gas_fee: int  # nanos: computation + storage - rebate
    gas_needed: int  # nanos a budget must cover: computation + storage


class RebasedNode:
    """The GraphQL calls the Rebased wallet needs, each with a timeout."""

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._sdk = import_iota_sdk()
        try:
            self._sdk.GraphQlClient(url)
        except Exception:  # the SDK raises one generic type
            raise ValueError("not a GraphQL URL") from None

    def __repr__(self) -> str:
        return f"RebasedNode({self.url!r})"

    # --- reads ---------------------------------------------------------------------

    def chain_id(self) -> str:
        return str(self._call("chainIdentifier", lambda c: c.chain_id()))

    def balance(self, address: str) -> int:
        total = self._call(
            "balance", lambda c: c.balance(self._sdk.Address.from_hex(address))
        )
        return int(total or 0)

    def reference_gas_price(self) -> int:
        price = self._call("epoch", lambda c: c.reference_gas_price())
        if not isinstance(price, int) or price <= 0:
            raise NodeError("epoch", "garbage", "no reference gas price")
        return price

    def gas_coins(self, owner: str) -> list[GasCoin]:
        """The IOTA coins ``owner`` holds (version and digest included)."""
        sdk = self._sdk
        coins: list[GasCoin] = []
        cursor: str | None = None
        for _ in range(MAX_COIN_PAGES):
            page = self._call(
                "objects", functools.partial(self._coin_page, owner=owner, after=cursor)
            )
            for obj in page.data:
                coin = sdk.Coin.try_from_object(obj)
                coins.append(
                    GasCoin(
                        object_id=obj.id().to_hex(),
                        version=obj.version().as_u64(),
                        digest=obj.digest().to_base58(),
                        balance=int(coin.balance()),
                    )
                )
            if not page.page_info.has_next_page:
                return coins
            cursor = page.page_info.end_cursor
        return coins

    def object_versions(
        self, owner: str, object_ids: Sequence[str]
    ) -> dict[str, int | None]:
        """Each object's version now, None if ``owner`` no longer owns it."""
        versions: dict[str, int | None] = {}
        for object_id in object_ids:
            wanted = self._sdk.ObjectId.from_hex(object_id)
            found = self._call("object", functools.partial(_object, wanted=wanted))
            owned = found is not None and found.owner().is_address()
            if owned and found.owner().as_address().to_hex() == owner:
                versions[object_id] = found.version().as_u64()
            else:
                versions[object_id] = None
        return versions

    def effects(self, digest: str) -> Effects | None:
        """The effects of the transaction ``digest``, None if it never executed."""
        found = self._call(
            "transactionBlock",
            lambda c: c.transaction_effects(
                self._sdk.TransactionDigest.from_base58(digest)
            ),
        )
        return None if found is None else _effects(found)

    # --- execution ---------------------------------------------------------------

    def dry_run(self, transaction: Any) -> Effects:
        """What executing ``transaction`` (the SDK's, unsigned) would cost now.

        NodeError ``refused`` if the service says it would be refused or
        fail (the reason in the detail).
        """
        result = self._call(
            "dryRunTransactionBlock", lambda c: c.dry_run_transaction(transaction)
        )
        if result.error is not None or result.effects is None:
            detail = _short(str(result.error or "no effects"))
            raise NodeError("dryRunTransactionBlock", "refused", detail)
        effects = _effects(result.effects)
        if effects.status != "success":
            raise NodeError("dryRunTransactionBlock", "refused", "execution fails")
        return effects

    def execute(self, transfer: SignedTransfer) -> Effects:
        """Execute the stored bytes (checked first); the same digest at most once."""
        transaction, signature = stored_transaction(transfer)
        found = self._call(
            "executeTransactionBlock",
            lambda c: c.execute_transaction([signature], transaction, None),
        )
        effects = _effects(found)
        if effects.digest != transfer.transfer_id:
            raise NodeError("executeTransactionBlock", "garbage", "other effects")
        return effects

    # --- plumbing ----------------------------------------------------------------

    def _coin_page(self, client: Any, owner: str, after: str | None) -> Awaitable[Any]:
        sdk = self._sdk
        page = sdk.PaginationFilter(direction=sdk.Direction.FORWARD, cursor=after)
        wanted = sdk.ObjectFilter(
            type_tag=IOTA_COIN_TYPE, owner=sdk.Address.from_hex(owner)
        )
        result: Awaitable[Any] = client.objects(wanted, page)
        return result

    def _call(self, command: str, call: Callable[[Any], Awaitable[Any]]) -> Any:
        sdk = self._sdk
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # a worker thread: as it must be
        else:
            raise RuntimeError("blocking Rebased call inside a running event loop")

        async def run() -> Any:
            client = sdk.GraphQlClient(self.url)
            return await asyncio.wait_for(call(client), self.timeout_s)

        try:
            return asyncio.run(run())
        except TimeoutError:
            raise NodeError(command, "timeout") from None
        except sdk.SdkFfiError as err:
            text = str(err)
            if "error sending request" in text:
                raise NodeError(command, "unreachable", _short(text)) from None
            if text.startswith("Query error"):
                raise NodeError(command, "refused", _short(text)) from None
            raise NodeError(command, "garbage", _short(text)) from None


def _object(client: Any, wanted: Any) -> Awaitable[Any]:
    result: Awaitable[Any] = client.object(wanted)
    return result


def _effects(found: Any) -> Effects:
    try:
        v1 = found.as_v1()
        gas = v1.gas_cost_summary()
        fee = gas.computation_cost + gas.storage_cost - gas.storage_rebate
        status: Literal["success", "failure"] = (
            "success" if v1.status().is_success() else "failure"
        )
        needed = gas.computation_cost + gas.storage_cost
        digest = v1.transaction_digest().to_base58()
        return Effects(digest, status, int(fee), int(needed))
    except Exception as err:  # the SDK raises one generic type
        raise NodeError("effects", "garbage", type(err).__name__) from None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
