"""What the development nodes' command lines share: logging and serving.

``python -m devtangle serve`` and ``python -m devrebased serve`` both run a
node in its own threads until SIGINT or SIGTERM. devrebased imports this
module: devtangle needs no Home Assistant, so either node runs without it.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Protocol

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ServedNode(Protocol):
    """A node serving from its own threads between start and stop."""

    @property
    def url(self) -> str:
        """Where it answers (known once started: port 0 picks a free one)."""
        ...

    def start(self) -> object:
        """Begin serving; returns at once."""
        ...

    def stop(self) -> None:
        """Stop serving and wait for its threads."""
        ...


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` (a name, any case), with time and logger."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)


def serve_until_signal(
    node: ServedNode, logger: logging.Logger, started: str, *details: object
) -> None:
    """Serve until SIGINT or SIGTERM, then stop ``node``.

    Once it serves, ``started`` is logged with the node's URL for its first
    ``%s`` and ``details`` for the rest (tests and scripts read that line
    for the URL).
    """
    stop = threading.Event()

    def on_signal(number: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", number)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    node.start()
    logger.info(started, node.url, *details)
    while not stop.wait(0.5):
        pass
    node.stop()
