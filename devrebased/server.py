"""The development Rebased node's GraphQL endpoint (``POST /graphql``).

It answers the operations ``iota-sdk==3.0.0b1`` sends for a payment (see
docs/rebased.md), chosen by ``operationName``; any other operation gets a
GraphQL error, as a real service answers a query it cannot run. A rejected
transaction is a GraphQL error with the reason, and nothing changes.
"""

from __future__ import annotations

import base64
import contextlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
import json
import logging
import threading
from typing import Any

from devtangle.http_server import ClosingHTTPServer

from .ledger import CHAIN_ID, REFERENCE_GAS_PRICE, Ledger, RejectedError

_LOGGER = logging.getLogger(__name__)
MAX_BODY = 1 << 20
SERVICE_CONFIG = {
    "defaultPageSize": 20,
    "enabledFeatures": ["COINS"],
    "maxMoveValueDepth": 128,
    "maxOutputNodes": 100_000,
    "maxPageSize": 50,
    "maxQueryDepth": 20,
    "maxQueryNodes": 300,
    "maxQueryPayloadSize": 5_000,
    "maxTypeArgumentDepth": 16,
    "maxTypeArgumentWidth": 32,
    "maxTypeNodes": 256,
    "mutationTimeoutMs": 74_000,
    "requestTimeoutMs": 40_000,
}


class GraphQlError(Exception):
    """Answered as ``{"data": null, "errors": [{"message": ...}]}``."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Operations:
    """One method per GraphQL operation the SDK's payment path sends."""

    def __init__(self, ledger: Ledger, chain_id: str = CHAIN_ID) -> None:
        self.ledger = ledger
        # What ChainIdentifierQuery answers; a test may change it while the
        # node runs, as if the URL now led to another network's service.
        self.chain_id = chain_id

    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            raise GraphQlError("Bad request: expected a JSON object with a query")
        name = request.get("operationName")
        variables = request.get("variables") or {}
        handler = {
            "ChainIdentifierQuery": self.chain_identifier_query,
            "ServiceConfigQuery": self.service_config_query,
            "EpochSummaryQuery": self.epoch_summary_query,
            "BalanceQuery": self.balance_query,
            "ObjectsQuery": self.objects_query,
            "ObjectQuery": self.object_query,
            "TransactionBlockEffectsQuery": self.transaction_block_effects_query,
            "ExecuteTransactionQuery": self.execute_transaction_query,
            "DryRunQuery": self.dry_run_query,
        }.get(name if isinstance(name, str) else "")
        if not isinstance(variables, dict) or handler is None:
            raise GraphQlError(f"Unknown or unsupported operation {name!r}")
        try:
            result: dict[str, Any] = handler(variables)
        except (KeyError, TypeError, ValueError) as err:
            raise GraphQlError(f"Invalid variables: {type(err).__name__}") from None
        return result

    def chain_identifier_query(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"chainIdentifier": self.chain_id}

    def service_config_query(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"serviceConfig": SERVICE_CONFIG}

    def epoch_summary_query(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "epoch": {
                "epochId": 0,
                "referenceGasPrice": str(REFERENCE_GAS_PRICE),
                "totalCheckpoints": 0,
                "totalTransactions": len(self.ledger.executed),
            }
        }

    def balance_query(self, variables: dict[str, Any]) -> dict[str, Any]:
        total = self.ledger.balance(_address(variables["address"]))
        return {"owner": {"balance": {"totalBalance": str(total)}}}

    def objects_query(self, variables: dict[str, Any]) -> dict[str, Any]:
        object_filter = variables.get("filter") or {}
        owner = _address(object_filter["owner"])
        if object_filter.get("type") not in {
            "0x2::coin::Coin",
            "0x2::coin::Coin<0x2::iota::IOTA>",
        }:
            nodes: list[bytes] = []
        else:
            nodes = self.ledger.coin_objects(owner)
        return {
            "objects": {
                "pageInfo": {
                    "hasPreviousPage": False,
                    "hasNextPage": False,
                    "startCursor": None,
                    "endCursor": None,
                },
                "nodes": [{"bcs": _b64(n), "asMoveObject": None} for n in nodes],
            }
        }

    def object_query(self, variables: dict[str, Any]) -> dict[str, Any]:
        found = self.ledger.object_bcs(_address(variables["objectId"]))
        return {
            "object": None
            if found is None
            else {"bcs": _b64(found), "asMoveObject": None}
        }

    def transaction_block_effects_query(
        self, variables: dict[str, Any]
    ) -> dict[str, Any]:
        effects = self.ledger.effects(str(variables["digest"]))
        return {
            "transactionBlock": (
                None if effects is None else {"effects": {"bcs": _b64(effects)}}
            )
        }

    def execute_transaction_query(self, variables: dict[str, Any]) -> dict[str, Any]:
        signatures = variables["signatures"]
        if not isinstance(signatures, list) or not all(
            isinstance(s, str) for s in signatures
        ):
            raise TypeError("signatures")
        try:
            effects = self.ledger.execute(str(variables["txBytes"]), signatures)
        except RejectedError as err:
            raise GraphQlError(str(err)) from None
        return {
            "executeTransactionBlock": {
                "errors": None,
                "effects": {"bcs": _b64(effects)},
            }
        }

    def dry_run_query(self, variables: dict[str, Any]) -> dict[str, Any]:
        tx_bytes = str(variables["txBytes"])
        meta = variables["txMeta"]
        if not isinstance(meta, dict):
            raise TypeError("txMeta")
        try:
            transaction, effects = self.ledger.dry_run(tx_bytes, meta)
        except RejectedError as err:
            result: dict[str, Any] = {
                "error": str(err),
                "results": [],
                "transaction": None,
            }
            return {"dryRunTransactionBlock": result}
        result = {
            "error": None,
            "results": [],
            "transaction": {
                "bcs": _b64(transaction),
                "effects": {"bcs": _b64(effects)},
            },
        }
        return {"dryRunTransactionBlock": result}


def _address(value: object) -> str:
    if not isinstance(value, str) or len(value) != 66 or not value.startswith("0x"):
        raise ValueError("address")
    int(value[2:], 16)
    return value.lower()


class DevRebased:
    """The node: a ledger behind a threading HTTP server on ``host:port``."""

    def __init__(
        self,
        allocations: dict[str, list[int]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chain_id: str = CHAIN_ID,
    ) -> None:
        self.ledger = Ledger(allocations)
        self.operations = Operations(self.ledger, chain_id)
        self._server = _Server((host, port), self.operations)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/graphql"

    def start(self) -> DevRebased:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="devrebased", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()


class _Server(ClosingHTTPServer):
    """The closing HTTP server (the SDK keeps its connections open), answering."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], operations: Operations) -> None:
        super().__init__(address, _Handler)
        self.operations = operations


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        if self.path != "/graphql":
            self._send(HTTPStatus.NOT_FOUND, {"errors": [{"message": "Not found"}]})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self._send(
                HTTPStatus.BAD_REQUEST, _error("Request body missing or too large")
            )
            return
        try:
            request = json.loads(self.rfile.read(length))
            data = self.server.operations.answer(request)
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, _error("Request body is not JSON"))
            return
        except GraphQlError as err:
            self._send(HTTPStatus.OK, _error(str(err)))
            return
        self._send(HTTPStatus.OK, {"data": data})

    def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(payload)


def _error(message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message}]}
