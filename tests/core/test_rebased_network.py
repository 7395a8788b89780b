"""Which network a Rebased service serves, and the public services' URLs.

The URL and chain rules need nothing; the two facts taken from elsewhere
are checked against their sources where the real iota-sdk is installed:
the public services' URLs are the ones built into the SDK's library, and
the chain identifiers are the first four bytes of IOTA's published genesis
checkpoint digests.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest

from custom_components.iota_energy import const
from custom_components.iota_energy.core.rebased_network import (
    CHAIN_IDS,
    CUSTOM,
    DEVNET,
    MAINNET,
    TESTNET,
    WELL_KNOWN_URLS,
    NetworkChoiceError,
    check_chain,
    graphql_url,
)

needs_sdk = pytest.mark.skipif(
    find_spec("iota_sdk") is None,
    reason="iota-sdk==3.0.0b1 is not installed (requirements/runtime.txt)",
)
# MAINNET_ and TESTNET_CHAIN_IDENTIFIER_BASE58 in iotaledger/iota
# crates/iota-types/src/digests.rs: the genesis checkpoints' digests.
GENESIS_DIGESTS = {
    MAINNET: "7gzPnGnmjqvpmF7NXTCmtacXLqx1cMaJFV6GCmi1peqr",
    TESTNET: "3MhPzSaSTHGffwPSV2Ws2DaK8LR8DBGPozTd2CbiJRwe",
}


def test_the_networks_are_the_config_entry_values() -> None:
    assert (MAINNET, TESTNET, DEVNET, CUSTOM) == const.REBASED_NETWORKS


@pytest.mark.parametrize("network", [MAINNET, TESTNET, DEVNET])
def test_an_empty_url_is_the_networks_public_service(network: str) -> None:
    assert graphql_url(network, "") == WELL_KNOWN_URLS[network]
    assert graphql_url(network, None) == WELL_KNOWN_URLS[network]
    assert graphql_url(network, "  ") == WELL_KNOWN_URLS[network]


def test_a_typed_url_is_used_as_typed_stripped() -> None:
    typed = "https://user:secret@rpc.example.org:8443/graphql"
    assert graphql_url(MAINNET, f" {typed}\n") == typed
    assert graphql_url(CUSTOM, "http://127.0.0.1:9125") == "http://127.0.0.1:9125"


@pytest.mark.parametrize(
    ("network", "text", "reason"),
    [
        (CUSTOM, "", "graphql_url_required"),
        (CUSTOM, None, "graphql_url_required"),
        (CUSTOM, "ws://127.0.0.1/graphql", "invalid_graphql_url"),
        (MAINNET, "graphql.mainnet.example", "invalid_graphql_url"),
        (TESTNET, "http://:9125/", "invalid_graphql_url"),
        (DEVNET, "http://127.0.0.1:ninety/", "invalid_graphql_url"),
    ],
)
def test_urls_that_are_refused(network: str, text: str | None, reason: str) -> None:
    with pytest.raises(NetworkChoiceError) as caught:
        graphql_url(network, text)
    assert caught.value.reason == reason
    assert str(caught.value) == reason


def test_mainnet_and_testnet_serve_their_own_chain_only() -> None:
    assert check_chain(MAINNET, CHAIN_IDS[MAINNET]) == CHAIN_IDS[MAINNET]
    assert check_chain(TESTNET, CHAIN_IDS[TESTNET]) == CHAIN_IDS[TESTNET]
    for network, served in (
        (MAINNET, CHAIN_IDS[TESTNET]),
        (TESTNET, CHAIN_IDS[MAINNET]),
        (MAINNET, "e678123a"),
        (TESTNET, ""),
    ):
        with pytest.raises(NetworkChoiceError) as caught:
            check_chain(network, served)
        assert caught.value.reason == "wrong_network"


def test_devnet_is_any_chain_but_mainnet_or_testnet() -> None:
    assert check_chain(DEVNET, "e678123a") == "e678123a"
    for served in CHAIN_IDS.values():
        with pytest.raises(NetworkChoiceError) as caught:
            check_chain(DEVNET, served)
        assert caught.value.reason == "wrong_network"
        # The reason is the message too, as every flow error shows it.
        assert caught.value.args == ("wrong_network",)


def test_a_custom_service_may_serve_any_chain() -> None:
    for served in (*CHAIN_IDS.values(), "d3v1073a"):
        assert check_chain(CUSTOM, served) == served


@needs_sdk
def test_chain_ids_are_the_genesis_checkpoint_digests() -> None:
    import iota_sdk

    for network, digest in GENESIS_DIGESTS.items():
        first = iota_sdk.Digest.from_base58(digest).to_bytes()[:4]
        assert first.hex() == CHAIN_IDS[network]


@needs_sdk
def test_the_public_urls_are_the_sdks_own() -> None:
    """GraphQlClient.new_mainnet() etc. use these (built into its library)."""
    spec = find_spec("iota_sdk")
    assert spec is not None
    assert spec.origin is not None
    library = next(Path(spec.origin).parent.glob("libiota_sdk_ffi*"))
    data = library.read_bytes()
    for url in WELL_KNOWN_URLS.values():
        assert url.encode() in data, url
