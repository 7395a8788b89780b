"""Diagnostics: what a bug report needs, in plain JSON."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.iota_energy.const import CONF_GRAPHQL_URL, CONF_NODE_URL
from custom_components.iota_energy.diagnostics import (
    async_get_config_entry_diagnostics,
)
from tests.payments.conftest import PAYER_SEED

from .conftest import NODE_USER_INFO, REBASED_MNEMONIC
from .helpers import wait_for_samples


async def test_diagnostics_describe_meter_billing_and_ledger(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Settings, meter health, billing state and recent statements, JSON-able."""
    entry = init_integration
    await wait_for_samples(entry, 3)
    statement = await entry.runtime_data.coordinator.async_close_period()

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    json.dumps(diagnostics)  # must be serialisable as it is downloaded
    assert diagnostics["entry"]["data"]["source"] == "virtual"
    assert diagnostics["meter"]["samples"] >= 3
    assert diagnostics["sampler"]["samples"] >= 3
    assert diagnostics["ledger"]["statements"] == 1
    assert diagnostics["ledger"]["recent"][0]["id"] == statement.id
    assert diagnostics["billing"]["next_seq"] == 2
    assert diagnostics["billing"]["schedule"]["unit"] == "monthly"


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    metered_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Settings, meter, sampler, billing, price and ledger after the scenario."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, metered_entry
    )
    assert diagnostics == snapshot


async def test_diagnostics_with_a_wallet(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    paid_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The seed and the node URL's password are redacted; the payment is shown.

    The devtangle node listens on a port chosen at random: it is checked,
    then shown by name. A bundle hash covers PyOTA's real-clock timestamps:
    the same, and so do the hashes of its tail transactions.
    """
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, paid_entry)
    text = json.dumps(diagnostics)
    assert PAYER_SEED not in text
    assert NODE_USER_INFO.split(":")[1] not in text

    port = urlsplit(paid_entry.data[CONF_NODE_URL]).port
    payment = paid_entry.runtime_data.payments.outbox.state.payments[-1]
    assert payment.bundle_hash is not None
    assert f"127.0.0.1:{port}/" in text
    assert payment.bundle_hash in text
    assert payment.tails
    text = text.replace(f"127.0.0.1:{port}/", "127.0.0.1:<port>/")
    text = text.replace(payment.bundle_hash, f"<bundle hash of {payment.id}>")
    for number, tail in enumerate(payment.tails, 1):
        assert tail in text
        text = text.replace(tail, f"<tail {number} of {payment.id}>")
    shown = json.loads(text)
    assert shown == snapshot


async def test_the_last_payment_time_is_text_a_bug_report_can_hold(
    hass: HomeAssistant, paid_entry: MockConfigEntry
) -> None:
    """Times are ISO text in the data itself, whoever serialises it."""
    payments = paid_entry.runtime_data.payments
    last = payments.outbox.state.last_confirmed()
    assert last is not None
    assert last.confirmed_at is not None

    diagnostics = await async_get_config_entry_diagnostics(hass, paid_entry)

    shown = diagnostics["payments"]["snapshot"]
    assert shown["last_paid_at"] == last.confirmed_at.isoformat()
    assert json.loads(json.dumps(diagnostics))["payments"]["snapshot"] == shown


async def test_diagnostics_with_a_rebased_wallet(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    rebased_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The mnemonic and the GraphQL URL's password are redacted; the rail,
    network, chain id, key path and gas cap are shown.

    devrebased listens on a port chosen at random: checked, then shown by name.
    """
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, rebased_entry
    )
    text = json.dumps(diagnostics)
    leaked = REBASED_MNEMONIC in text or REBASED_MNEMONIC.split()[3] in text
    assert not leaked
    assert NODE_USER_INFO.split(":")[1] not in text
    data = diagnostics["entry"]["data"]
    assert data["mnemonic"] == "**REDACTED**"
    port = urlsplit(rebased_entry.data[CONF_GRAPHQL_URL]).port
    assert f"127.0.0.1:{port}/" in text
    shown = json.loads(text.replace(f"127.0.0.1:{port}/", "127.0.0.1:<port>/"))
    assert shown == snapshot


async def test_a_password_behind_an_email_address_as_user_name_is_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """A proxy login that is an e-mail address: its ``@`` is not the host's.

    Both service URLs keep the user name and host, never the password.
    """
    entry = init_integration
    hass.config_entries.async_update_entry(
        entry,
        data=dict(entry.data)
        | {
            CONF_NODE_URL: "https://meter@example.org:s3cret@node.example:14265/",
            CONF_GRAPHQL_URL: "https://meter@example.org:s3cret@rpc.example/graphql",
        },
    )

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert "s3cret" not in json.dumps(diagnostics)
    data = diagnostics["entry"]["data"]
    assert data[CONF_NODE_URL] == (
        "https://meter@example.org:**REDACTED**@node.example:14265/"
    )
    assert data[CONF_GRAPHQL_URL] == (
        "https://meter@example.org:**REDACTED**@rpc.example/graphql"
    )
