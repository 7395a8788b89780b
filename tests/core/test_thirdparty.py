"""Importing PyOTA and pi-ina219 through core/thirdparty.py.

Every other test imports the libraries once, early, so ``import_pyota``
only ever takes its first line there. Here the import itself runs again:
the real PyOTA with ``iota`` taken out of ``sys.modules`` (put back after
each test), and small stand-in packages on a temporary path for the corners
no real library shows here (a ``pkg_resources`` that exists, warnings
raised while importing).
"""

from __future__ import annotations

from collections.abc import Iterator
import importlib.abc
import importlib.metadata
from pathlib import Path
import sys
import threading
import types
import warnings

import pytest

from custom_components.iota_energy.core import thirdparty

PYOTA_VERSION = importlib.metadata.version("PyOTA")


# The modules these tests import again or stand in for.
_TOUCHED = ("iota", "pkg_resources", "ina219", "Adafruit_GPIO", "Adafruit_GPIO.I2C")


@pytest.fixture(autouse=True)
def fresh_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The touched modules are as before after each test, whatever it imported."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    # As in every other test run: the real libraries already imported.
    thirdparty.import_pyota()
    thirdparty.import_ina219()
    saved = {name: sys.modules[name] for name in _TOUCHED if name in sys.modules}
    yield
    for name in _TOUCHED:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def _package(root: Path, name: str, source: str) -> None:
    """A module or package ``name`` (dotted) under ``root``."""
    *parents, leaf = name.split(".")
    root.mkdir(exist_ok=True)
    folder = root
    for parent in parents:
        folder /= parent
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").touch()
    (folder / f"{leaf}.py").write_text(source, encoding="utf-8")


class _BlockPkgResources(importlib.abc.MetaPathFinder):
    """Makes ``import pkg_resources`` fail, as on a venv without setuptools."""

    def find_spec(self, name: str, *_args: object) -> None:
        if name == "pkg_resources":
            raise ImportError("no pkg_resources here")


@pytest.fixture
def no_pkg_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "pkg_resources", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_BlockPkgResources(), *sys.meta_path])


def test_pyota_imports_without_pkg_resources_and_leaves_none_behind(
    monkeypatch: pytest.MonkeyPatch, no_pkg_resources: None
) -> None:
    original = sys.modules["iota"]
    monkeypatch.delitem(sys.modules, "iota")

    iota = thirdparty.import_pyota()

    assert iota is not original  # imported again, not the cached module
    assert iota.__name__ == "iota"
    assert sys.modules["iota"] is iota
    # PyOTA's own lookup, answered from the installed distribution's metadata.
    assert iota.__version__ == PYOTA_VERSION == "2.1.0"
    assert "pkg_resources" not in sys.modules
    # Imported once: the next call answers from sys.modules.
    assert thirdparty.import_pyota() is iota


def test_an_importable_pkg_resources_is_used_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _package(
        tmp_path,
        "pkg_resources",
        "class _D:\n    version = 'from-real-pkg-resources'\n\n"
        "def require(name):\n    return [_D()]\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "pkg_resources", raising=False)
    monkeypatch.delitem(sys.modules, "iota")

    iota = thirdparty.import_pyota()

    assert iota.__version__ == "from-real-pkg-resources"
    assert sys.modules["pkg_resources"].__file__ == str(tmp_path / "pkg_resources.py")


def test_a_pkg_resources_already_imported_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its presence is enough: it is neither imported again nor replaced."""
    present = types.ModuleType("pkg_resources")
    present.require = lambda _name: [types.SimpleNamespace(version="present")]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pkg_resources", present)
    monkeypatch.setattr(sys, "meta_path", [_BlockPkgResources(), *sys.meta_path])
    monkeypatch.delitem(sys.modules, "iota")

    assert thirdparty.import_pyota().__version__ == "present"
    assert sys.modules["pkg_resources"] is present


def test_the_stand_in_is_removed_when_the_import_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_pkg_resources: None
) -> None:
    _package(
        tmp_path,
        "iota",
        "import pkg_resources\n"
        "assert pkg_resources.require('PyOTA')[0].version\n"
        "raise ImportError('broken install')\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "iota")

    with pytest.raises(ImportError, match="broken install"):
        thirdparty.import_pyota()
    assert "pkg_resources" not in sys.modules


def test_a_pkg_resources_put_in_place_during_the_import_stays(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_pkg_resources: None
) -> None:
    """Only the stand-in itself is removed, not what replaced it meanwhile."""
    _package(
        tmp_path,
        "iota",
        "import sys, types\n"
        "stand_in = sys.modules['pkg_resources']\n"
        "stand_in_name = stand_in.__name__\n"
        "version = stand_in.require('PyOTA')[0].version\n"
        "sys.modules['pkg_resources'] = types.ModuleType('pkg_resources')\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "iota")

    iota = thirdparty.import_pyota()

    assert iota.version == PYOTA_VERSION
    assert iota.stand_in_name == "pkg_resources"
    assert sys.modules["pkg_resources"] is not None
    assert not hasattr(sys.modules["pkg_resources"], "require")


def test_deprecation_warnings_of_the_pyota_import_are_silenced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _package(
        tmp_path,
        "iota",
        "import warnings\nwarnings.warn('utcnow', DeprecationWarning)\nSTATE = 'ok'\n",
    )
    _package(
        tmp_path / "other",
        "iota",
        "import warnings\n"
        "warnings.warn('utcnow', DeprecationWarning)\n"
        "warnings.warn('something else', UserWarning)\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "iota")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert thirdparty.import_pyota().STATE == "ok"
        # Silenced during the import only: the caller's filters are back.
        with pytest.raises(DeprecationWarning):
            warnings.warn("after the import", DeprecationWarning, stacklevel=1)
    # Deprecations only: any other warning of the import still shows.
    monkeypatch.syspath_prepend(str(tmp_path / "other"))
    del sys.modules["iota"]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        thirdparty.import_pyota()
    assert [(w.category, str(w.message)) for w in shown] == [
        (UserWarning, "something else")
    ]


def test_concurrent_first_imports_run_the_package_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _package(
        tmp_path,
        "iota",
        "import builtins, time\n"
        "count = getattr(builtins, '_iota_energy_imports', 0)\n"
        "builtins._iota_energy_imports = count + 1\n"
        "time.sleep(0.2)\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "iota")
    import builtins

    monkeypatch.setattr(builtins, "_iota_energy_imports", 0, raising=False)
    results: list[types.ModuleType] = []
    threads = [
        threading.Thread(target=lambda: results.append(thirdparty.import_pyota()))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builtins._iota_energy_imports == 1  # type: ignore[attr-defined]
    assert len(results) == 4
    assert all(module is sys.modules["iota"] for module in results)


_INVALID_ESCAPE = 'import re\nPATTERN = re.compile("\\d+")\n'
_OTHER_WARNING = "import warnings\nwarnings.warn('something else', UserWarning)\n"


def test_pi_ina219_imports_with_warnings_as_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Adafruit_GPIO's regex literals compile with a SyntaxWarning (-W error)."""
    _package(
        tmp_path,
        "ina219",
        _INVALID_ESCAPE + "import warnings\n"
        "warnings.warn('old', DeprecationWarning)\nclass INA219: pass\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ina219")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ina219 = thirdparty.import_ina219()
    assert ina219.__file__ == str(tmp_path / "ina219.py")
    assert ina219.PATTERN.fullmatch("219")
    assert sys.modules["ina219"] is ina219
    assert thirdparty.import_ina219() is ina219


def test_pi_ina219s_other_warnings_still_show(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _package(
        tmp_path,
        "ina219",
        _INVALID_ESCAPE + _OTHER_WARNING + "warnings.warn('old', DeprecationWarning)\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ina219")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        thirdparty.import_ina219()
    assert [(w.category, str(w.message)) for w in shown] == [
        (UserWarning, "something else")
    ]


def test_the_real_pi_ina219_and_adafruit_i2c() -> None:
    ina219 = thirdparty.import_ina219()
    assert ina219.__name__ == "ina219"
    assert hasattr(ina219, "INA219")
    i2c = thirdparty.import_adafruit_i2c()
    assert i2c.__name__ == "Adafruit_GPIO.I2C"
    assert hasattr(i2c, "Device")


def test_adafruit_i2c_imports_with_syntax_warnings_as_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _package(tmp_path, "Adafruit_GPIO.I2C", _INVALID_ESCAPE + "class Device: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("Adafruit_GPIO", "Adafruit_GPIO.I2C"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        i2c = thirdparty.import_adafruit_i2c()
    assert i2c.__file__ == str(tmp_path / "Adafruit_GPIO" / "I2C.py")
    assert i2c.PATTERN.fullmatch("42")


def test_adafruit_i2cs_other_warnings_still_show(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _package(tmp_path, "Adafruit_GPIO.I2C", _INVALID_ESCAPE + _OTHER_WARNING)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("Adafruit_GPIO", "Adafruit_GPIO.I2C"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        thirdparty.import_adafruit_i2c()
    assert [(w.category, str(w.message)) for w in shown] == [
        (UserWarning, "something else")
    ]


class _WatchedLock:
    """The import lock, telling when a caller waits for it and who got it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived = threading.Semaphore(0)
        self.entered = 0

    def __enter__(self) -> None:
        self.arrived.release()
        self.lock.acquire()
        self.entered += 1

    def __exit__(self, *_exc: object) -> None:
        self.lock.release()


def test_an_imported_library_is_returned_without_taking_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow first import (PyOTA on a small board) never holds up the other."""
    watched = _WatchedLock()
    monkeypatch.setattr(thirdparty, "_IMPORT_LOCK", watched)
    assert thirdparty.import_pyota() is sys.modules["iota"]
    assert thirdparty.import_ina219() is sys.modules["ina219"]
    assert watched.entered == 0


def test_who_waited_for_the_lock_takes_the_first_callers_import(
    monkeypatch: pytest.MonkeyPatch, no_pkg_resources: None
) -> None:
    """Two callers at the lock: the first imports, the second looks again."""
    watched = _WatchedLock()
    monkeypatch.setattr(thirdparty, "_IMPORT_LOCK", watched)
    lookups: list[str] = []

    class CountPkgResources(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, *_args: object) -> None:
            if name == "pkg_resources":
                lookups.append(name)

    monkeypatch.setattr(sys, "meta_path", [CountPkgResources(), *sys.meta_path])
    monkeypatch.delitem(sys.modules, "iota")
    results: list[types.ModuleType] = []
    watched.lock.acquire()
    callers = [
        threading.Thread(target=lambda: results.append(thirdparty.import_pyota()))
        for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    for _ in callers:
        watched.arrived.acquire()  # both passed the first look and wait
    watched.lock.release()
    for caller in callers:
        caller.join()
    assert watched.entered == 2
    assert lookups == ["pkg_resources"]  # only the first caller imported
    assert results[0] is results[1] is sys.modules["iota"]


def test_a_pkg_resources_blocked_in_sys_modules_stays_blocked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``None`` there means "do not import it": no stand-in replaces it."""
    monkeypatch.setitem(sys.modules, "pkg_resources", None)
    monkeypatch.delitem(sys.modules, "iota")
    with pytest.raises(ImportError, match="pkg_resources"):
        thirdparty.import_pyota()
    assert sys.modules["pkg_resources"] is None
