"""``python -m devrebased serve``: serves the genesis given, stops on SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path
import signal
from typing import Any
from urllib.request import Request, urlopen

import pytest

from devrebased.__main__ import main
from tests.node_process import start_node, stop_node

from .conftest import RECEIVER


def _query(url: str, operation: str, variables: dict[str, Any]) -> Any:
    body = {"query": "{}", "operationName": operation, "variables": variables}
    request = Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def test_serve_answers_from_its_genesis_and_stops_on_sigterm(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    wallet = {"address": RECEIVER, "coins": [7, 5]}
    genesis.write_text(json.dumps({"wallets": [wallet]}))
    args = ["--port", "0", "--genesis", str(genesis), "--chain-id", "c0ffee"]
    process, url = start_node("devrebased", args, tmp_path)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert _query(url, "ChainIdentifierQuery", {}) == {"chainIdentifier": "c0ffee"}
        balance = _query(url, "BalanceQuery", {"address": RECEIVER})
        assert balance["owner"]["balance"]["totalBalance"] == "12"
    finally:
        stopped = stop_node(process)
    assert stopped.code == 0
    assert f"signal {int(signal.SIGTERM)}: stopping" in stopped.log


def test_an_unreadable_genesis_is_an_error_exit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["serve", "--genesis", str(missing), "--port", "0"]) == 1
    assert f"cannot read {missing}" in caplog.text
