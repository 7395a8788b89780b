"""``python -m devrebased serve``: the development Rebased node's CLI.

It serves the GraphQL endpoint on ``http://HOST:PORT/graphql`` with the coins
of a genesis file; the ledger lives in memory, so every start begins from
the genesis again (scripts/develop --rail rebased starts it this way).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
import logging
from pathlib import Path
import sys
from typing import Any

from custom_components.iota_energy.core.rail import ReceiverError
from custom_components.iota_energy.core.rebased_keys import (
    DEFAULT_PATH,
    MnemonicError,
    PathError,
    RebasedKey,
    check_receiver,
)
from devtangle.cli import configure_logging, serve_until_signal

from .ledger import CHAIN_ID
from .server import DevRebased

# The demo configuration's genesis (public test mnemonics), next to the package.
DEMO_GENESIS = (
    Path(__file__).resolve().parents[1] / "config" / "devrebased-genesis.json"
)
# The port IOTA's own GraphQL service listens on by default.
DEFAULT_PORT = 9125
_LOGGER = logging.getLogger("devrebased")


class GenesisError(ValueError):
    """The genesis file is not what ``load_genesis`` reads."""


def load_genesis(path: str | Path) -> dict[str, list[int]]:
    """Coins (nanos) by owner address, from a genesis JSON file.

    ``{"wallets": [{"mnemonic": "...", "path": "m/44'/4218'/0'/0'/0'",
    "coins": [nanos, ...]} | {"address": "0x...", "coins": [...]}]}``; a
    mnemonic is read into its address with the integration's own key code.
    """
    try:
        document: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise GenesisError(f"cannot read {path}: {err}") from None
    wallets = document.get("wallets") if isinstance(document, dict) else None
    if not isinstance(wallets, list):
        raise GenesisError(f"{path}: no list of wallets")
    allocations: dict[str, list[int]] = {}
    for number, wallet in enumerate(wallets):
        coins = wallet.get("coins") if isinstance(wallet, dict) else None
        if (
            not isinstance(coins, list)
            or not coins
            or not all(isinstance(c, int) and 0 < c < 2**64 for c in coins)
        ):
            raise GenesisError(f"{path}: wallet {number} has no coins of 1 to 2^64-1")
        allocations.setdefault(_owner(wallet, number, path), []).extend(coins)
    return allocations


def _owner(wallet: dict[str, Any], number: int, path: str | Path) -> str:
    try:
        if "mnemonic" in wallet:
            key_path = str(wallet.get("path") or DEFAULT_PATH)
            return RebasedKey.from_mnemonic(str(wallet["mnemonic"]), key_path).address
        return check_receiver(str(wallet.get("address", "")))
    except (MnemonicError, PathError, ReceiverError) as err:
        raise GenesisError(
            f"{path}: wallet {number} has no usable mnemonic or address "
            f"({type(err).__name__})"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devrebased",
        description="A development IOTA Rebased node: the GraphQL a payment uses.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the node")
    serve.add_argument(
        "--genesis",
        default=str(DEMO_GENESIS),
        help="genesis JSON (default: the demo's, config/devrebased-genesis.json)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--chain-id", default=CHAIN_ID, help="the chain id it serves")
    serve.add_argument("--log-level", default="INFO")
    return parser


def _serve(args: argparse.Namespace) -> int:
    allocations = load_genesis(args.genesis)
    node = DevRebased(
        allocations, host=args.host, port=args.port, chain_id=args.chain_id
    )
    serve_until_signal(
        node,
        _LOGGER,
        "devrebased serving %s (chain %s; %d funded addresses, in memory)",
        args.chain_id,
        len(allocations),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        return _serve(args)
    except (GenesisError, OSError) as err:
        _LOGGER.error("%s", err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
