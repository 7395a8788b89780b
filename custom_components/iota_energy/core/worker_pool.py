"""Run the wallet's CPU-bound work in a process of its own.

Signing, address derivation and proof of work are pure Python and hold the
GIL while they run: in the process that also samples the meter (and, in
Home Assistant, runs the event loop) every other thread waits for them. A
:class:`WorkerPool` runs them in one worker process instead, started on
first use with the ``spawn`` method (no copy of the caller's threads or
locks), and started again after the worker dies. The worker ends with its
parent, also when the parent is killed with SIGKILL alone.

The wallet only sees a :class:`CpuRunner`: ``run(fn, *args)`` returns what
``fn(*args)`` returns. :func:`run_here` is the in-process runner; the pool's
:meth:`WorkerPool.run` is the other. Only picklable values cross: the
functions in ``wallet_work`` take plain strings and tuples and catch every
exception themselves, so nothing a library put in an exception (the seed,
say) comes back to this process.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
import multiprocessing
import os
from pathlib import Path
import site
import threading
from typing import Any, Protocol

# The folder holding the top-level package of this module (custom_components/
# in Home Assistant's config folder; the repository root in development).
PACKAGE_ROOT = Path(__file__).resolve().parents[len(__name__.split(".")) - 1]


class WorkerLost(Exception):  # noqa: N818 - what happened, not a programming error
    """The worker process ended before answering; nothing it did took effect."""


class CpuRunner(Protocol):
    """Calls ``fn(*args)`` somewhere and returns its result."""

    def __call__[R](self, fn: Callable[..., R], /, *args: Any) -> R: ...


def run_here[R](fn: Callable[..., R], /, *args: Any) -> R:
    """The in-process runner: a plain call."""
    return fn(*args)


def _end_with_parent() -> None:
    """In the worker, its first call: exit as soon as the parent is gone.

    A worker blocks on its call queue, whose pipe it holds both ends of, so a
    parent killed with SIGKILL would leave it waiting for good (one more
    after every crash). The parent's sentinel becomes ready when the parent
    ends, however it ends. (A call, not the pool's initializer: that runs
    before this package is importable in the worker.)
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a spawned worker
        return

    def wait_for_parent() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(
        target=wait_for_parent, name="end-with-parent", daemon=True
    ).start()


class WorkerPool:
    """One worker process, started on first use and after it dies."""

    def __init__(self, start_method: str = "spawn") -> None:
        self._context = multiprocessing.get_context(start_method)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.starts = 0  # worker processes started so far (for tests and logs)

    def run[R](self, fn: Callable[..., R], /, *args: Any) -> R:
        """``fn(*args)`` in the worker; blocks the calling thread, not the GIL.

        Raises :class:`WorkerLost` when the worker dies first (killed, out of
        memory) or the pool is shut down; the next call starts a new worker.
        An exception ``fn`` raises comes back without the worker's
        traceback text.
        """
        executor = self._running()
        try:
            future = executor.submit(fn, *args)
        except (RuntimeError, OSError):
            # Broken or shut down since _running(), or no process could start.
            self._discard(executor)
            raise WorkerLost("the wallet's worker process is gone") from None
        try:
            return future.result()
        except BrokenProcessPool:
            self._discard(executor)
            raise WorkerLost("the wallet's worker process ended") from None
        except Exception as err:
            # Drop the remote traceback the pool chains on as the cause.
            raise err from None

    def shutdown(self) -> None:
        """Stop the worker (waiting for a call in progress); later calls fail."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    @property
    def started(self) -> bool:
        """True while a worker pool is up (its process may still be starting)."""
        return self._executor is not None

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise WorkerLost("the wallet's worker is shut down")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=self._context,
                    # Home Assistant imports custom_components from its config
                    # folder, which a spawned process's path may not hold:
                    # the worker must find this package before it unpickles
                    # its first call.
                    initializer=site.addsitedir,
                    initargs=(str(PACKAGE_ROOT),),
                )
                self._executor.submit(_end_with_parent)
                self.starts += 1
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=True, cancel_futures=True)
