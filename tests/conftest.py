"""Shared fixtures; the Home Assistant ones only where it is installed.

The domain core and devtangle run without Home Assistant: in a virtualenv
without it, only the tests that need nothing of it are collected
(``tests/core``; see README, "Developing").
"""

from __future__ import annotations

from importlib.util import find_spec

from hypothesis import settings

# No wall-clock limit on an example (Hypothesis' default is 200 ms): these
# machines are shared and noisy, and timing belongs in benchmarks/. Built on
# the profile loaded so far, so scripts/mutation's plugin keeps its own.
settings.register_profile("iota_energy", parent=settings.default, deadline=None)
settings.load_profile("iota_energy")

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
