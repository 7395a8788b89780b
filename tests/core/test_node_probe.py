"""Probing a node over real HTTP: devtangle, closed ports, silent, foreign servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
import http.server
from pathlib import Path
import re
import socket
import threading
from typing import Any

import pytest

from custom_components.iota_energy.core.addresses import address_checksum
from custom_components.iota_energy.core.node_probe import (
    NodeInfo,
    NodeUnreachable,
    NodeUrlError,
    NotAnIriNode,
    addresses_spent,
    probe_node,
    validate_node_url,
)
from custom_components.iota_energy.core.thirdparty import import_pyota
from devtangle import crypto
from devtangle.genesis import Allocation
from devtangle.server import DevTangle

MWM = 5
PAYER_SEED = "NODEPROBE9TEST9SEED9PAYER".ljust(81, "9")
PAYEE = "NODEPROBE9PAYEE".ljust(81, "9")


@pytest.fixture(autouse=True)
def loopback_sockets() -> Iterator[None]:
    """Home Assistant's test plugin blocks sockets; allow loopback only.

    The core's tests also run where Home Assistant (and its socket blocker)
    is not installed: then nothing is blocked and nothing needs opening.
    """
    try:
        import pytest_socket
    except ImportError:
        yield
        return
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    yield
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture(scope="module")
def payer_address() -> str:
    return crypto.seed_address(PAYER_SEED, 0, 2)


@pytest.fixture
def node(tmp_path: Path, payer_address: str) -> Iterator[DevTangle]:
    tangle = DevTangle(
        tmp_path / "tangle.sqlite3",
        genesis=[Allocation(payer_address, 1_000)],
        port=0,
        mwm=MWM,
        milestone_interval=None,
    ).start()
    yield tangle
    tangle.stop()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@contextmanager
def foreign_server(status: int, body: bytes) -> Iterator[str]:
    """An HTTP server on loopback answering every POST with ``body``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_server(hang_up_after_s: float = 3.0) -> Iterator[str]:
    """Takes connections and never answers; hangs up after a while.

    The hang-up ends a call that waits without a timeout (as a connection
    error, not a read timeout) instead of leaving it waiting for good.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        # Closing the listening socket resets the connections it holds.
        hang_up = threading.Timer(hang_up_after_s, sock.close)
        hang_up.start()
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
        finally:
            hang_up.cancel()


def rewrite_node_info(
    node: DevTangle, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """Make the real node answer getNodeInfo differently."""
    original = node.node.commands["getNodeInfo"]

    def answer(request: Mapping[str, Any]) -> dict[str, Any]:
        return change(dict(original(request)))

    node.node.commands["getNodeInfo"] = answer


def test_devtangle_is_an_iri_node_with_remote_pow(node: DevTangle) -> None:
    info = probe_node(node.url, 5)
    assert info == NodeInfo(
        app_name="devtangle",
        app_version=info.app_version,
        latest_milestone_index=1,
        remote_pow=True,
    )
    assert info.app_version
    node.node.issue_milestone()
    assert probe_node(node.url, 5).latest_milestone_index == 2


def test_node_without_remote_pow(node: DevTangle) -> None:
    rewrite_node_info(node, lambda info: info | {"features": ["zeroMessageQueue"]})
    assert probe_node(node.url, 5).remote_pow is False


def test_node_without_a_feature_list_is_taken_as_refusing_pow(
    node: DevTangle,
) -> None:
    rewrite_node_info(
        node, lambda info: {k: v for k, v in info.items() if k != "features"}
    )
    assert probe_node(node.url, 5).remote_pow is False


WRONG_TYPE = "getNodeInfo: fields of the wrong type"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda info: {k: v for k, v in info.items() if k != "appName"},
            "getNodeInfo: missing appName",
        ),
        (
            lambda info: {k: v for k, v in info.items() if k != "latestMilestone"},
            "getNodeInfo: missing latestMilestone",
        ),
        (
            lambda info: {
                k: v for k, v in info.items() if k not in ("appVersion", "appName")
            },
            "getNodeInfo: missing appName, appVersion",
        ),
        (lambda info: info | {"appName": 7}, WRONG_TYPE),
        (lambda info: info | {"appVersion": None}, "getNodeInfo: missing appVersion"),
        (lambda info: info | {"latestMilestoneIndex": "12"}, WRONG_TYPE),
        (lambda info: info | {"latestSolidSubtangleMilestoneIndex": True}, WRONG_TYPE),
        (
            lambda info: info | {"features": "RemotePOW"},
            "getNodeInfo: features is no list",
        ),
        # PyOTA's response filter refuses it (a ValueError).
        (
            lambda info: info | {"latestMilestone": "not trytes!"},
            "get_node_info: ValueError",
        ),
    ],
)
def test_node_info_of_the_wrong_shape_is_not_an_iri_node(
    node: DevTangle,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    message: str,
) -> None:
    rewrite_node_info(node, change)
    with pytest.raises(NotAnIriNode) as caught:
        probe_node(node.url, 5)
    assert caught.value.reason == "not_iri_node"
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html><body>It works!</body></html>"),
        (200, b'{"hello": "world"}'),
        (200, b"[1, 2, 3]"),
        (200, b""),
        (404, b'{"error": "no such page"}'),
        (400, b'{"error": "Invalid API Version"}'),
        (500, b'{"exception": "boom"}'),
    ],
)
def test_something_else_answering_is_not_an_iri_node(status: int, body: bytes) -> None:
    with foreign_server(status, body) as url:
        with pytest.raises(NotAnIriNode) as probed:
            probe_node(url, 5)
        with pytest.raises(NotAnIriNode) as asked:
            addresses_spent(url, [PAYEE], 5)
    # The exception's type only, never the answer itself.
    if body == b'{"hello": "world"}':
        assert str(probed.value) == (
            "getNodeInfo: missing appName, appVersion, latestMilestoneIndex,"
            " latestSolidSubtangleMilestoneIndex, latestMilestone,"
            " latestSolidSubtangleMilestone"
        )
        assert str(asked.value) == "wereAddressesSpentFrom: no list of states"
    else:
        assert str(probed.value) == "get_node_info: BadApiResponse"
        assert str(asked.value) == "were_addresses_spent_from: BadApiResponse"


def test_closed_port_is_unreachable() -> None:
    url = closed_port_url()
    with pytest.raises(NodeUnreachable) as caught:
        probe_node(url, 5)
    assert caught.value.reason == "cannot_connect"
    assert str(caught.value) == "get_node_info: ConnectionError"
    with pytest.raises(NodeUnreachable) as caught:
        addresses_spent(url, [PAYEE], 5)
    assert str(caught.value) == "were_addresses_spent_from: ConnectionError"


def test_silent_server_times_out() -> None:
    with silent_server() as url, pytest.raises(NodeUnreachable) as caught:
        probe_node(url, 0.3)
    # A read timeout: the call's own, not the server hanging up later.
    assert str(caught.value) == "get_node_info: ReadTimeout"


def test_asking_a_silent_server_for_spent_addresses_times_out() -> None:
    with silent_server() as url, pytest.raises(NodeUnreachable) as caught:
        addresses_spent(url, [PAYEE], 0.3)
    assert str(caught.value) == "were_addresses_spent_from: ReadTimeout"


def test_unknown_host_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name the resolver does not know, answered as the resolver answers.

    Not left to the machine's DNS: Home Assistant's test harness from 2026.10
    replaces name resolution with a RuntimeError, and CI may have no network.
    """

    def no_such_name(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(NodeUnreachable) as caught:
        probe_node("http://no-such-node.invalid:14265/", 2)
    assert str(caught.value) == "get_node_info: ConnectionError"


NOT_HTTP = "a node URL is http:// or https:// and a host"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", NOT_HTTP),
        ("ftp://127.0.0.1:14265", NOT_HTTP),
        ("127.0.0.1:14265", NOT_HTTP),
        ("udp://127.0.0.1:14265", NOT_HTTP),
        ("http://", NOT_HTTP),
        ("http://127.0.0.1:port/", "the port is not a number"),
        ("https:///path", NOT_HTTP),
    ],
)
def test_urls_that_are_not_http_are_invalid(url: str, message: str) -> None:
    with pytest.raises(NodeUrlError) as caught:
        validate_node_url(url)
    assert caught.value.reason == "invalid_url"
    assert str(caught.value) == message
    with pytest.raises(NodeUrlError):
        probe_node(url, 1)


def test_valid_urls_are_stripped() -> None:
    assert validate_node_url(" https://node.example:443/api \n") == (
        "https://node.example:443/api"
    )


def test_spent_addresses_as_the_node_reports_them(
    node: DevTangle, payer_address: str
) -> None:
    payee = PAYEE + address_checksum(PAYEE)
    assert addresses_spent(node.url, [payer_address, payee], 5) == [False, False]
    iota = import_pyota()
    api = iota.Iota(node.url, seed=PAYER_SEED)
    api.send_transfer(
        transfers=[iota.ProposedTransaction(address=iota.Address(PAYEE), value=10)],
        inputs=[
            iota.Address(payer_address, balance=1_000, key_index=0, security_level=2)
        ],
        change_address=iota.Address(crypto.seed_address(PAYER_SEED, 1, 2)),
        depth=3,
        min_weight_magnitude=MWM,
    )
    node.node.issue_milestone()
    assert addresses_spent(node.url, [payer_address, payee], 5) == [True, False]
    assert addresses_spent(node.url, [], 5) == []


NOT_AN_ADDRESS = "not an address of 81 or 90"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("SHORT", NOT_AN_ADDRESS),
        (PAYEE + "9", NOT_AN_ADDRESS),
        (PAYEE.lower(), NOT_AN_ADDRESS),
        (PAYEE + "AAAAAAAAA", "the address checksum does not match"),
    ],
)
def test_addresses_are_checked_before_anything_is_sent(
    address: str, message: str
) -> None:
    # A closed port: a request sent would raise NodeUnreachable instead.
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as caught:
        addresses_spent(closed_port_url(), [address], 1)
    assert not isinstance(caught.value, NotAnIriNode)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "answer",
    [
        {"states": [True]},  # one state for two addresses
        {"states": "false,false"},
        {"states": [0, 1]},
        {"nothing": []},
    ],
)
def test_spent_states_of_the_wrong_shape(
    node: DevTangle, answer: dict[str, Any]
) -> None:
    node.node.commands["wereAddressesSpentFrom"] = lambda _request: answer
    with pytest.raises(NotAnIriNode) as caught:
        addresses_spent(node.url, [PAYEE, PAYEE], 5)
    assert str(caught.value) == "wereAddressesSpentFrom: no list of states"
