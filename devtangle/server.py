"""``DevTangle``: the store, the node, the HTTP server and the milestone clock."""

from __future__ import annotations

from collections.abc import Sequence
import logging
from pathlib import Path
import threading
from typing import Self

from .genesis import Allocation
from .http import ApiServer
from .node import Limits, Node
from .store import CACHE_SIZE, Store

_LOGGER = logging.getLogger(__name__)


class DevTangle:
    """A running development node; usable in-process (tests) and from the CLI.

    The genesis is applied once, when the database is created; later starts
    keep the stored ledger and ignore it.
    """

    # Keyword-only settings of the development node, each with a default.
    def __init__(  # noqa: PLR0913
        self,
        db_path: Path | str,
        *,
        genesis: Sequence[Allocation] = (),
        host: str = "127.0.0.1",
        port: int = 14265,
        mwm: int = 9,
        milestone_interval: float | None = 10.0,
        limits: Limits | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.store = Store(db_path, cache_size=cache_size)
        try:
            self._apply_genesis(genesis)
            self.node = Node(self.store, mwm=mwm, limits=limits)
            if self.store.latest_milestone() is None:
                self.node.issue_milestone()
            self._server = ApiServer((host, port), self.node)
        except BaseException:
            self.store.close()
            raise
        self._interval = milestone_interval
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _apply_genesis(self, genesis: Sequence[Allocation]) -> None:
        if self.store.meta("genesis_applied") is not None:
            if genesis:
                _LOGGER.info("database already has a ledger; genesis ignored")
            return
        with self.store.transaction():
            for allocation in genesis:
                self.store.credit(allocation.address, allocation.balance, "genesis", 0)
            self.store.set_meta("genesis_applied", "1")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Self:
        """Serve in background threads."""
        serve = threading.Thread(
            target=self._server.serve_forever, name="devtangle-http", daemon=True
        )
        self._threads.append(serve)
        if self._interval is not None:
            self._threads.append(
                threading.Thread(
                    target=self._milestones, name="devtangle-milestones", daemon=True
                )
            )
        for thread in self._threads:
            thread.start()
        return self

    def _milestones(self) -> None:
        assert self._interval is not None
        while not self._stopping.wait(self._interval):
            try:
                milestone = self.node.issue_milestone()
                _LOGGER.debug("milestone %d %s", milestone.index, milestone.hash)
            except Exception:
                _LOGGER.exception("milestone failed")

    def stop(self) -> None:
        """Stop serving, finish the milestone in progress and close the store."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self.node.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
