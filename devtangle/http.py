"""IRI's HTTP surface: POST JSON commands, its headers, limits and error shapes."""

from __future__ import annotations

from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
import json
import logging
import time
from typing import Any

from .errors import ApiError
from .http_server import ClosingHTTPServer
from .node import Node

_LOGGER = logging.getLogger(__name__)
API_VERSION_HEADER = "X-IOTA-API-Version"


class ApiServer(ClosingHTTPServer):
    """The closing HTTP server, knowing its node."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], node: Node) -> None:
        super().__init__(address, ApiHandler)
        self.node = node


class ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle and
    # delayed ACKs stall every keep-alive answer by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "devtangle"

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._answer(HTTPStatus.BAD_REQUEST, {"error": "Invalid request method"}, 0)

    def do_POST(self) -> None:
        started = time.monotonic()
        try:
            answer = self._handle()
            status = HTTPStatus.OK
        except ApiError as err:
            answer, status = {"error": err.message}, HTTPStatus(err.status)
        except Exception as err:
            _LOGGER.exception("command failed")
            answer = {"exception": f"{type(err).__name__}: {err}"}
            status = HTTPStatus.INTERNAL_SERVER_ERROR
        duration = int((time.monotonic() - started) * 1000)
        self._answer(status, answer, duration)

    def _handle(self) -> dict[str, Any]:
        node = self.server.node
        if self.headers.get(API_VERSION_HEADER, "").strip() != "1":
            self._drain(node.limits.max_body_bytes)
            raise ApiError("Invalid API Version")
        body = self._read_body(node.limits.max_body_bytes)
        request = _parse_json(body)
        if not isinstance(request, dict) or not isinstance(
            command := request.get("command"), str
        ):
            raise ApiError("COMMAND parameter has not been specified in the request.")
        handler = node.commands.get(command)
        if handler is None:
            raise ApiError(f"Command [{command[:64]}] is unknown")
        return handler(request)

    def _read_body(self, limit: int) -> bytes:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            raise ApiError("Content-Length is required")
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise ApiError("Invalid Content-Length") from None
        if length < 0:
            self.close_connection = True
            raise ApiError("Invalid Content-Length")
        if length > limit:
            # Do not read a huge body just to refuse it; drop the connection.
            self.close_connection = True
            raise ApiError("Request too long")
        return self.rfile.read(length)

    def _drain(self, limit: int) -> None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if 0 <= length <= limit:
            self.rfile.read(length)
        else:
            self.close_connection = True

    def _answer(
        self, status: HTTPStatus, answer: dict[str, Any], duration: int
    ) -> None:
        answer["duration"] = duration
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(API_VERSION_HEADER, "1")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


# No IRI command nests deeper than a few levels. The limit is ours so that
# every interpreter answers alike: Python 3.13 runs out of stack on ten
# thousand ``[``, Python 3.14 parses them.
MAX_JSON_DEPTH = 64


def _nested_too_deeply(document: object) -> bool:
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return False


def _parse_json(body: bytes) -> object:
    """The request document, or a 400 for anything that is not plain JSON.

    ``json.loads`` fails in more ways than a syntax error: bytes that are no
    UTF-8 (UnicodeDecodeError), an integer longer than Python converts
    (ValueError) and nesting deeper than the interpreter's stack
    (RecursionError, e.g. ten thousand ``[``). All are the client's mistake,
    and so is nesting deeper than MAX_JSON_DEPTH.
    """
    try:
        document = json.loads(body)
    except json.JSONDecodeError as err:
        raise ApiError(f"Invalid JSON syntax: {err}") from None
    except RecursionError:
        raise ApiError("Invalid JSON syntax: nested too deeply") from None
    except ValueError as err:  # UnicodeDecodeError and too long integers
        raise ApiError(f"Invalid JSON syntax: {type(err).__name__}") from None
    if _nested_too_deeply(document):
        raise ApiError("Invalid JSON syntax: nested too deeply")
    return document
