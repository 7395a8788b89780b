"""Fixtures of the bad-input suite: the project's own, plus loopback sockets.

The root ``tests/conftest.py`` provides ``hass_storage``, ``mock_config_entry``
and ``init_integration`` (real storage files in a private folder); the
integration suite's ``wallet_tangle`` and ``stepped_clock`` are re-exported.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket

from tests.integration.conftest import stepped_clock, wallet_tangle

__all__ = ["loopback_sockets", "stepped_clock", "wallet_tangle"]


@pytest.fixture
def loopback_sockets() -> Iterator[None]:
    """Home Assistant's test plugin blocks sockets; local servers need loopback."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    yield
    pytest_socket.disable_socket(allow_unix_socket=True)
