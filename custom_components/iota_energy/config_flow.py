"""Config flow: which INA219 to meter, and how to bill what it measures."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from homeassistant import config_entries
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import selector
import voluptuous as vol

from .config_flow_rebased import (
    POLICY_DEFAULTS as REBASED_POLICY_DEFAULTS,
    Wallet,
    async_check_wallet,
    async_wallet_address,
    check_rebased_receiver,
    is_rebased,
    payments_in_flight,
    policy_data as rebased_policy_data,
    policy_fields as rebased_policy_fields,
    receiver_fields as rebased_receiver_fields,
    wallet_schema,
    wallet_suggestions,
)
from .const import (
    CONF_ADC,
    CONF_ADDRESS,
    CONF_AUTO_PAY,
    CONF_BILLING_DAY,
    CONF_BUSNUM,
    CONF_CHAIN_ID,
    CONF_FLUSH_INTERVAL,
    CONF_GAIN,
    CONF_KEY_PATH,
    CONF_LOAD_PROFILE,
    CONF_MAX_DAILY,
    CONF_MAX_EXPECTED_AMPS,
    CONF_MAX_PAYMENT,
    CONF_MIN_PAYMENT,
    CONF_MNEMONIC,
    CONF_MWM,
    CONF_NODE_URL,
    CONF_PERIOD,
    CONF_PERIOD_SECONDS,
    CONF_POW_MODE,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PUBLISH_INTERVAL,
    CONF_RECEIVER,
    CONF_SAMPLE_RATE,
    CONF_SEED,
    CONF_SHUNT_OHMS,
    CONF_SOURCE,
    CONF_STATEMENT_RETENTION,
    CONF_TAG,
    CONF_VOLTAGE_RANGE,
    CONF_WEEKDAY,
    DEFAULT_AUTO_PAY,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MAX_DAILY,
    DEFAULT_MAX_PAYMENT,
    DEFAULT_MIN_PAYMENT,
    DEFAULT_MWM,
    DEFAULT_PERIOD,
    DEFAULT_PERIOD_SECONDS,
    DEFAULT_POW_MODE,
    DEFAULT_PRICE,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_STATEMENT_RETENTION,
    DEFAULT_TAG,
    DOMAIN,
    IOTA_SUPPLY,
    MAX_FLUSH_INTERVAL,
    MAX_MWM,
    MAX_PERIOD_SECONDS,
    MAX_PUBLISH_INTERVAL,
    MAX_SAMPLE_RATE,
    MIN_FLUSH_INTERVAL,
    MIN_MWM,
    MIN_PERIOD_SECONDS,
    MIN_PUBLISH_INTERVAL,
    MIN_SAMPLE_RATE,
    NODE_TIMEOUT_S,
    PERIOD_KINDS,
    POW_MODE_NODE,
    POW_MODES,
    SOURCE_INA219,
    SOURCE_VIRTUAL,
)
from .core.addresses import (
    WalletInputError,
    generate_seed,
    validate_receiver,
    validate_seed,
    validate_tag,
)
from .core.load_profiles import LoadProfile
from .core.node_probe import (
    NodeProbeError,
    NodeUrlError,
    addresses_spent,
    probe_node,
    validate_node_url,
)
from .core.periods import schedule_from_options
from .core.power_source import ADC_MODES, GAINS, Ina219Config, Ina219Source, SourceError
from .core.pricing import parse_price_text
from .core.rebased_sdk import SdkMissingError
from .libraries import async_ensure_libraries
from .number_selector import FiniteNumberSelector

_LOGGER = logging.getLogger(__name__)
# Statements, prices, the minimum payment and the legacy caps count legacy i
# on either rail (a Rebased payment pays each i as 1000 nanos).
UNIT_I = "i"

if TYPE_CHECKING:
    _OptionsFlowBase = OptionsFlow
else:
    # Home Assistant 2025.8+ reloads the entry itself after the options change;
    # on older versions the flow schedules the reload (no update listener).
    _OptionsFlowBase = getattr(config_entries, "OptionsFlowWithReload", OptionsFlow)

OPTIONS_FLOW_RELOADS = _OptionsFlowBase is not OptionsFlow

ADDRESSES = [f"{address:#04x}" for address in range(0x40, 0x50)]
DEFAULT_CHIP: dict[str, Any] = {
    CONF_BUSNUM: 1,
    CONF_ADDRESS: "0x40",
    CONF_SHUNT_OHMS: 0.1,
    CONF_VOLTAGE_RANGE: "16",
    CONF_GAIN: "auto",
    CONF_ADC: "12bit",
}


def _select(
    options: list[str] | tuple[str, ...], key: str | None = None
) -> selector.SelectSelector:
    config = selector.SelectSelectorConfig(
        options=list(options), mode=selector.SelectSelectorMode.DROPDOWN
    )
    if key is not None:
        config["translation_key"] = key
    return selector.SelectSelector(config)


def _number(
    minimum: float,
    maximum: float,
    step: float | Literal["any"],
    unit: str | None = None,
) -> FiniteNumberSelector:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return FiniteNumberSelector(config)


def _chip_schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_BUSNUM, default=defaults[CONF_BUSNUM]): _number(
                0, 255, 1
            ),
            vol.Required(CONF_ADDRESS, default=defaults[CONF_ADDRESS]): _select(
                ADDRESSES
            ),
            vol.Required(CONF_SHUNT_OHMS, default=defaults[CONF_SHUNT_OHMS]): _number(
                0.0001, 100, "any", "Ω"
            ),
            vol.Optional(CONF_MAX_EXPECTED_AMPS): _number(0.001, 100, "any", "A"),
            vol.Required(
                CONF_VOLTAGE_RANGE, default=defaults[CONF_VOLTAGE_RANGE]
            ): _select(["16", "32"]),
            vol.Required(CONF_GAIN, default=defaults[CONF_GAIN]): _select(
                GAINS, "gain"
            ),
            vol.Required(CONF_ADC, default=defaults[CONF_ADC]): _select(
                ADC_MODES, "adc"
            ),
        }
    )


def _chip_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """Normalise the chip form into what the entry stores."""
    data = {
        CONF_BUSNUM: int(user_input[CONF_BUSNUM]),
        CONF_ADDRESS: int(str(user_input[CONF_ADDRESS]), 16),
        CONF_SHUNT_OHMS: float(user_input[CONF_SHUNT_OHMS]),
        CONF_VOLTAGE_RANGE: int(user_input[CONF_VOLTAGE_RANGE]),
        CONF_GAIN: user_input[CONF_GAIN],
        CONF_ADC: user_input[CONF_ADC],
    }
    if user_input.get(CONF_MAX_EXPECTED_AMPS):
        data[CONF_MAX_EXPECTED_AMPS] = float(user_input[CONF_MAX_EXPECTED_AMPS])
    return data


def _probe_chip(data: dict[str, Any]) -> None:
    """Open the chip and read it once (executor). Raises SourceError/ValueError."""
    config = Ina219Config(
        busnum=data[CONF_BUSNUM],
        address=data[CONF_ADDRESS],
        shunt_ohms=data[CONF_SHUNT_OHMS],
        max_expected_amps=data.get(CONF_MAX_EXPECTED_AMPS),
        voltage_range=data[CONF_VOLTAGE_RANGE],
        gain=data[CONF_GAIN],
        adc=data[CONF_ADC],
    )
    config.validate()
    source = Ina219Source(config)
    try:
        source.open()
        try:
            source.read()
        except SourceError as err:
            # An overload still proves the chip answers; sampling reports it.
            if err.kind != "range":
                raise
    finally:
        source.close()


def _period_fields(defaults: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_PERIOD, default=defaults[CONF_PERIOD]): _select(
            PERIOD_KINDS, "period"
        ),
        vol.Optional(
            CONF_PERIOD_SECONDS, default=defaults[CONF_PERIOD_SECONDS]
        ): _number(MIN_PERIOD_SECONDS, MAX_PERIOD_SECONDS, 1, "s"),
        vol.Optional(CONF_WEEKDAY, default=str(defaults[CONF_WEEKDAY])): _select(
            [str(day) for day in range(7)], "weekday"
        ),
        vol.Optional(CONF_BILLING_DAY, default=defaults[CONF_BILLING_DAY]): _number(
            1, 31, 1
        ),
    }


def _billing_schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            **_period_fields(defaults),
            vol.Required(
                CONF_PRICE, default=defaults[CONF_PRICE]
            ): selector.TextSelector(),
            vol.Optional(CONF_PRICE_ENTITY): selector.EntitySelector(
                selector.EntitySelectorConfig(
                    domain=["sensor", "input_number", "number"]
                )
            ),
            vol.Required(CONF_MIN_PAYMENT, default=defaults[CONF_MIN_PAYMENT]): _number(
                1, 10**15, 1, UNIT_I
            ),
        }
    )


def _period_data(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The billing period as the entry stores it, or a field error."""
    data = {
        CONF_PERIOD: user_input[CONF_PERIOD],
        CONF_PERIOD_SECONDS: int(
            user_input.get(CONF_PERIOD_SECONDS, DEFAULT_PERIOD_SECONDS)
        ),
        CONF_WEEKDAY: int(user_input.get(CONF_WEEKDAY, 0)),
        CONF_BILLING_DAY: int(user_input.get(CONF_BILLING_DAY, 1)),
    }
    try:
        schedule_from_options(data, ZoneInfo(hass.config.time_zone))
    except ValueError:
        return data, {CONF_PERIOD_SECONDS: "invalid_period"}
    return data, {}


def _unique_id(source: str, chip: Mapping[str, Any]) -> str:
    return f"{source}-{chip[CONF_BUSNUM]}-{chip[CONF_ADDRESS]:#04x}"


async def _async_check_chip(
    hass: HomeAssistant, chip: dict[str, Any]
) -> dict[str, str]:
    """Errors of reading the real chip once with these settings."""
    try:
        await hass.async_add_executor_job(_probe_chip, chip)
    except ValueError:
        return {"base": "invalid_settings"}
    except SourceError as err:
        return {"base": "chip_missing" if err.kind == "missing" else "chip_error"}
    return {}


async def _async_check_profile(
    hass: HomeAssistant, user_input: Mapping[str, Any], chip: dict[str, Any]
) -> dict[str, str]:
    """Read the optional load profile; store its path in ``chip`` if it is good."""
    profile = (user_input.get(CONF_LOAD_PROFILE) or "").strip()
    if not profile:
        return {}
    try:
        await hass.async_add_executor_job(
            LoadProfile.from_csv, Path(hass.config.path(profile))
        )
    except (OSError, ValueError):
        return {CONF_LOAD_PROFILE: "invalid_load_profile"}
    chip[CONF_LOAD_PROFILE] = profile
    return {}


BILLING_DEFAULTS: dict[str, Any] = {
    CONF_PERIOD: DEFAULT_PERIOD,
    CONF_PERIOD_SECONDS: DEFAULT_PERIOD_SECONDS,
    CONF_WEEKDAY: "0",
    CONF_BILLING_DAY: 1,
    CONF_PRICE: DEFAULT_PRICE,
    CONF_MIN_PAYMENT: DEFAULT_MIN_PAYMENT,
}


def _validate_billing(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Split the billing form into entry data and options, or return errors."""
    data, errors = _period_data(hass, user_input)
    options: dict[str, Any] = {}
    price_text = str(user_input[CONF_PRICE]).strip()
    if parse_price_text(price_text) is None:
        errors[CONF_PRICE] = "invalid_price"
    options[CONF_PRICE] = price_text
    if entity_id := user_input.get(CONF_PRICE_ENTITY):
        options[CONF_PRICE_ENTITY] = entity_id
    options[CONF_MIN_PAYMENT] = int(user_input[CONF_MIN_PAYMENT])
    return data, options, errors


# What a Rebased wallet pays from, and on which chain: a signed payment is
# bound to all three.
WALLET_IDENTITY = (CONF_MNEMONIC, CONF_KEY_PATH, CONF_CHAIN_ID)
# A form field of the wallet step; never stored.
GENERATE_SEED = "generate_seed"
POLICY_DEFAULTS: dict[str, Any] = {
    CONF_POW_MODE: DEFAULT_POW_MODE,
    CONF_TAG: DEFAULT_TAG,
    CONF_AUTO_PAY: DEFAULT_AUTO_PAY,
    CONF_MAX_PAYMENT: DEFAULT_MAX_PAYMENT,
    CONF_MAX_DAILY: DEFAULT_MAX_DAILY,
}


def has_payments(entry: ConfigEntry) -> bool:
    """Whether the entry pays (a legacy node, or the Rebased rail).

    Otherwise it meters and bills only.
    """
    return is_rebased(entry.data) or bool(entry.data.get(CONF_NODE_URL))


def _node_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_NODE_URL): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
            ),
            vol.Required(CONF_MWM): _number(MIN_MWM, MAX_MWM, 1),
            vol.Required(CONF_POW_MODE): _select(POW_MODES, "pow_mode"),
        }
    )


def _policy_fields() -> dict[vol.Marker, Any]:
    """Tag, automatic payment and caps (the pow mode goes with the node)."""
    return {
        vol.Required(CONF_TAG): selector.TextSelector(),
        vol.Required(CONF_AUTO_PAY): selector.BooleanSelector(),
        vol.Required(CONF_MAX_PAYMENT): _number(0, IOTA_SUPPLY, 1, UNIT_I),
        vol.Required(CONF_MAX_DAILY): _number(0, IOTA_SUPPLY, 1, UNIT_I),
    }


def _policy_data(
    user_input: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Tag, automatic payment and caps as the options store them, or errors."""
    policy: dict[str, Any] = {
        CONF_AUTO_PAY: bool(user_input[CONF_AUTO_PAY]),
        CONF_MAX_PAYMENT: int(user_input[CONF_MAX_PAYMENT]),
        CONF_MAX_DAILY: int(user_input[CONF_MAX_DAILY]),
    }
    try:
        policy[CONF_TAG] = validate_tag(str(user_input[CONF_TAG]))
    except WalletInputError as err:
        return policy, {CONF_TAG: err.reason}
    return policy, {}


async def _async_check_node(
    hass: HomeAssistant, url_text: str, pow_mode: str
) -> tuple[str, dict[str, str]]:
    """The node URL, checked with a real getNodeInfo; or errors."""
    try:
        url = validate_node_url(url_text)
    except NodeUrlError as err:
        return url_text, {CONF_NODE_URL: err.reason}
    try:
        info = await hass.async_add_executor_job(probe_node, url, NODE_TIMEOUT_S)
    except NodeProbeError as err:
        _LOGGER.debug("The IOTA node cannot be used: %s", err)
        return url, {"base": err.reason}
    _LOGGER.debug(
        "IOTA node %s %s at milestone %s",
        info.app_name,
        info.app_version,
        info.latest_milestone_index,
    )
    if pow_mode == POW_MODE_NODE and not info.remote_pow:
        return url, {CONF_POW_MODE: "node_pow_refused"}
    return url, {}


async def _async_check_receiver(
    hass: HomeAssistant, node_url: str, text: str
) -> tuple[str, dict[str, str]]:
    """The receiver, checked locally and then with wereAddressesSpentFrom."""
    try:
        receiver = validate_receiver(text)
    except WalletInputError as err:
        return "", {CONF_RECEIVER: err.reason}
    try:
        spent = await hass.async_add_executor_job(
            addresses_spent, node_url, [receiver], NODE_TIMEOUT_S
        )
    except NodeProbeError as err:
        _LOGGER.debug("The IOTA node cannot check the receiver: %s", err)
        return receiver, {"base": err.reason}
    if spent[0]:
        # Its key was revealed by a signature: IOTA sent there could be stolen.
        return receiver, {CONF_RECEIVER: "receiver_spent"}
    return receiver, {}


class IotaEnergyConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an IOTA Energy meter."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with an empty draft."""
        self._name = "IOTA Energy"
        self._data: dict[str, Any] = {}
        self._options: dict[str, Any] = {}
        self._policy: dict[str, Any] = {}
        self._wallet: Wallet | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> IotaEnergyOptionsFlow:
        """Options: sampling, publishing, prices."""
        return IotaEnergyOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name the meter and choose the real chip or the virtual one."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await async_ensure_libraries(self.hass)
            except HomeAssistantError:
                _LOGGER.exception("Installing the driver libraries failed")
                errors["base"] = "libraries_failed"
            else:
                self._name = user_input[CONF_NAME].strip() or self._name
                self._data[CONF_SOURCE] = user_input[CONF_SOURCE]
                if user_input[CONF_SOURCE] == SOURCE_VIRTUAL:
                    return await self.async_step_virtual()
                return await self.async_step_ina219()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_NAME, default=self._name
                    ): selector.TextSelector(),
                    vol.Required(CONF_SOURCE, default=SOURCE_INA219): _select(
                        [SOURCE_INA219, SOURCE_VIRTUAL], "source"
                    ),
                }
            ),
            errors=errors,
        )

    async def async_step_ina219(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where the INA219 sits on the I2C bus, and how it is wired."""
        errors: dict[str, str] = {}
        if user_input is not None:
            chip = _chip_data(user_input)
            await self.async_set_unique_id(_unique_id(SOURCE_INA219, chip))
            self._abort_if_unique_id_configured()
            if not (errors := await _async_check_chip(self.hass, chip)):
                self._data.update(chip)
                return await self.async_step_billing()
        return self.async_show_form(
            step_id="ina219",
            data_schema=self.add_suggested_values_to_schema(
                _chip_schema(DEFAULT_CHIP), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_virtual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The simulated chip: the tutorial's circuit or a recorded load profile."""
        errors: dict[str, str] = {}
        if user_input is not None:
            chip = _chip_data({**DEFAULT_CHIP, **user_input})
            errors = await _async_check_profile(self.hass, user_input, chip)
            if not errors:
                await self.async_set_unique_id(_unique_id(SOURCE_VIRTUAL, chip))
                self._abort_if_unique_id_configured()
                self._data.update(chip)
                return await self.async_step_billing()
        return self.async_show_form(
            step_id="virtual",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_ADDRESS, default="0x40"): _select(ADDRESSES),
                        vol.Optional(CONF_LOAD_PROFILE): selector.TextSelector(),
                    }
                ),
                user_input or {},
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose what to change: the meter, the node, the receiver.

        An entry that only meters and bills can turn payments on here.
        """
        entry = self._get_reconfigure_entry()
        choices = ["reconfigure_meter"]
        if is_rebased(entry.data):
            choices += ["rebased", "rebased_receiver"]
        elif has_payments(entry):
            choices += ["node", "receiver"]
        else:
            choices.append("enable_payments")
        return self.async_show_menu(step_id="reconfigure", menu_options=choices)

    async def async_step_reconfigure_meter(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change where the chip is, how it is wired, or the billing period.

        The price, the minimum payment and the rates are options. A new
        period applies from the next boundary of the new schedule: the open
        period is closed there, nothing measured is lost.
        """
        entry = self._get_reconfigure_entry()
        source = entry.data[CONF_SOURCE]
        errors: dict[str, str] = {}
        if user_input is not None:
            # The form requires the address: the stored one is always replaced.
            current = {key: entry.data[key] for key in DEFAULT_CHIP}
            chip = _chip_data(current | user_input)
            period, errors = _period_data(self.hass, user_input)
            if source == SOURCE_VIRTUAL:
                errors |= await _async_check_profile(self.hass, user_input, chip)
            unique_id = _unique_id(source, chip)
            taken = self.hass.config_entries.async_entry_for_domain_unique_id(
                DOMAIN, unique_id
            )
            if taken is not None and taken.entry_id != entry.entry_id:
                return self.async_abort(reason="already_configured")
            if not errors and source == SOURCE_INA219:
                errors = await _async_check_chip(self.hass, chip)
            if not errors:
                data = {
                    key: value
                    for key, value in entry.data.items()
                    if key not in (CONF_MAX_EXPECTED_AMPS, CONF_LOAD_PROFILE)
                }
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, data=data | chip | period
                )
        suggested = {
            **entry.data,
            CONF_ADDRESS: f"{entry.data[CONF_ADDRESS]:#04x}",
            CONF_VOLTAGE_RANGE: str(entry.data[CONF_VOLTAGE_RANGE]),
            CONF_WEEKDAY: str(entry.data.get(CONF_WEEKDAY, 0)),
        }
        if source == SOURCE_VIRTUAL:
            chip_fields: dict[vol.Marker, Any] = {
                vol.Required(CONF_ADDRESS): _select(ADDRESSES),
                vol.Optional(CONF_LOAD_PROFILE): selector.TextSelector(),
            }
        else:
            chip_fields = dict(_chip_schema(DEFAULT_CHIP).schema)
        schema = vol.Schema({**chip_fields, **_period_fields(BILLING_DEFAULTS)})
        return self.async_show_form(
            step_id="reconfigure_meter",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or suggested
            ),
            errors=errors,
        )

    async def async_step_billing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Billing period, price and minimum payment."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, options, errors = _validate_billing(self.hass, user_input)
            if not errors:
                self._data |= data
                self._options = options | {
                    CONF_SAMPLE_RATE: DEFAULT_SAMPLE_RATE,
                    CONF_PUBLISH_INTERVAL: DEFAULT_PUBLISH_INTERVAL,
                    CONF_FLUSH_INTERVAL: DEFAULT_FLUSH_INTERVAL,
                    CONF_STATEMENT_RETENTION: DEFAULT_STATEMENT_RETENTION,
                }
                return await self.async_step_payments()
        return self.async_show_form(
            step_id="billing",
            data_schema=self.add_suggested_values_to_schema(
                _billing_schema(BILLING_DEFAULTS), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_payments(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pay on the legacy rail or on IOTA Rebased, or meter and bill only."""
        return self.async_show_menu(
            step_id="payments", menu_options=["rebased", "node", "bill_only"]
        )

    async def async_step_bill_only(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """No node, no wallet: statements are billed and stay due."""
        return self.async_create_entry(
            title=self._name, data=self._data, options=self._options
        )

    async def async_step_enable_payments(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Reconfigure: turn payments on, on either rail."""
        return self.async_show_menu(
            step_id="enable_payments", menu_options=["rebased", "node"]
        )

    def _reconfigured_entry(self) -> ConfigEntry | None:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry()
        return None

    async def async_step_node(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The IRI node, its minimum weight magnitude and who does the PoW."""
        entry = self._reconfigured_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            pow_mode = user_input[CONF_POW_MODE]
            url, errors = await _async_check_node(
                self.hass, user_input[CONF_NODE_URL], pow_mode
            )
            if not errors:
                node = {CONF_NODE_URL: url, CONF_MWM: int(user_input[CONF_MWM])}
                if entry is not None and has_payments(entry):
                    return self.async_update_reload_and_abort(
                        entry,
                        data_updates=node,
                        options=entry.options | {CONF_POW_MODE: pow_mode},
                    )
                self._data |= node
                self._policy[CONF_POW_MODE] = pow_mode
                return await self.async_step_wallet()
        suggested: dict[str, Any] = {
            CONF_MWM: DEFAULT_MWM,
            CONF_POW_MODE: DEFAULT_POW_MODE,
        }
        if entry is not None and has_payments(entry):
            suggested |= {
                CONF_NODE_URL: entry.data[CONF_NODE_URL],
                CONF_MWM: entry.data.get(CONF_MWM, DEFAULT_MWM),
                CONF_POW_MODE: entry.options.get(CONF_POW_MODE, DEFAULT_POW_MODE),
            }
        return self.async_show_form(
            step_id="node",
            data_schema=self.add_suggested_values_to_schema(
                _node_schema(), user_input or suggested
            ),
            errors=errors,
        )

    async def async_step_wallet(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The seed: typed in a password field, or a new one generated."""
        errors: dict[str, str] = {}
        if user_input is not None:
            typed = str(user_input.get(CONF_SEED, "")).strip()
            if not user_input.get(GENERATE_SEED):
                try:
                    self._data[CONF_SEED] = validate_seed(typed)
                except WalletInputError as err:
                    errors[CONF_SEED] = err.reason
                else:
                    return await self.async_step_receiver()
            elif typed:
                errors["base"] = "seed_or_generate"
            else:
                self._data[CONF_SEED] = generate_seed()
                return await self.async_step_seed_backup()
        # Nothing is suggested back: a typed seed never returns to the browser.
        schema = vol.Schema(
            {
                vol.Optional(CONF_SEED): selector.TextSelector(
                    selector.TextSelectorConfig(
                        type=selector.TextSelectorType.PASSWORD,
                        autocomplete="off",
                    )
                ),
                vol.Required(GENERATE_SEED, default=False): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="wallet", data_schema=schema, errors=errors)

    async def async_step_seed_backup(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show a generated seed once, to be written down."""
        if user_input is not None:
            return await self.async_step_receiver()
        return self.async_show_form(
            step_id="seed_backup",
            data_schema=vol.Schema({}),
            description_placeholders={"seed": self._data[CONF_SEED]},
        )

    async def async_step_receiver(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Who is paid, the tag, automatic payment and the caps.

        Reconfiguring a paying entry asks for the receiver only: the rest
        are options.
        """
        entry = self._reconfigured_entry()
        paying_entry = entry if entry is not None and has_payments(entry) else None
        errors: dict[str, str] = {}
        if user_input is not None:
            policy: dict[str, Any] = {}
            if paying_entry is None:
                policy, errors = _policy_data(user_input)
            node_url = (
                paying_entry.data[CONF_NODE_URL]
                if paying_entry is not None
                else self._data[CONF_NODE_URL]
            )
            receiver, receiver_errors = await _async_check_receiver(
                self.hass, node_url, str(user_input[CONF_RECEIVER])
            )
            errors |= receiver_errors
            if not errors:
                self._data[CONF_RECEIVER] = receiver
                self._policy |= policy
                return self._async_finish_payments(entry)
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_RECEIVER): selector.TextSelector()
        }
        suggested: dict[str, Any] = dict(POLICY_DEFAULTS)
        if paying_entry is None:
            fields |= _policy_fields()
        else:
            suggested[CONF_RECEIVER] = paying_entry.data[CONF_RECEIVER]
        return self.async_show_form(
            step_id="receiver",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields), user_input or suggested
            ),
            errors=errors,
        )

    def _async_finish_payments(self, entry: ConfigEntry | None) -> ConfigFlowResult:
        if entry is None:
            return self.async_create_entry(
                title=self._name,
                data=self._data,
                options=self._options | self._policy,
            )
        return self.async_update_reload_and_abort(
            entry, data_updates=self._data, options=entry.options | self._policy
        )

    async def async_step_rebased(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """IOTA Rebased: the network, the wallet's mnemonic and the gas cap.

        Checked with the real service (its chain identifier) and the real
        SDK. Reconfiguring a Rebased entry keeps its mnemonic unless a new
        one is typed.
        """
        entry = self._reconfigured_entry()
        paying = entry if entry is not None and is_rebased(entry.data) else None
        errors: dict[str, str] = {}
        if user_input is not None:
            kept = None if paying is None else str(paying.data[CONF_MNEMONIC])
            wallet, errors = await async_check_wallet(self.hass, user_input, kept)
            if wallet is not None and paying is not None:
                errors = _wallet_change_errors(paying, wallet)
                if not errors:
                    return self.async_update_reload_and_abort(
                        paying, data_updates=wallet.data
                    )
            elif wallet is not None:
                self._wallet = wallet
                self._data |= wallet.data
                if wallet.generated:
                    return await self.async_step_mnemonic_backup()
                return await self.async_step_rebased_receiver()
        # A typed mnemonic never returns to the browser.
        shown = {k: v for k, v in (user_input or {}).items() if k != CONF_MNEMONIC}
        if not shown and paying is not None:
            shown = wallet_suggestions(paying.data)
        return self.async_show_form(
            step_id="rebased",
            data_schema=self.add_suggested_values_to_schema(wallet_schema(), shown),
            errors=errors,
        )

    async def async_step_mnemonic_backup(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show a generated mnemonic once, to be written down."""
        if user_input is not None:
            return await self.async_step_rebased_receiver()
        return self.async_show_form(
            step_id="mnemonic_backup",
            data_schema=vol.Schema({}),
            description_placeholders={"mnemonic": self._data[CONF_MNEMONIC]},
        )

    async def async_step_rebased_receiver(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Who is paid on IOTA Rebased, automatic payment and the caps (nanos).

        Reconfiguring a Rebased entry asks for the receiver only: the rest
        are options.
        """
        entry = self._reconfigured_entry()
        paying = entry if entry is not None and is_rebased(entry.data) else None
        errors: dict[str, str] = {}
        if user_input is not None:
            if paying is None:
                assert self._wallet is not None  # the rebased step came first
                address = self._wallet.address
            else:
                try:
                    address = await async_wallet_address(self.hass, paying.data)
                except SdkMissingError as err:
                    _LOGGER.error("The IOTA Rebased SDK cannot be used: %s", err)
                    address = ""
                    errors["base"] = "rebased_sdk_missing"
            receiver, receiver_errors = check_rebased_receiver(
                str(user_input[CONF_RECEIVER]), address
            )
            errors |= receiver_errors
            if not errors:
                self._data[CONF_RECEIVER] = receiver
                if paying is None:
                    self._policy = rebased_policy_data(user_input)
                return self._async_finish_payments(entry)
        fields = rebased_receiver_fields()
        suggested: dict[str, Any] = dict(REBASED_POLICY_DEFAULTS)
        if paying is None:
            fields |= rebased_policy_fields()
        else:
            suggested[CONF_RECEIVER] = paying.data[CONF_RECEIVER]
        return self.async_show_form(
            step_id="rebased_receiver",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields), user_input or suggested
            ),
            errors=errors,
        )


def _wallet_change_errors(entry: ConfigEntry, wallet: Wallet) -> dict[str, str]:
    """Why a Rebased entry may not take this wallet or network now, if at all.

    A signed payment belongs to the wallet and the chain it was signed for:
    while one may still execute, neither changes.
    """
    old = entry.data
    new = wallet.data
    if wallet.address == old[CONF_RECEIVER]:
        return {"base": "receiver_is_wallet"}
    changed = any(new[key] != old.get(key) for key in WALLET_IDENTITY)
    if not changed:
        return {}
    in_flight = payments_in_flight(entry)
    if in_flight is None:
        return {"base": "payments_unknown"}
    return {"base": "payments_in_flight"} if in_flight else {}


class IotaEnergyOptionsFlow(_OptionsFlowBase):
    """Sampling and publishing rates, prices and retention."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every option."""
        options = self.config_entry.options
        paying = has_payments(self.config_entry)
        rebased = is_rebased(self.config_entry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            new_options = dict(options)
            price_text = str(user_input[CONF_PRICE]).strip()
            if parse_price_text(price_text) is None:
                errors[CONF_PRICE] = "invalid_price"
            if paying and rebased:
                new_options |= rebased_policy_data(user_input)
            elif paying:
                policy, policy_errors = await self._async_policy(user_input)
                errors |= policy_errors
                new_options |= policy
            if not errors:
                new_options.update(
                    {
                        CONF_SAMPLE_RATE: float(user_input[CONF_SAMPLE_RATE]),
                        CONF_PUBLISH_INTERVAL: int(user_input[CONF_PUBLISH_INTERVAL]),
                        CONF_FLUSH_INTERVAL: int(user_input[CONF_FLUSH_INTERVAL]),
                        CONF_PRICE: price_text,
                        CONF_MIN_PAYMENT: int(user_input[CONF_MIN_PAYMENT]),
                        CONF_STATEMENT_RETENTION: int(
                            user_input[CONF_STATEMENT_RETENTION]
                        ),
                    }
                )
                new_options.pop(CONF_PRICE_ENTITY, None)
                if entity_id := user_input.get(CONF_PRICE_ENTITY):
                    new_options[CONF_PRICE_ENTITY] = entity_id
                # Each leg takes one side only: no branch.
                if not OPTIONS_FLOW_RELOADS:  # pragma: no branch
                    self.hass.config_entries.async_schedule_reload(
                        self.config_entry.entry_id
                    )
                return self.async_create_entry(data=new_options)

        schema = vol.Schema(
            {
                vol.Required(CONF_SAMPLE_RATE): _number(
                    MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, 1, "Hz"
                ),
                vol.Required(CONF_PUBLISH_INTERVAL): _number(
                    MIN_PUBLISH_INTERVAL, MAX_PUBLISH_INTERVAL, 1, "s"
                ),
                vol.Required(CONF_FLUSH_INTERVAL): _number(
                    MIN_FLUSH_INTERVAL, MAX_FLUSH_INTERVAL, 1, "s"
                ),
                vol.Required(CONF_PRICE): selector.TextSelector(),
                vol.Optional(CONF_PRICE_ENTITY): selector.EntitySelector(
                    selector.EntitySelectorConfig(
                        domain=["sensor", "input_number", "number"]
                    )
                ),
                vol.Required(CONF_MIN_PAYMENT): _number(1, 10**15, 1, UNIT_I),
                vol.Required(CONF_STATEMENT_RETENTION): _number(10, 100000, 1),
            }
        )
        if paying and rebased:
            schema = schema.extend(rebased_policy_fields())
        elif paying:
            schema = schema.extend(
                {
                    vol.Required(CONF_POW_MODE): _select(POW_MODES, "pow_mode"),
                    **_policy_fields(),
                }
            )
        suggested = {
            CONF_SAMPLE_RATE: options.get(CONF_SAMPLE_RATE, DEFAULT_SAMPLE_RATE),
            CONF_PUBLISH_INTERVAL: options.get(
                CONF_PUBLISH_INTERVAL, DEFAULT_PUBLISH_INTERVAL
            ),
            CONF_FLUSH_INTERVAL: options.get(
                CONF_FLUSH_INTERVAL, DEFAULT_FLUSH_INTERVAL
            ),
            CONF_PRICE: options.get(CONF_PRICE, DEFAULT_PRICE),
            CONF_PRICE_ENTITY: options.get(CONF_PRICE_ENTITY),
            CONF_MIN_PAYMENT: options.get(CONF_MIN_PAYMENT, DEFAULT_MIN_PAYMENT),
            CONF_STATEMENT_RETENTION: options.get(
                CONF_STATEMENT_RETENTION, DEFAULT_STATEMENT_RETENTION
            ),
        } | {key: options.get(key, value) for key, value in POLICY_DEFAULTS.items()}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or suggested
            ),
            errors=errors,
        )

    async def _async_policy(
        self, user_input: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The payment policy, or errors; "node" PoW is checked with the node."""
        policy, errors = _policy_data(user_input)
        pow_mode = user_input[CONF_POW_MODE]
        if pow_mode == POW_MODE_NODE and pow_mode != self.config_entry.options.get(
            CONF_POW_MODE
        ):
            _url, node_errors = await _async_check_node(
                self.hass, self.config_entry.data[CONF_NODE_URL], pow_mode
            )
            errors |= node_errors
        policy[CONF_POW_MODE] = pow_mode
        return policy, errors
