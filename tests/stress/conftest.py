"""Fixtures of the stress tests: devtangle on loopback, an entry that pays into it."""

from tests.devtangle.conftest import loopback_sockets
from tests.integration.test_payments import entry_data, entry_options, paying, tangle

__all__ = ["entry_data", "entry_options", "loopback_sockets", "paying", "tangle"]
