"""The Home Assistant legs: scripts, requirement files, README and hacs.json agree.

scripts/lib/venv.sh names the legs and their requirement files; the README's
table of legs, hacs.json's minimum and the forward check's overrides must say
the same, so what the documentation promises is what CI tests.
"""

from __future__ import annotations

from pathlib import Path
import re

from awesomeversion import AwesomeVersion

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_SH = (REPO_ROOT / "scripts" / "lib" / "venv.sh").read_text(encoding="utf-8")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
HARNESS = "pytest-homeassistant-custom-component"


def _legs() -> list[str]:
    match = re.search(r'^LEGS_ALL="([^"]+)"$', VENV_SH, re.MULTILINE)
    assert match, "no LEGS_ALL in scripts/lib/venv.sh"
    return match.group(1).split()


def _requirements_of(leg: str) -> Path:
    match = re.search(
        rf"^\s*{leg}\) printf '%s\\n' \"\$REPO_ROOT/(requirements/[^\"]+)\"",
        VENV_SH,
        re.MULTILINE,
    )
    assert match, f"leg {leg} has no requirement file in scripts/lib/venv.sh"
    return REPO_ROOT / match.group(1)


def _pin(path: Path, name: str) -> str:
    match = re.search(
        rf"^{re.escape(name)}==(\S+)$", path.read_text(encoding="utf-8"), re.MULTILINE
    )
    assert match, f"{path.name} pins no {name}"
    return match.group(1)


def _readme_rows() -> dict[str, list[str]]:
    """The README's table of legs: leg -> its cells."""
    start = README.index("| leg | Home Assistant | test harness |")
    rows: dict[str, list[str]] = {}
    for line in README[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def test_readme_table_lists_the_legs_in_order() -> None:
    assert list(_readme_rows()) == _legs()


def test_readme_table_is_what_the_legs_install() -> None:
    for leg, (_, home_assistant, harness, _, requirements) in _readme_rows().items():
        path = _requirements_of(leg)
        assert requirements == f"`{path.relative_to(REPO_ROOT)}`", leg
        assert home_assistant == _pin(path, "homeassistant"), leg
        assert harness.split(",")[0] == _pin(path, HARNESS), leg


def test_legs_go_forward() -> None:
    versions = [
        AwesomeVersion(_pin(_requirements_of(leg), "homeassistant")) for leg in _legs()
    ]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)


def test_forward_check_overrides_the_harness_pin() -> None:
    """Leg next runs a harness made for an older release, with an override."""
    requirements = _requirements_of("next")
    overrides = requirements.with_name(f"{requirements.stem}-overrides.txt")
    assert _pin(overrides, "homeassistant") == _pin(requirements, "homeassistant")
    assert _pin(requirements, HARNESS) == _pin(_requirements_of("cur"), HARNESS)


def test_minimum_is_the_oldest_tested() -> None:
    """HACS offers the integration from exactly the release leg min tests."""
    hacs = (REPO_ROOT / "hacs.json").read_text(encoding="utf-8")
    minimum = _pin(_requirements_of(_legs()[0]), "homeassistant")
    assert re.search(rf'"homeassistant": "{re.escape(minimum)}"', hacs)
    assert f"Requires Home Assistant **{minimum} or newer**" in README
