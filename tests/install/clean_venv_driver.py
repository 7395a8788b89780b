"""Run inside a clean virtualenv that holds only ``homeassistant``.

Not a test module: ``test_install.py`` runs it with the clean venv's python,
from the repository root, with ``CC=false CXX=false`` in its environment.

Step ``install``: what Home Assistant does when a user adds the integration
(its own requirements manager installs the manifest's ``requirements``),
then what the integration does at setup (``libraries.async_ensure_libraries``).
Step ``use``: import PyOTA and pi-ina219 through ``core.thirdparty`` and use
them: derive an address, build and sign a bundle offline, validate it, and
read a simulated INA219. Prints one JSON object. Never prints the seed (read
from standard input).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
from pathlib import Path
import sys
import tempfile
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / "custom_components" / "iota_energy" / "manifest.json"


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
        await async_process_requirements(hass, "iota_energy", requirements)
        missing_before = missing_libraries()
        # What async_setup_entry does first.
        await async_ensure_libraries(hass)
    finally:
        await hass.async_stop(force=True)
    return {
        "requirements": requirements,
        "missing_before": missing_before,
        "missing_after": missing_libraries(),
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
    elif step == "probe-distributions":
        result["distributions"] = _distributions()
        result["setuptools_absent"] = _absent("setuptools")
        result["pkg_resources_absent"] = _absent("pkg_resources")
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
