"""What hassfest and the HACS action would check, as tests (neither runs here).

manifest.json schema and key order, hacs.json schema, translations equal to
strings.json, services.yaml against the registered actions and their
translations, brand images, and quality_scale.yaml naming every rule of the
Integration Quality Scale.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.iota_energy.const import DOMAIN

REPO_ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = REPO_ROOT / "custom_components" / DOMAIN
MINIMUM_HA = (REPO_ROOT / "requirements" / "ha-2025.4.txt").read_text()

# hassfest's manifest schema for custom integrations (script/hassfest/manifest.py).
MANIFEST_REQUIRED = {"domain", "name", "codeowners", "documentation", "version"}
MANIFEST_ALLOWED = MANIFEST_REQUIRED | {
    "after_dependencies",
    "bluetooth",
    "config_flow",
    "dependencies",
    "dhcp",
    "homekit",
    "import_executor",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "loggers",
    "mqtt",
    "quality_scale",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "zeroconf",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
}
QUALITY_SCALES = {"bronze", "silver", "gold", "platinum", "internal", "legacy"}

# The HACS integration manifest (hacs.json) keys.
HACS_ALLOWED = {
    "name",
    "content_in_root",
    "country",
    "filename",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
}
HACS_BOOLEANS = {
    "content_in_root",
    "hide_default_branch",
    "render_readme",
    "zip_release",
}

# Every rule of the Integration Quality Scale (ALL_RULES in hassfest's
# quality_scale.py), bronze to platinum.
IQS_RULES = (
    # bronze
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow",
    "config-flow-test-coverage",
    "dependency-transparency",
    "docs-actions",
    "docs-conditions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "docs-triggers",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
    # silver
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
    # gold
    "devices",
    "diagnostics",
    "discovery",
    "discovery-update-info",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
    # platinum
    "async-dependency",
    "inject-websession",
    "strict-typing",
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _requirement_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _minimum_ha_version() -> AwesomeVersion:
    match = re.search(r"^homeassistant==(\S+)$", MINIMUM_HA, re.MULTILINE)
    assert match, "requirements/ha-2025.4.txt pins no homeassistant"
    return AwesomeVersion(match.group(1))


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR", f"{path.name}: first chunk is not IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- manifest.json -------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return dict(_json(INTEGRATION / "manifest.json"))


def test_manifest_keys(manifest: dict[str, Any]) -> None:
    assert set(manifest) >= MANIFEST_REQUIRED, MANIFEST_REQUIRED - set(manifest)
    assert set(manifest) <= MANIFEST_ALLOWED, set(manifest) - MANIFEST_ALLOWED
    assert manifest["domain"] == DOMAIN == INTEGRATION.name


def test_manifest_key_order(manifest: dict[str, Any]) -> None:
    """domain, name, then the rest in alphabetical order (hassfest sorts so)."""
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_values(manifest: dict[str, Any]) -> None:
    version = AwesomeVersion(manifest["version"])
    assert version.strategy != AwesomeVersionStrategy.UNKNOWN
    assert manifest.get("iot_class") in IOT_CLASSES
    assert manifest.get("integration_type", "hub") in INTEGRATION_TYPES
    if "quality_scale" in manifest:
        assert manifest["quality_scale"] in QUALITY_SCALES
    assert isinstance(manifest["name"], str)
    assert manifest["name"]
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for key in ("documentation", "issue_tracker"):
        if key in manifest:
            assert manifest[key].startswith("https://")
    assert isinstance(manifest.get("config_flow", False), bool)
    for key in ("dependencies", "after_dependencies", "loggers", "requirements"):
        assert isinstance(manifest.get(key, []), list)


def test_manifest_requirements_pinned(manifest: dict[str, Any]) -> None:
    """Pinned with ==, and the ones the test venvs install (requirements/)."""
    requirements = manifest["requirements"]
    assert requirements
    for requirement in requirements:
        assert re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", requirement
        )
    runtime = _requirement_lines(REPO_ROOT / "requirements" / "runtime.txt")
    assert requirements == runtime


# -- hacs.json -----------------------------------------------------------------


def test_hacs_json() -> None:
    hacs = _json(REPO_ROOT / "hacs.json")
    assert isinstance(hacs, dict)
    assert isinstance(hacs.get("name"), str)
    assert hacs["name"]
    assert set(hacs) <= HACS_ALLOWED, set(hacs) - HACS_ALLOWED
    for key in HACS_BOOLEANS & set(hacs):
        assert isinstance(hacs[key], bool), key
    for key in ("filename", "persistent_directory"):
        if key in hacs:
            assert isinstance(hacs[key], str)
    if "country" in hacs:
        countries = hacs["country"]
        countries = [countries] if isinstance(countries, str) else countries
        assert all(re.fullmatch(r"[A-Z]{2}", c) for c in countries)
    if "homeassistant" in hacs:
        version = AwesomeVersion(hacs["homeassistant"])
        assert version.strategy == AwesomeVersionStrategy.CALVER
        # HACS must not offer the integration to an HA we do not test.
        assert version <= _minimum_ha_version()
    # content_in_root false (the default): the integration is under custom_components.
    assert not hacs.get("content_in_root", False)
    assert (
        len(
            [
                p
                for p in (REPO_ROOT / "custom_components").iterdir()
                if p.is_dir() and not p.name.startswith(("_", "."))
            ]
        )
        == 1
    )


# -- translations --------------------------------------------------------------


@pytest.fixture(scope="module")
def strings() -> dict[str, Any]:
    return dict(_json(INTEGRATION / "strings.json"))


def test_translations_equal_strings(strings: dict[str, Any]) -> None:
    """A custom integration ships translations/en.json; it must be strings.json."""
    assert _json(INTEGRATION / "translations" / "en.json") == strings


def test_strings_have_no_references(strings: dict[str, Any]) -> None:
    """[%key:...%] references are resolved only by core's build; HACS ships raw."""
    assert "[%key:" not in json.dumps(strings)


def test_installer_exceptions_translated(strings: dict[str, Any]) -> None:
    """libraries.py raises ConfigEntryNotReady with these keys and placeholders."""
    exceptions = strings.get("exceptions", {})
    expected = {
        "libraries_missing": {"libraries"},
        "libraries_install_failed": {"libraries", "error"},
    }
    for key, placeholders in expected.items():
        message = exceptions[key]["message"]
        assert set(re.findall(r"\{(\w+)\}", message)) == placeholders, key


# -- services.yaml -------------------------------------------------------------


async def test_services_match_registered_actions(
    hass: HomeAssistant, init_integration: MockConfigEntry, strings: dict[str, Any]
) -> None:
    described = _yaml(INTEGRATION / "services.yaml") or {}
    registered = hass.services.async_services_for_domain(DOMAIN)
    assert set(registered) == set(described)
    translated = strings.get("services", {})
    for service, description in described.items():
        assert translated[service]["name"], service
        assert translated[service]["description"], service
        fields = (description or {}).get("fields", {}) or {}
        for field in fields:
            assert translated[service]["fields"][field]["name"], (service, field)
            assert translated[service]["fields"][field]["description"], (
                service,
                field,
            )
        # No translation for a field services.yaml does not have.
        assert set(translated[service].get("fields", {})) == set(fields)
    assert set(translated) == set(described)


# -- brand images --------------------------------------------------------------


def test_brand_images() -> None:
    brand = INTEGRATION / "brand"
    assert _png_size(brand / "icon.png") == (256, 256)
    if (brand / "icon@2x.png").exists():
        assert _png_size(brand / "icon@2x.png") == (512, 512)
    width, height = _png_size(brand / "logo.png")
    # Brands repository rules: logo shortest side 128-256 px.
    assert 128 <= min(width, height) <= 256
    if (brand / "logo@2x.png").exists():
        width2, height2 = _png_size(brand / "logo@2x.png")
        assert 256 <= min(width2, height2) <= 512


# -- quality_scale.yaml ----------------------------------------------------------


def test_quality_scale_names_every_rule() -> None:
    data = _yaml(INTEGRATION / "quality_scale.yaml")
    rules = data["rules"]
    assert set(data) == {"rules"}
    assert set(rules) == set(IQS_RULES), {
        "missing": sorted(set(IQS_RULES) - set(rules)),
        "unknown": sorted(set(rules) - set(IQS_RULES)),
    }
    for name, value in rules.items():
        if isinstance(value, str):
            assert value in {"done", "todo"}, name
            continue
        assert isinstance(value, dict), name
        assert set(value) == {"status", "comment"}, name
        assert value["status"] in {"done", "todo", "exempt"}, name
        assert isinstance(value["comment"], str), name
        assert value["comment"].strip(), name
