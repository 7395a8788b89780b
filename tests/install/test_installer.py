"""Unit tests of core/installer.py: no network, a stand-in for the interpreter."""

from __future__ import annotations

import os
from pathlib import Path
import stat

import pytest

from custom_components.iota_energy.core.installer import (
    LIBRARIES,
    InstallError,
    Pin,
    ensure_libraries,
    install_command,
    missing_libraries,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
NOT_INSTALLED = "iota-energy-test-not-installed==1.0"


def _fake_python(tmp_path: Path, body: str) -> str:
    """An executable that stands in for ``python -m uv pip install ...``."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_libraries_match_requirements_file() -> None:
    """requirements/nodeps.txt (the dev venvs) installs what setup installs."""
    lines = (REPO_ROOT / "requirements" / "nodeps.txt").read_text().splitlines()
    pinned = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    assert pinned == list(LIBRARIES)


@pytest.mark.parametrize(
    ("text", "pin"),
    [
        ("pyota==2.1.0", Pin("pyota", "2.1.0")),
        (" pi-ina219 == 1.4.1 ", Pin("pi-ina219", "1.4.1")),
    ],
)
def test_pin_parse(text: str, pin: Pin) -> None:
    assert Pin.parse(text) == pin


@pytest.mark.parametrize(
    "text", ["pyota", "pyota>=2", "==1.0", "pyota==", "pyota==2.1.0==3", " == "]
)
def test_pin_parse_rejects_unpinned(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a pinned requirement: ") as caught:
        Pin.parse(text)
    assert str(caught.value) == f"not a pinned requirement: {text!r}"


def test_install_error_names_every_library() -> None:
    error = InstallError(["pyota==2.1.0", "pi-ina219==1.4.1"], "no network")
    assert str(error) == "installing pyota==2.1.0, pi-ina219==1.4.1 failed: no network"
    assert error.libraries == ("pyota==2.1.0", "pi-ina219==1.4.1")
    assert error.reason == "no network"


def test_missing_libraries_compares_versions() -> None:
    versions = {"pyota": "2.1.0", "pi-ina219": "1.4.0"}
    missing = missing_libraries(LIBRARIES, version_of=versions.get)
    assert missing == ["pi-ina219==1.4.1", "Adafruit-GPIO==1.0.3"]


def test_missing_libraries_in_this_venv() -> None:
    """The test venvs install the libraries (requirements/nodeps.txt)."""
    assert missing_libraries() == []
    assert missing_libraries([NOT_INSTALLED]) == [NOT_INSTALLED]


def test_install_command_mirrors_home_assistant() -> None:
    command = install_command(
        "/py", ["pyota==2.1.0"], constraints="/c.txt", target="relative/deps"
    )
    assert command[:5] == ["/py", "-m", "uv", "pip", "install"]
    assert "--no-deps" in command
    assert "pyota==2.1.0" in command
    joined = " ".join(command)
    assert "--index-strategy unsafe-first-match" in joined
    assert "--constraint /c.txt" in joined
    assert "--python /py" in joined
    assert f"--target {os.path.abspath('relative/deps')}" in joined
    plain = install_command("/py", ["x==1"])
    assert "--constraint" not in plain
    assert "--target" not in plain


def test_ensure_libraries_skips_installed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    python = _fake_python(tmp_path, f"touch {marker}")
    assert ensure_libraries(python, libraries=list(LIBRARIES)) == []
    assert not marker.exists()


def test_ensure_libraries_reports_uv_error(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "echo 'spidev needs a compiler' >&2; exit 2")
    with pytest.raises(InstallError, match="spidev needs a compiler") as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED])
    assert caught.value.libraries == (NOT_INSTALLED,)


def test_ensure_libraries_passes_environment_copy(tmp_path: Path) -> None:
    """The child gets HTTP_TIMEOUT; this process's environment is untouched."""
    seen = tmp_path / "seen"
    python = _fake_python(tmp_path, f'echo "$HTTP_TIMEOUT $*" > {seen}')
    before = dict(os.environ)
    with pytest.raises(InstallError, match="not visible"):
        ensure_libraries(
            python, libraries=[NOT_INSTALLED], http_timeout=60, constraints="/c"
        )
    assert dict(os.environ) == before
    recorded = seen.read_text()
    assert recorded.startswith("60 -m uv pip install --quiet --no-deps")
    assert NOT_INSTALLED in recorded
    assert "--constraint /c" in recorded


def test_ensure_libraries_timeout(tmp_path: Path) -> None:
    # Ends by itself: without the timeout, uv "succeeds" and nothing is there.
    python = _fake_python(tmp_path, "exec sleep 10")
    with pytest.raises(InstallError) as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED], timeout=0.2)
    assert caught.value.reason == "timed out after 0.2 s"


def test_ensure_libraries_installs_into_the_target(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    python = _fake_python(tmp_path, f'echo "$*" > {seen}')
    with pytest.raises(InstallError) as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED], target="deps")
    assert caught.value.reason == "installed, but not visible to this interpreter"
    assert (
        seen.read_text().split()
        == install_command(python, [NOT_INSTALLED], target="deps")[1:]
    )


def test_ensure_libraries_uses_the_environment_given(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    python = _fake_python(tmp_path, f'echo "$ONLY_GIVEN/$HTTP_TIMEOUT" > {seen}')
    given = {"PATH": os.environ["PATH"], "ONLY_GIVEN": "yes"}
    with pytest.raises(InstallError):
        ensure_libraries(python, libraries=[NOT_INSTALLED], environ=given)
    assert seen.read_text() == "yes/\n"
    assert given == {"PATH": os.environ["PATH"], "ONLY_GIVEN": "yes"}


def test_uv_never_reads_this_process_input(tmp_path: Path) -> None:
    """Nothing can wait for input: uv's standard input is empty."""
    seen = tmp_path / "seen"
    python = _fake_python(
        tmp_path, f'if read -r line; then echo "read $line"; else echo eof; fi > {seen}'
    )
    # This process's input, for the moment, holds a line.
    read_end, write_end = os.pipe()
    os.write(write_end, b"an answer\n")
    os.close(write_end)
    saved = os.dup(0)
    os.dup2(read_end, 0)
    try:
        with pytest.raises(InstallError):
            ensure_libraries(python, libraries=[NOT_INSTALLED])
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read_end)
    assert seen.read_text() == "eof\n"


def test_ensure_libraries_cannot_start(tmp_path: Path) -> None:
    python = str(tmp_path / "no-such-python")
    with pytest.raises(InstallError) as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED])
    assert caught.value.reason == (
        f"could not run {python}: [Errno 2] No such file or directory: '{python}'"
    )


def test_a_silent_failure_says_how_uv_exited(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "exit 3")
    with pytest.raises(InstallError) as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED])
    assert caught.value.reason == "uv exited with 3"
    output_only = _fake_python(tmp_path, "echo '  only on stdout  '; exit 1")
    with pytest.raises(InstallError) as caught:
        ensure_libraries(output_only, libraries=[NOT_INSTALLED])
    assert caught.value.reason == "only on stdout"


def test_install_error_is_short(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "yes error | head -n 5000 >&2; exit 1")
    with pytest.raises(InstallError) as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED])
    assert len(caught.value.reason) <= 2001


@pytest.mark.parametrize(
    ("length", "kept"),
    [(1999, "whole"), (2000, "whole"), (2001, "end"), (5000, "end")],
)
def test_uvs_words_keep_their_last_2000_characters(
    tmp_path: Path, length: int, kept: str
) -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(length))
    (tmp_path / "said").write_text(text)
    python = _fake_python(tmp_path, f"cat {tmp_path / 'said'} >&2; exit 1")
    with pytest.raises(InstallError) as caught:
        ensure_libraries(python, libraries=[NOT_INSTALLED])
    assert caught.value.reason == (text if kept == "whole" else "…" + text[-2000:])
