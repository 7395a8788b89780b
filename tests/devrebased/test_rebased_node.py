"""The real iota-sdk against the development Rebased node over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import socket
import threading
from typing import Any

import pytest

sdk: Any = pytest.importorskip(
    "iota_sdk",
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)

from custom_components.iota_energy.core.legacy_node import NodeError  # noqa: E402
from custom_components.iota_energy.core.rail import (  # noqa: E402
    Shortfall,
    SignedTransfer,
    TransferOrder,
)
from custom_components.iota_energy.core.rebased_keys import RebasedKey  # noqa: E402
from custom_components.iota_energy.core.rebased_node import (  # noqa: E402
    Effects,
    RebasedNode,
)
from custom_components.iota_energy.core.rebased_wallet import (  # noqa: E402
    GasCoin,
    Resume,
    resume_decision,
    sign_transfer,
)
from custom_components.iota_energy.core.units import Amount, Denomination  # noqa: E402
from devrebased.ledger import (  # noqa: E402
    CHAIN_ID,
    REFERENCE_GAS_PRICE,
    TRANSFER_GAS_UNITS,
)

from .conftest import PAYER_COINS, RECEIVER  # noqa: E402

GAS_FEE = TRANSFER_GAS_UNITS * REFERENCE_GAS_PRICE
BUDGET = 2 * GAS_FEE


def pay(
    payer: RebasedKey, coins: list[GasCoin], nanos: int
) -> SignedTransfer | Shortfall:
    order = TransferOrder("P000001", RECEIVER, Amount(nanos, Denomination.NANOS))
    return sign_transfer(
        payer,
        order,
        coins,
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=BUDGET,
        max_gas_budget=10**8,
    )


def signed(result: SignedTransfer | Shortfall) -> SignedTransfer:
    assert isinstance(result, SignedTransfer)
    return result


def resume(node: RebasedNode, payer: RebasedKey, transfer: SignedTransfer) -> Resume:
    """The resume rule's reads in its order: versions first, then effects."""
    ids = [g[0] for g in transfer.record["gas"]]
    versions = node.object_versions(payer.address, ids)
    effects = node.effects(transfer.transfer_id)
    status = "none" if effects is None else effects.status
    return resume_decision(transfer, current_versions=versions, effects=status)


def test_reads(node: Any, payer: RebasedKey) -> None:
    client = RebasedNode(node.url)
    assert client.chain_id() == CHAIN_ID
    assert client.balance(payer.address) == sum(PAYER_COINS)
    assert client.balance(RECEIVER) == 0
    assert client.reference_gas_price() == REFERENCE_GAS_PRICE
    coins = client.gas_coins(payer.address)
    assert sorted(c.balance for c in coins) == sorted(PAYER_COINS)
    assert {c.version for c in coins} == {1}
    assert client.gas_coins(RECEIVER) == []


def test_paid_end_to_end_exactly_once(node: Any, payer: RebasedKey) -> None:
    client = RebasedNode(node.url)
    transfer = signed(pay(payer, client.gas_coins(payer.address), 1_234_567))
    assert client.effects(transfer.transfer_id) is None
    assert resume(client, payer, transfer) is Resume.SEND_AGAIN

    effects = client.execute(transfer)
    assert (effects.digest, effects.status) == (transfer.transfer_id, "success")
    assert effects.gas_fee == GAS_FEE
    assert client.balance(RECEIVER) == 1_234_567
    assert client.balance(payer.address) == sum(PAYER_COINS) - 1_234_567 - GAS_FEE

    # A crash after sending: the same bytes again change nothing.
    assert client.execute(transfer) == effects
    assert client.balance(RECEIVER) == 1_234_567
    assert resume(client, payer, transfer) is Resume.EXECUTED
    assert len(node.ledger.executed) == 1
    # The coin the receiver got is not the wallet's: no version for it.
    (received,) = client.gas_coins(RECEIVER)
    assert received.balance == 1_234_567
    assert client.object_versions(payer.address, [received.object_id]) == {
        received.object_id: None
    }


def test_a_transfer_overtaken_on_its_coin_is_dead(node: Any, payer: RebasedKey) -> None:
    client = RebasedNode(node.url)
    coins = client.gas_coins(payer.address)
    first = signed(pay(payer, coins, 1_000))
    second = signed(pay(payer, coins, 2_000))  # the same coin version
    client.execute(second)
    assert resume(client, payer, first) is Resume.DEAD
    with pytest.raises(NodeError) as caught:
        client.execute(first)
    assert (caught.value.command, caught.value.kind) == (
        "executeTransactionBlock",
        "refused",
    )
    assert "not available for consumption" in caught.value.detail
    assert client.balance(RECEIVER) == 2_000


def test_insufficient_funds(node: Any, payer: RebasedKey) -> None:
    client = RebasedNode(node.url)
    coins = client.gas_coins(payer.address)
    short = pay(payer, coins, sum(PAYER_COINS))
    assert short == Shortfall(Amount(BUDGET, Denomination.NANOS))
    # The service refuses a budget the coins cannot cover, and charges nothing.
    small = [c for c in coins if c.balance == min(PAYER_COINS)]
    big_budget = sign_transfer(
        payer,
        TransferOrder("P1", RECEIVER, Amount(1, Denomination.NANOS)),
        [GasCoin(small[0].object_id, small[0].version, small[0].digest, 10**8)],
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=10**7,
        max_gas_budget=10**8,
    )
    with pytest.raises(NodeError, match="lower than the needed"):
        client.execute(signed(big_budget))
    assert client.balance(payer.address) == sum(PAYER_COINS)


def test_a_wrong_signer_is_refused(node: Any, payer: RebasedKey) -> None:
    client = RebasedNode(node.url)
    transfer = signed(pay(payer, client.gas_coins(payer.address), 5))
    transaction = sdk.Transaction.from_bcs(
        __import__("base64").b64decode(transfer.record["tx_bytes"])
    )
    other = sdk.Ed25519PrivateKey.from_mnemonic(
        "organ crash swim stick traffic remember army arctic mesh slice swear "
        "summer police vast chaos cradle squirrel hood useless evidence pet hub "
        "soap lake"
    )

    async def send() -> Any:
        graphql = sdk.GraphQlClient(node.url)
        return await graphql.execute_transaction(
            [other.sign_transaction(transaction)], transaction, None
        )

    import asyncio

    with pytest.raises(sdk.SdkFfiError, match="signer is not the transaction's sender"):
        asyncio.run(send())
    assert client.balance(RECEIVER) == 0


def test_a_node_that_is_down(payer: RebasedKey) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RebasedNode(f"http://127.0.0.1:{port}/graphql", timeout_s=5)
    with pytest.raises(NodeError) as caught:
        client.balance(payer.address)
    assert caught.value.kind == "unreachable"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_node_that_never_answers(silent_port: int) -> None:
    client = RebasedNode(f"http://127.0.0.1:{silent_port}/graphql", timeout_s=0.5)
    # The timeout it was given is the one it keeps (None would wait forever).
    assert client.timeout_s == 0.5
    with pytest.raises(NodeError) as caught:
        client.chain_id()
    assert (caught.value.command, caught.value.kind) == ("chainIdentifier", "timeout")


class _Garbage(BaseHTTPRequestHandler):
    body = b"<html>not graphql</html>"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.mark.parametrize(
    "body", [b"<html>not graphql</html>", b'{"data": {"chainIdentifier": 5}}']
)
def test_a_node_that_answers_garbage(body: bytes) -> None:
    handler = type("Handler", (_Garbage,), {"body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = RebasedNode(f"http://127.0.0.1:{server.server_port}/graphql")
        with pytest.raises(NodeError) as caught:
            client.chain_id()
        assert (caught.value.command, caught.value.kind) == (
            "chainIdentifier",
            "garbage",
        )
        assert 0 < len(caught.value.detail) <= 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_not_a_url() -> None:
    with pytest.raises(ValueError, match=r"^not a GraphQL URL$"):
        RebasedNode("not a url")


def test_calls_refuse_to_run_in_an_event_loop(node: Any) -> None:
    import asyncio

    client = RebasedNode(node.url)

    async def inside() -> None:
        client.chain_id()

    with pytest.raises(
        RuntimeError, match=r"^blocking Rebased call inside a running event loop$"
    ):
        asyncio.run(inside())


def test_a_dry_run_costs_and_changes_nothing(node: Any, payer: RebasedKey) -> None:
    from custom_components.iota_energy.core.rebased_wallet import (
        build_transfer,
    )

    client = RebasedNode(node.url)
    coins = client.gas_coins(payer.address)
    order = TransferOrder("P1", RECEIVER, Amount(1_000, Denomination.NANOS))
    built = build_transfer(
        payer.address,
        order,
        coins,
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=BUDGET,
        max_gas_budget=10**8,
    )
    assert not isinstance(built, Shortfall)
    cost = client.dry_run(built.transaction)
    assert (cost.status, cost.gas_fee, cost.gas_needed) == ("success", GAS_FEE, GAS_FEE)
    assert client.balance(RECEIVER) == 0
    assert client.gas_coins(payer.address) == coins
    assert node.ledger.executed == {}
    too_small = build_transfer(
        payer.address,
        order,
        coins,
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=GAS_FEE - 1,
        max_gas_budget=10**8,
    )
    assert not isinstance(too_small, Shortfall)
    with pytest.raises(NodeError) as caught:
        client.dry_run(too_small.transaction)
    assert (caught.value.command, caught.value.kind, caught.value.detail) == (
        "dryRunTransactionBlock",
        "refused",
        f"Gas budget {GAS_FEE - 1} is lower than the needed {GAS_FEE}",
    )


def test_a_dry_run_without_effects_is_refused(
    node: Any, payer: RebasedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.iota_energy.core.rebased_wallet import build_transfer

    client = RebasedNode(node.url)
    built = build_transfer(
        payer.address,
        TransferOrder("P1", RECEIVER, Amount(1_000, Denomination.NANOS)),
        client.gas_coins(payer.address),
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=BUDGET,
        max_gas_budget=10**8,
    )
    assert not isinstance(built, Shortfall)
    monkeypatch.setattr(
        node.operations,
        "dry_run_query",
        lambda _: {
            "dryRunTransactionBlock": {
                "error": None,
                "results": [],
                "transaction": None,
            }
        },
    )
    with pytest.raises(NodeError) as caught:
        client.dry_run(built.transaction)
    assert (caught.value.command, caught.value.kind, caught.value.detail) == (
        "dryRunTransactionBlock",
        "refused",
        "no effects",
    )


def test_every_call_names_its_command(node: Any, payer: RebasedKey) -> None:
    """Each call's NodeError names the GraphQL query it was, the detail the cause."""
    from custom_components.iota_energy.core.rebased_wallet import build_transfer

    live = RebasedNode(node.url)
    coins = live.gas_coins(payer.address)
    transfer = signed(pay(payer, coins, 5))
    built = build_transfer(
        payer.address,
        TransferOrder("P1", RECEIVER, Amount(5, Denomination.NANOS)),
        coins,
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=BUDGET,
        max_gas_budget=10**8,
    )
    assert not isinstance(built, Shortfall)
    node.stop()
    client = RebasedNode(node.url, timeout_s=5)
    calls: list[tuple[str, Any]] = [
        ("chainIdentifier", client.chain_id),
        ("balance", lambda: client.balance(payer.address)),
        ("epoch", client.reference_gas_price),
        ("objects", lambda: client.gas_coins(payer.address)),
        ("object", lambda: client.object_versions(payer.address, [coins[0].object_id])),
        ("transactionBlock", lambda: client.effects(transfer.transfer_id)),
        ("dryRunTransactionBlock", lambda: client.dry_run(built.transaction)),
        ("executeTransactionBlock", lambda: client.execute(transfer)),
    ]
    for command, call in calls:
        with pytest.raises(NodeError) as caught:
            call()
        assert (caught.value.command, caught.value.kind) == (command, "unreachable")
        assert "error sending request" in caught.value.detail
        assert len(caught.value.detail) <= 200


def test_a_reference_gas_price_must_be_a_positive_number(
    node: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = RebasedNode(node.url)

    def epoch_answers(epoch: dict[str, Any] | None) -> None:
        monkeypatch.setattr(
            node.operations, "epoch_summary_query", lambda _: {"epoch": epoch}
        )

    def epoch(price: str) -> dict[str, Any]:
        return {
            "epochId": 0,
            "referenceGasPrice": price,
            "totalCheckpoints": 0,
            "totalTransactions": 0,
        }

    epoch_answers(epoch("1"))
    assert client.reference_gas_price() == 1
    for answer in (epoch("0"), None):
        epoch_answers(answer)
        with pytest.raises(NodeError) as caught:
            client.reference_gas_price()
        assert (caught.value.command, caught.value.kind, caught.value.detail) == (
            "epoch",
            "garbage",
            "no reference gas price",
        )


def test_an_object_that_does_not_exist_has_no_version(
    node: Any, payer: RebasedKey
) -> None:
    client = RebasedNode(node.url)
    (coin, *_) = client.gas_coins(payer.address)
    nowhere = "0x" + "cd" * 32
    assert client.object_versions(payer.address, [nowhere, coin.object_id]) == {
        nowhere: None,
        coin.object_id: 1,
    }


def test_a_dry_run_that_would_fail_in_execution_is_refused(
    node: Any, payer: RebasedKey
) -> None:
    from custom_components.iota_energy.core.rebased_wallet import build_transfer

    client = RebasedNode(node.url)
    (small,) = [c for c in client.gas_coins(payer.address) if c.balance == GAS_FEE]
    # Built as if the coin held more: it covers the gas, not the amount.
    lying = GasCoin(small.object_id, small.version, small.digest, 10**8)
    built = build_transfer(
        payer.address,
        TransferOrder("P1", RECEIVER, Amount(1, Denomination.NANOS)),
        [lying],
        gas_price=REFERENCE_GAS_PRICE,
        gas_budget=GAS_FEE,
        max_gas_budget=10**8,
    )
    assert not isinstance(built, Shortfall)
    with pytest.raises(NodeError) as caught:
        client.dry_run(built.transaction)
    assert (caught.value.command, caught.value.kind, caught.value.detail) == (
        "dryRunTransactionBlock",
        "refused",
        "execution fails",
    )
    # Executed all the same, it fails and costs its gas.
    transfer = signed(
        sign_transfer(
            payer,
            TransferOrder("P1", RECEIVER, Amount(1, Denomination.NANOS)),
            [lying],
            gas_price=REFERENCE_GAS_PRICE,
            gas_budget=GAS_FEE,
            max_gas_budget=10**8,
        )
    )
    effects = client.execute(transfer)
    assert effects == Effects(transfer.transfer_id, "failure", GAS_FEE, GAS_FEE)
    assert client.effects(transfer.transfer_id) == effects


def test_effects_of_another_transaction_are_garbage(
    node: Any, payer: RebasedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = RebasedNode(node.url)
    coins = client.gas_coins(payer.address)
    first = signed(pay(payer, coins, 1_000))
    client.execute(first)
    first_effects = node.ledger.executed[first.transfer_id]
    monkeypatch.setattr(node.ledger, "execute", lambda *_: first_effects)
    second = signed(pay(payer, client.gas_coins(payer.address), 2_000))
    with pytest.raises(NodeError) as caught:
        client.execute(second)
    assert (caught.value.command, caught.value.kind, caught.value.detail) == (
        "executeTransactionBlock",
        "garbage",
        "other effects",
    )


def test_effects_read_from_the_gas_summary() -> None:
    """Fee = computation + storage - rebate; needed = computation + storage."""
    from custom_components.iota_energy.core.rebased_node import _effects

    digest = sdk.TransactionDigest.from_base58("1" * 32)

    def effects(success: bool) -> Any:
        status = (
            sdk.ExecutionStatus.SUCCESS()
            if success
            else sdk.ExecutionStatus.FAILURE(
                error=sdk.ExecutionError.INSUFFICIENT_COIN_BALANCE(), command=0
            )
        )
        return sdk.TransactionEffects.new_v1(
            sdk.TransactionEffectsV1(
                status,
                0,
                sdk.GasCostSummary(
                    computation_cost=7_000,
                    computation_cost_burned=7_000,
                    storage_cost=500,
                    storage_rebate=30,
                    non_refundable_storage_fee=0,
                ),
                digest,
                0,
                None,
                [],
                sdk.Version.from_u64(2),
                [],
                [],
                None,
            )
        )

    text = digest.to_base58()
    assert _effects(effects(True)) == Effects(text, "success", 7_470, 7_500)
    assert _effects(effects(False)) == Effects(text, "failure", 7_470, 7_500)
    with pytest.raises(NodeError) as caught:
        _effects(object())
    assert (caught.value.command, caught.value.kind, caught.value.detail) == (
        "effects",
        "garbage",
        "AttributeError",
    )


def test_details_are_cut_at_200_characters() -> None:
    from custom_components.iota_energy.core.rebased_node import _short

    assert _short("a" * 200) == "a" * 200
    assert _short("a" * 201) == "a" * 199 + "…"
    assert _short("abcdef", limit=4) == "abc…"


def test_its_repr_names_the_service() -> None:
    url = "http://127.0.0.1:9/graphql"
    assert repr(RebasedNode(url)) == f"RebasedNode('{url}')"


def test_coins_are_read_page_by_page(
    node: Any, payer: RebasedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service that answers one coin a page: every page is read, in order."""
    whole = node.operations.objects_query
    asked: list[Any] = []

    def one_a_page(variables: dict[str, Any]) -> dict[str, Any]:
        asked.append(variables["after"])
        start = int(variables["after"] or 0)
        answer = whole(variables)
        nodes = answer["objects"]["nodes"]
        answer["objects"]["nodes"] = nodes[start : start + 1]
        answer["objects"]["pageInfo"].update(
            hasNextPage=start + 1 < len(nodes), endCursor=str(start + 1)
        )
        return answer

    client = RebasedNode(node.url)
    every = client.gas_coins(payer.address)
    monkeypatch.setattr(node.operations, "objects_query", one_a_page)
    assert client.gas_coins(payer.address) == every
    assert asked == [None, "1"]
