"""Import the IOTA Rebased SDK (``iota-sdk==3.0.0b1``) only when a rail needs it.

The SDK loads a 26 MB shared library (about a second): it is imported on
first use, in the worker thread that needs it, never at module import, so
the integration loads without it and the event loop never waits for it.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types

SDK_REQUIREMENT = "iota-sdk==3.0.0b1"
_IMPORT_LOCK = threading.Lock()


class SdkMissingError(RuntimeError):
    """The Rebased SDK is not installed (or is the wrong, Stardust one)."""


def import_iota_sdk() -> types.ModuleType:
    """Return ``iota_sdk`` (the Rebased 3.x bindings)."""
    if (module := sys.modules.get("iota_sdk")) is None:
        with _IMPORT_LOCK:
            try:
                module = importlib.import_module("iota_sdk")
            except ImportError:
                raise SdkMissingError(f"{SDK_REQUIREMENT} is not installed") from None
    # The Stardust SDK 1.x has the same import name and none of these.
    if not hasattr(module, "TransactionBuilder") or not hasattr(
        module, "Ed25519PrivateKey"
    ):
        raise SdkMissingError(f"iota_sdk is not the Rebased SDK ({SDK_REQUIREMENT})")
    return module
