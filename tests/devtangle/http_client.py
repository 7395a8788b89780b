"""A bare HTTP client for requests PyOTA would refuse to send."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


def post(
    url: str,
    body: object,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as JSON (or ``raw`` bytes); return (status, answer)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        payload = raw if raw is not None else json.dumps(body).encode()
        sent_headers = {"X-IOTA-API-Version": "1", "Content-Type": "application/json"}
        sent_headers.update(headers or {})
        connection.request("POST", "/", body=payload, headers=sent_headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
