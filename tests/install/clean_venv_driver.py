"""Run inside a clean virtualenv that holds only ``homeassistant``.

Not a test module: ``test_install.py`` runs it with the clean venv's python,
from the repository root, with ``CC=false CXX=false`` in its environment.

Step ``install``: what Home Assistant does when a user adds the integration
(its own requirements manager installs the manifest's ``requirements``),
then what the integration does at setup (``libraries.async_ensure_libraries``).
Step ``use``: import PyOTA and pi-ina219 through ``core.thirdparty`` and use
them: derive an address, build and sign a bundle offline, validate it, and
read a simulated INA219. Step ``use-rebased``: through the core's Rebased
wallet on the iota-sdk the manifest brought, derive the address of a
mnemonic, then build, sign and check a transfer offline (no client is made,
so nothing touches a network). Step ``sdk-state``: what the core's SDK check
says. Each prints one JSON object. Never prints the seed or the mnemonic
(read from standard input).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
import importlib.util
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / "custom_components" / "iota_energy" / "manifest.json"
SDK_DISTRIBUTION = "iota-sdk"
REBASED_RECEIVER = "0x" + "ab" * 32


def _absent(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def _distributions() -> dict[str, str]:
    """Installed distribution names (normalized, lower case) and versions."""
    return {
        dist.metadata["Name"].lower().replace("_", "-"): dist.version
        for dist in importlib.metadata.distributions()
    }


async def _install(config_dir: str) -> dict[str, Any]:
    from homeassistant.core import HomeAssistant
    from homeassistant.requirements import async_process_requirements

    from custom_components.iota_energy.core.installer import missing_libraries
    from custom_components.iota_energy.libraries import async_ensure_libraries

    requirements = json.loads(MANIFEST.read_text(encoding="utf-8"))["requirements"]
    hass = HomeAssistant(config_dir)
    try:
        # Home Assistant's requirements manager: is_installed, then
        # install_package with HA's pip_kwargs (constraints file, target).
        started = time.monotonic()
        await async_process_requirements(hass, "iota_energy", requirements)
        requirements_s = time.monotonic() - started
        missing_before = missing_libraries()
        # What async_setup_entry does first.
        await async_ensure_libraries(hass)
    finally:
        await hass.async_stop(force=True)
    return {
        "requirements": requirements,
        # Measured for the record (README), never asserted.
        "requirements_s": round(requirements_s, 2),
        "missing_before": missing_before,
        "missing_after": missing_libraries(),
    }


def _sdk_version() -> str | None:
    try:
        return importlib.metadata.version(SDK_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def _sdk_state() -> dict[str, Any]:
    """What the core's import check says about the installed ``iota_sdk``."""
    from custom_components.iota_energy.core.rebased_sdk import (
        SdkMissingError,
        import_iota_sdk,
    )

    state: dict[str, Any] = {"distribution_version": _sdk_version()}
    try:
        sdk = import_iota_sdk()
    except SdkMissingError as err:
        return state | {"usable": False, "error": str(err)}
    module_file = Path(str(sdk.__file__)).resolve()
    return state | {
        "usable": True,
        "error": None,
        # Imported from this venv, not from the interpreter it was made with.
        "in_this_venv": module_file.is_relative_to(Path(sys.prefix).resolve()),
    }


def _use_rebased(mnemonic: str) -> dict[str, Any]:
    from custom_components.iota_energy.core.rail import SignedTransfer, TransferOrder
    from custom_components.iota_energy.core.rebased_keys import RebasedKey
    from custom_components.iota_energy.core.rebased_sdk import import_iota_sdk
    from custom_components.iota_energy.core.rebased_wallet import (
        GasCoin,
        sign_transfer,
        stored_transaction,
    )
    from custom_components.iota_energy.core.units import Amount, Denomination

    sdk = import_iota_sdk()
    key = RebasedKey.from_mnemonic(mnemonic)
    # A coin as the network would list it; no network is asked.
    coin = GasCoin(
        object_id="0x" + "01" * 32,
        version=7,
        digest=sdk.ObjectDigest.from_bytes(bytes([1]) * 32).to_base58(),
        balance=5_000_000,
    )
    order = TransferOrder(
        "P000001", REBASED_RECEIVER, Amount(1_000_000, Denomination.NANOS)
    )
    signed = sign_transfer(
        key, order, [coin], gas_price=1000, gas_budget=2_000_000, max_gas_budget=10**8
    )
    if not isinstance(signed, SignedTransfer):
        return {"address": key.address, "signed": False}
    # What the outbox stores, read back and checked as a resume would.
    stored = SignedTransfer.from_dict(json.loads(json.dumps(signed.to_dict())))
    transaction, signature = stored_transaction(stored)
    sdk.UserSignatureVerifier().verify(transaction.signing_digest(), signature)
    programmable = json.loads(transaction.to_json())["V1"]["kind"]["Programmable"]
    gas = transaction.gas_payment()
    # One byte of the stored transaction changed: refused, never executed.
    raw = bytearray(base64.b64decode(stored.record["tx_bytes"]))
    raw[-1] ^= 0x01
    tampered = SignedTransfer(
        stored.rail,
        stored.transfer_id,
        stored.amount,
        dict(stored.record) | {"tx_bytes": base64.b64encode(raw).decode("ascii")},
    )
    try:
        stored_transaction(tampered)
    except ValueError:
        tamper_refused = True
    else:
        tamper_refused = False
    return {
        "signed": True,
        "address": key.address,
        "path": key.path,
        "sender": transaction.sender().to_hex(),
        "digest": stored.transfer_id,
        "recomputed_digest": transaction.digest().to_base58(),
        "receiver": stored.record["receiver"],
        "amount": [stored.amount.value, str(stored.amount.unit)],
        "gas": [gas.budget, gas.price],
        "commands": [next(iter(c)) for c in programmable["commands"]],
        "tamper_refused": tamper_refused,
    }


def _use_pyota(seed_trytes: str) -> dict[str, Any]:
    from custom_components.iota_energy.core.thirdparty import import_pyota

    iota = import_pyota()
    from iota.crypto.addresses import AddressGenerator
    from iota.crypto.signing import KeyGenerator
    from iota.crypto.types import Seed
    from iota.transaction.validator import BundleValidator

    seed = Seed(seed_trytes)
    generator = AddressGenerator(seed, security_level=2)
    source, change = generator.get_addresses(0, 2)
    source.balance = 1000
    bundle = iota.ProposedBundle(
        [
            iota.ProposedTransaction(
                address=iota.Address(b"IOTAENERGY" + b"9" * 71),
                value=42,
                tag=iota.Tag(b"IOTAENERGY"),
            )
        ]
    )
    bundle.add_inputs([source])
    bundle.send_unspent_inputs_to(change)
    bundle.finalize()
    bundle.sign_inputs(KeyGenerator(seed))
    signed = iota.Bundle.from_tryte_strings(bundle.as_tryte_strings())
    validator = BundleValidator(signed)
    return {
        "address": str(source),
        "change_address": str(change),
        "bundle_hash": str(signed.hash),
        "transactions": len(signed),
        "values": [t.value for t in signed],
        "valid": validator.is_valid(),
        "errors": [str(e) for e in validator.errors],
        "pkg_resources_left_behind": "pkg_resources" in sys.modules,
    }


def _use_ina219() -> dict[str, Any]:
    from custom_components.iota_energy.core.circuit import TutorialCircuit
    from custom_components.iota_energy.core.ina219_model import VirtualIna219
    from custom_components.iota_energy.core.power_source import (
        Ina219Config,
        Ina219Source,
    )
    from custom_components.iota_energy.core.thirdparty import import_ina219

    ina219 = import_ina219()
    circuit = TutorialCircuit()
    chip = VirtualIna219(circuit, shunt_ohms=0.1)
    source = Ina219Source(Ina219Config(busnum=1), i2c_interface=chip.i2c_interface)
    source.open()
    try:
        reading = source.read()
    finally:
        source.close()
    bus_v, current_a = circuit.operating_point()
    return {
        "driver_file": str(Path(ina219.__file__).name),
        "driver_is_real": ina219.INA219.__module__ == "ina219",
        "transfers": chip.transfers,
        "current_a": reading.current_a,
        "bus_voltage_v": reading.bus_voltage_v,
        "expected_current_a": current_a,
        "expected_bus_voltage_v": bus_v,
    }


def main() -> None:
    """Run the step named on the command line; print a JSON result."""
    step = sys.argv[1]
    sys.path.insert(0, str(REPO_ROOT))
    result: dict[str, Any] = {"python": sys.version.split()[0]}
    if step == "probe":
        result["setuptools_absent"] = _absent("setuptools")
        result["pkg_resources_absent"] = _absent("pkg_resources")
    elif step == "install":
        with tempfile.TemporaryDirectory() as config_dir:
            result |= asyncio.run(_install(config_dir))
    elif step == "use":
        seed_trytes = sys.stdin.read().strip()
        result["pyota"] = _use_pyota(seed_trytes)
        result["ina219"] = _use_ina219()
    elif step == "use-rebased":
        result["rebased"] = _use_rebased(sys.stdin.read())
    elif step == "sdk-state":
        result["sdk"] = _sdk_state()
    elif step == "probe-distributions":
        result["distributions"] = _distributions()
        result["setuptools_absent"] = _absent("setuptools")
        result["pkg_resources_absent"] = _absent("pkg_resources")
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
