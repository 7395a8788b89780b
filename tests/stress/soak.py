"""The soak: the whole integration for days of Home Assistant time.

One leg sets up a real config entry in Home Assistant's test harness: the
real sampler thread reads the real pi-ina219 driver over the register-level
virtual INA219, which replays a load profile; the coordinator publishes and
closes periods; the payment shell signs in its worker process with real
PyOTA and pays into a devtangle node over HTTP. Only *time* is simulated:
sampler, chip, circuit, coordinator and ``dt_util.utcnow`` share one stepped
clock the soak moves (``tests/integration/stepped_clock.py``), and every
Home Assistant timer is fired after each step, as if the step had passed.

What a leg counts, from outside the integration where it can:

* energy: the meter's total against the load profile's exact integral
  between the first and the last reading (no gaps are injected here);
* statements: from the ``iota_energy_period_closed`` events (one per period,
  contiguous, ids unique), their exact owed amounts and the carried fraction;
* payments: the ``iota_energy_payment_confirmed`` events and the receiver's
  balance on the node (IOTA owed minus IOTA paid must be exactly the last
  statement's carried fraction);
* memory: the process's resident set each simulated hour, and apart from it
  the bytes reachable from the integration's runtime data and from
  devtangle's store (a walk, ``soak_memory.retained_bytes``); with
  ``IOTA_ENERGY_SOAK_TRACEMALLOC`` set, also who allocated what
  (``soak_memory.AllocationTracker``; slow);
* storage: bytes Home Assistant's store wrote for the integration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
import gc
import itertools
import logging
import os
from pathlib import Path
import resource
import time
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.entity_platform import EntityPlatform
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.iota_energy import setup_entry as setup_entry_module
from custom_components.iota_energy.const import (
    CONF_AUTO_PAY,
    CONF_LOAD_PROFILE,
    CONF_MWM,
    CONF_NODE_URL,
    CONF_PERIOD,
    CONF_PERIOD_SECONDS,
    CONF_RECEIVER,
    CONF_SAMPLE_RATE,
    CONF_SEED,
    CONF_STATEMENT_RETENTION,
    CONF_TAG,
    DOMAIN,
    EVENT_PAYMENT_PREFIX,
    EVENT_PERIOD_CLOSED,
)
from custom_components.iota_energy.core.circuit import ProfileCircuit
from custom_components.iota_energy.core.ina219_model import VirtualIna219
from custom_components.iota_energy.core.legacy_node import LegacyNode
from custom_components.iota_energy.core.load_profiles import LoadProfile
from custom_components.iota_energy.core.numbers import parse_fraction
from custom_components.iota_energy.core.payments import PaymentStatus
from custom_components.iota_energy.core.power_source import PowerSource
from custom_components.iota_energy.core.sampler import Sample, Sampler
from custom_components.iota_energy.payment_manager import OUTBOX
from devtangle.server import DevTangle
from tests.integration.stepped_clock import SteppedClock

from .soak_memory import AllocationTracker, retained_bytes

NS = 1_000_000_000
# The demo's load: a small household's day compressed to ten minutes.
PROFILE = Path(__file__).resolve().parents[2] / "config" / "load-profiles"
PROFILE_FILE = "household-day.csv"
OPEN = frozenset({PaymentStatus.CONFIRMED, PaymentStatus.FAILED})
_LOGGER = logging.getLogger(__name__)
# A folder ("1": the working directory): trace allocations and write each
# leg's owners and top growing sites there (slow: about twice the wall time).
TRACEMALLOC = os.environ.get("IOTA_ENERGY_SOAK_TRACEMALLOC")


@dataclass(frozen=True, slots=True)
class SoakLeg:
    """One run: how long, how fast, which periods, how big a clock step."""

    name: str
    simulated_s: int
    rate_hz: float
    # None: hourly (calendar) periods; else fixed periods of this length.
    period_s: int | None
    step_s: int

    @property
    def slug(self) -> str:
        """The leg as a test id: ``<seconds>s-<rate>hz-<period>``."""
        period = "hourly" if self.period_s is None else f"{self.period_s}s"
        return f"{self.simulated_s}s-{self.rate_hz:g}hz-{period}"


def legs(full: bool, scale: float = 1.0) -> list[SoakLeg]:
    """The issue's two soaks (``scale`` shortens both), or the short versions."""
    if full:
        week = max(2 * 3600, round(7 * 86_400 * scale / 3600) * 3600)
        day = max(300, round(86_400 * scale / 60) * 60)
        return [
            SoakLeg(
                f"{week / 86_400:g} days, 10 Hz, hourly periods", week, 10.0, None, 60
            ),
            SoakLeg(f"{day / 3600:g} h, 10 Hz, 60 s periods", day, 10.0, 60, 5),
        ]
    return [
        SoakLeg("62 min, 10 Hz, hourly periods", 62 * 60, 10.0, None, 60),
        SoakLeg("4 min, 10 Hz, 60 s periods", 240, 10.0, 60, 5),
    ]


@dataclass
class SoakFigures:
    """What one leg measured (JSON-able through ``to_dict``)."""

    leg: str
    simulated_s: int
    rate_hz: float
    samples: int = 0
    failed_reads: int = 0
    metered_j: Fraction = Fraction(0)
    exact_j: Fraction = Fraction(0)
    statements: int = 0
    expected_statements: int = 0
    duplicate_ids: int = 0
    discontinuities: int = 0
    owed_iota: Fraction = Fraction(0)
    due_iota: int = 0
    carried_iota: Fraction = Fraction(0)
    payments_confirmed: int = 0
    payments_failed: int = 0
    paid_iota: int = 0
    receiver_balance: int = 0
    statements_paid_twice: int = 0
    statements_unpaid: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_max_mb: float = 0.0
    memory_series: list[tuple[float, float]] = field(default_factory=list)
    # KiB reachable from the integration's runtime data (of which: the
    # ledger's, the outbox's stored payments) and from devtangle's store, with
    # the simulated hour: after setup, each simulated hour and at the end.
    retained_series: list[dict[str, float]] = field(default_factory=list)
    # Traced (IOTA_ENERGY_SOAK_TRACEMALLOC): the integration's own bytes.
    traced: dict[str, float] = field(default_factory=dict)
    memory_report: str = ""
    storage_writes: int = 0
    storage_bytes: int = 0
    # Of those, the payment outbox's document (rewritten at each payment step).
    outbox_writes: int = 0
    outbox_bytes: int = 0
    outbox_max_bytes: int = 0
    wall_s: float = 0.0

    @property
    def energy_error(self) -> float:
        if not self.exact_j:
            return 0.0
        return float((self.metered_j - self.exact_j) / self.exact_j)

    @property
    def unaccounted_iota(self) -> Fraction:
        """Owed minus paid minus the carried fraction: zero when nothing is lost."""
        return self.owed_iota - self.receiver_balance - self.carried_iota

    def to_dict(self) -> dict[str, Any]:
        return {
            "leg": self.leg,
            "simulated_s": self.simulated_s,
            "rate_hz": self.rate_hz,
            "samples": self.samples,
            "failed_reads": self.failed_reads,
            "metered_j": float(self.metered_j),
            "exact_j": float(self.exact_j),
            "energy_error": self.energy_error,
            "statements": self.statements,
            "expected_statements": self.expected_statements,
            "duplicate_ids": self.duplicate_ids,
            "discontinuities": self.discontinuities,
            "owed_iota": str(self.owed_iota),
            "due_iota": self.due_iota,
            "carried_iota": str(self.carried_iota),
            "payments_confirmed": self.payments_confirmed,
            "payments_failed": self.payments_failed,
            "paid_iota": self.paid_iota,
            "receiver_balance": self.receiver_balance,
            "unaccounted_iota": str(self.unaccounted_iota),
            "statements_paid_twice": self.statements_paid_twice,
            "statements_unpaid": self.statements_unpaid,
            "rss_start_mb": round(self.rss_start_mb, 1),
            "rss_end_mb": round(self.rss_end_mb, 1),
            "rss_max_mb": round(self.rss_max_mb, 1),
            "memory_series": [
                [round(hours, 3), round(mb, 1)] for hours, mb in self.memory_series
            ],
            "retained_series": [
                {key: round(value, 3) for key, value in mark.items()}
                for mark in self.retained_series
            ],
            **self.traced,
            "storage_writes": self.storage_writes,
            "storage_bytes": self.storage_bytes,
            "outbox_writes": self.outbox_writes,
            "outbox_bytes": self.outbox_bytes,
            "outbox_max_bytes": self.outbox_max_bytes,
            "wall_s": round(self.wall_s, 1),
        }


def rss_mb() -> float:
    """The process's resident set now (Linux), in MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class _Readings:
    """Counts the sampler's readings and keeps the first and last stamp."""

    def __init__(self) -> None:
        self.good = 0
        self.failed = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.widest_gap_ns = 0

    def wrap(self, on_sample: Callable[[Sample], None]) -> Callable[[Sample], None]:
        def counted(sample: Sample) -> None:
            if sample.reading is None:
                self.failed += 1
            else:
                self.good += 1
                if self.first_ns is None:
                    self.first_ns = sample.monotonic_ns
                if self.last_ns is not None:
                    gap = sample.monotonic_ns - self.last_ns
                    self.widest_gap_ns = max(self.widest_gap_ns, gap)
                self.last_ns = sample.monotonic_ns
            on_sample(sample)

        return counted


@contextlib.contextmanager
def soak_clock(clock: SteppedClock, readings: _Readings) -> Iterator[None]:
    """Sampler, chip and circuit on the stepped clock; readings counted."""

    def sampler(
        source: PowerSource,
        rate_hz: float,
        on_sample: Callable[[Sample], None],
        *,
        logger: logging.Logger,
    ) -> Sampler:
        return Sampler(
            source,
            rate_hz,
            readings.wrap(on_sample),
            logger=logger,
            clock_ns=clock.monotonic_ns,
            wall_clock=clock.wall,
            sleep=clock.sleep,
        )

    def seconds() -> float:
        return clock.monotonic_ns() / NS

    def circuit(profile: LoadProfile) -> ProfileCircuit:
        return ProfileCircuit(profile, clock=seconds)

    def chip(circuit: Any, **kwargs: Any) -> VirtualIna219:
        return VirtualIna219(circuit, clock_ns=clock.monotonic_ns, **kwargs)

    with (
        patch.object(setup_entry_module, "Sampler", sampler),
        patch.object(setup_entry_module, "ProfileCircuit", circuit),
        patch.object(setup_entry_module, "VirtualIna219", chip),
    ):
        yield


@contextlib.contextmanager
def storage_meter(figures: SoakFigures) -> Iterator[None]:
    """Counts the integration's store writes and the bytes they left on disk.

    Wraps ``Store._async_write_data``, whose arguments changed between the
    tested Home Assistant releases (the path was dropped); ``Store.path`` is
    on every one.
    """
    real = Store._async_write_data

    async def write(self: Store[Any], *args: Any, **kwargs: Any) -> None:
        await real(self, *args, **kwargs)
        if self.key.startswith(f"{DOMAIN}."):
            size = await self.hass.async_add_executor_job(os.path.getsize, self.path)
            figures.storage_writes += 1
            figures.storage_bytes += size
            if f".{OUTBOX}." in self.key:
                figures.outbox_writes += 1
                figures.outbox_bytes += size
                figures.outbox_max_bytes = max(figures.outbox_max_bytes, size)

    with patch.object(Store, "_async_write_data", write):
        yield


def soak_entry(
    leg: SoakLeg,
    *,
    entry_data: dict[str, Any],
    entry_options: dict[str, Any],
    tangle: DevTangle,
    seed: str,
    receiver: str,
    mwm: int,
) -> MockConfigEntry:
    period: dict[str, Any] = (
        {CONF_PERIOD: "hourly"}
        if leg.period_s is None
        else {CONF_PERIOD: "fixed", CONF_PERIOD_SECONDS: leg.period_s}
    )
    return MockConfigEntry(
        domain=DOMAIN,
        title="Soak",
        data=entry_data
        | period
        | {
            CONF_LOAD_PROFILE: PROFILE_FILE,
            CONF_NODE_URL: tangle.url,
            CONF_SEED: seed,
            CONF_RECEIVER: receiver,
            CONF_MWM: mwm,
        },
        options=entry_options
        | {
            CONF_SAMPLE_RATE: leg.rate_hz,
            CONF_AUTO_PAY: True,
            CONF_TAG: "SOAK",
            # Every statement of the leg stays listed (none is trimmed).
            CONF_STATEMENT_RETENTION: 5000,
        },
        unique_id="virtual-1-0x40",
        version=1,
        minor_version=1,
    )


class _Events:
    """The integration's statement and payment events, as a user would see them."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.statements: list[dict[str, Any]] = []
        self.confirmed: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []

        @callback
        def closed(event: Event) -> None:
            self.statements.append(dict(event.data))

        @callback
        def confirmed(event: Event) -> None:
            self.confirmed.append(dict(event.data))

        @callback
        def failed(event: Event) -> None:
            self.failed.append(dict(event.data))

        self._unsubs = [
            hass.bus.async_listen(EVENT_PERIOD_CLOSED, closed),
            hass.bus.async_listen(f"{EVENT_PAYMENT_PREFIX}confirmed", confirmed),
            hass.bus.async_listen(f"{EVENT_PAYMENT_PREFIX}failed", failed),
        ]

    def stop(self) -> None:
        for unsub in self._unsubs:
            unsub()


async def _step(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    clock: SteppedClock,
    tangle: DevTangle,
    seconds: float,
) -> None:
    """``seconds`` of Home Assistant time: samples, timers, a milestone."""
    await clock.advance(seconds, limit_s=600)
    await entry.runtime_data.coordinator.async_refresh()
    tangle.node.issue_milestone()
    # Every timer due by now (publish, period boundary, payment follow-up).
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()


def _open_payments(entry: MockConfigEntry) -> int:
    payments = entry.runtime_data.payments
    return sum(1 for p in payments.payments() if p.status not in OPEN)


async def run_leg(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    clock: SteppedClock,
    tangle: DevTangle,
    leg: SoakLeg,
    *,
    receiver_address: str,
    figures: SoakFigures,
) -> SoakFigures:
    """Run ``leg`` on the entry (set up here) and fill ``figures``."""
    began = time.monotonic()
    readings = _Readings()
    gc.collect()
    tracker = AllocationTracker() if TRACEMALLOC else None
    # Marks of the tracker: hourly, or every ten periods of a fixed length.
    mark_s = 3600 if leg.period_s is None else 10 * leg.period_s
    with (
        soak_clock(clock, readings),
        storage_meter(figures),
        _tracing(tracker),
    ):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        events = _Events(hass)
        await clock.wait_idle()
        figures.rss_start_mb = rss_mb()
        start_wall = clock.wall()
        _census(figures, 0.0, entry, tangle)
        _mark(tracker, 0.0)
        elapsed = 0
        while elapsed < leg.simulated_s:
            await _step(hass, entry, clock, tangle, leg.step_s)
            elapsed += leg.step_s
            if elapsed % 3600 == 0:
                _hourly(figures, (clock.wall() - start_wall) / 3600, entry, tangle)
            if elapsed % mark_s == 0:
                _mark(tracker, (clock.wall() - start_wall) / 3600)
        # Readings past the last boundary close its period for sure.
        await _step(hass, entry, clock, tangle, 2)
        # The last period's payment: time goes on until nothing is open.
        for _ in range(120):
            if not _open_payments(entry):
                break
            await _step(hass, entry, clock, tangle, 5)
        gc.collect()
        figures.rss_end_mb = rss_mb()
        _census(figures, (clock.wall() - start_wall) / 3600, entry, tangle)
        _mark(tracker, (clock.wall() - start_wall) / 3600, figures)
        meter = entry.runtime_data.coordinator.state.meter.snapshot()
        figures.metered_j = meter.energy_j
        circuit = entry.runtime_data.circuit
        assert isinstance(circuit, ProfileCircuit)
        figures.exact_j = _exact_energy(circuit, clock, readings)
        end_wall = clock.wall()
        events.stop()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    figures.samples = readings.good + readings.failed
    figures.failed_reads = readings.failed
    _count_statements(figures, events, leg, start_wall, end_wall)
    _count_payments(figures, events)
    figures.receiver_balance = LegacyNode(tangle.url).balances([receiver_address])[0]
    figures.rss_max_mb = max(
        [figures.rss_start_mb, figures.rss_end_mb]
        + [mb for _, mb in figures.memory_series]
    )
    figures.wall_s = time.monotonic() - began
    _LOGGER.info("soak leg %s: %s", leg.name, figures.to_dict())
    return figures


# Where the walk from the integration's runtime data stops: Home Assistant's
# core and entries, and the entity platforms (shared by every integration).
_NOT_OURS = (HomeAssistant, ConfigEntry, EntityPlatform)


def _hourly(
    figures: SoakFigures, hours: float, entry: MockConfigEntry, tangle: DevTangle
) -> None:
    gc.collect()
    figures.memory_series.append((hours, rss_mb()))
    _census(figures, hours, entry, tangle)


def _census(
    figures: SoakFigures, hours: float, entry: MockConfigEntry, tangle: DevTangle
) -> None:
    """KiB the integration and devtangle keep now (a walk, no tracing)."""
    runtime = entry.runtime_data
    assert runtime.payments is not None
    roots = {
        "integration": runtime,
        "ledger": runtime.coordinator.state.ledger,
        "outbox": runtime.payments.outbox.state,
        "devtangle": tangle.store,
    }
    figures.retained_series.append(
        {"hours": hours}
        | {
            name: retained_bytes(root, shared=_NOT_OURS) / 1024
            for name, root in roots.items()
        }
    )


def _mark(
    tracker: AllocationTracker | None,
    hours: float,
    last: SoakFigures | None = None,
) -> None:
    """A tracker's mark; at the ``last`` one, its figures and report."""
    if tracker is None:
        return
    tracker.mark(hours)
    if last is not None:
        last.traced = tracker.figures()
        last.memory_report = tracker.report(last.leg)


@contextlib.contextmanager
def _tracing(tracker: AllocationTracker | None) -> Iterator[None]:
    if tracker is None:
        yield
        return
    tracker.start()
    try:
        yield
    finally:
        tracker.stop()


def _exact_energy(
    circuit: ProfileCircuit, clock: SteppedClock, readings: _Readings
) -> Fraction:
    """The profile's exact energy between the first and the last reading."""
    assert readings.first_ns is not None
    assert readings.last_ns is not None
    # The profile's time is the circuit's clock minus its start (both stepped).
    start_s = Fraction(clock.monotonic_ns() / NS) - Fraction(circuit.elapsed_s())
    return circuit.profile.exact_energy_j(
        Fraction(readings.first_ns, NS) - start_s,
        Fraction(readings.last_ns, NS) - start_s,
    )


def _count_statements(
    figures: SoakFigures,
    events: _Events,
    leg: SoakLeg,
    start_wall: float,
    end_wall: float,
) -> None:
    statements = events.statements
    figures.statements = len(statements)
    figures.duplicate_ids = len(statements) - len({s["id"] for s in statements})
    figures.discontinuities = sum(
        1
        for before, after in itertools.pairwise(statements)
        if before["period_end"] != after["period_start"]
    )
    figures.owed_iota = sum(
        (parse_fraction(s["owed_iota_exact"]) for s in statements), Fraction(0)
    )
    figures.due_iota = sum(int(s["due_iota"]) for s in statements)
    figures.carried_iota = (
        parse_fraction(statements[-1]["carried_out_iota_exact"])
        if statements
        else Fraction(0)
    )
    # Periods are whole multiples of their length (UTC hours; fixed lengths
    # from the Unix epoch): one statement per boundary crossed.
    length = 3600 if leg.period_s is None else leg.period_s
    figures.expected_statements = int((end_wall - 2) // length - start_wall // length)


def _count_payments(figures: SoakFigures, events: _Events) -> None:
    figures.payments_confirmed = len(events.confirmed)
    figures.payments_failed = len(events.failed)
    figures.paid_iota = sum(int(p["amount_iota"]) for p in events.confirmed)
    paid_ids: list[str] = [
        statement_id for p in events.confirmed for statement_id in p["statement_ids"]
    ]
    figures.statements_paid_twice = len(paid_ids) - len(set(paid_ids))
    due = {s["id"] for s in events.statements if int(s["due_iota"]) > 0}
    figures.statements_unpaid = len(due - set(paid_ids))
