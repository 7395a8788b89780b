"""The config flow's IOTA Rebased forms and checks (the steps are in config_flow).

The wallet form is checked in one executor job: the network's GraphQL URL,
the key path, the mnemonic (typed, kept, or newly generated) read into the
key, then the service's chain identifier with the real iota-sdk. The
mnemonic is never logged, never suggested back to a form, and never part of
an error: errors are translation keys only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
import voluptuous as vol

from .const import (
    CONF_AUTO_PAY,
    CONF_CHAIN_ID,
    CONF_GRAPHQL_URL,
    CONF_KEY_PATH,
    CONF_MAX_DAILY,
    CONF_MAX_GAS_BUDGET,
    CONF_MAX_PAYMENT,
    CONF_MNEMONIC,
    CONF_NETWORK,
    CONF_RAIL,
    CONF_RECEIVER,
    DEFAULT_AUTO_PAY,
    DEFAULT_MAX_DAILY,
    DEFAULT_MAX_GAS_BUDGET,
    DEFAULT_MAX_PAYMENT,
    NETWORK_MAINNET,
    NODE_TIMEOUT_S,
    RAIL_REBASED,
    REBASED_NETWORKS,
)
from .core.legacy_node import NodeError
from .core.payments import UNSIGNED, PaymentStatus
from .core.rail import ReceiverError
from .core.rebased_keys import (
    DEFAULT_PATH,
    MnemonicError,
    PathError,
    RebasedKey,
    check_receiver,
    generate_mnemonic,
    normalize_mnemonic,
    validate_path,
)
from .core.rebased_network import NetworkChoiceError, check_chain, graphql_url
from .core.rebased_node import RebasedNode
from .core.rebased_sdk import SdkMissingError
from .number_selector import FiniteNumberSelector

_LOGGER = logging.getLogger(__name__)

# Amounts on the Rebased rail are u64 nanos.
MAX_NANOS: Final = 2**64 - 1
UNIT_NANOS: Final = "nanos"
# Payments in these states hold no signed transaction.
_NOTHING_SIGNED = UNSIGNED | {PaymentStatus.CONFIRMED, PaymentStatus.FAILED}


def is_rebased(data: Mapping[str, Any]) -> bool:
    """Whether the entry pays on the Rebased rail."""
    return data.get(CONF_RAIL) == RAIL_REBASED


def _nanos(minimum: int) -> FiniteNumberSelector:
    return FiniteNumberSelector(
        selector.NumberSelectorConfig(
            min=minimum,
            max=MAX_NANOS,
            step=1,
            mode=selector.NumberSelectorMode.BOX,
            unit_of_measurement=UNIT_NANOS,
        )
    )


def _networks() -> selector.SelectSelector:
    config = selector.SelectSelectorConfig(
        options=list(REBASED_NETWORKS), mode=selector.SelectSelectorMode.DROPDOWN
    )
    config["translation_key"] = "network"
    return selector.SelectSelector(config)


def wallet_schema() -> vol.Schema:
    """Network, service URL, mnemonic, key path and the gas cap."""
    return vol.Schema(
        {
            vol.Required(CONF_NETWORK, default=NETWORK_MAINNET): _networks(),
            vol.Optional(CONF_GRAPHQL_URL): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
            ),
            vol.Optional(CONF_MNEMONIC): selector.TextSelector(
                selector.TextSelectorConfig(
                    type=selector.TextSelectorType.PASSWORD, autocomplete="off"
                )
            ),
            vol.Optional(CONF_KEY_PATH): selector.TextSelector(),
            vol.Required(CONF_MAX_GAS_BUDGET, default=DEFAULT_MAX_GAS_BUDGET): _nanos(
                1
            ),
        }
    )


def wallet_suggestions(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the wallet form shows again: never the mnemonic."""
    return {
        CONF_NETWORK: data[CONF_NETWORK],
        CONF_GRAPHQL_URL: data[CONF_GRAPHQL_URL],
        CONF_KEY_PATH: data[CONF_KEY_PATH],
        CONF_MAX_GAS_BUDGET: data[CONF_MAX_GAS_BUDGET],
    }


def policy_fields() -> dict[vol.Marker, Any]:
    """Automatic payment and the caps, in nanos (no tag on this rail)."""
    return {
        vol.Required(CONF_AUTO_PAY): selector.BooleanSelector(),
        vol.Required(CONF_MAX_PAYMENT): _nanos(0),
        vol.Required(CONF_MAX_DAILY): _nanos(0),
    }


POLICY_DEFAULTS: Final[dict[str, Any]] = {
    CONF_AUTO_PAY: DEFAULT_AUTO_PAY,
    CONF_MAX_PAYMENT: DEFAULT_MAX_PAYMENT,
    CONF_MAX_DAILY: DEFAULT_MAX_DAILY,
}


def policy_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The policy as the options store it."""
    return {
        CONF_AUTO_PAY: bool(user_input[CONF_AUTO_PAY]),
        CONF_MAX_PAYMENT: int(user_input[CONF_MAX_PAYMENT]),
        CONF_MAX_DAILY: int(user_input[CONF_MAX_DAILY]),
    }


def receiver_fields() -> dict[vol.Marker, Any]:
    return {vol.Required(CONF_RECEIVER): selector.TextSelector()}


def check_rebased_receiver(text: str, wallet: str) -> tuple[str, dict[str, str]]:
    """``0x`` + 64 hex, lower case, not the wallet itself; or a field error."""
    try:
        receiver = check_receiver(text)
    except ReceiverError as err:
        return "", {CONF_RECEIVER: err.reason}
    if receiver == wallet:
        return receiver, {CONF_RECEIVER: "receiver_is_wallet"}
    return receiver, {}


@dataclass(slots=True)
class Wallet:
    """A checked wallet form: the entry data and the wallet's address."""

    data: dict[str, Any] = field(repr=False)
    address: str
    generated: bool


def _probe(
    network: str, url: str, mnemonic: str | None, path: str
) -> tuple[str, str, str]:
    """Executor: (mnemonic, address, served chain id); raises on failure."""
    phrase = generate_mnemonic() if mnemonic is None else mnemonic
    key = RebasedKey.from_mnemonic(phrase, path)
    served = RebasedNode(url, timeout_s=NODE_TIMEOUT_S).chain_id()
    return phrase, key.address, check_chain(network, served)


def _form_errors(
    network: str, user_input: Mapping[str, Any]
) -> tuple[str, str, dict[str, str]]:
    """The service URL and the key path, checked offline; or field errors."""
    errors: dict[str, str] = {}
    url = ""
    try:
        url = graphql_url(network, user_input.get(CONF_GRAPHQL_URL))
    except NetworkChoiceError as err:
        errors[CONF_GRAPHQL_URL] = err.reason
    path = str(user_input.get(CONF_KEY_PATH) or DEFAULT_PATH).strip()
    try:
        validate_path(path)
    except PathError:
        errors[CONF_KEY_PATH] = "invalid_key_path"
    return url, path, errors


def _probe_errors(err: Exception) -> dict[str, str]:
    """The form error for what the SDK or the service refused."""
    if isinstance(err, MnemonicError):
        return {CONF_MNEMONIC: err.reason}
    if isinstance(err, NetworkChoiceError):
        return {CONF_NETWORK: err.reason}
    if isinstance(err, SdkMissingError):
        _LOGGER.error("The IOTA Rebased SDK cannot be used: %s", err)
        return {"base": "rebased_sdk_missing"}
    if isinstance(err, NodeError):
        _LOGGER.debug("The IOTA Rebased service cannot be used: %s", err)
        if err.kind in ("unreachable", "timeout"):
            return {"base": "graphql_cannot_connect"}
        return {"base": "not_graphql_service"}
    return {CONF_GRAPHQL_URL: "invalid_graphql_url"}  # the SDK refused the URL


async def async_check_wallet(
    hass: HomeAssistant, user_input: Mapping[str, Any], kept: str | None
) -> tuple[Wallet | None, dict[str, str]]:
    """The wallet form checked with the real SDK and service; or errors.

    An empty mnemonic keeps ``kept`` (reconfigure), or makes a new one.
    """
    network = str(user_input[CONF_NETWORK])
    url, path, errors = _form_errors(network, user_input)
    if errors:
        return None, errors
    typed = normalize_mnemonic(str(user_input.get(CONF_MNEMONIC) or ""))
    mnemonic = typed or kept
    try:
        phrase, address, chain_id = await hass.async_add_executor_job(
            _probe, network, url, mnemonic, path
        )
    except (ValueError, SdkMissingError, NodeError) as err:
        return None, _probe_errors(err)
    _LOGGER.debug("IOTA Rebased service %s serves chain %s", url, chain_id)
    data = {
        CONF_RAIL: RAIL_REBASED,
        CONF_NETWORK: network,
        CONF_GRAPHQL_URL: url,
        CONF_MNEMONIC: phrase,
        CONF_KEY_PATH: path,
        CONF_MAX_GAS_BUDGET: int(user_input[CONF_MAX_GAS_BUDGET]),
        CONF_CHAIN_ID: chain_id,
    }
    return Wallet(data, address, generated=mnemonic is None), {}


async def async_wallet_address(hass: HomeAssistant, data: Mapping[str, Any]) -> str:
    """The address of the wallet an entry stores (executor: the SDK is slow)."""
    key = await hass.async_add_executor_job(
        RebasedKey.from_mnemonic, data[CONF_MNEMONIC], data[CONF_KEY_PATH]
    )
    return key.address


def payments_in_flight(entry: ConfigEntry) -> bool | None:
    """Whether a signed payment may still execute; None if the entry is not loaded.

    Such a payment is bound to the wallet and the chain it was signed for:
    neither may change under it.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return None
    payments = entry.runtime_data.payments
    if payments is None:
        return False
    return any(p.status not in _NOTHING_SIGNED for p in payments.payments())
