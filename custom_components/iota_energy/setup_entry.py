"""Set up and unload a config entry: the Home Assistant side of the package.

This module only wires the domain core (``core/``) into Home Assistant:
it builds the power source, starts the sampler thread, restores the durable
state and hands everything to the coordinator. The package's ``__init__``
exposes its entry points to Home Assistant's loader (see there why they are
not defined in ``__init__`` itself).
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_ADC,
    CONF_ADDRESS,
    CONF_BUSNUM,
    CONF_FLUSH_INTERVAL,
    CONF_GAIN,
    CONF_LOAD_PROFILE,
    CONF_MAX_EXPECTED_AMPS,
    CONF_MIN_PAYMENT,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PUBLISH_INTERVAL,
    CONF_SAMPLE_RATE,
    CONF_SHUNT_OHMS,
    CONF_SOURCE,
    CONF_STATEMENT_RETENTION,
    CONF_VOLTAGE_RANGE,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MIN_PAYMENT,
    DEFAULT_PRICE,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_STATEMENT_RETENTION,
    DOMAIN,
    LOGGER,
    METER_MAX_GAP_S,
    SAMPLER_STOP_TIMEOUT,
    SOURCE_VIRTUAL,
)
from .coordinator import CoordinatorSettings, IotaEnergyCoordinator
from .core.circuit import Circuit, ProfileCircuit, TutorialCircuit
from .core.ina219_model import VirtualIna219
from .core.load_profiles import LoadProfile
from .core.periods import schedule_from_options
from .core.power_source import Ina219Config, Ina219Source, SourceError
from .core.rebased_sdk import SdkMissingError
from .core.sampler import Sampler
from .issues import async_clear_issue, async_raise_issue
from .libraries import async_ensure_libraries
from .payment_manager import PaymentManager, PaymentSettings, WalletUnreadableError
from .persistence.document_slots import StateCorruptError
from .persistence.entry_state import StateFactory
from .persistence.entry_store import EntryPersistence
from .runtime import IotaEnergyConfigEntry, IotaEnergyRuntime
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SENSOR,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, whatever entries exist."""
    driver_logger = logging.getLogger("ina219")
    if driver_logger.level == logging.NOTSET:
        # pi-ina219 logs its calibration at INFO each time the chip is
        # (re)opened; the `logger` integration can still turn it back on.
        driver_logger.setLevel(logging.WARNING)
    async_setup_services(hass)
    return True


def ina219_config(entry: ConfigEntry) -> Ina219Config:
    """The chip settings stored in the entry."""
    data = entry.data
    return Ina219Config(
        busnum=int(data[CONF_BUSNUM]),
        address=int(data[CONF_ADDRESS]),
        shunt_ohms=float(data[CONF_SHUNT_OHMS]),
        max_expected_amps=(
            float(data[CONF_MAX_EXPECTED_AMPS])
            if data.get(CONF_MAX_EXPECTED_AMPS)
            else None
        ),
        voltage_range=int(data[CONF_VOLTAGE_RANGE]),
        gain=str(data[CONF_GAIN]),
        adc=str(data[CONF_ADC]),
    )


def build_source(
    hass: HomeAssistant, entry: ConfigEntry
) -> tuple[Ina219Source, Circuit | None, VirtualIna219 | None]:
    """The power source of the entry: a real INA219, or the virtual one.

    Both run the real pi-ina219 driver; the virtual chip sits under it at
    the I2C seam. Runs in the executor: reading a load profile is file I/O.
    """
    config = ina219_config(entry)
    if entry.data[CONF_SOURCE] != SOURCE_VIRTUAL:
        return Ina219Source(config), None, None
    circuit: Circuit
    if profile := entry.data.get(CONF_LOAD_PROFILE):
        path = Path(hass.config.path(profile))
        circuit = ProfileCircuit(LoadProfile.from_csv(path))
    else:
        circuit = TutorialCircuit()
    chip = VirtualIna219(circuit, shunt_ohms=config.shunt_ohms, address=config.address)
    return Ina219Source(config, i2c_interface=chip.i2c_interface), circuit, chip


def probe_source(source: Ina219Source) -> None:
    """Open the chip and read it once, then close it again (blocking I/O).

    Raises SourceError when the chip is missing or does not answer.
    """
    try:
        source.open()
        source.read()
    finally:
        source.close()


async def async_setup_entry(hass: HomeAssistant, entry: IotaEnergyConfigEntry) -> bool:
    """Restore the state, start sampling and publishing."""
    await async_ensure_libraries(hass)
    options = entry.options
    try:
        schedule = schedule_from_options(
            {**entry.data, **options}, ZoneInfo(hass.config.time_zone)
        )
        static_price = Fraction(str(options.get(CONF_PRICE, DEFAULT_PRICE)))
    except ValueError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_billing_settings",
            translation_placeholders={"error": str(err)},
        ) from err

    factory = StateFactory(
        schedule=schedule,
        min_payment_iota=int(options.get(CONF_MIN_PAYMENT, DEFAULT_MIN_PAYMENT)),
        static_price=static_price,
        uses_price_entity=bool(options.get(CONF_PRICE_ENTITY)),
        max_gap_s=METER_MAX_GAP_S,
    )
    source, circuit, chip = await hass.async_add_executor_job(build_source, hass, entry)
    try:
        await hass.async_add_executor_job(probe_source, source)
    except SourceError as err:
        # A configured chip that cannot be read now (not wired, wrong bus or
        # address, bus not enabled yet): Home Assistant retries the setup.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="chip_not_ready",
            translation_placeholders={"error": str(err)},
        ) from err

    persistence = EntryPersistence(hass, entry.entry_id, factory)
    try:
        state = await persistence.async_load()
    except StateCorruptError as err:
        # The way out, offered and never taken by itself: start a new ledger.
        async_raise_issue(
            hass,
            f"start_new_ledger_{entry.entry_id}",
            translation_key="start_new_ledger",
            placeholders={"title": entry.title},
            persistent=True,
            fix_data={"entry_id": entry.entry_id},
        )
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders=err.translation_placeholders,
        ) from err

    sampler = Sampler(
        source,
        float(options.get(CONF_SAMPLE_RATE, DEFAULT_SAMPLE_RATE)),
        state.account.add,
        logger=LOGGER,
    )
    coordinator = IotaEnergyCoordinator(
        hass,
        entry,
        state,
        persistence,
        CoordinatorSettings(
            publish_interval=timedelta(
                seconds=float(
                    options.get(CONF_PUBLISH_INTERVAL, DEFAULT_PUBLISH_INTERVAL)
                )
            ),
            flush_interval=timedelta(
                seconds=float(options.get(CONF_FLUSH_INTERVAL, DEFAULT_FLUSH_INTERVAL))
            ),
            statement_retention=int(
                options.get(CONF_STATEMENT_RETENTION, DEFAULT_STATEMENT_RETENTION)
            ),
            price_entity=options.get(CONF_PRICE_ENTITY) or None,
        ),
    )
    # The sampler opens the chip again in its own thread and, should it go
    # away later, retries while it is missing (its entities are unavailable).
    sampler.start()
    runtime = IotaEnergyRuntime(
        coordinator=coordinator, sampler=sampler, circuit=circuit, chip=chip
    )
    try:
        await coordinator.async_start()
        await coordinator.async_config_entry_first_refresh()
        await _async_start_payments(hass, entry, coordinator, runtime)
    except BaseException:
        await _async_stop_runtime(hass, runtime)
        raise
    entry.runtime_data = runtime

    async def _async_on_stop(_event: Event) -> None:
        await _async_stop_runtime(hass, runtime)

    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_on_stop)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_start_payments(
    hass: HomeAssistant,
    entry: IotaEnergyConfigEntry,
    coordinator: IotaEnergyCoordinator,
    runtime: IotaEnergyRuntime,
) -> None:
    """Start paying, if the entry pays; metering goes on if payments cannot.

    Sets the runtime's ``payments``, or its ``payments_stopped_by`` when the
    entry pays but cannot now.
    """
    wallet_issue = f"wallet_unreadable_{entry.entry_id}"
    # Raised again below if the wallet is still unreadable.
    async_clear_issue(hass, wallet_issue)
    settings = PaymentSettings.from_entry(dict(entry.data), dict(entry.options))
    if settings is None:
        return
    payments = PaymentManager(hass, coordinator, settings)
    try:
        await payments.async_start()
    except WalletUnreadableError as err:
        # Only reconfiguring can fix it: the meter meters, nothing is paid
        # and what is owed stays queued. The reason is a key, never a word.
        LOGGER.error(
            "The wallet stored for %s cannot be read (%s); payments are off "
            "until it is reconfigured",
            entry.title,
            err.reason,
        )
        stopped_by = "wallet_unreadable"
        async_raise_issue(
            hass,
            wallet_issue,
            translation_key=stopped_by,
            placeholders={"title": entry.title},
        )
    except StateCorruptError:
        # Never pay from unknown key bookkeeping: a key could be used twice.
        stopped_by = "outbox_unreadable"
        async_raise_issue(
            hass,
            f"{stopped_by}_{entry.entry_id}",
            translation_key=stopped_by,
            placeholders={"title": entry.title},
            persistent=True,
        )
    except SdkMissingError as err:
        # Home Assistant installs the manifest's iota-sdk pin at its next
        # start (replacing a Stardust iota-sdk); until then nothing is paid
        # and nothing owed is touched.
        LOGGER.error("%s: payments stopped: %s", entry.title, err)
        stopped_by = "rebased_sdk_missing"
        async_raise_issue(
            hass,
            f"{stopped_by}_{entry.entry_id}",
            translation_key=stopped_by,
            placeholders={"title": entry.title, "error": str(err)},
        )
    else:
        async_clear_issue(hass, f"rebased_sdk_missing_{entry.entry_id}")
        runtime.payments = payments
        return
    await payments.async_stop()
    runtime.payments_stopped_by = stopped_by


async def _async_stop_runtime(hass: HomeAssistant, runtime: IotaEnergyRuntime) -> None:
    """Stop sampling first, then bill and write what was measured."""
    if runtime.payments is not None:
        await runtime.payments.async_stop()
    await hass.async_add_executor_job(
        runtime.sampler.stop, SAMPLER_STOP_TIMEOUT.total_seconds()
    )
    await runtime.coordinator.async_stop()


async def async_unload_entry(hass: HomeAssistant, entry: IotaEnergyConfigEntry) -> bool:
    """Unload platforms, stop sampling, write the state."""
    if unload_ok := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await _async_stop_runtime(hass, entry.runtime_data)
    return unload_ok
