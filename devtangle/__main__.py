"""``python -m devtangle serve|faucet|milestone``: the development node's CLI."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
import signal
import sys
import threading
from types import FrameType

from . import params
from .errors import ApiError, StoreError
from .genesis import GenesisError, load_genesis
from .node import DEFAULT_MAX_BODY_BYTES, Limits, Node
from .server import DevTangle
from .store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtangle",
        description="A development IOTA node speaking the legacy IRI HTTP API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the node")
    serve.add_argument("--db", required=True, help="SQLite database (created if new)")
    serve.add_argument("--genesis", help="genesis JSON, applied when the db is new")
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
    faucet.add_argument("--db", required=True)
    faucet.add_argument("address", help="81 trytes, or 90 with checksum")
    faucet.add_argument("amount", type=int)
    return parser


def _serve(args: argparse.Namespace) -> int:
    genesis = load_genesis(args.genesis) if args.genesis else []
    node = DevTangle(
        args.db,
        genesis=genesis,
        host=args.host,
        port=args.port,
        mwm=args.mwm,
        milestone_interval=args.milestone_interval or None,
        limits=Limits(max_body_bytes=args.max_body_bytes),
    )
    stop = threading.Event()

    def on_signal(number: int, _frame: FrameType | None) -> None:
        logging.getLogger("devtangle").info("signal %d: stopping", number)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    node.start()
    logging.getLogger("devtangle").info(
        "devtangle serving %s (MWM %d)", node.url, args.mwm
    )
    while not stop.wait(0.5):
        pass
    node.stop()
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
    logging.basicConfig(
        level=getattr(args, "log_level", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
