"""Door 1: the config flow's forms, with bad values in every field.

One ``hass`` per test; each test drives a few hundred seeded cases through
the real flow manager. A refused form leaves no entry behind; an accepted
one moves the flow on (a new flow is started for the next case).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import logging
import random
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
import pytest

from custom_components.iota_energy.const import DOMAIN
from devtangle.server import DevTangle
from tests.integration.test_config_flow import BILLING_INPUT, CHIP_INPUT
from tests.payments.conftest import PAYER_SEED, receiver

from .bad_values import TEXTS, mutations
from .flows import submit
from .tally import Tally

CASES = 120
USER_INPUT: dict[str, Any] = {"name": "Garden lights", "source": "virtual"}
VIRTUAL_INPUT: dict[str, Any] = {"address": "0x41"}
NODE_INPUT: dict[str, Any] = {"min_weight_magnitude": 9, "pow_mode": "auto"}
POLICY_INPUT: dict[str, Any] = {
    "tag": "HOTELIOTA",
    "auto_pay": False,
    "max_payment_iota": 500,
    "max_daily_iota": 2000,
}
BAD_URLS = (
    "",
    "ftp://127.0.0.1/",
    "http://",
    "http://127.0.0.1:notaport/",
    "127.0.0.1:14265",
    "http://127.0.0.1:1/",
    "http://[::1",
    "javascript:alert(1)",
    "💡://x",
)


@pytest.fixture(autouse=True)
async def no_setup(hass: HomeAssistant) -> AsyncIterator[None]:
    """An accepted flow creates its entry but does not set it up."""
    with (
        patch("custom_components.iota_energy.async_setup_entry", return_value=True),
        patch("custom_components.iota_energy.async_unload_entry", return_value=True),
    ):
        yield
        # Unloaded while the stand-ins are still in place.
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_remove(entry.entry_id)


def flow_of(hass: HomeAssistant) -> Callable[[str, dict[str, Any]], Awaitable[Any]]:
    return hass.config_entries.flow.async_configure


async def new_flow(hass: HomeAssistant, *steps: dict[str, Any]) -> str:
    """A new flow, moved on with the good ``steps``: its id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    for step in steps:
        result = await hass.config_entries.flow.async_configure(result["flow_id"], step)
    return str(result["flow_id"])


async def drive(
    hass: HomeAssistant,
    tally: Tally,
    step_id: str,
    good: tuple[dict[str, Any], ...],
    cases: Iterator[dict[str, Any]],
    secrets: tuple[str, ...] = (),
) -> None:
    """Every case at ``step_id``, a new flow whenever one moved on or broke."""
    entries = len(hass.config_entries.async_entries(DOMAIN))
    flow_id = await new_flow(hass, *good)
    for case in cases:
        result = await submit(
            tally, flow_of(hass), flow_id, step_id, case, secrets=secrets
        )
        if result is None:
            # Refused: nothing was written.
            assert len(hass.config_entries.async_entries(DOMAIN)) == entries
            continue
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_remove(entry.entry_id)
        if flow_id in {f["flow_id"] for f in hass.config_entries.flow.async_progress()}:
            hass.config_entries.flow.async_abort(flow_id)
        flow_id = await new_flow(hass, *good)
    hass.config_entries.flow.async_abort(flow_id)


async def test_user_virtual_and_billing_steps(hass: HomeAssistant) -> None:
    """Name and source, the virtual chip's form, and the billing form."""
    rng = random.Random(11)
    for step_id, good, base in (
        ("user", (), USER_INPUT),
        ("virtual", (USER_INPUT,), VIRTUAL_INPUT | {"load_profile": ""}),
        ("billing", (USER_INPUT, VIRTUAL_INPUT), BILLING_INPUT),
    ):
        tally = Tally(f"config flow: {step_id}")
        await drive(hass, tally, step_id, good, mutations(rng, base, CASES))
        tally.check()


async def test_ina219_step(hass: HomeAssistant) -> None:
    """The real chip's form (no I2C bus here: a good form is ``chip_missing``)."""
    tally = Tally("config flow: ina219")
    good = ({"name": "Meter", "source": "ina219"},)
    await drive(
        hass, tally, "ina219", good, mutations(random.Random(12), CHIP_INPUT, CASES)
    )
    tally.check()


@pytest.mark.usefixtures("loopback_sockets")
async def test_node_wallet_and_receiver_steps(
    hass: HomeAssistant, wallet_tangle: DevTangle, caplog: pytest.LogCaptureFixture
) -> None:
    """The legacy rail's forms against a real devtangle; the seed never shows."""
    caplog.set_level(logging.DEBUG)
    rng = random.Random(13)
    menu = (USER_INPUT, VIRTUAL_INPUT, BILLING_INPUT, {"next_step_id": "node"})
    node = NODE_INPUT | {"node_url": wallet_tangle.url}

    tally = Tally("config flow: node")
    urls = ({"node_url": url} for url in BAD_URLS)
    await drive(hass, tally, "node", menu, urls)
    await drive(hass, tally, "node", menu, mutations(rng, node, CASES // 2))
    tally.check()

    # Seeds a user might paste: one character off, cut, with spaces, lower case.
    near = (
        PAYER_SEED[:-1] + "é",
        PAYER_SEED[:-5],
        PAYER_SEED + "A",
        PAYER_SEED.lower(),
        f" {PAYER_SEED[:40]} {PAYER_SEED[40:]} ",
    )
    tally = Tally("config flow: wallet")
    cases: list[dict[str, Any]] = [{"seed": s, "generate_seed": False} for s in near]
    cases += [{"seed": s, "generate_seed": True} for s in near]
    cases += list(
        mutations(rng, {"seed": PAYER_SEED[:-1] + "1", "generate_seed": False}, CASES)
    )
    secrets = (*(s.strip()[:30] for s in near), PAYER_SEED[:30])
    await drive(hass, tally, "wallet", (*menu, node), iter(cases), secrets)
    tally.check()

    tally = Tally("config flow: receiver")
    wallet = {"seed": PAYER_SEED, "generate_seed": False}
    good_receiver = POLICY_INPUT | {"receiver": receiver()}
    bad = [{"receiver": text} | POLICY_INPUT for text in TEXTS]
    bad += list(mutations(rng, good_receiver, CASES))
    await drive(
        hass, tally, "receiver", (*menu, node, wallet), iter(bad), (PAYER_SEED[:30],)
    )
    tally.check()
    assert not any(secret in caplog.text for secret in secrets)


@pytest.mark.usefixtures("loopback_sockets")
async def test_rebased_wallet_and_receiver_steps(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The Rebased forms against devrebased, with the real iota-sdk."""
    caplog.set_level(logging.DEBUG)
    pytest.importorskip("iota_sdk", reason="iota-sdk is not installed")
    from custom_components.iota_energy.core.rebased_keys import RebasedKey
    from devrebased.server import DevRebased
    from tests.devrebased.conftest import PAYER_MNEMONIC

    payer = RebasedKey.from_mnemonic(PAYER_MNEMONIC)
    chain = DevRebased({payer.address: [5_000_000_000]}).start()
    try:
        rng = random.Random(14)
        menu = (USER_INPUT, VIRTUAL_INPUT, BILLING_INPUT, {"next_step_id": "rebased"})
        wallet = {
            "network": "custom",
            "graphql_url": chain.url,
            "mnemonic": PAYER_MNEMONIC,
            "key_path": "",
            "max_gas_budget": 20_000_000,
        }
        words = PAYER_MNEMONIC.split()
        near = (
            " ".join(words[:-1]),
            " ".join([*words[:-1], "zzzz"]),
            " ".join(reversed(words)),
            PAYER_MNEMONIC.upper() + " abandon",
        )
        secrets = (PAYER_MNEMONIC, *near, " ".join(words[:6]))
        tally = Tally("config flow: rebased wallet")
        cases = [wallet | {"mnemonic": phrase} for phrase in near]
        cases += list(mutations(rng, wallet, CASES // 2))
        await drive(hass, tally, "rebased", menu, iter(cases), secrets)
        tally.check()

        tally = Tally("config flow: rebased receiver")
        good = {
            "receiver": "0x" + "ab" * 32,
            "auto_pay": False,
            "max_payment_iota": 2_000_000_000,
            "max_daily_iota": 5_000_000_000,
        }
        bad = [good | {"receiver": text} for text in TEXTS]
        bad += [
            good | {"receiver": payer.address},
            good | {"receiver": "0x" + "AB" * 32},
        ]
        bad += list(mutations(rng, good, CASES // 2))
        await drive(
            hass, tally, "rebased_receiver", (*menu, wallet), iter(bad), secrets
        )
        tally.check()
        assert not any(secret in caplog.text for secret in secrets)
    finally:
        chain.stop()
