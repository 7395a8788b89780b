"""Ask an IRI node who it is and whether addresses were spent from.

Both calls go through PyOTA's real HTTP adapter and block: run them in a
worker thread. Failures are sorted into what the user can act on:
``NodeUrlError`` (the URL itself), ``NodeUnreachable`` (nothing answers in
time) and ``NotAnIriNode`` (something answers, but not like an IRI node).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from .addresses import ADDRESS_TRYTES, RECEIVER_TRYTES, address_checksum
from .numbers import is_int
from .thirdparty import import_pyota
from .trits import is_trytes

# IRI advertised this feature when it accepted attachToTangle (proof of work).
REMOTE_POW_FEATURE: Final = "RemotePOW"
_INFO_TEXT_FIELDS: Final = ("appName", "appVersion")
_INFO_INDEX_FIELDS: Final = (
    "latestMilestoneIndex",
    "latestSolidSubtangleMilestoneIndex",
)
_INFO_HASH_FIELDS: Final = ("latestMilestone", "latestSolidSubtangleMilestone")


class NodeProbeError(Exception):
    """The node cannot be used; ``reason`` is a translation key."""

    reason = "cannot_connect"


class NodeUrlError(NodeProbeError, ValueError):
    """Not an http(s) URL with a host (and a numeric port, if any)."""

    reason = "invalid_url"


class NodeUnreachable(NodeProbeError):  # noqa: N818 - the name the wallet uses
    """Connection refused, timed out, or the host name did not resolve."""

    reason = "cannot_connect"


class NotAnIriNode(NodeProbeError):  # noqa: N818 - the name the wallet uses
    """Something answered, but not with what an IRI node answers."""

    reason = "not_iri_node"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the configuration needs from ``getNodeInfo``."""

    app_name: str
    app_version: str
    latest_milestone_index: int
    remote_pow: bool


def validate_node_url(text: str) -> str:
    """Return the URL stripped, or raise ``NodeUrlError``."""
    url = text.strip()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise NodeUrlError("the port is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodeUrlError("a node URL is http:// or https:// and a host")
    return url


def _api(url: str, timeout_s: float) -> Any:
    iota = import_pyota()
    adapter = iota.HttpAdapter(validate_node_url(url), timeout=timeout_s)
    # StrictIota: the core API without a seed (Iota would make a random one).
    return iota.StrictIota(adapter)


def _call(url: str, timeout_s: float, command: str, **kwargs: Any) -> Any:
    api = _api(url, timeout_s)
    try:
        return getattr(api, command)(**kwargs)
    except OSError as err:
        # requests' errors (refused, timeout, DNS) are OSErrors.
        raise NodeUnreachable(f"{command}: {type(err).__name__}") from None
    except ValueError as err:
        # PyOTA's BadApiResponse (an HTTP error, non-JSON, no object) and its
        # response filters raise ValueError; keep the answer out of the text.
        raise NotAnIriNode(f"{command}: {type(err).__name__}") from None


def _node_info(answer: Mapping[str, Any]) -> NodeInfo:
    # PyOTA's adapter and response filter only pass a JSON object through.
    missing = [
        key
        for key in (*_INFO_TEXT_FIELDS, *_INFO_INDEX_FIELDS, *_INFO_HASH_FIELDS)
        # PyOTA's response filter fills keys it expects but did not get with None.
        if answer.get(key) is None
    ]
    if missing:
        raise NotAnIriNode(f"getNodeInfo: missing {', '.join(missing)}")
    if not all(isinstance(answer[key], str) for key in _INFO_TEXT_FIELDS) or not all(
        is_int(answer[key]) for key in _INFO_INDEX_FIELDS
    ):
        raise NotAnIriNode("getNodeInfo: fields of the wrong type")
    features = answer.get("features", [])
    if not isinstance(features, list):
        raise NotAnIriNode("getNodeInfo: features is no list")
    return NodeInfo(
        app_name=answer["appName"],
        app_version=answer["appVersion"],
        latest_milestone_index=answer["latestMilestoneIndex"],
        remote_pow=REMOTE_POW_FEATURE in features,
    )


def probe_node(url: str, timeout_s: float) -> NodeInfo:
    """Call ``getNodeInfo`` (blocking) and check that an IRI node answered.

    A node that lists no ``features`` (IRI before 1.5) is taken as refusing
    remote proof of work: the wallet then does it locally.
    """
    return _node_info(_call(url, timeout_s, "get_node_info"))


def _plain_address(address: str) -> str:
    """The 81-tryte address; a 90-tryte one must carry its valid checksum."""
    if len(address) not in (ADDRESS_TRYTES, RECEIVER_TRYTES) or not is_trytes(address):
        raise ValueError(f"not an address of {ADDRESS_TRYTES} or {RECEIVER_TRYTES}")
    plain = address[:ADDRESS_TRYTES]
    if (
        len(address) == RECEIVER_TRYTES
        and address_checksum(plain) != address[ADDRESS_TRYTES:]
    ):
        raise ValueError("the address checksum does not match")
    return plain


def addresses_spent(url: str, addresses: Sequence[str], timeout_s: float) -> list[bool]:
    """Ask ``wereAddressesSpentFrom`` (blocking); one flag per address.

    Addresses are 81 trytes, or 90 with a valid checksum (``ValueError``
    otherwise, before anything is sent).
    """
    plain = [_plain_address(address) for address in addresses]
    if not plain:
        return []  # PyOTA refuses an empty list before sending it
    answer = _call(url, timeout_s, "were_addresses_spent_from", addresses=plain)
    states = answer.get("states") if isinstance(answer, Mapping) else None
    if (
        not isinstance(states, list)
        or len(states) != len(addresses)
        or not all(isinstance(state, bool) for state in states)
    ):
        raise NotAnIriNode("wereAddressesSpentFrom: no list of states")
    return states
