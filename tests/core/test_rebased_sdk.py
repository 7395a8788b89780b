"""The Rebased SDK is imported on first use, and only the Rebased one is taken."""

from __future__ import annotations

from importlib.util import find_spec
import sys
import types
from unittest.mock import patch

import pytest

from custom_components.iota_energy.core.rebased_sdk import (
    SdkMissingError,
    import_iota_sdk,
)

REBASED_NAMES = ("TransactionBuilder", "Ed25519PrivateKey")


def _module_with(*names: str) -> types.ModuleType:
    module = types.ModuleType("iota_sdk")
    for name in names:
        setattr(module, name, object())
    return module


def test_a_loaded_rebased_sdk_is_returned_as_it_is() -> None:
    rebased = _module_with(*REBASED_NAMES)
    with patch.dict(sys.modules, {"iota_sdk": rebased}):
        assert import_iota_sdk() is rebased


@pytest.mark.parametrize(
    "names",
    [(), ("TransactionBuilder",), ("Ed25519PrivateKey",)],
    ids=["stardust", "no-key-type", "no-builder"],
)
def test_a_module_without_the_rebased_types_is_refused(names: tuple[str, ...]) -> None:
    """The Stardust SDK 1.x has the same import name: each type is checked."""
    with (
        patch.dict(sys.modules, {"iota_sdk": _module_with(*names)}),
        pytest.raises(SdkMissingError) as caught,
    ):
        import_iota_sdk()
    assert str(caught.value) == "iota_sdk is not the Rebased SDK (iota-sdk==3.0.0b1)"


def test_a_missing_sdk_names_the_requirement() -> None:
    # None in sys.modules makes the import fail as a missing package does.
    with (
        patch.dict(sys.modules, {"iota_sdk": None}),
        pytest.raises(SdkMissingError) as caught,
    ):
        import_iota_sdk()
    assert str(caught.value) == "iota-sdk==3.0.0b1 is not installed"
    assert caught.value.__cause__ is None  # the ImportError's text stays out


@pytest.mark.skipif(
    find_spec("iota_sdk") is None,
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)
def test_the_installed_sdk_is_imported_on_first_use() -> None:
    # Only the package's top module is dropped: its native part, already
    # loaded, may be initialised once per process.
    loaded = sys.modules.pop("iota_sdk", None)
    try:
        module = import_iota_sdk()
        assert sys.modules["iota_sdk"] is module
        assert all(hasattr(module, name) for name in REBASED_NAMES)
    finally:
        if loaded is not None:
            sys.modules["iota_sdk"] = loaded
