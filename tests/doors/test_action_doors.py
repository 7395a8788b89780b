"""Door 3: every action of services.yaml, with bad data.

The entry pays on the legacy rail against a real devtangle and holds a
real statement (the integration suite's metering scenario). A refused call
raises vol.Invalid (the schema) or a ServiceValidationError /
HomeAssistantError translated by this integration; the ledger and the
outbox are then exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import random
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol
import yaml

from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_MWM,
    CONF_NODE_URL,
    CONF_RECEIVER,
    CONF_SEED,
    DOMAIN,
)
from devtangle.server import DevTangle
from tests.conftest import ENTRY_OPTIONS, VIRTUAL_ENTRY_DATA
from tests.devtangle.conftest import TEST_MWM
from tests.integration.metered_scenario import run_scenario, scenario_entry
from tests.integration.stepped_clock import SteppedClock
from tests.payments.conftest import PAYER_SEED, receiver

from .bad_values import STRINGS_PATH, bad_value, describe, strings
from .tally import Tally

CASES_PER_ACTION = 60
SERVICES = yaml.safe_load(
    (STRINGS_PATH.parent / "services.yaml").read_text(encoding="utf-8")
)
BAD_IDS = ("", "S999999", "P999999", "S000001 ", "s000001", "../S000001", "💡" * 50)


def snapshot(entry: MockConfigEntry) -> tuple[str, str]:
    """What a refused action must not change: the ledger and the outbox."""
    runtime = entry.runtime_data
    ledger = runtime.coordinator.state.ledger
    return repr(ledger.statements), repr(runtime.payments.outbox.state.payments)


def field_values(
    rng: random.Random, ids: dict[str, str]
) -> dict[str, Callable[[], Any]]:
    """A bad value for each field of the actions."""
    return {
        "config_entry_id": lambda: rng.choice(
            [*ids.values(), bad_value(rng), "0" * 26, "x" * 10_000]
        ),
        "statement_ids": lambda: rng.choice(
            [
                bad_value(rng),
                [rng.choice(BAD_IDS)],
                [rng.choice(BAD_IDS) for _ in range(rng.randrange(1, 5))],
                ["S999999"] * 1001,
                [],
            ]
        ),
        "payment_id": lambda: rng.choice([*BAD_IDS, bad_value(rng)]),
        "start": lambda: rng.choice(
            [bad_value(rng), "2026-13-45", "2026-12-03T00:00:00+99:00", "yesterday"]
        ),
        "end": lambda: rng.choice([bad_value(rng), "1970-01-01T00:00:00"]),
        "states": lambda: rng.choice([bad_value(rng), ["due", "stolen"], ["💡"]]),
        "limit": lambda: rng.choice([bad_value(rng), 0, -5, 1001, 10**12, "ten"]),
    }


async def call(
    hass: HomeAssistant, tally: Tally, service: str, data: dict[str, Any]
) -> bool:
    """Call one action; True if it was refused (clearly)."""
    exceptions = strings()["exceptions"]
    label = f"{service} #{tally.cases}: {describe(data)}"
    try:
        await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=True
        )
    except vol.Invalid:
        tally.refused += 1
        return True
    except HomeAssistantError as err:
        key = err.translation_key
        if err.translation_domain != DOMAIN or key not in exceptions:
            tally.unhandled.append(f"{label}: untranslated {type(err).__name__} {key}")
        elif PAYER_SEED[:30] in str(err):
            tally.unhandled.append(f"{label}: the seed in the error")
        else:
            tally.refused += 1
        return True
    except Exception as err:  # the point: nothing else escapes
        tally.unhandled.append(f"{label}: {type(err).__name__}: {str(err)[:120]}")
        return True
    tally.accepted += 1
    return False


@pytest.mark.usefixtures("loopback_sockets")
async def test_every_action(
    hass: HomeAssistant,
    stepped_clock: SteppedClock,
    wallet_tangle: DevTangle,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bad fields, unknown ids, an unloaded entry, another integration's entry,
    an entry that bills only; no seed in any error or log line.
    """
    caplog.set_level(logging.DEBUG)
    entry = scenario_entry(
        entry_data
        | {
            CONF_NODE_URL: wallet_tangle.url,
            CONF_SEED: PAYER_SEED,
            CONF_RECEIVER: receiver(),
            CONF_MWM: TEST_MWM,
        },
        entry_options | {CONF_AUTO_PAY: False},
    )
    await run_scenario(hass, entry, stepped_clock)
    unloaded = MockConfigEntry(
        domain=DOMAIN,
        title="Shed",
        data=VIRTUAL_ENTRY_DATA,
        options=ENTRY_OPTIONS,
        unique_id="virtual-1-0x41",
    )
    unloaded.add_to_hass(hass)
    other = MockConfigEntry(domain="sun", title="Sun")
    other.add_to_hass(hass)
    billing = MockConfigEntry(
        domain=DOMAIN,
        title="Porch",
        data=VIRTUAL_ENTRY_DATA | {"address": 0x42},
        options=ENTRY_OPTIONS,
        unique_id="virtual-1-0x42",
    )
    billing.add_to_hass(hass)
    assert await hass.config_entries.async_setup(billing.entry_id)
    await hass.async_block_till_done()
    ids = {
        "unloaded": unloaded.entry_id,
        "other": other.entry_id,
        "bill only": billing.entry_id,
    }

    rng = random.Random(31)
    values = field_values(rng, ids)
    for service, spec in SERVICES.items():
        tally = Tally(f"action: {service}")
        fields = list(spec["fields"])
        good = {"config_entry_id": entry.entry_id}
        for number in range(CASES_PER_ACTION):
            data = dict(good)
            # The first cases try each other entry; then fields, one or two bad.
            if number < len(ids):
                data["config_entry_id"] = list(ids.values())[number]
            else:
                for name in rng.sample(fields, k=min(len(fields), rng.choice((1, 2)))):
                    data[name] = values[name]()
            if service == "pay" and "statement_ids" not in data:
                # Without ids it pays every due statement: a good call.
                data["statement_ids"] = [rng.choice(BAD_IDS)]
            before = snapshot(entry)
            if await call(hass, tally, service, data):
                await hass.async_block_till_done()
                assert snapshot(entry) == before, describe(data)
            elif service == "close_period":
                await hass.async_block_till_done()
        tally.check()
    assert PAYER_SEED[:30] not in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(billing.entry_id)
    await hass.async_block_till_done()
