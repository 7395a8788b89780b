"""What hassfest and the HACS action would check, as tests (neither runs here).

manifest.json schema and key order, hacs.json schema, translations equal to
strings.json, services.yaml against the registered actions and their
translations, brand images, and quality_scale.yaml naming every rule of the
Integration Quality Scale.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.core import HomeAssistant
import hypothesis
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.iota_energy.const import DOMAIN
from custom_components.iota_energy.core.rebased_sdk import SDK_REQUIREMENT

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
    """Pinned with ==, and the ones the test venvs install (runtime.txt)."""
    requirements = manifest["requirements"]
    assert requirements
    for requirement in requirements:
        assert re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", requirement
        )
    pins = _requirement_lines(REPO_ROOT / "requirements" / "runtime.txt")
    assert requirements == pins


def test_manifest_brings_the_rebased_sdk(manifest: dict[str, Any]) -> None:
    """The Rebased rail's SDK comes with the integration, at the core's pin."""
    assert SDK_REQUIREMENT in manifest["requirements"]


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


def _quality_scale() -> dict[str, dict[str, str]]:
    """Each rule as ``{"status": ..., "comment": ...}`` (comment may be "")."""
    rules = _yaml(INTEGRATION / "quality_scale.yaml")["rules"]
    return {
        name: {"status": value, "comment": ""}
        if isinstance(value, str)
        else {"status": value["status"], "comment": value["comment"]}
        for name, value in rules.items()
    }


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
            # Only "done" may stand alone: todo and exempt say why.
            assert value == "done", f"{name}: {value} needs a comment"
            continue
        assert isinstance(value, dict), name
        assert set(value) == {"status", "comment"}, name
        assert value["status"] in {"done", "todo", "exempt"}, name
        assert isinstance(value["comment"], str), name
        assert value["comment"].strip(), name


def _status(rule: str) -> str:
    return _quality_scale()[rule]["status"]


# -- what the code says, for the rules that can be checked mechanically -----------

PLATFORM_MODULES = ("sensor", "binary_sensor", "event", "number")
EXCEPTION_SUFFIXES = ("Error", "NotReady", "Failed", "Exception")


def _modules() -> list[Path]:
    return sorted(INTEGRATION.rglob("*.py"))


def _constants(node: ast.expr) -> list[str]:
    """The string constants an expression can evaluate to (a or b included)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _kind(callee: str, platform: str) -> str:
    """What a ``translation_key`` given to ``callee`` translates ("" unknown)."""
    if callee in ("async_create_issue", "async_raise_issue"):
        return "issues"
    if callee.endswith(EXCEPTION_SUFFIXES):
        return "exceptions"
    if callee.endswith("Description") and platform:
        return "entity"
    return ""


def _translation_keys() -> dict[str, set[tuple[str, str]]]:
    """Literal translation keys in the code, by what they translate.

    ``exceptions``: keys given to an exception; ``issues``: keys given to a
    repair issue; ``entity``: (platform, key) of entity descriptions and
    ``_attr_translation_key`` in the platform modules.
    """
    found: dict[str, set[tuple[str, str]]] = {
        "exceptions": set(),
        "issues": set(),
        "entity": set(),
    }
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        platform = path.stem if path.stem in PLATFORM_MODULES else ""
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = _callee(node)
                kind = _kind(callee, platform)
                for keyword in node.keywords:
                    if keyword.arg != "translation_key":
                        continue
                    assert kind, f"{path.name}: translation_key in {callee}()"
                    found[kind] |= {
                        (platform if kind == "entity" else "", key)
                        for key in _constants(keyword.value)
                    }
            elif isinstance(node, ast.Assign) and platform:
                names = {t.id for t in node.targets if isinstance(t, ast.Name)}
                if "_attr_translation_key" in names:
                    for key in _constants(node.value):
                        found["entity"].add((platform, key))
    return found


def test_translation_keys_found_in_the_code() -> None:
    """The scan below finds keys of every kind (it would pass vacuously otherwise)."""
    keys = _translation_keys()
    assert ("", "chip_not_ready") in keys["exceptions"]
    assert ("", "state_write_failed") in keys["issues"]
    assert ("sensor", "power") in keys["entity"]
    assert ("event", "billing") in keys["entity"]


def test_every_exception_key_is_translated(strings: dict[str, Any]) -> None:
    """exception-translations: each key an exception is raised with exists."""
    assert _status("exception-translations") == "done"
    translated = strings["exceptions"]
    missing = {k for _, k in _translation_keys()["exceptions"]} - set(translated)
    assert not missing


def test_every_issue_key_is_translated(strings: dict[str, Any]) -> None:
    """repair-issues: each repair issue the code raises has its text."""
    assert _status("repair-issues") == "done"
    missing = {k for _, k in _translation_keys()["issues"]} - set(strings["issues"])
    assert not missing


def test_every_entity_key_is_translated(strings: dict[str, Any]) -> None:
    """entity-translations: every entity's key has a name under its platform."""
    assert _status("entity-translations") == "done"
    for platform, key in _translation_keys()["entity"]:
        assert strings["entity"][platform][key]["name"], (platform, key)


def test_icons_cover_services_and_name_only_real_entities(
    strings: dict[str, Any],
) -> None:
    """icon-translations: an icon per action; entity icons only for real keys."""
    assert _status("icon-translations") == "done"
    icons = _json(INTEGRATION / "icons.json")
    described = _yaml(INTEGRATION / "services.yaml") or {}
    assert set(icons["services"]) == set(described)
    for service, icon in icons["services"].items():
        assert icon["service"].startswith("mdi:"), service
    for platform, entities in icons.get("entity", {}).items():
        for key in entities:
            assert key in strings["entity"][platform], (platform, key)


def test_every_service_is_translated(strings: dict[str, Any]) -> None:
    """docs-actions and action translations: every action has name and text."""
    described = _yaml(INTEGRATION / "services.yaml") or {}
    assert described
    for service in described:
        assert strings["services"][service]["name"], service
        assert strings["services"][service]["description"], service


def test_platforms_set_parallel_updates() -> None:
    """parallel-updates: every platform module says how many updates may run."""
    assert _status("parallel-updates") == "done"
    for name in PLATFORM_MODULES:
        tree = ast.parse((INTEGRATION / f"{name}.py").read_text(encoding="utf-8"))
        assigned = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        assert "PARALLEL_UPDATES" in assigned, name


def test_entities_have_entity_names_and_unique_ids() -> None:
    """has-entity-name and entity-unique-id, on the base every entity uses."""
    assert _status("has-entity-name") == "done"
    assert _status("entity-unique-id") == "done"
    source = (INTEGRATION / "entity.py").read_text(encoding="utf-8")
    assert "_attr_has_entity_name = True" in source
    assert "_attr_unique_id" in source


def test_runtime_data_not_hass_data() -> None:
    """runtime-data: nothing is kept in hass.data."""
    assert _status("runtime-data") == "done"
    for path in _modules():
        assert "hass.data[" not in path.read_text(encoding="utf-8"), path.name


def test_flows_and_diagnostics_exist(manifest: dict[str, Any]) -> None:
    """config-flow, reconfiguration-flow and diagnostics are where HA looks."""
    assert manifest["config_flow"] is True
    flow = (INTEGRATION / "config_flow.py").read_text(encoding="utf-8")
    assert _status("reconfiguration-flow") == "done"
    assert "async def async_step_reconfigure(" in flow
    assert _status("diagnostics") == "done"
    diagnostics = (INTEGRATION / "diagnostics.py").read_text(encoding="utf-8")
    assert "async def async_get_config_entry_diagnostics(" in diagnostics


def test_strict_typing_covers_the_integration() -> None:
    """strict-typing: mypy --strict over the whole integration."""
    assert _status("strict-typing") == "done"
    config = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    module = r'"custom_components\.iota_energy\.\*"'
    assert re.search(rf"module = \[[^\]]*{module}[^\]]*\]\s*strict = true", config)


def test_brands_done_only_where_brand_is_served() -> None:
    """brands: Home Assistant serves a custom integration's brand/ from 2026.3.

    Done only when every supported version (hacs.json's minimum) shows it.
    """
    minimum = AwesomeVersion(_json(REPO_ROOT / "hacs.json")["homeassistant"])
    served = minimum >= AwesomeVersion("2026.3.0")
    assert (_status("brands") == "done") == served


def test_a_dependency_doing_io_is_not_exempt_from_the_platinum_rules() -> None:
    """async-dependency and inject-websession allow no exemption here.

    Their only exemption is a dependency without I/O (or without HTTP);
    pi-ina219 does I2C and PyOTA HTTP.
    """
    assert _status("async-dependency") != "exempt"
    assert _status("inject-websession") != "exempt"


def test_property_tests_have_no_wall_clock_limit() -> None:
    """Hypothesis' 200 ms deadline would fail a slow example on a loaded machine."""
    assert hypothesis.settings.default.deadline is None
