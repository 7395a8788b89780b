"""Shared fixtures; the Home Assistant ones only where it is installed.

The domain core and devtangle run without Home Assistant: in a virtualenv
without it, only the tests that need nothing of it are collected
(``tests/core``; see README, "Developing").
"""

from __future__ import annotations

from importlib.util import find_spec
import re

from hypothesis import settings
import pytest

# No wall-clock limit on an example (Hypothesis' default is 200 ms): these
# machines are shared and noisy, and timing belongs in benchmarks/. Built on
# the profile loaded so far, so scripts/mutation's plugin keeps its own.
settings.register_profile("iota_energy", parent=settings.default, deadline=None)
settings.load_profile("iota_energy")

# A test id holding a port the system chose (a parameter made at import)
# differs in every process: a rerun by node id (--lf, scripts/mutation's fork
# server) does not find it, and mutmut counts that usage error as a timeout,
# a kill. Fixed ports in ids (IRI's 14265) are stable; chosen ones come from
# the ephemeral range (Linux: 32768 and up).
_PORT_IN_ID = re.compile(r"\[[^\]]*(?:127\.0\.0\.1|localhost):(\d+)")
_FIRST_EPHEMERAL_PORT = 32768


def _holds_a_chosen_port(nodeid: str) -> bool:
    return any(
        int(match.group(1)) >= _FIRST_EPHEMERAL_PORT
        for match in _PORT_IN_ID.finditer(nodeid)
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse test ids that would change between runs."""
    unstable = [item.nodeid for item in items if _holds_a_chosen_port(item.nodeid)]
    if unstable:
        raise pytest.UsageError(
            "test ids hold a port chosen at run time (give the parameter an id): "
            + ", ".join(unstable)
        )


if find_spec("homeassistant") is None:
    collect_ignore_glob = ["devtangle/*", "install/*", "integration/*", "test_*.py"]
else:
    from tests.ha_fixtures import (
        ENTRY_OPTIONS,
        VIRTUAL_ENTRY_DATA,
        auto_enable_custom_integrations,
        entry_data,
        entry_options,
        fail_on_deprecation_reports,
        hass_config_dir,
        hass_storage,
        init_integration,
        mock_config_entry,
        private_config_dir,
    )

    __all__ = [
        "ENTRY_OPTIONS",
        "VIRTUAL_ENTRY_DATA",
        "auto_enable_custom_integrations",
        "entry_data",
        "entry_options",
        "fail_on_deprecation_reports",
        "hass_config_dir",
        "hass_storage",
        "init_integration",
        "mock_config_entry",
        "private_config_dir",
    ]
