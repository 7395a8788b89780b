"""A fault-injecting HTTP proxy in front of a node (devtangle).

The wallet talks to the proxy as it would to the node. For each request a
``decide(command)`` function picks what the proxy does with it:

* ``pass``: forward and answer as the node did;
* ``http500`` / ``http400``: answer an IRI-style error without forwarding;
* ``garbage``: 200 with bytes that are not JSON;
* ``wrong_shape``: 200 with JSON of the wrong shape (fields missing, null,
  lists emptied: the node's real answer with its lists cut, or no object);
* ``reset``: read the request, then close the connection without an answer;
* ``slow_after``: forward (the node acts), then answer later than the
  client's timeout: the client sees a timeout for something that happened;
* ``slow_before``: wait past the client's timeout, then forward anyway;
* ``truncated``: forward, then send half of the answer and close.

``down()`` closes the listening socket (connection refused, as a stopped
node), ``up()`` listens again on the same port.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import contextlib
import http.client
from http.server import BaseHTTPRequestHandler
import json
import random
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from devtangle.http_server import ClosingHTTPServer

MODES = (
    "pass",
    "http500",
    "http400",
    "garbage",
    "wrong_shape",
    "reset",
    "slow_after",
    "slow_before",
    "truncated",
)


class FaultProxy:
    """Forwards to ``upstream``; see the module docstring."""

    def __init__(self, upstream: str, *, slow_s: float = 1.5, seed: int = 7) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.slow_s = slow_s
        self.decide: Callable[[str], str] = lambda _command: "pass"
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server: ClosingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> FaultProxy:
        if self._server is not None:
            return self
        proxy = self

        class Handler(_Handler):
            owner = proxy

        server = ClosingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def _note(self, mode: str) -> None:
        with self._lock:
            self.counts[mode] += 1

    def forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            conn.request("POST", "/", body, headers)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def wrong_shape(self, answer: bytes) -> bytes:
        with self._lock:
            choice = self._rng.randrange(4)
        if choice == 0:
            return b"[]"
        if choice == 1:
            return b'{"duration": 1}'
        try:
            data: Any = json.loads(answer)
        except ValueError:
            return b"null"
        if not isinstance(data, dict):
            return b"null"
        if choice == 2:
            cut = {k: ([] if isinstance(v, list) else v) for k, v in data.items()}
        else:
            cut = {k: (None if k != "duration" else v) for k, v in data.items()}
        return json.dumps(cut).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the suite counts, it does not log each request."""

    def do_POST(self) -> None:
        proxy = self.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            command = str(json.loads(body).get("command", "?"))
        except (ValueError, AttributeError):
            command = "?"
        mode = proxy.decide(command)
        proxy._note(mode)
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() in {"content-type", "x-iota-api-version"}
        }
        if mode == "reset":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "http500":
            self._answer(500, b'{"exception": "injected fault"}')
            return
        if mode == "http400":
            self._answer(400, b'{"error": "injected fault", "duration": 0}')
            return
        if mode == "garbage":
            self._answer(200, b"<html>\x00\xffnot json at all", "text/html")
            return
        if mode == "slow_before":
            time.sleep(proxy.slow_s)
        try:
            status, answer = proxy.forward(body, headers)
        except OSError:
            # The node went away mid-request: so does the answer.
            self.close_connection = True
            return
        if mode == "slow_after":
            time.sleep(proxy.slow_s)
        elif mode == "wrong_shape":
            status, answer = 200, proxy.wrong_shape(answer)
        elif mode == "truncated":
            self._answer(status, answer, cut=True)
            return
        self._answer(status, answer)

    def _answer(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        *,
        cut: bool = False,
    ) -> None:
        """Answer; ``cut`` sends half the body promised, then hangs up."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if cut else body)
        except OSError:
            self.close_connection = True  # the client gave up (a timeout)
        if cut:
            self.close_connection = True
