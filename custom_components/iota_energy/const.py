"""Constants of the IOTA Energy integration (the Home Assistant shell)."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

# Shared with the core, which may not import Home Assistant: defined there once.
from .core import legacy_rail, metering, periods, pricing, rebased_rail, sampler

DOMAIN: Final = "iota_energy"
LOGGER = logging.getLogger(__package__)

# Config entry data: what the meter is.
CONF_SOURCE: Final = "source"
SOURCE_VIRTUAL: Final = "virtual"
SOURCE_INA219: Final = "ina219"
CONF_BUSNUM: Final = "busnum"
CONF_ADDRESS: Final = "address"
CONF_SHUNT_OHMS: Final = "shunt_ohms"
CONF_MAX_EXPECTED_AMPS: Final = "max_expected_amps"
CONF_VOLTAGE_RANGE: Final = "voltage_range"
CONF_GAIN: Final = "gain"
CONF_ADC: Final = "adc"
CONF_LOAD_PROFILE: Final = "load_profile"

# Config entry data: where and how to pay. An entry without a node URL
# meters and bills only (payments off).
CONF_NODE_URL: Final = "node_url"
CONF_SEED: Final = "seed"
# 90 trytes, upper case: the address and its checksum.
CONF_RECEIVER: Final = "receiver"
CONF_MWM: Final = "min_weight_magnitude"

# Config entry data: which payment rail pays (absent: legacy, the entries made
# before IOTA Rebased was offered). See docs/rebased.md.
CONF_RAIL: Final = "rail"
RAIL_LEGACY: Final = "legacy"
RAIL_REBASED: Final = "rebased"
RAILS: Final = (RAIL_LEGACY, RAIL_REBASED)
# Rebased rail: the network (one of REBASED_NETWORKS, or custom with its
# GraphQL URL), the wallet's BIP-39 mnemonic (a secret, like the seed), the
# key's derivation path and the most gas one payment may burn (nanos).
CONF_NETWORK: Final = "network"
CONF_GRAPHQL_URL: Final = "graphql_url"
CONF_MNEMONIC: Final = "mnemonic"
CONF_KEY_PATH: Final = "key_path"
CONF_MAX_GAS_BUDGET: Final = "max_gas_budget"
NETWORK_MAINNET: Final = "mainnet"
NETWORK_TESTNET: Final = "testnet"
NETWORK_DEVNET: Final = "devnet"
NETWORK_CUSTOM: Final = "custom"
REBASED_NETWORKS: Final = (
    NETWORK_MAINNET,
    NETWORK_TESTNET,
    NETWORK_DEVNET,
    NETWORK_CUSTOM,
)
# Rebased rail: the chain identifier the GraphQL service served when the
# entry was set up; the rail refuses a service that serves another chain.
CONF_CHAIN_ID: Final = "chain_id"
# Nanos (0.05 IOTA): the gas cap the config flow suggests, the rail's own
# default; it stops a runaway budget, the rail itself budgets from a dry run.
DEFAULT_MAX_GAS_BUDGET: Final = rebased_rail.DEFAULT_MAX_GAS_BUDGET

# Config entry options: how it is sampled, published and billed.
CONF_SAMPLE_RATE: Final = "sample_rate"
CONF_PUBLISH_INTERVAL: Final = "publish_interval"
CONF_FLUSH_INTERVAL: Final = "flush_interval"
CONF_PERIOD: Final = "period"
CONF_PERIOD_SECONDS: Final = "period_seconds"
CONF_WEEKDAY: Final = "weekday"
CONF_BILLING_DAY: Final = "billing_day"
CONF_PRICE: Final = "price"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_MIN_PAYMENT: Final = "min_payment"
CONF_STATEMENT_RETENTION: Final = "statement_retention"

# Config entry options: the payment policy (only with payments configured).
CONF_POW_MODE: Final = "pow_mode"
CONF_TAG: Final = "tag"
CONF_AUTO_PAY: Final = "auto_pay"
CONF_MAX_PAYMENT: Final = "max_payment_iota"
CONF_MAX_DAILY: Final = "max_daily_iota"

# auto: the node's proof of work, local when the node refuses attachToTangle.
POW_MODE_AUTO: Final = legacy_rail.POW_MODE_AUTO
POW_MODE_LOCAL: Final = legacy_rail.POW_MODE_LOCAL
POW_MODE_NODE: Final = legacy_rail.POW_MODE_NODE
POW_MODES: Final = legacy_rail.POW_MODES

PERIOD_KINDS: Final = periods.PERIOD_KINDS

# Hz. At 1 Hz (the tutorial's rate) loads switching every few seconds were up to
# 0.45 % off, at 10 Hz at most 0.05 %, for 0.3 % of a core here: see
# benchmarks/results/metering.md. Entries keep the rate stored in their options.
DEFAULT_SAMPLE_RATE: Final = sampler.DEFAULT_RATE_HZ
DEFAULT_PUBLISH_INTERVAL: Final = 10  # s
DEFAULT_FLUSH_INTERVAL: Final = 60  # s: the most a hard kill can lose
DEFAULT_PERIOD: Final = "hourly"
DEFAULT_PERIOD_SECONDS: Final = 3600
DEFAULT_MIN_PAYMENT: Final = 1
DEFAULT_STATEMENT_RETENTION: Final = 1000
# The tutorial's 0.2 IOTA per mW·s, in IOTA per kWh, as the option's text.
DEFAULT_PRICE: Final = str(pricing.TUTORIAL_PRICE_IOTA_PER_KWH)
DEFAULT_MWM: Final = 14  # mainnet; the old devnets and devtangle's demo use 9
MIN_MWM: Final = 1
MAX_MWM: Final = 27
DEFAULT_POW_MODE: Final = POW_MODE_AUTO
DEFAULT_TAG: Final = "HOTELIOTA"  # the tutorial's; stored unpadded
DEFAULT_AUTO_PAY: Final = True
DEFAULT_MAX_PAYMENT: Final = 0  # IOTA; 0 = no cap
DEFAULT_MAX_DAILY: Final = 0  # IOTA; 0 = no cap
# Every IOTA there is: no cap or payment can exceed it.
IOTA_SUPPLY: Final = 2_779_530_283_277_761
# How long the config flow waits for the node.
NODE_TIMEOUT_S: Final = 10.0

MIN_SAMPLE_RATE: Final = sampler.MIN_RATE_HZ
MAX_SAMPLE_RATE: Final = sampler.MAX_RATE_HZ
MIN_PUBLISH_INTERVAL: Final = 1
MAX_PUBLISH_INTERVAL: Final = 3600
MIN_FLUSH_INTERVAL: Final = 5
MAX_FLUSH_INTERVAL: Final = 3600
MIN_PERIOD_SECONDS: Final = int(periods.MIN_FIXED_LENGTH.total_seconds())
MAX_PERIOD_SECONDS: Final = int(periods.MAX_FIXED_LENGTH.total_seconds())

STORAGE_VERSION: Final = 1
STORAGE_SLOTS: Final = ("a", "b")

EVENT_PERIOD_CLOSED: Final = f"{DOMAIN}_period_closed"
# Followed by sent, confirmed, failed or waiting.
EVENT_PAYMENT_PREFIX: Final = f"{DOMAIN}_payment_"

SERVICE_CLOSE_PERIOD: Final = "close_period"
SERVICE_GET_STATEMENTS: Final = "get_statements"
SERVICE_PAY: Final = "pay"
SERVICE_APPROVE_PAYMENT: Final = "approve_payment"
SERVICE_GET_PAYMENTS: Final = "get_payments"
ATTR_STATEMENT_IDS: Final = "statement_ids"
ATTR_PAYMENT_ID: Final = "payment_id"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_STATES: Final = "states"
ATTR_LIMIT: Final = "limit"

# Samples further apart than this are a gap: no energy is invented across it.
METER_MAX_GAP_S: Final = metering.DEFAULT_MAX_GAP_S
SAMPLER_STOP_TIMEOUT: Final = timedelta(seconds=5)
