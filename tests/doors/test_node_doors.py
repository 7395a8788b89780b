"""Door 5: node answers of the wrong shape, to the real PyOTA adapter.

A tiny HTTP server on loopback answers every call with what hypothesis
makes: JSON of the wrong shape (lists for objects, missing keys, wrong
types, huge numbers), text that is no JSON, HTML, error statuses. Each
LegacyNode call ends in a result or in NodeError (legacy_node's one error),
never another exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
import http.server
import json
import threading
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.iota_energy.core.legacy_node import LegacyNode, NodeError, Tips

from .tally import Tally

HASH = "9" * 81
TRYTES = "9" * 2673
FIELDS = (
    "balances",
    "states",
    "hashes",
    "trytes",
    "state",
    "trunkTransaction",
    "branchTransaction",
    "duration",
    "error",
    "exception",
)
CALLS: dict[str, Callable[[LegacyNode], Any]] = {
    "getBalances": lambda node: node.balances([HASH]),
    "wereAddressesSpentFrom": lambda node: node.spent([HASH, HASH]),
    "findTransactions": lambda node: node.transactions_of(HASH),
    "getTrytes": lambda node: node.trytes([HASH]),
    "getInclusionStates": lambda node: node.confirmed([HASH]),
    "checkConsistency": lambda node: node.consistent([HASH]),
    "getTransactionsToApprove": lambda node: node.tips(),
    "attachToTangle": lambda node: node.attach(Tips(HASH, HASH), 9, [TRYTES]),
    "broadcastTransactions": lambda node: node.broadcast([TRYTES]),
}
CASES = 400


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


class Server:
    """Answers every POST with ``answer`` (set by the test)."""

    def __init__(self) -> None:
        self.answer = Answer(200, "application/json", b"{}")
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = server.answer
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *_args: Any) -> None:
                return

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"


@pytest.fixture
def server(loopback_sockets: None) -> Iterator[Server]:
    served = Server()
    thread = threading.Thread(target=served.http.serve_forever, daemon=True)
    thread.start()
    yield served
    served.http.shutdown()
    served.http.server_close()
    thread.join()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from([HASH, TRYTES, "9" * 80, "A" * 82]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# Objects with the names a node answers with, holding the wrong things.
shaped = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4)
bodies = st.one_of(
    shaped.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.just(b"<html><body>Router login</body></html>"),
    st.just(b'{"balances": [' + b"9" * 5000 + b"]}"),
    st.just(b'{"states": {"' + HASH.encode() + b'": "yes"}}'),
)
answers = st.builds(
    Answer,
    status=st.sampled_from([200, 200, 200, 400, 401, 404, 500, 503]),
    content_type=st.sampled_from(["application/json", "text/html", "text/plain"]),
    body=bodies,
)


def test_every_answer_is_a_result_or_a_node_error(server: Server) -> None:
    """Hundreds of answers of the wrong shape, to every call of the wallet."""
    tally = Tally("node answers: wrong shape")
    node = LegacyNode(server.url, timeout_s=5)

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(answer=answers, command=st.sampled_from(sorted(CALLS)))
    def one(answer: Answer, command: str) -> None:
        server.answer = answer
        try:
            CALLS[command](node)
        except NodeError:
            tally.refused += 1
        except Exception as err:  # the point: nothing else escapes
            tally.unhandled.append(
                f"{command} {answer.status} {answer.body[:60]!r}: {err!r}"[:300]
            )
        else:
            tally.accepted += 1

    one()
    tally.check()
