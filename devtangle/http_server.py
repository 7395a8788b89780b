"""A threading HTTP server that leaves no thread behind when it closes.

devtangle's API, devrebased's GraphQL and the fault suite's proxy serve
clients that keep their connections open (PyOTA, the SDK, the proxied
client); a plain ThreadingHTTPServer would wait forever for those handlers
on close, or leave them running as daemon threads.
"""

from __future__ import annotations

import contextlib
from http.server import ThreadingHTTPServer
import socket
from socketserver import BaseRequestHandler
import threading
from typing import Any, Final

# How often serve_forever looks for a shutdown() request. The standard half
# second was paid by every stop, i.e. by every test's node fixture.
SHUTDOWN_POLL_S: Final = 0.02


class ClosingHTTPServer(ThreadingHTTPServer):
    """Closing it ends every open connection and waits for its handler thread."""

    daemon_threads = False
    block_on_close = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseRequestHandler]
    ) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def serve_forever(self, poll_interval: float = SHUTDOWN_POLL_S) -> None:
        super().serve_forever(poll_interval)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes a handler waiting for the next request on a kept-alive line.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        super().server_close()
