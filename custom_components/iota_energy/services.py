"""Actions: close the billing period now, and read statements."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_END,
    ATTR_LIMIT,
    ATTR_PAYMENT_ID,
    ATTR_START,
    ATTR_STATEMENT_IDS,
    ATTR_STATES,
    DOMAIN,
    SERVICE_APPROVE_PAYMENT,
    SERVICE_CLOSE_PERIOD,
    SERVICE_GET_PAYMENTS,
    SERVICE_GET_STATEMENTS,
    SERVICE_PAY,
)
from .core.ledger import PaymentState

if TYPE_CHECKING:
    from .payment_manager import PaymentManager
    from .runtime import IotaEnergyConfigEntry

MAX_STATEMENTS_PER_CALL = 1000

CLOSE_PERIOD_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
GET_STATEMENTS_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_STATES): vol.All(
            cv.ensure_list, [vol.In([state.value for state in PaymentState])]
        ),
        vol.Optional(ATTR_LIMIT): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_STATEMENTS_PER_CALL)
        ),
    }
)


PAY_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_STATEMENT_IDS): vol.All(
            cv.ensure_list, [cv.string], vol.Length(min=1, max=MAX_STATEMENTS_PER_CALL)
        ),
    }
)
APPROVE_PAYMENT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PAYMENT_ID): cv.string,
    }
)
GET_PAYMENTS_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_LIMIT): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=MAX_STATEMENTS_PER_CALL)
        ),
    }
)


def _payments_of(entry: IotaEnergyConfigEntry) -> PaymentManager:
    runtime = entry.runtime_data
    if runtime.payments is not None:
        return runtime.payments
    # An entry that pays but cannot now points at the repair issue saying why.
    stopped_by = runtime.payments_stopped_by
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=(
            "payments_not_configured"
            if stopped_by is None
            else f"payments_stopped_{stopped_by}"
        ),
        translation_placeholders={"title": entry.title},
    )


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> IotaEnergyConfigEntry:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _as_aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    # A naive time from the UI means Home Assistant's local time.
    return value.replace(tzinfo=dt_util.get_default_time_zone())


async def _async_close_period(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    statement = await entry.runtime_data.coordinator.async_close_period()
    if not call.return_response:
        return None
    return {"statement": statement.to_event_data(dt_util.get_default_time_zone())}


async def _async_get_statements(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    start = _as_aware(call.data.get(ATTR_START))
    end = _as_aware(call.data.get(ATTR_END))
    if start is not None and end is not None and start >= end:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_time_range",
            translation_placeholders={"start": str(start), "end": str(end)},
        )
    states = call.data.get(ATTR_STATES)
    statements = entry.runtime_data.coordinator.state.ledger.query(
        start=start,
        end=end,
        states={PaymentState(value) for value in states} if states else None,
        limit=call.data.get(ATTR_LIMIT, MAX_STATEMENTS_PER_CALL),
    )
    result: dict[str, Any] = {
        "statements": [
            statement.to_event_data(dt_util.get_default_time_zone())
            for statement in statements
        ]
    }
    return result


async def _async_pay(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    payment = await _payments_of(entry).async_pay(call.data.get(ATTR_STATEMENT_IDS))
    if not call.return_response:
        return None
    return {"payment": payment.summary()}


async def _async_approve_payment(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    payment = await _payments_of(entry).async_approve(call.data[ATTR_PAYMENT_ID])
    if not call.return_response:
        return None
    return {"payment": payment.summary()}


async def _async_get_payments(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    payments = _payments_of(entry).payments()
    limit = call.data.get(ATTR_LIMIT, MAX_STATEMENTS_PER_CALL)
    result: dict[str, Any] = {"payments": [p.summary() for p in payments[-limit:]]}
    return result


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_CLOSE_PERIOD,
        _async_close_period,
        schema=CLOSE_PERIOD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_STATEMENTS,
        _async_get_statements,
        schema=GET_STATEMENTS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_PAY,
        _async_pay,
        schema=PAY_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_APPROVE_PAYMENT,
        _async_approve_payment,
        schema=APPROVE_PAYMENT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_PAYMENTS,
        _async_get_payments,
        schema=GET_PAYMENTS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
