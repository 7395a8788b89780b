"""IRI's HTTP surface: header, error shapes, limits; the node keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from devtangle.http import MAX_JSON_DEPTH
from devtangle.node import Limits
from devtangle.server import DevTangle

from .conftest import ALICE_FUNDS, ALICE_SEED, address_of, genesis
from .http_client import post

BODY_LIMIT = 20_000


@pytest.fixture
def small_node(db_path: Path) -> Iterator[DevTangle]:
    tangle = DevTangle(
        db_path,
        genesis=genesis(),
        port=0,
        mwm=5,
        milestone_interval=None,
        limits=Limits(
            max_body_bytes=BODY_LIMIT, max_requests_list=10, max_get_trytes=10
        ),
    ).start()
    yield tangle
    tangle.stop()


def _still_serving(url: str) -> None:
    status, answer = post(url, {"command": "getNodeInfo"})
    assert status == 200
    assert answer["latestMilestoneIndex"] >= 1


@pytest.mark.parametrize(
    ("headers", "raw", "message"),
    [
        (
            {"X-IOTA-API-Version": ""},
            b'{"command": "getNodeInfo"}',
            "Invalid API Version",
        ),
        (
            {"X-IOTA-API-Version": "2"},
            b'{"command": "getNodeInfo"}',
            "Invalid API Version",
        ),
        ({}, b'{"command": "getNode', "Invalid JSON syntax"),
        ({}, b"\xff\xfe", "Invalid JSON syntax"),
        ({}, b"[1, 2]", "COMMAND parameter has not been specified"),
        (
            {},
            b'{"commands": "getNodeInfo"}',
            "COMMAND parameter has not been specified",
        ),
        ({}, b'{"command": "getNeighbours"}', "Command [getNeighbours] is unknown"),
        ({}, b"x" * (BODY_LIMIT + 1), "Request too long"),
    ],
)
def test_bad_requests_get_iri_errors(
    small_node: DevTangle, headers: dict[str, str], raw: bytes, message: str
) -> None:
    status, answer = post(small_node.url, None, headers=headers, raw=raw)
    assert status == 400
    assert answer["error"].startswith(message)
    assert isinstance(answer["duration"], int)
    _still_serving(small_node.url)


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (
            {"command": "getBalances", "addresses": ["9" * 81] * 11},
            "Too many addresses",
        ),
        (
            {"command": "getBalances", "addresses": ["9" * 80]},
            "Invalid addresses input",
        ),
        (
            {"command": "getBalances", "addresses": ["A" * 90]},
            "Invalid addresses input",
        ),
        (
            {"command": "getBalances", "addresses": ["9" * 81], "threshold": 0},
            "Illegal",
        ),
        ({"command": "getTrytes", "hashes": ["9" * 81] * 11}, "Too many hashes"),
        ({"command": "getTrytes", "hashes": ["a" * 81]}, "Invalid hashes input"),
        ({"command": "findTransactions"}, "Invalid find_transactions input"),
        ({"command": "findTransactions", "tags": ["A" * 28]}, "Invalid tags input"),
        (
            {"command": "getInclusionStates", "transactions": ["9" * 81] * 11},
            "Too many",
        ),
        (
            {
                "command": "getInclusionStates",
                "transactions": ["9" * 81],
                "tips": ["A" * 81],
            },
            "One of the tips is absent",
        ),
        ({"command": "getTransactionsToApprove", "depth": 16}, "Invalid depth input"),
        ({"command": "getTransactionsToApprove", "depth": True}, "Invalid depth input"),
        (
            {"command": "checkConsistency", "tails": ["A" * 81]},
            "Invalid transaction, missing",
        ),
        (
            {
                "command": "attachToTangle",
                "trunkTransaction": "9" * 81,
                "branchTransaction": "9" * 81,
                "minWeightMagnitude": 4,
                "trytes": ["9" * 2673],
            },
            "Invalid minWeightMagnitude input",
        ),
        (
            {"command": "devtangleFaucet", "address": "9" * 81, "value": -5},
            "Invalid value",
        ),
    ],
)
def test_bad_parameters_get_iri_errors(
    small_node: DevTangle, request_body: dict[str, object], message: str
) -> None:
    status, answer = post(small_node.url, request_body)
    assert status == 400
    assert answer["error"].startswith(message)
    _still_serving(small_node.url)


def test_get_is_refused(small_node: DevTangle) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", small_node.port, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    assert response.status == 400
    connection.close()
    _still_serving(small_node.url)


def test_checksummed_address_and_api_header(small_node: DevTangle) -> None:
    from devtangle import crypto

    address = address_of(ALICE_SEED, 0)
    status, answer = post(
        small_node.url,
        {
            "command": "getBalances",
            "addresses": [crypto.address_with_checksum(address)],
        },
    )
    assert (status, answer["balances"]) == (200, [str(ALICE_FUNDS)])


def test_faucet_and_milestone_commands(small_node: DevTangle) -> None:
    address = "FAUCET9TEST".ljust(81, "9")
    status, answer = post(
        small_node.url, {"command": "devtangleFaucet", "address": address, "value": 25}
    )
    assert (status, answer["balance"]) == (200, 25)
    status, answer = post(small_node.url, {"command": "devtangleMilestone"})
    assert (status, answer["milestoneIndex"]) == (200, 2)
    status, answer = post(
        small_node.url, {"command": "getBalances", "addresses": [address]}
    )
    assert answer["balances"] == ["25"]
    assert answer["references"] == [answer_ms := answer["references"][0]]
    status, info = post(small_node.url, {"command": "getNodeInfo"})
    assert info["latestMilestone"] == answer_ms
    status, tips = post(small_node.url, {"command": "getTips"})
    assert tips["hashes"] == [answer_ms]


NESTING_DEPTH = 10_000


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * NESTING_DEPTH + b"]" * NESTING_DEPTH,
        b'{"a":' * NESTING_DEPTH + b"1" + b"}" * NESTING_DEPTH,
        b'{"command": "getBalances", "addresses": '
        + b"[" * NESTING_DEPTH
        + b"]" * NESTING_DEPTH
        + b"}",
        # Deeper than devtangle accepts, shallow enough for any interpreter.
        b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
        # Longer than Python turns into an int (a ValueError, not a syntax error).
        b'{"command": "getBalances", "threshold": ' + b"9" * 5000 + b"}",
        b'{"command": "getNodeInfo"}\xff',
        b"\x00",
        b"",
    ],
    ids=[
        "nested-lists",
        "nested-objects",
        "nested-parameter",
        "nested-past-limit",
        "huge-integer",
        "trailing-byte",
        "nul",
        "empty",
    ],
)
def test_malformed_bodies_get_400_without_traceback(
    node: DevTangle, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Deep nesting and oversized numbers are the client's mistake, not a crash."""
    status, answer = post(node.url, None, raw=raw)
    assert status == 400
    assert answer["error"].startswith("Invalid JSON syntax")
    assert "exception" not in answer
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
    _still_serving(node.url)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_PARAMETERS = (
    "addresses",
    "hashes",
    "tails",
    "tips",
    "transactions",
    "trytes",
    "tags",
    "bundles",
    "approvees",
    "threshold",
    "depth",
    "reference",
    "minWeightMagnitude",
    "trunkTransaction",
    "branchTransaction",
    "address",
    "value",
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_parameters_get_an_answer_never_a_crash(
    small_node: DevTangle, data: st.DataObject
) -> None:
    """Every command with arbitrary JSON parameters: 200 or 400, never 500."""
    command = data.draw(st.sampled_from(sorted(small_node.node.commands)))
    names = data.draw(st.lists(st.sampled_from(_PARAMETERS), max_size=4, unique=True))
    body = {"command": command} | {name: data.draw(_JSON) for name in names}
    status, answer = post(small_node.url, body)
    assert status in (200, 400), (body, answer)
    assert "exception" not in answer


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_any_body_gets_an_answer_never_a_crash(
    small_node: DevTangle, raw: bytes
) -> None:
    """Arbitrary bytes and arbitrary JSON documents: 200 or 400, never 500."""
    status, answer = post(small_node.url, None, raw=raw)
    assert status in (200, 400), (raw, answer)
    assert "exception" not in answer
