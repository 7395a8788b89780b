"""``python -m devtangle serve|faucet|milestone``: the development node's CLI."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from pathlib import Path
import sys

from . import params
from .cli import configure_logging, serve_until_signal
from .errors import ApiError, StoreError
from .genesis import Allocation, GenesisError, load_genesis
from .node import DEFAULT_MAX_BODY_BYTES, Limits, Node
from .server import DevTangle
from .store import Store

DEFAULT_DB = "devtangle.sqlite3"
# The demo configuration's genesis (a public demo seed), next to the package.
DEMO_GENESIS = Path(__file__).resolve().parents[1] / "config" / "devtangle-genesis.json"
_LOGGER = logging.getLogger("devtangle")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtangle",
        description="A development IOTA node speaking the legacy IRI HTTP API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the node")
    serve.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"SQLite database, created if new (default: ./{DEFAULT_DB})",
    )
    genesis = serve.add_mutually_exclusive_group()
    genesis.add_argument(
        "--genesis",
        help="genesis JSON, applied when the db is new (default: the demo genesis, "
        "config/devtangle-genesis.json)",
    )
    genesis.add_argument(
        "--no-genesis",
        action="store_true",
        help="a new db starts with an empty ledger",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=14265)
    serve.add_argument("--mwm", type=int, default=9, help="minimum weight magnitude")
    serve.add_argument(
        "--milestone-interval",
        type=float,
        default=10.0,
        help="seconds between milestones (0: only on devtangleMilestone)",
    )
    serve.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    serve.add_argument("--log-level", default="INFO")
    faucet = commands.add_parser("faucet", help="credit tokens to an address")
    faucet.add_argument(
        "--db", default=DEFAULT_DB, help=f"SQLite database (default: ./{DEFAULT_DB})"
    )
    faucet.add_argument("address", help="81 trytes, or 90 with checksum")
    faucet.add_argument("amount", type=int)
    return parser


def _genesis(args: argparse.Namespace) -> list[Allocation]:
    """The genesis asked for; by default the demo's, if the checkout has it."""
    if args.no_genesis:
        return []
    if args.genesis:
        return load_genesis(args.genesis)
    if not DEMO_GENESIS.is_file():
        _LOGGER.warning("no demo genesis at %s: empty ledger", DEMO_GENESIS)
        return []
    return load_genesis(DEMO_GENESIS)


def _serve(args: argparse.Namespace) -> int:
    genesis = _genesis(args)
    node = DevTangle(
        args.db,
        genesis=genesis,
        host=args.host,
        port=args.port,
        mwm=args.mwm,
        milestone_interval=args.milestone_interval or None,
        limits=Limits(max_body_bytes=args.max_body_bytes),
    )
    serve_until_signal(
        node, _LOGGER, "devtangle serving %s (MWM %d, database %s)", args.mwm, args.db
    )
    return 0


def _faucet(args: argparse.Namespace) -> int:
    store = Store(args.db)
    try:
        node = Node(store)
        address = params.address(args.address, "address")
        balance = node.fund(address, args.amount, "faucet")
    finally:
        store.close()
    print(f"{address} now holds {balance} i")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(getattr(args, "log_level", "INFO"))
    try:
        if args.command == "serve":
            return _serve(args)
        return _faucet(args)
    except (StoreError, GenesisError, OSError) as err:
        print(f"devtangle: {err}", file=sys.stderr)
        return 2
    except ApiError as err:
        print(f"devtangle: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
