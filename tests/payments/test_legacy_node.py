"""The node client, call by call, against a scripted IRI over loopback HTTP.

Real PyOTA builds each request and reads each answer; the server answers
what the test scripts and records what it was asked. The door tests throw
random answers at every call; these pin the exact request, the exact result
and the exact error of each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import http.server
import json
import threading
import time
from typing import Any

import pytest

from custom_components.iota_energy.core.legacy_node import (
    DEFAULT_DEPTH,
    LegacyNode,
    NodeError,
    Tips,
)

from .conftest import free_port

A = "A" * 81
B = "B" * 81
C = "C" * 81
TRYTES = "9" * 2673
OTHER_TRYTES = "Z" * 2673
NODE_INFO = {
    "latestSolidSubtangleMilestone": C,
    "latestSolidSubtangleMilestoneIndex": 7,
    "latestMilestone": C,
    "latestMilestoneIndex": 7,
}


@dataclass
class ScriptedNode:
    """An IRI that answers each command as scripted (200 and ``{}`` if not)."""

    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0
    url: str = ""

    def answer(self, command: str, body: Any, status: int = 200) -> None:
        self.answers[command] = (status, body)

    def commands(self) -> list[str]:
        return [request["command"] for request in self.requests]

    def asked(self, command: str) -> dict[str, Any]:
        (request,) = [r for r in self.requests if r["command"] == command]
        return {k: v for k, v in request.items() if k != "command"}


@pytest.fixture
def iri() -> Iterator[ScriptedNode]:
    scripted = ScriptedNode()
    scripted.answer("getNodeInfo", NODE_INFO)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length))
            scripted.requests.append(request)
            time.sleep(scripted.delay_s)
            status, body = scripted.answers.get(request["command"], (200, {}))
            text = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *_args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Closing waits for the handler threads (a delayed answer among them).
    server.daemon_threads = False
    scripted.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield scripted
    server.shutdown()
    server.server_close()
    thread.join()


def client(iri: ScriptedNode, timeout_s: float = 5) -> LegacyNode:
    return LegacyNode(iri.url, timeout_s=timeout_s)


# --- what each call asks and returns -------------------------------------------


def test_balances_ask_for_the_81_tryte_addresses_at_full_confirmation(
    iri: ScriptedNode,
) -> None:
    iri.answer("getBalances", {"balances": ["5", "0"], "references": [C]})
    # An address with its 9-tryte checksum is asked without it.
    assert client(iri).balances([A + "ABCDEFGHI", B]) == [5, 0]
    assert iri.asked("getBalances") == {"addresses": [A, B], "threshold": 100}


def test_spent_states_come_back_in_order(iri: ScriptedNode) -> None:
    iri.answer("wereAddressesSpentFrom", {"states": [False, True]})
    assert client(iri).spent([A, B + "ABCDEFGHI"]) == [False, True]
    assert iri.asked("wereAddressesSpentFrom") == {"addresses": [A, B]}


def test_transactions_of_an_address(iri: ScriptedNode) -> None:
    iri.answer("findTransactions", {"hashes": [B, C]})
    assert client(iri).transactions_of(A + "ABCDEFGHI") == [B, C]
    assert iri.asked("findTransactions") == {"addresses": [A]}
    iri.answer("findTransactions", {"hashes": []})
    assert client(iri).transactions_of(A) == []


def test_trytes_of_hashes(iri: ScriptedNode) -> None:
    iri.answer("getTrytes", {"trytes": [TRYTES, OTHER_TRYTES]})
    assert client(iri).trytes([A, B]) == [TRYTES, OTHER_TRYTES]
    assert iri.asked("getTrytes") == {"hashes": [A, B]}


def test_confirmed_against_the_latest_solid_milestone(iri: ScriptedNode) -> None:
    iri.answer("getInclusionStates", {"states": [True, False]})
    assert client(iri).confirmed([A, B]) == [True, False]
    assert iri.commands() == ["getNodeInfo", "getInclusionStates"]
    assert iri.asked("getInclusionStates") == {"transactions": [A, B], "tips": [C]}


def test_confirmed_of_nothing_asks_nothing(iri: ScriptedNode) -> None:
    assert client(iri).confirmed([]) == []
    assert iri.requests == []


@pytest.mark.parametrize("state", [True, False])
def test_consistency_of_tails(iri: ScriptedNode, state: bool) -> None:
    iri.answer("checkConsistency", {"state": state, "info": ""})
    assert client(iri).consistent([A, B]) is state
    assert iri.asked("checkConsistency") == {"tails": [A, B]}


def test_tips_at_the_default_depth(iri: ScriptedNode) -> None:
    iri.answer(
        "getTransactionsToApprove", {"trunkTransaction": A, "branchTransaction": B}
    )
    assert client(iri).tips() == Tips(trunk=A, branch=B)
    assert iri.asked("getTransactionsToApprove") == {"depth": DEFAULT_DEPTH}
    assert DEFAULT_DEPTH == 3


def test_tips_with_a_depth_and_a_reference(iri: ScriptedNode) -> None:
    iri.answer(
        "getTransactionsToApprove", {"trunkTransaction": B, "branchTransaction": A}
    )
    assert client(iri).tips(5, reference=C) == Tips(trunk=B, branch=A)
    assert iri.asked("getTransactionsToApprove") == {"depth": 5, "reference": C}


def test_attach_sends_tips_weight_and_trytes(iri: ScriptedNode) -> None:
    iri.answer("attachToTangle", {"trytes": [OTHER_TRYTES, TRYTES]})
    attached = client(iri).attach(Tips(trunk=A, branch=B), 14, [TRYTES, TRYTES])
    assert attached == [OTHER_TRYTES, TRYTES]
    assert iri.asked("attachToTangle") == {
        "trunkTransaction": A,
        "branchTransaction": B,
        "minWeightMagnitude": 14,
        "trytes": [TRYTES, TRYTES],
    }


def test_broadcast_then_store_the_same_trytes(iri: ScriptedNode) -> None:
    assert client(iri).broadcast([TRYTES, OTHER_TRYTES]) is None
    assert iri.commands() == ["broadcastTransactions", "storeTransactions"]
    for command in iri.commands():
        assert iri.asked(command) == {"trytes": [TRYTES, OTHER_TRYTES]}


def test_a_broadcast_the_node_refuses_is_not_stored(iri: ScriptedNode) -> None:
    iri.answer("broadcastTransactions", {"error": "Invalid trytes"}, status=400)
    with pytest.raises(NodeError) as err:
        client(iri).broadcast([TRYTES])
    assert (err.value.command, err.value.kind) == ("broadcastTransactions", "refused")
    assert iri.commands() == ["broadcastTransactions"]


def test_a_store_the_node_refuses_is_named_as_such(iri: ScriptedNode) -> None:
    iri.answer("storeTransactions", {"error": "Invalid trytes"}, status=400)
    with pytest.raises(NodeError) as err:
        client(iri).broadcast([TRYTES])
    assert (err.value.command, err.value.kind) == ("storeTransactions", "refused")
    assert iri.commands() == ["broadcastTransactions", "storeTransactions"]


# --- answers that cannot be used --------------------------------------------------

Call = Callable[[LegacyNode], Any]
GARBAGE: list[tuple[str, Any, Call, str]] = [
    (
        "getBalances",
        {"balances": ["5"]},
        lambda n: n.balances([A, B]),
        "wrong number of balances",
    ),
    (
        "getBalances",
        {"balances": ["5", "-1"]},
        lambda n: n.balances([A, B]),
        "wrong number of balances",
    ),
    ("getBalances", {"references": []}, lambda n: n.balances([A]), "no balances"),
    (
        "wereAddressesSpentFrom",
        {"states": [True]},
        lambda n: n.spent([A, B]),
        "wrong states",
    ),
    (
        "wereAddressesSpentFrom",
        {"states": [True, 1]},
        lambda n: n.spent([A, B]),
        "wrong states",
    ),
    ("wereAddressesSpentFrom", {}, lambda n: n.spent([A]), "no states"),
    (
        "getTrytes",
        {"trytes": [TRYTES]},
        lambda n: n.trytes([A, B]),
        "wrong number of transactions",
    ),
    ("getTrytes", {}, lambda n: n.trytes([A]), "no trytes"),
    (
        "getInclusionStates",
        {"states": [True]},
        lambda n: n.confirmed([A, B]),
        "wrong states",
    ),
    (
        "getInclusionStates",
        {"states": ["no"]},
        lambda n: n.confirmed([A]),
        "wrong states",
    ),
    ("getInclusionStates", {"states": "x"}, lambda n: n.confirmed([A]), "wrong states"),
    (
        "getInclusionStates",
        {"states": [1, 0]},
        lambda n: n.confirmed([A, B]),
        "wrong states",
    ),
    (
        "getInclusionStates",
        {"states": [None]},
        lambda n: n.confirmed([A]),
        "wrong states",
    ),
    (
        "checkConsistency",
        {"state": "yes"},
        lambda n: n.consistent([A]),
        "state is not a bool",
    ),
    ("checkConsistency", {"info": ""}, lambda n: n.consistent([A]), "no state"),
    (
        "getTransactionsToApprove",
        {"trunkTransaction": A},
        lambda n: n.tips(),
        "no branchTransaction",
    ),
    (
        "getTransactionsToApprove",
        {"branchTransaction": A},
        lambda n: n.tips(),
        "no trunkTransaction",
    ),
    (
        "attachToTangle",
        {"trytes": [TRYTES]},
        lambda n: n.attach(Tips(A, B), 9, [TRYTES, TRYTES]),
        "wrong number of transactions",
    ),
    (
        "attachToTangle",
        {"trites": [TRYTES]},
        lambda n: n.attach(Tips(A, B), 9, [TRYTES]),
        "no trytes",
    ),
    # Read past PyOTA's filter, which would answer "no transactions".
    ("findTransactions", {"hash": [A]}, lambda n: n.transactions_of(A), "no hashes"),
    ("findTransactions", {"hashes": None}, lambda n: n.transactions_of(A), "no hashes"),
    ("findTransactions", {"hashes": A}, lambda n: n.transactions_of(A), "wrong hashes"),
    (
        "findTransactions",
        {"hashes": {A: 1}},
        lambda n: n.transactions_of(A),
        "wrong hashes",
    ),
    (
        "findTransactions",
        {"hashes": [A, 5]},
        lambda n: n.transactions_of(A),
        "wrong hashes",
    ),
    (
        "findTransactions",
        {"hashes": [A[:80]]},
        lambda n: n.transactions_of(A),
        "wrong hashes",
    ),
    (
        "findTransactions",
        {"hashes": [A + "9"]},
        lambda n: n.transactions_of(A),
        "wrong hashes",
    ),
    (
        "findTransactions",
        {"hashes": ["a" * 81]},
        lambda n: n.transactions_of(A),
        "wrong hashes",
    ),
    # What PyOTA's filters let through and breaks reading it: the call's garbage.
    ("getBalances", {"balances": [None]}, lambda n: n.balances([A]), "TypeError"),
    ("wereAddressesSpentFrom", {"states": 5}, lambda n: n.spent([A]), "TypeError"),
    ("wereAddressesSpentFrom", {"states": True}, lambda n: n.spent([A]), "TypeError"),
]


@pytest.mark.parametrize(
    ("command", "body", "call", "detail"),
    GARBAGE,
    ids=[f"{command}-{detail}" for command, _, _, detail in GARBAGE],
)
def test_an_answer_of_the_wrong_shape_is_garbage(
    iri: ScriptedNode, command: str, body: Any, call: Call, detail: str
) -> None:
    iri.answer(command, body)
    with pytest.raises(NodeError) as err:
        call(client(iri))
    assert (err.value.command, err.value.kind, err.value.detail) == (
        command,
        "garbage",
        detail,
    )
    assert str(err.value) == f"{command}: garbage ({detail})"


def test_more_trytes_than_asked_for_are_garbage(iri: ScriptedNode) -> None:
    iri.answer("getTrytes", {"trytes": [TRYTES, OTHER_TRYTES]})
    with pytest.raises(NodeError) as err:
        client(iri).trytes([A])
    assert (err.value.kind, err.value.detail) == (
        "garbage",
        "wrong number of transactions",
    )


def test_an_answer_pyota_cannot_read_is_garbage(iri: ScriptedNode) -> None:
    iri.answer("getBalances", {"balances": ["five"]})
    with pytest.raises(NodeError) as err:
        client(iri).balances([A])
    assert (err.value.command, err.value.kind) == ("getBalances", "garbage")
    assert err.value.detail in {"ValueError", "TypeError"}


@pytest.mark.parametrize(
    "body", [b"<html>Router login</html>", b"[1, 2]"], ids=["html", "json_list"]
)
def test_an_answer_that_is_no_json_object_is_refused_by_pyota(
    iri: ScriptedNode, body: bytes
) -> None:
    """PyOTA raises its BadApiResponse (a refusal) before any field is read.

    On attachToTangle that lets the automatic mode fall back to local proof
    of work, as for a node that refuses to attach.
    """
    iri.answer("findTransactions", body)
    with pytest.raises(NodeError) as err:
        client(iri).transactions_of(A)
    assert (err.value.command, err.value.kind) == ("findTransactions", "refused")
    assert "200 response from node" in err.value.detail


def test_a_missing_inclusion_state_list_is_garbage(iri: ScriptedNode) -> None:
    iri.answer("getInclusionStates", {"stats": [True]})
    with pytest.raises(NodeError) as err:
        client(iri).confirmed([A])
    assert (err.value.command, err.value.kind) == ("getInclusionStates", "garbage")


def test_an_error_status_is_refused_with_the_nodes_words(iri: ScriptedNode) -> None:
    words = "COMMAND attachToTangle is not available on this node"
    iri.answer("attachToTangle", {"error": words}, status=401)
    with pytest.raises(NodeError) as err:
        client(iri).attach(Tips(A, B), 9, [TRYTES])
    assert (err.value.command, err.value.kind) == ("attachToTangle", "refused")
    assert words in err.value.detail
    assert str(err.value) == f"attachToTangle: refused ({err.value.detail})"


def test_a_long_refusal_is_cut_to_200_characters(iri: ScriptedNode) -> None:
    iri.answer("getTrytes", {"error": "X" * 500}, status=400)
    with pytest.raises(NodeError) as err:
        client(iri).trytes([A])
    assert len(err.value.detail) == 200
    assert err.value.detail.endswith("X…")


def test_a_refusal_of_200_characters_is_kept_whole(iri: ScriptedNode) -> None:
    iri.answer("getTrytes", {"error": "X"}, status=400)
    with pytest.raises(NodeError) as err:
        client(iri).trytes([A])
    short = err.value.detail
    padding = 200 - len(short)
    iri.answer("getTrytes", {"error": "X" * (1 + padding)}, status=400)
    with pytest.raises(NodeError) as err:
        client(iri).trytes([A])
    assert len(err.value.detail) == 200
    assert "…" not in err.value.detail


def test_a_node_slower_than_the_timeout(iri: ScriptedNode) -> None:
    iri.delay_s = 1.0
    with pytest.raises(NodeError) as err:
        client(iri, timeout_s=0.2).spent([A])
    assert (err.value.command, err.value.kind, err.value.detail) == (
        "wereAddressesSpentFrom",
        "timeout",
        "",
    )
    assert str(err.value) == "wereAddressesSpentFrom: timeout"


def test_no_node_at_the_address_is_unreachable() -> None:
    node = LegacyNode(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(NodeError) as err:
        node.transactions_of(A)
    assert (err.value.command, err.value.kind, err.value.detail) == (
        "findTransactions",
        "unreachable",
        "ConnectionError",
    )
    assert node.url.startswith("http://127.0.0.1:")
