"""Diagnostics: settings, meter health and the recent ledger, nothing secret."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_GRAPHQL_URL, CONF_MNEMONIC, CONF_NODE_URL, CONF_SEED
from .core.payments import index_ranges
from .runtime import IotaEnergyConfigEntry

# Whoever has the seed or the mnemonic owns the wallet. The key path stays:
# without the mnemonic it is only an account and address number, and a
# non-default one explains why a wallet shows another address.
TO_REDACT = {CONF_SEED, CONF_MNEMONIC}
# Service URLs that may carry a password (a node behind a proxy).
URL_KEYS = (CONF_NODE_URL, CONF_GRAPHQL_URL)
RECENT_STATEMENTS = 20


def _entry_data(data: dict[str, Any]) -> dict[str, Any]:
    """The entry data without the secrets, nor a password inside a URL."""
    redacted = async_redact_data(data, TO_REDACT)
    for key in URL_KEYS:
        url = redacted.get(key)
        if isinstance(url, str) and (parts := urlsplit(url)).password is not None:
            host = parts.netloc.rpartition("@")[2]
            redacted[key] = parts._replace(
                netloc=f"{parts.username}:**REDACTED**@{host}"
            ).geturl()
    return redacted


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IotaEnergyConfigEntry
) -> dict[str, Any]:
    """What a bug report needs to reproduce a metering or billing problem."""
    coordinator = entry.runtime_data.coordinator
    state = coordinator.state
    snapshot = state.meter.snapshot()
    engine = state.engine
    return {
        "entry": {
            "data": _entry_data(dict(entry.data)),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "meter": {
            "available": snapshot.available,
            "samples": snapshot.samples,
            "gaps": snapshot.gaps,
            "gap_seconds": snapshot.gap_seconds,
            "covered_seconds": snapshot.covered_seconds,
            "energy_j": str(snapshot.energy_j),
        },
        "sampler": asdict(entry.runtime_data.sampler.stats()),
        "billing": engine.export_state() | {"schedule": engine.schedule.describe()},
        "price": state.prices.export_state()
        | {"source": state.prices.current().source},
        "ledger": {
            "statements": len(state.ledger.statements),
            "outstanding_iota": state.ledger.outstanding_iota(),
            "recent": [
                statement.to_event_data()
                for statement in state.ledger.statements[-RECENT_STATEMENTS:]
            ],
        },
        "last_update_success": coordinator.last_update_success,
        "payments": _payments(entry),
    }


def _payments(entry: IotaEnergyConfigEntry) -> dict[str, Any] | None:
    """The outbox without trytes, why payments are stopped, or None.

    The outbox: states, amounts, bundle hashes, key indexes. An entry that
    pays but cannot now shows only the key of the repair issue saying why.
    """
    payments = entry.runtime_data.payments
    if payments is None:
        stopped_by = entry.runtime_data.payments_stopped_by
        return None if stopped_by is None else {"stopped_by": stopped_by}
    outbox = payments.outbox
    state = outbox.state
    problem = outbox.node_problem
    return {
        "snapshot": {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(payments.snapshot()).items()
        },
        "next_index": state.next_index,
        "deposit_index": state.deposit_index,
        # As stored: runs of consecutive indexes, not one entry per payment.
        "spent_ranges": index_ranges(state.spent_indexes),
        "sent_by_day": state.sent_by_day,
        "node_pow_refused": state.node_pow_refused,
        "node_problem": None
        if problem is None
        else {"since": problem.since.isoformat(), "error": str(problem.last_error)},
        "recent": [p.summary() for p in state.payments[-RECENT_STATEMENTS:]],
    }
