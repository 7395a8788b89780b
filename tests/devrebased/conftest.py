"""The development Rebased node on 127.0.0.1, driven by the real iota-sdk."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from typing import Any

import pytest

from custom_components.iota_energy.core.rebased_keys import RebasedKey

# The SDK is imported by the fixtures only: the test modules skip first
# (with a reason) where it is missing.

PAYER_MNEMONIC = (
    "film crazy soon outside stand loop subway crumble thrive popular green "
    "nuclear struggle pistol arm wife phrase warfare march wheat nephew ask "
    "sunny firm"
)
RECEIVER = "0x" + "ab" * 32
PAYER_COINS = [5_000_000_000, 1_000_000]


@pytest.fixture(autouse=True)
def loopback_sockets() -> Iterator[None]:
    """Home Assistant's test plugin blocks sockets; this node needs loopback."""
    if find_spec("pytest_socket") is None:
        yield
        return
    import pytest_socket

    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    yield
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture(scope="module")
def payer() -> RebasedKey:
    return RebasedKey.from_mnemonic(PAYER_MNEMONIC)


@pytest.fixture
def node(payer: RebasedKey) -> Iterator[Any]:
    from devrebased.server import DevRebased

    chain = DevRebased({payer.address: list(PAYER_COINS)}).start()
    yield chain
    chain.stop()
