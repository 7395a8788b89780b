"""A devtangle node in-process on a loopback port, and real PyOTA against it.

Seeds here are test constants, never real ones; they are never printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import pytest_socket

from custom_components.iota_energy.core.thirdparty import import_pyota
from devtangle import crypto
from devtangle.genesis import Allocation
from devtangle.server import DevTangle

# Low weight keeps PoW quick; one test runs at the real testnet's 9.
TEST_MWM = 5
ALICE_SEED = "DEVTANGLE9TEST9SEED9ALICE".ljust(81, "9")
BOB_SEED = "DEVTANGLE9TEST9SEED9BOB".ljust(81, "9")
ALICE_FUNDS = 1_000


@cache
def address_of(seed: str, index: int) -> str:
    """A security-2 address (cached: each costs a few hundred ms)."""
    return crypto.seed_address(seed, index, 2)


def genesis() -> list[Allocation]:
    return [Allocation(address_of(ALICE_SEED, 0), ALICE_FUNDS)]


@pytest.fixture(autouse=True)
def loopback_sockets() -> Iterator[None]:
    """Home Assistant's test plugin blocks sockets; devtangle needs loopback.

    Sockets open again, but connections still go to 127.0.0.1 only.
    """
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    yield
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "devtangle.sqlite3"


@pytest.fixture
def node(db_path: Path) -> Iterator[DevTangle]:
    """A node without a milestone clock: tests issue milestones themselves."""
    tangle = DevTangle(
        db_path, genesis=genesis(), port=0, mwm=TEST_MWM, milestone_interval=None
    ).start()
    yield tangle
    tangle.stop()


@pytest.fixture
def iota() -> Any:
    return import_pyota()


@pytest.fixture
def alice(node: DevTangle, iota: Any) -> Any:
    return iota.Iota(node.url, seed=ALICE_SEED)


def signed_bundle(
    iota: Any,
    seed: str,
    inputs: Sequence[tuple[int, int]],
    outputs: Sequence[tuple[str, int]],
    change: str | None = None,
) -> list[Any]:
    """Trytes of a bundle built and signed by PyOTA, bypassing its balance check.

    ``inputs`` are (key index, balance claimed); ``outputs`` (address, value).
    """
    bundle = iota.ProposedBundle()
    for address, value in outputs:
        bundle.add_transaction(
            iota.ProposedTransaction(address=iota.Address(address), value=value)
        )
    bundle.add_inputs(
        [
            iota.Address(
                address_of(seed, index),
                balance=balance,
                key_index=index,
                security_level=2,
            )
            for index, balance in inputs
        ]
    )
    if change is not None:
        bundle.send_unspent_inputs_to(iota.Address(change))
    bundle.finalize()
    bundle.sign_inputs(iota.crypto.signing.KeyGenerator(seed))
    return list(bundle.as_tryte_strings())


@pytest.fixture
def milestone(node: DevTangle) -> Callable[[], int]:
    """Issue a milestone now; return its index."""

    def issue() -> int:
        return node.node.issue_milestone().index

    return issue
