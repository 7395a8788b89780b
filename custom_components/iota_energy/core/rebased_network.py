"""Which IOTA Rebased network a GraphQL service serves, and where to find one.

The public networks' services are the ones iota-sdk's ``GraphQlClient``
uses for ``new_mainnet``/``new_testnet``/``new_devnet``. A service names its
network by its chain identifier: the first four bytes (hex) of the genesis
checkpoint's digest. Mainnet's and testnet's are fixed
(``MAINNET_CHAIN_IDENTIFIER_BASE58`` and ``TESTNET_CHAIN_IDENTIFIER_BASE58``
in iotaledger/iota ``crates/iota-types/src/digests.rs``, decoded; see
docs/rebased.md); devnet's changes whenever devnet is reset, so a devnet
service is only refused when it serves mainnet or testnet. A custom service
may serve any chain. Whatever is served at setup is stored with the entry,
and the rail refuses a service that later serves another.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

MAINNET: Final = "mainnet"
TESTNET: Final = "testnet"
DEVNET: Final = "devnet"
CUSTOM: Final = "custom"

WELL_KNOWN_URLS: Final[dict[str, str]] = {
    MAINNET: "https://graphql.mainnet.iota.cafe",
    TESTNET: "https://graphql.testnet.iota.cafe",
    DEVNET: "https://graphql.devnet.iota.cafe",
}
CHAIN_IDS: Final[dict[str, str]] = {
    MAINNET: "6364aad5",
    TESTNET: "2304aa97",
}


class NetworkChoiceError(ValueError):
    """The network and URL chosen do not fit; ``reason`` is a translation key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def graphql_url(network: str, url_text: str | None) -> str:
    """The service to use: the typed URL, else the network's well-known one.

    NetworkChoiceError ``graphql_url_required`` for a custom network
    without a URL, ``invalid_graphql_url`` for anything but http(s) with a
    host (and a numeric port, if any).
    """
    url = (url_text or "").strip()
    if not url:
        if network not in WELL_KNOWN_URLS:
            raise NetworkChoiceError("graphql_url_required")
        return WELL_KNOWN_URLS[network]
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise NetworkChoiceError("invalid_graphql_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NetworkChoiceError("invalid_graphql_url")
    return url


def check_chain(network: str, served: str) -> str:
    """``served`` if a service of ``network`` may serve it; else ``wrong_network``."""
    expected = CHAIN_IDS.get(network)
    if expected is not None and served != expected:
        raise NetworkChoiceError("wrong_network")
    if network == DEVNET and served in CHAIN_IDS.values():
        raise NetworkChoiceError("wrong_network")
    return served
