"""Persistence failures, genesis files and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtangle.__main__ import DEFAULT_DB, DEMO_GENESIS, main
from devtangle.errors import StoreError
from devtangle.genesis import GenesisError, load_genesis, parse_genesis
from devtangle.server import DevTangle
from devtangle.store import Store
from tests.node_process import REPO, start_node, stop_node

from .conftest import ALICE_SEED, TEST_MWM, address_of
from .http_client import post


def test_corrupt_database_is_an_error_not_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="corrupt or not a devtangle database"):
        DevTangle(path, port=0, mwm=5, milestone_interval=None)
    assert path.read_bytes() == garbage


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(StoreError, match="not a devtangle database"):
        Store(path)


def test_genesis_from_seed_and_address(tmp_path: Path) -> None:
    address = address_of(ALICE_SEED, 2)
    document = {
        "balances": {"B" * 81: 7},
        "seeds": [{"seed": ALICE_SEED, "index": 2, "security": 2, "balance": 9}],
    }
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(document))
    allocations = load_genesis(path)
    assert [(a.address, a.balance) for a in allocations] == [
        ("B" * 81, 7),
        (address, 9),
    ]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"balances": {"B" * 81: 0}},
        {"balances": {"b" * 81: 5}},
        {"balances": {"B" * 81: 3_000_000_000_000_000}},
        {"seeds": [{"seed": "SHORT", "balance": 5}]},
        {"seeds": [{"seed": ALICE_SEED, "security": 4, "balance": 5}]},
        {"extra": 1},
    ],
)
def test_bad_genesis_is_refused_without_revealing_seeds(document: object) -> None:
    with pytest.raises(GenesisError) as caught:
        parse_genesis(document)
    assert ALICE_SEED not in str(caught.value)


def test_faucet_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "faucet.sqlite3"
    address = "FAUCET9CLI".ljust(81, "9")
    Store(db).close()
    assert main(["faucet", "--db", str(db), address, "30"]) == 0
    assert main(["faucet", "--db", str(db), address, "12"]) == 0
    assert f"{address} now holds 42 i" in capsys.readouterr().out
    store = Store(db)
    try:
        assert store.balance(address) == 42
    finally:
        store.close()
    assert main(["faucet", "--db", str(db), address, "-1"]) == 2


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps({"balances": {"C" * 81: 11}}))
    process, url = start_node(
        "devtangle",
        [
            "--db",
            str(tmp_path / "cli.sqlite3"),
            "--genesis",
            str(genesis),
            "--port",
            "0",
            "--mwm",
            "3",
            "--milestone-interval",
            "0.5",
        ],
        REPO,
    )
    try:
        assert url.startswith("http://127.0.0.1:")
        status, answer = post(url, {"command": "getBalances", "addresses": ["C" * 81]})
        assert (status, answer["balances"]) == (200, ["11"])
    finally:
        assert stop_node(process).code == 0


def test_serve_defaults_to_a_local_database_and_the_demo_genesis(
    tmp_path: Path,
) -> None:
    """``serve`` alone: ./devtangle.sqlite3, funded by the demo genesis."""
    (demo,) = load_genesis(DEMO_GENESIS)
    process, url = start_node("devtangle", ["--port", "0"], tmp_path)
    try:
        status, answer = post(
            url, {"command": "getBalances", "addresses": [demo.address]}
        )
        assert (status, answer["balances"]) == (200, [str(demo.balance)])
    finally:
        assert stop_node(process).code == 0
    assert (tmp_path / DEFAULT_DB).is_file()


def test_serve_without_genesis_starts_empty(tmp_path: Path) -> None:
    (demo,) = load_genesis(DEMO_GENESIS)
    process, url = start_node("devtangle", ["--port", "0", "--no-genesis"], tmp_path)
    try:
        status, answer = post(
            url, {"command": "getBalances", "addresses": [demo.address]}
        )
        assert (status, answer["balances"]) == (200, ["0"])
    finally:
        assert stop_node(process).code == 0


@pytest.mark.usefixtures("loopback_sockets")
def test_the_transaction_cache_is_bounded_and_misses_read_the_database(
    tmp_path: Path,
) -> None:
    """A long-running node (the soak's) keeps at most ``cache_size`` decoded."""
    tangle = DevTangle(
        tmp_path / "t.sqlite3",
        port=0,
        mwm=TEST_MWM,
        milestone_interval=None,
        cache_size=2,
    ).start()
    try:
        milestones = [tangle.node.issue_milestone() for _ in range(4)]
        assert tangle.store.cached == 2
        first = tangle.store.get(milestones[0].hash)
        assert first is not None
        assert first.hash == milestones[0].hash
        assert tangle.store.cached == 2
    finally:
        tangle.stop()
    with pytest.raises(ValueError, match="cache_size"):
        Store(tmp_path / "t.sqlite3", cache_size=-1)
