"""Drive the demo Home Assistant of scripts/develop through its public APIs.

    python develop_ha.py prepare --config DIR
    python develop_ha.py up    --url URL --pid PID [--timeout S] [--rail R]
    python develop_ha.py check --url URL [--rail R]

``prepare`` readies a config folder before Home Assistant starts: the
integration linked in from this checkout, onboarding's steps other than the
owner account marked done.
``up`` waits until Home Assistant serves its frontend, creates the demo
account (onboarding's user step), logs in, and creates the demo meter
through the integration's real config flow unless an entry exists already;
then waits until the entry is loaded. ``check`` verifies the running demo:
the entry is loaded, the power sensor has a number, turning the
potentiometer changes the power, and a payment reaches the neighbour.
``--rail`` is ``legacy`` (devtangle, a PyOTA seed) or ``rebased``
(devrebased, an IOTA Rebased mnemonic); scripts/develop passes its own.

Runs with the demo venv's Python (it has aiohttp). Exit status 0 on success,
1 on a failed check or setup, 2 when Home Assistant went away.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from datetime import datetime
import json
import math
import os
from pathlib import Path
import sys
import time
from typing import Any

import aiohttp

DOMAIN = "iota_energy"

# The demo account: printed by scripts/develop. Only reachable from this
# machine (Home Assistant listens on loopback), where the trusted_networks
# provider logs in without a password anyway.
DEMO_NAME = "Demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"

# The demo's wallet and its neighbour: PUBLIC demo seeds (config/devtangle-
# genesis.json funds the wallet's index 0 with 1 000 000 i on devtangle).
# Never use them for anything of value.
DEMO_SEED = "DEVTANGLE9DEMO9SEED9PUBLIC9NEVER9USE9FOR9REAL9FUNDS".ljust(81, "9")
# Index 0 (security 2) of DEVTANGLE9DEMO9NEIGHBOUR9PUBLIC9NEVER9USE9FOR9REAL9FUNDS,
# with its checksum; config/configuration.yaml shows its balance.
NEIGHBOUR_ADDRESS = (
    "WTCUODRXLKXHADNICCUBSUIEPOUZRRDJGXFWGYVWRQ9KACTDPUAX9OEHMNJNGTQXC9CR9JQVNRVTMIZH9"
    "OWKAXSCZD"
)

# The demo's IOTA Rebased wallet and its neighbour: PUBLIC BIP-39 test
# vectors (all-zero and 0x7f entropy; config/devrebased-genesis.json funds the
# first with 10 IOTA on devrebased). Never use them for anything of value.
DEMO_MNEMONIC = " ".join(["abandon"] * 23 + ["art"])
# m/44'/4218'/0'/0'/0' of "legal winner thank year wave sausage worth useful"
# x3 ending in "title"; config/configuration.yaml shows its balance.
NEIGHBOUR_REBASED_ADDRESS = (
    "0x9812e3e455d8c915b41fdf80f2ddd274de17cf6ae7564d16360c9f08829b9ff9"
)
RAILS = ("legacy", "rebased")
# Each rail's neighbour balance sensor (config/configuration.yaml).
NEIGHBOUR_SENSORS = {
    "legacy": "sensor.neighbour_balance",
    "rebased": "sensor.neighbour_balance_rebased",
}

# The demo meter: the virtual INA219 with the tutorial's circuit, billed
# every 60 s at the tutorial's price (0.2 i per mW*s).
METER_NAME = "IOTA Energy"
METER_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("user", {"name": METER_NAME, "source": "virtual"}),
    ("virtual", {"address": "0x40"}),
    (
        "billing",
        {
            "period": "fixed",
            "period_seconds": 60,
            "price": "720000000",
            "min_payment": 1,
        },
    ),
)
FLOW_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    *METER_STEPS,
    # A menu: pay the neighbour in IOTA (not "meter and bill only").
    ("payments", {"next_step_id": "node"}),
    ("node", {"node_url": "", "min_weight_magnitude": 9, "pow_mode": "auto"}),
    ("wallet", {"seed": DEMO_SEED, "generate_seed": False}),
    (
        "receiver",
        {
            "receiver": NEIGHBOUR_ADDRESS,
            "tag": "HOTELIOTA",
            "auto_pay": True,
            "max_payment_iota": 0,
            "max_daily_iota": 0,
        },
    ),
)
# The same meter paying on IOTA Rebased: devrebased's URL is filled in as the
# custom network's GraphQL service; the gas cap is the flow's default.
REBASED_FLOW_STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    *METER_STEPS,
    ("payments", {"next_step_id": "rebased"}),
    (
        "rebased",
        {
            "network": "custom",
            "graphql_url": "",
            "mnemonic": DEMO_MNEMONIC,
            "key_path": "",
            "max_gas_budget": 50_000_000,
        },
    ),
    (
        "rebased_receiver",
        {
            "receiver": NEIGHBOUR_REBASED_ADDRESS,
            "auto_pay": True,
            "max_payment_iota": 0,
            "max_daily_iota": 0,
        },
    ),
)
# Options changed after the entry is created: sensors update every 2 s so the
# dashboard follows the potentiometer at once (the default is 10 s).
DEMO_OPTIONS = {"publish_interval": 2}

# Display units for the tutorial's milliwatt circuit (entity settings a user
# could change on the entity's page): entity key -> sensor options.
DEMO_UNITS: dict[str, dict[str, Any]] = {
    "power": {"unit_of_measurement": "mW", "display_precision": 2},
    "current": {"unit_of_measurement": "mA", "display_precision": 2},
    "energy": {"unit_of_measurement": "Wh", "display_precision": 4},
    "period_energy": {"unit_of_measurement": "mWh", "display_precision": 3},
}

# A payment confirms within this many seconds of its period's close.
PAYMENT_LIMIT_S = 120

# Config entry states that will not turn into "loaded" by waiting.
FAILED_STATES = {"setup_error", "migration_error", "failed_unload"}


class DevelopError(Exception):
    """A step failed; the message says which and why."""


class HomeAssistantGoneError(DevelopError):
    """The Home Assistant process exited."""


def say(message: str) -> None:
    print(f"[develop] {message}", file=sys.stderr, flush=True)


def process_alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Client:
    """A small REST and websocket client for one Home Assistant."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.token: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> Any:
        async with self.session.request(
            method,
            f"{self.url}{path}",
            json=json_body,
            data=form,
            headers=self._headers(),
        ) as response:
            text = await response.text()
            if response.status not in expect:
                raise DevelopError(
                    f"{method} {path} answered HTTP {response.status}: {text[:500]}"
                )
            if not text:
                return None
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text

    async def status(self, path: str) -> int:
        async with self.session.get(f"{self.url}{path}") as response:
            await response.read()
            return response.status

    # --- authentication -------------------------------------------------

    async def _login_flow(self, handler: str, answer: dict[str, Any] | None) -> str:
        """Run one login flow; return the authorization code."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": self.client_id,
                "handler": [handler, None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        for _ in range(3):
            if flow.get("type") == "create_entry":
                return str(flow["result"])
            if flow.get("type") != "form":
                raise DevelopError(f"login with {handler} ended with {flow}")
            if flow.get("errors"):
                raise DevelopError(f"login with {handler} refused: {flow['errors']}")
            body: dict[str, Any] = {"client_id": self.client_id}
            if answer is not None:
                body |= answer
            else:
                # trusted_networks with several users: pick the demo user.
                users = _select_options(flow, "user")
                if not users:
                    raise DevelopError(f"trusted_networks login asks for {flow}")
                body["user"] = next(
                    (uid for uid, name in users.items() if name == DEMO_NAME),
                    next(iter(users)),
                )
            flow = await self.request(
                "POST", f"/auth/login_flow/{flow['flow_id']}", json_body=body
            )
        raise DevelopError(f"login with {handler} did not finish: {flow}")

    async def log_in(self) -> None:
        """Get an access token: trusted network first, then the demo account."""
        errors = []
        for handler, answer in (
            ("trusted_networks", None),
            ("homeassistant", {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}),
        ):
            try:
                code = await self._login_flow(handler, answer)
            except DevelopError as err:
                errors.append(str(err))
                continue
            tokens = await self.request(
                "POST",
                "/auth/token",
                form={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": self.client_id,
                },
            )
            self.token = tokens["access_token"]
            return
        raise DevelopError("cannot log in: " + " / ".join(errors))

    # --- websocket --------------------------------------------------------

    async def websocket(self, command: dict[str, Any]) -> Any:
        """Send one websocket command and return its result."""
        ws_url = self.url.replace("http", "ws", 1) + "/api/websocket"
        async with self.session.ws_connect(ws_url) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            reply = await ws.receive_json()
            if reply.get("type") != "auth_ok":
                raise DevelopError(f"websocket authentication failed: {reply}")
            await ws.send_json({"id": 1, **command})
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == 1 and reply.get("type") == "result":
                    break
        if not reply.get("success"):
            raise DevelopError(
                f"websocket {command['type']} failed: {reply.get('error')}"
            )
        return reply["result"]


def _select_options(form: Mapping[str, Any], field: str) -> dict[str, str]:
    for item in form.get("data_schema") or []:
        if item.get("name") == field:
            options = item.get("options") or []
            if isinstance(options, dict):
                return {str(k): str(v) for k, v in options.items()}
            return {str(k): str(v) for k, v in options}
    return {}


# --- prepare --------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]

# Onboarding's steps other than the owner account, marked done beforehand:
# the location, units and language come from configuration.yaml, analytics
# stay off, and onboarding does not set up its sample integrations (weather,
# radio, ...), which need the internet.
ONBOARDING = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config", "analytics", "integration"]},
}


def prepare_config(config_dir: Path) -> None:
    """Link the integration from this checkout; skip onboarding's wizard.

    Raises DevelopError if config/custom_components is something else than
    a link (a user's own copy, never overwritten).
    """
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    link = config_dir / "custom_components"
    if link.exists() and not link.is_symlink():
        raise DevelopError(f"{link} exists and is not a link; move it away")
    target = os.path.relpath(REPO_ROOT / "custom_components", config_dir)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        temporary = onboarding.with_name("onboarding.tmp")
        temporary.write_text(json.dumps(ONBOARDING, indent=2) + "\n", "utf-8")
        temporary.replace(onboarding)


# --- up -----------------------------------------------------------------


async def wait_for_frontend(
    client: Client, pid: int | None, limit_s: float, path: str = "/"
) -> None:
    """Wait until GET ``path`` answers 200 (by default: the frontend is set up)."""
    started = time.monotonic()
    last_note = started
    last_status: str = "no answer"
    while True:
        if not process_alive(pid):
            raise HomeAssistantGoneError("Home Assistant exited while starting")
        try:
            status = await client.status(path)
        except (aiohttp.ClientError, OSError) as err:
            last_status = type(err).__name__
        else:
            if status == 200:
                return
            last_status = f"HTTP {status}"
        now = time.monotonic()
        if now - started > limit_s:
            raise DevelopError(
                f"Home Assistant did not serve {path} within {limit_s:.0f} s"
            )
        if now - last_note >= 30:
            last_note = now
            say(
                f"still waiting for Home Assistant ({now - started:.0f} s, "
                f"{last_status}); the first start installs the frontend"
            )
        await asyncio.sleep(1)


async def onboard(client: Client) -> None:
    """Create the demo owner if onboarding still asks for a user."""
    try:
        steps = await client.request("GET", "/api/onboarding")
    except DevelopError:
        return  # Onboarding finished earlier: its API is gone.
    user_done = any(s.get("step") == "user" and s.get("done") for s in steps)
    if user_done:
        return
    say(f"creating the demo account '{DEMO_USERNAME}'")
    await client.request(
        "POST",
        "/api/onboarding/users",
        json_body={
            "client_id": client.client_id,
            "name": DEMO_NAME,
            "username": DEMO_USERNAME,
            "password": DEMO_PASSWORD,
            "language": "en",
        },
    )


async def wait_running(client: Client, limit_s: float = 300) -> None:
    """Wait until Home Assistant has finished starting (state RUNNING)."""
    deadline = time.monotonic() + limit_s
    while True:
        config = await client.request("GET", "/api/config")
        if config.get("state") == "RUNNING":
            return
        if time.monotonic() > deadline:
            raise DevelopError(
                f"Home Assistant still {config.get('state')} after {limit_s} s"
            )
        await asyncio.sleep(1)


async def entries(client: Client) -> list[dict[str, Any]]:
    return list(
        await client.request("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    )


async def create_entry(
    client: Client,
    tangle_url: str,
    steps: tuple[tuple[str, dict[str, Any]], ...] = FLOW_STEPS,
    graphql_url: str = "",
) -> str:
    """Run the config flow as a user would; return the new entry's id."""
    result = await client.request(
        "POST",
        "/api/config/config_entries/flow",
        json_body={"handler": DOMAIN, "show_advanced_options": False},
    )
    for step_id, answer in steps:
        if (
            result.get("type") not in ("form", "menu")
            or result.get("step_id") != step_id
        ):
            raise DevelopError(
                f"config flow: expected the step '{step_id}', got {result}"
            )
        body = answer
        if step_id == "node":
            body = answer | {"node_url": tangle_url}
        elif step_id == "rebased":
            body = answer | {"graphql_url": graphql_url}
        result = await client.request(
            "POST",
            f"/api/config/config_entries/flow/{result['flow_id']}",
            json_body=body,
        )
        if result.get("errors"):
            # The errors are translation keys: never the mnemonic typed.
            raise DevelopError(
                f"config flow step '{step_id}' refused: {result['errors']}"
            )
    if result.get("type") != "create_entry":
        raise DevelopError(f"config flow did not create an entry: {result}")
    return str(result["result"]["entry_id"])


async def set_demo_options(
    client: Client, entry_id: str, options: Mapping[str, Any] = DEMO_OPTIONS
) -> None:
    """Run the options flow: keep every suggested value, change ``options``."""
    form = await client.request(
        "POST",
        "/api/config/config_entries/options/flow",
        json_body={"handler": entry_id, "show_advanced_options": False},
    )
    if form.get("type") != "form":
        raise DevelopError(f"options flow did not show a form: {form}")
    answer: dict[str, Any] = {}
    for item in form.get("data_schema") or []:
        suggested = (item.get("description") or {}).get("suggested_value")
        if suggested is not None:
            answer[item["name"]] = suggested
    answer |= options
    result = await client.request(
        "POST",
        f"/api/config/config_entries/options/flow/{form['flow_id']}",
        json_body=answer,
    )
    if result.get("type") != "create_entry":
        raise DevelopError(f"options flow did not finish: {result}")


async def set_demo_units(client: Client, entry_id: str) -> None:
    """Show the tutorial circuit's milliwatts in mW, mA and mWh."""
    registry = await client.websocket({"type": "config/entity_registry/list"})
    for entity in registry:
        if entity.get("config_entry_id") != entry_id:
            continue
        key = str(entity.get("unique_id", "")).removeprefix(f"{entry_id}_")
        options = DEMO_UNITS.get(key)
        if options is None or not entity["entity_id"].startswith("sensor."):
            continue
        await client.websocket(
            {
                "type": "config/entity_registry/update",
                "entity_id": entity["entity_id"],
                "options_domain": "sensor",
                "options": options,
            }
        )


async def wait_loaded(client: Client, entry_id: str, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        entry = next(
            (e for e in await entries(client) if e["entry_id"] == entry_id), None
        )
        if entry is None:
            raise DevelopError(f"config entry {entry_id} disappeared")
        state = entry.get("state")
        if state == "loaded":
            return
        reason = entry.get("reason")
        if state in FAILED_STATES or time.monotonic() > deadline:
            raise DevelopError(
                f"the {DOMAIN} entry is {state}"
                + (f": {reason}" if reason else "")
                + " (see config/home-assistant.log)"
            )
        await asyncio.sleep(1)


async def up(  # noqa: PLR0913 - the crash suite varies the demo
    client: Client,
    pid: int | None,
    limit_s: float,
    tangle_url: str,
    *,
    ready_path: str = "/",
    steps: tuple[tuple[str, dict[str, Any]], ...] = FLOW_STEPS,
    options: Mapping[str, Any] = DEMO_OPTIONS,
    units: bool = True,
    graphql_url: str = "",
) -> str:
    """Bring the demo up (see the module docstring); return the entry's id.

    The crash suite (benchmarks/crash) runs a leaner Home Assistant without
    the frontend: it waits for another ``ready_path``, creates its entry
    with its own ``steps`` and ``options`` and sets no display ``units``.
    """
    started = time.monotonic()
    await wait_for_frontend(client, pid, limit_s, ready_path)
    say(f"Home Assistant serves {ready_path} ({time.monotonic() - started:.0f} s)")
    await onboard(client)
    await client.log_in()
    await wait_running(client)
    existing = await entries(client)
    if existing:
        entry_id = existing[0]["entry_id"]
        say(f"the demo meter exists already (entry {entry_id})")
    else:
        say("creating the demo meter through the config flow")
        entry_id = await create_entry(client, tangle_url, steps, graphql_url)
        await wait_loaded(client, entry_id)
        await set_demo_options(client, entry_id, options)
        await asyncio.sleep(2)  # the options reload the entry
        await wait_loaded(client, entry_id)
        if units:
            await set_demo_units(client, entry_id)
    await wait_loaded(client, entry_id)
    say(
        f"the {DOMAIN} entry is loaded ({time.monotonic() - started:.0f} s after start)"
    )
    return entry_id


# --- check --------------------------------------------------------------


async def entity_ids(client: Client, entry_id: str) -> tuple[str, str]:
    """The entry's power sensor and potentiometer, from the entity registry."""
    registry = await client.websocket({"type": "config/entity_registry/list"})
    mine = [e["entity_id"] for e in registry if e.get("config_entry_id") == entry_id]
    power = next(
        (e for e in mine if e.startswith("sensor.") and e.endswith("_power")), None
    )
    knob = next(
        (e for e in mine if e.startswith("number.") and e.endswith("_potentiometer")),
        None,
    )
    if power is None or knob is None:
        raise DevelopError(
            f"no power sensor or potentiometer among the entry's entities {mine}"
        )
    return power, knob


async def numeric_state(client: Client, entity_id: str) -> float | None:
    state = await client.request("GET", f"/api/states/{entity_id}")
    try:
        value = float(state["state"])
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


async def settled_power(client: Client, entity_id: str, limit_s: float = 45) -> float:
    """The power once two readings 3 s apart agree (within 1 %).

    The demo publishes every 2 s, and Home Assistant keeps a state's
    last_updated when the value repeats, so readings are compared by value.
    """
    deadline = time.monotonic() + limit_s
    previous: float | None = None
    seen: list[float | None] = []
    while time.monotonic() < deadline:
        current = await numeric_state(client, entity_id)
        seen.append(current)
        if (
            current is not None
            and previous is not None
            and math.isclose(current, previous, rel_tol=0.01, abs_tol=1e-9)
        ):
            return current
        previous = current
        await asyncio.sleep(3)
    raise DevelopError(
        f"{entity_id} did not settle within {limit_s:.0f} s (saw {seen})"
    )


async def set_knob(client: Client, entity_id: str, percent: float) -> None:
    await client.request(
        "POST",
        "/api/services/number/set_value",
        json_body={"entity_id": entity_id, "value": percent},
    )


async def check(client: Client, rail: str = "legacy") -> None:
    for path in ("/", "/iota-energy/meter"):
        status = await client.status(path)
        if status != 200:
            raise DevelopError(f"GET {path} answered HTTP {status}")
        say(f"GET {path}: HTTP 200")
    await client.log_in()
    found = await entries(client)
    if len(found) != 1:
        raise DevelopError(f"expected one {DOMAIN} entry, found {len(found)}")
    entry = found[0]
    if entry.get("state") != "loaded":
        raise DevelopError(
            f"the {DOMAIN} entry is {entry.get('state')}: {entry.get('reason')}"
        )
    say(f"entry '{entry['title']}' ({entry['entry_id']}): loaded")
    power, knob = await entity_ids(client, entry["entry_id"])
    original = float((await client.request("GET", f"/api/states/{knob}"))["state"])
    readings = {}
    try:
        for percent in (10.0, 90.0):
            await set_knob(client, knob, percent)
            # Let the samples of the old position leave the published average.
            await asyncio.sleep(1.5)
            readings[percent] = await settled_power(client, power)
            unit = (await client.request("GET", f"/api/states/{power}"))[
                "attributes"
            ].get("unit_of_measurement")
            say(f"{knob} = {percent:.0f} %: {power} = {readings[percent]} {unit}")
    finally:
        await set_knob(client, knob, original)
    low, high = readings[10.0], readings[90.0]
    if math.isclose(low, high, rel_tol=0.05):
        raise DevelopError(
            f"the power did not follow the potentiometer ({low} vs {high})"
        )
    say(
        f"the power follows the potentiometer ({low} -> {high}); "
        f"the knob is back at {original:.0f} %"
    )
    await check_payment(client, entry["entry_id"], rail)


async def call_for_response(
    client: Client, service: str, data: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.request(
        "POST",
        f"/api/services/{DOMAIN}/{service}?return_response",
        json_body=data,
    )
    response: dict[str, Any] = answer["service_response"]
    return response


async def check_payment(
    client: Client, entry_id: str, rail: str = "legacy", limit_s: float = 200
) -> None:
    """A payment confirms within PAYMENT_LIMIT_S of its period's close, and
    the neighbour's balance (asked of the rail's node) holds at least it."""
    deadline = time.monotonic() + limit_s
    before = await call_for_response(
        client, "get_payments", {"config_entry_id": entry_id}
    )
    known = {p["payment_id"] for p in before["payments"] if p["status"] == "confirmed"}
    while True:
        payments = (
            await call_for_response(
                client, "get_payments", {"config_entry_id": entry_id}
            )
        )["payments"]
        fresh = [
            p
            for p in payments
            if p["status"] == "confirmed" and p["payment_id"] not in known
        ]
        if fresh:
            break
        if time.monotonic() > deadline:
            raise DevelopError(
                f"no payment confirmed within {limit_s:.0f} s "
                f"(payments: {payments[-3:]})"
            )
        await asyncio.sleep(2)
    payment = fresh[-1]
    statements = (
        await call_for_response(client, "get_statements", {"config_entry_id": entry_id})
    )["statements"]
    closed = max(
        datetime.fromisoformat(s["closed_at"])
        for s in statements
        if s["id"] in payment["statement_ids"]
    )
    delay = (datetime.fromisoformat(payment["confirmed_at"]) - closed).total_seconds()
    unit = payment.get("amount_unit", "i")
    transfer = str(payment.get("transfer_id") or payment.get("bundle_hash"))
    fee = payment.get("fee")
    say(
        f"payment {payment['payment_id']} of {payment['amount_iota']} {unit} "
        f"confirmed {delay:.0f} s after its period closed "
        f"(transfer {transfer[:12]}...)"
        + (f", gas {fee} {payment.get('fee_unit')}" if fee is not None else "")
    )
    if delay > PAYMENT_LIMIT_S:
        raise DevelopError(
            f"the payment took {delay:.0f} s (limit {PAYMENT_LIMIT_S} s)"
        )
    sensor = NEIGHBOUR_SENSORS[rail]
    neighbour = await numeric_state(client, sensor)
    for _ in range(10):  # the REST sensor asks the node every 5 s
        if neighbour is not None and neighbour >= payment["amount_iota"]:
            break
        await asyncio.sleep(1)
        neighbour = await numeric_state(client, sensor)
    if neighbour is None or neighbour < payment["amount_iota"]:
        raise DevelopError(f"the neighbour's balance ({sensor}) shows {neighbour}")
    say(f"the neighbour's balance ({sensor}) shows {neighbour:.0f} {unit}")


# --- main ---------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    if args.command == "prepare":
        try:
            prepare_config(Path(args.config))
        except (DevelopError, OSError) as err:
            say(f"error: {err}")
            return 1
        return 0
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = Client(session, args.url)
        try:
            if args.command == "up":
                steps = REBASED_FLOW_STEPS if args.rail == "rebased" else FLOW_STEPS
                await up(
                    client,
                    args.pid,
                    args.timeout,
                    args.tangle,
                    steps=steps,
                    graphql_url=args.graphql,
                )
            else:
                await check(client, args.rail)
        except HomeAssistantGoneError as err:
            say(f"error: {err}")
            return 2
        except (DevelopError, aiohttp.ClientError, OSError, TimeoutError) as err:
            say(f"error: {err or type(err).__name__}")
            return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("prepare", "up", "check"))
    parser.add_argument("--config", help="the config folder (prepare)")
    parser.add_argument("--url", help="Home Assistant's URL (up, check)")
    parser.add_argument("--pid", type=int, help="Home Assistant's pid (up)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds (up)")
    parser.add_argument(
        "--tangle",
        default="http://127.0.0.1:14265/",
        help="devtangle's URL, the demo wallet's node (up, legacy rail)",
    )
    parser.add_argument(
        "--rail", choices=RAILS, default="legacy", help="the rail the demo pays on"
    )
    parser.add_argument(
        "--graphql",
        default="http://127.0.0.1:9125/graphql",
        help="devrebased's GraphQL URL (up, rebased rail)",
    )
    args = parser.parse_args()
    if args.command == "prepare" and not args.config:
        parser.error("prepare needs --config")
    if args.command != "prepare" and not args.url:
        parser.error(f"{args.command} needs --url")
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
