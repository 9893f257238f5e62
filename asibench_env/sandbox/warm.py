"""Generic warm pools: objects started ahead by a background thread, taken once, never given back.

The local backend keeps its started sandboxes here (``LocalSandboxOptions.warm_pool``); the Docker
backend has its own container pool (container/pool.py). One :class:`WarmPools` per backend and
process, with one :class:`WarmPool` per key (the options that make two started objects
interchangeable); every pooled object is discarded at :meth:`WarmPools.shutdown` and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF_S = 30.0
REFILL_DELAY_S = 0.05
"""A refill starts this long after a take, so that it does not compete with the reset that took one."""


class WarmPool(Generic[T]):
    """Up to ``size`` objects made by ``make``, refilled one at a time by a background thread."""

    def __init__(
        self,
        make: Callable[[], T],
        size: int,
        *,
        alive: Callable[[T], bool],
        discard: Callable[[T], None],
        name: str = "asibench-warm-pool",
    ):
        self.size = size
        self._make, self._alive, self._discard = make, alive, discard
        self._ready: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._fill, name=name, daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        failures = 0
        while True:
            with self._cond:
                waited = False
                while not self._closed and len(self._ready) >= self.size:
                    self._cond.wait()
                    waited = True
                if waited and not self._closed:
                    self._cond.wait(timeout=REFILL_DELAY_S)
                if self._closed:
                    return
            try:
                item = self._make()
            except Exception as exc:  # noqa: BLE001 - the caller starts its own when the pool is empty
                if self._closed:
                    return
                failures += 1
                logger.warning("warm pool could not start a sandbox (%s)", exc)
                with self._cond:
                    self._cond.wait(timeout=min(MAX_BACKOFF_S, 0.5 * 2**failures))
                continue
            failures = 0
            with self._cond:
                if not self._closed:
                    self._ready.append(item)
                    self._cond.notify_all()
                    continue
            self._safe_discard(item)
            return

    def take(self) -> T | None:
        """A ready object (the refill starts at once), or None when none is ready right now."""
        while True:
            with self._cond:
                if not self._ready:
                    return None
                item = self._ready.popleft()
                self._cond.notify_all()
            if self._alive(item):
                return item
            self._safe_discard(item)

    def ready(self) -> int:
        """How many objects are ready now."""
        with self._cond:
            return len(self._ready)

    def close(self) -> None:
        """Stop refilling and discard every ready object."""
        with self._cond:
            self._closed = True
            items = list(self._ready)
            self._ready.clear()
            self._cond.notify_all()
        for item in items:
            self._safe_discard(item)

    def _safe_discard(self, item: T) -> None:
        with contextlib.suppress(Exception):
            self._discard(item)


class WarmPools(Generic[T]):
    """One backend's warm pools in this process, one per key; usable again after :meth:`shutdown`."""

    def __init__(self, alive: Callable[[T], bool], discard: Callable[[T], None], name: str):
        self._alive, self._discard, self._name = alive, discard, name
        self._lock = threading.Lock()
        self._pools: dict[Hashable, WarmPool[T]] = {}
        self._atexit = False

    def take(self, key: Hashable, size: int, make: Callable[[], T]) -> T | None:
        """A ready object of ``key`` from its pool of ``size`` (created, or resized, on first use); None if empty."""
        with self._lock:
            pool = self._pools.get(key)
            if pool is None or pool.size != size:
                if pool is not None:
                    pool.close()
                pool = self._pools[key] = WarmPool(
                    make, size, alive=self._alive, discard=self._discard, name=self._name
                )
            if not self._atexit:
                atexit.register(self.shutdown)
                self._atexit = True
        return pool.take()

    def pools(self) -> dict[Hashable, WarmPool[T]]:
        """The pools in use, by key."""
        with self._lock:
            return dict(self._pools)

    def shutdown(self) -> None:
        """Discard every pooled object; never raises."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            with contextlib.suppress(Exception):
                pool.close()


class BackgroundWork:
    """Clean-up run off the caller's thread (one worker), that :meth:`wait` can wait for."""

    def __init__(self, name: str):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        atexit.register(self.wait)

    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)`` in the background; its errors are logged, never raised."""

        def run() -> None:
            try:
                work(*args)
            except Exception:  # noqa: BLE001 - clean-up must not raise
                logger.exception("background clean-up failed")

        future = self._executor.submit(run)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for the clean-up submitted so far; never raises."""
        with self._lock:
            pending = list(self._pending)
        wait_for(pending, timeout=timeout)
