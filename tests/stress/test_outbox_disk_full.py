"""A full disk under Home Assistant's real payment shell, paying into devtangle.

The outbox's document cannot be written (ENOSPC from its store) while a
period closes: nothing may be queued then (the key bookkeeping must be durable
first), and the statement must still be paid once the disk has room again,
without a restart, and also across a restart that happens while it is full.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import errno
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.core.payments import PaymentStatus
from devtangle.server import DevTangle
from tests.integration.helpers import wait_for_samples
from tests.integration.test_payments import bob_balance, close_a_period, until

_real_save = Store.async_save


@contextlib.contextmanager
def outbox_disk_full() -> Iterator[list[str]]:
    """Every write of an outbox slot fails as on a full disk; yields the keys tried."""
    tried: list[str] = []

    async def save(self: Store[Any], data: Any) -> None:
        if ".outbox." in self.key:
            tried.append(self.key)
            raise OSError(errno.ENOSPC, "No space left on device")
        await _real_save(self, data)

    with patch.object(Store, "async_save", save):
        yield tried


async def _paid_once(
    hass: HomeAssistant, entry: MockConfigEntry, tangle: DevTangle, due: int
) -> None:
    await until(hass, entry, PaymentStatus.CONFIRMED, tangle)
    payments = entry.runtime_data.payments
    assert payments is not None
    assert [p.amount for p in payments.outbox.state.payments] == [due]
    assert bob_balance(tangle) == due


async def test_a_period_closed_on_a_full_disk_is_paid_when_there_is_room(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    payments = paying.runtime_data.payments
    assert payments is not None
    with outbox_disk_full() as tried:
        statement = await close_a_period(hass, paying)
        await hass.async_block_till_done()
        assert tried, "the outbox was never written"
        # Durable first: nothing was queued, no key was used.
        assert payments.outbox.state.payments == []
    await _paid_once(hass, paying, tangle, statement["due_iota"])


async def test_a_restart_on_a_full_disk_keeps_metering_and_pays_later(
    hass: HomeAssistant, paying: MockConfigEntry, tangle: DevTangle
) -> None:
    with outbox_disk_full():
        statement = await close_a_period(hass, paying)
        await hass.async_block_till_done()
        await hass.config_entries.async_reload(paying.entry_id)
        await hass.async_block_till_done()
        # The disk is still full: metering goes on all the same.
        assert paying.state is ConfigEntryState.LOADED
        await wait_for_samples(paying, 2)
    await _paid_once(hass, paying, tangle, statement["due_iota"])
