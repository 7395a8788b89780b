"""The actions' remaining paths: local times, no response asked, no wallet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_MAX_PAYMENT,
    CONF_MWM,
    CONF_NODE_URL,
    CONF_RECEIVER,
    CONF_SEED,
    CONF_STATEMENT_RETENTION,
    DOMAIN,
    EVENT_PERIOD_CLOSED,
)
from custom_components.iota_energy.core.payments import PaymentStatus
from devtangle.server import DevTangle
from tests.devtangle.conftest import (  # noqa: F401 - loopback_sockets is a fixture
    TEST_MWM,
    address_of,
    loopback_sockets,
)
from tests.payments.conftest import PAYER_SEED, funded_tangle, receiver

from .helpers import call_action, wait_for_more_energy, wait_for_samples

# Ahead of UTC by a non-whole hour: a naive time read as UTC lands elsewhere.
LOCAL_ZONE = "Asia/Kolkata"


def _naive_local(moment: Any) -> str:
    """How the UI sends a time: local wall-clock time, no offset."""
    return dt_util.as_local(moment).replace(tzinfo=None).isoformat()


async def test_naive_times_are_read_in_home_assistants_time_zone(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A time without offset means local time, as the UI means it."""
    await hass.config.async_set_time_zone(LOCAL_ZONE)
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    statements = []
    for _ in range(2):
        await wait_for_samples(entry, 2)
        statements.append(await coordinator.async_close_period())
    first, second = statements
    a_moment = timedelta(milliseconds=1)

    response = await call_action(
        hass,
        "get_statements",
        config_entry_id=entry.entry_id,
        start=_naive_local(first.period_end + a_moment),
        end=_naive_local(second.period_end + a_moment),
    )

    # Read as UTC, the start would lie 5.5 h after both statements.
    assert [s["id"] for s in response["statements"]] == [second.id]


async def test_close_period_without_a_response_still_closes(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Called from an automation (no response): the period closes all the same."""
    entry = init_integration
    ledger = entry.runtime_data.coordinator.state.ledger
    closed = async_capture_events(hass, EVENT_PERIOD_CLOSED)
    await wait_for_samples(entry, 2)

    response = await hass.services.async_call(
        DOMAIN,
        "close_period",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=False,
    )

    assert response is None
    assert len(ledger.statements) == 1
    await hass.async_block_till_done()
    assert [event.data["id"] for event in closed] == [ledger.statements[0].id]


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("pay", {}),
        ("approve_payment", {"payment_id": "P000001"}),
        ("get_payments", {}),
    ],
)
async def test_payment_actions_on_an_entry_that_does_not_pay(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
) -> None:
    """No wallet configured: a translated error naming the entry."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, service, config_entry_id=init_integration.entry_id, **data
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "payments_not_configured"
    assert err.value.translation_placeholders == {"title": "Garden lights"}


@pytest.fixture
def tangle(tmp_path: Path, loopback_sockets: None) -> Iterator[DevTangle]:  # noqa: F811
    """A devtangle node holding the payer's funds (loopback only)."""
    with funded_tangle(tmp_path) as node:
        yield node


async def test_pay_and_approve_without_a_response_still_act(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_options: dict[str, Any],
    tangle: DevTangle,
) -> None:
    """Called without a response, pay queues and approve releases the payment."""
    entry = mock_config_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        data=dict(entry.data)
        | {
            CONF_NODE_URL: tangle.url,
            CONF_SEED: PAYER_SEED,
            CONF_RECEIVER: receiver(),
            CONF_MWM: TEST_MWM,
        },
        # Any payment is over a cap of 1 IOTA: it waits for approval.
        options=entry_options | {CONF_AUTO_PAY: False, CONF_MAX_PAYMENT: 1},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    payments = entry.runtime_data.payments
    assert payments is not None
    # 0.02 J is 4 IOTA at the test price: more than the cap, however slow
    # the machine samples.
    meter = entry.runtime_data.coordinator.state.meter
    while meter.snapshot().energy_j < Fraction(1, 50):
        await wait_for_more_energy(entry)
    statement = await entry.runtime_data.coordinator.async_close_period()
    assert statement.due_iota > 1

    response = await hass.services.async_call(
        DOMAIN,
        "pay",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=False,
    )
    assert response is None
    await payments._async_tick(reschedule=False)
    await hass.async_block_till_done()
    (payment,) = payments.payments()
    assert payment.status is PaymentStatus.AWAITING_APPROVAL
    assert payment.amount == statement.due_iota

    response = await hass.services.async_call(
        DOMAIN,
        "approve_payment",
        {"config_entry_id": entry.entry_id, "payment_id": payment.id},
        blocking=True,
        return_response=False,
    )
    assert response is None
    (approved,) = payments.payments()
    assert approved.id == payment.id
    assert approved.status is not PaymentStatus.AWAITING_APPROVAL
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_statements_are_filtered_limited_and_shown_in_local_time(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A start or an end alone bounds one side; a limit keeps the newest;
    times are answered in Home Assistant's time zone."""
    await hass.config.async_set_time_zone(LOCAL_ZONE)
    entry = init_integration
    await wait_for_samples(entry, 2)
    closed = await call_action(hass, "close_period", config_entry_id=entry.entry_id)
    await wait_for_samples(entry, 2)
    second = await entry.runtime_data.coordinator.async_close_period()
    first = entry.runtime_data.coordinator.state.ledger.statements[0]
    assert closed["statement"]["id"] == first.id
    assert closed["statement"]["period_end"] == (
        dt_util.as_local(first.period_end).isoformat()
    )
    assert closed["statement"]["period_end"].endswith("+05:30")
    # Statements overlapping [start, end): the second starts where the first ends.
    between = first.period_end.isoformat()

    async def ids(**data: Any) -> list[str]:
        response = await call_action(
            hass, "get_statements", config_entry_id=entry.entry_id, **data
        )
        return [s["id"] for s in response["statements"]]

    assert await ids(start=between) == [second.id]
    assert await ids(end=between) == [first.id]
    assert await ids(limit=1) == [second.id]
    assert await ids(limit=2) == [first.id, second.id]
    listed = await call_action(hass, "get_statements", config_entry_id=entry.entry_id)
    assert [s["closed_at"] for s in listed["statements"]] == [
        dt_util.as_local(s.closed_at).isoformat() for s in (first, second)
    ]


async def test_without_a_limit_the_newest_1000_statements_are_answered(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entry_options: dict[str, Any],
) -> None:
    """A ledger may keep far more than one answer holds (up to 100 000)."""
    entry = mock_config_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options=entry_options | {CONF_STATEMENT_RETENTION: 2000}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    for _ in range(1001):
        await coordinator.async_close_period()
    ledger = coordinator.state.ledger
    assert len(ledger.statements) == 1001

    response = await call_action(hass, "get_statements", config_entry_id=entry.entry_id)

    assert [s["id"] for s in response["statements"]] == [
        s.id for s in ledger.statements[1:]
    ]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_errors_name_the_entry_and_the_times(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Each validation error is translated and shows what was wrong (Home
    Assistant drops the message's final full stop)."""
    other = MockConfigEntry(domain="demo", title="Not a meter", entry_id="OTHER")
    other.add_to_hass(hass)
    idle = MockConfigEntry(domain=DOMAIN, title="Shed", entry_id="IDLE")
    idle.add_to_hass(hass)  # added, never set up
    moment = "2026-01-01T00:00:00+00:00"
    cases = [
        (
            "close_period",
            {"config_entry_id": "no_such_entry"},
            "No IOTA Energy meter with the entry ID no_such_entry",
        ),
        (
            "get_statements",
            {"config_entry_id": "OTHER"},
            "No IOTA Energy meter with the entry ID OTHER",
        ),
        (
            "close_period",
            {"config_entry_id": "IDLE"},
            "The IOTA Energy meter Shed is not loaded",
        ),
        (
            "get_statements",
            {
                "config_entry_id": init_integration.entry_id,
                "start": moment,
                "end": moment,
            },
            "The start 2026-01-01 00:00:00+00:00 must be before the end"
            " 2026-01-01 00:00:00+00:00",
        ),
    ]
    for service, data, message in cases:
        with pytest.raises(ServiceValidationError) as err:
            await call_action(hass, service, **data)
        assert err.value.translation_domain == DOMAIN
        assert str(err.value) == message
