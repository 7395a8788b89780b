"""Fixtures of the Home Assistant tests that meter on the stepped clock."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import pytest_socket
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.amber import AmberSnapshotExtension

from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_CHAIN_ID,
    CONF_GRAPHQL_URL,
    CONF_KEY_PATH,
    CONF_MAX_DAILY,
    CONF_MAX_GAS_BUDGET,
    CONF_MAX_PAYMENT,
    CONF_MNEMONIC,
    CONF_MWM,
    CONF_NETWORK,
    CONF_NODE_URL,
    CONF_RAIL,
    CONF_RECEIVER,
    CONF_SEED,
    CONF_TAG,
    NETWORK_CUSTOM,
    RAIL_REBASED,
)
from devtangle.server import DevTangle
from tests.devrebased.conftest import PAYER_MNEMONIC, RECEIVER as REBASED_RECEIVER
from tests.devtangle.conftest import TEST_MWM
from tests.payments.conftest import PAYER_SEED, funded_tangle, receiver

from .metered_scenario import pay_and_confirm, run_scenario, scenario_entry
from .stepped_clock import SteppedClock, stepped_clock

NODE_USER_INFO = "meter:n0de-pa55word"

REBASED_MNEMONIC = PAYER_MNEMONIC
REBASED_KEY_PATH = "m/44'/4218'/0'/0'/0'"

__all__ = [
    "metered_entry",
    "paid_entry",
    "rebased_chain",
    "rebased_entry",
    "snapshot",
    "stepped_clock",
]


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy's own Amber format in ``__snapshots__``, on every leg.

    The harness's Home Assistant extension is registered on some legs only
    (and moves the files to ``snapshots/``); the platform snapshots hold
    plain data (see ``platform_snapshot``), which needs none of it.
    """
    return snapshot.use_extension(AmberSnapshotExtension)


async def _scenario(
    hass: HomeAssistant, entry: MockConfigEntry, clock: SteppedClock
) -> AsyncGenerator[MockConfigEntry]:
    await run_scenario(hass, entry, clock)
    yield entry
    if entry.state.recoverable:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def metered_entry(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> AsyncGenerator[MockConfigEntry]:
    """An entry after the metering scenario; unloaded after the test."""
    async for entry in _scenario(
        hass, scenario_entry(entry_data, entry_options), stepped_clock
    ):
        yield entry


@pytest.fixture
def wallet_tangle(tmp_path: Path) -> Iterator[DevTangle]:
    """A devtangle node (loopback only) holding the payer's funds."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    with funded_tangle(tmp_path) as node:
        yield node
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
async def paid_entry(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    wallet_tangle: DevTangle,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> AsyncGenerator[MockConfigEntry]:
    """The scenario with a wallet; its statement then paid and confirmed."""
    entry = scenario_entry(
        entry_data
        | {
            # With credentials, as behind a proxy: diagnostics must hide them.
            CONF_NODE_URL: wallet_tangle.url.replace("//", f"//{NODE_USER_INFO}@"),
            CONF_SEED: PAYER_SEED,
            CONF_RECEIVER: receiver(),
            CONF_MWM: TEST_MWM,
        },
        entry_options | {CONF_AUTO_PAY: False, CONF_TAG: "HOTELIOTA"},
    )
    async for ready in _scenario(hass, entry, stepped_clock):
        await pay_and_confirm(hass, ready, wallet_tangle, stepped_clock)
        yield ready


@pytest.fixture
def rebased_chain() -> Iterator[Any]:
    """A devrebased node (loopback only) holding the Rebased wallet's coins."""
    pytest.importorskip(
        "iota_sdk",
        reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
    )
    from custom_components.iota_energy.core.rebased_keys import (
        RebasedKey,
    )
    from devrebased.server import DevRebased

    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    payer = RebasedKey.from_mnemonic(REBASED_MNEMONIC, REBASED_KEY_PATH)
    node = DevRebased({payer.address: [5_000_000_000]}).start()
    yield node
    node.stop()
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture
async def rebased_entry(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    rebased_chain: Any,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
) -> AsyncGenerator[MockConfigEntry]:
    """The scenario on an entry that pays on IOTA Rebased (devrebased)."""
    from devrebased.ledger import CHAIN_ID

    entry = scenario_entry(
        entry_data
        | {
            CONF_RAIL: RAIL_REBASED,
            CONF_NETWORK: NETWORK_CUSTOM,
            # With credentials, as behind a proxy: diagnostics must hide them.
            CONF_GRAPHQL_URL: rebased_chain.url.replace("//", f"//{NODE_USER_INFO}@"),
            CONF_MNEMONIC: REBASED_MNEMONIC,
            CONF_KEY_PATH: REBASED_KEY_PATH,
            CONF_MAX_GAS_BUDGET: 20_000_000,
            CONF_CHAIN_ID: CHAIN_ID,
            CONF_RECEIVER: REBASED_RECEIVER,
        },
        entry_options | {CONF_AUTO_PAY: False, CONF_MAX_PAYMENT: 0, CONF_MAX_DAILY: 0},
    )
    async for ready in _scenario(hass, entry, stepped_clock):
        yield ready
