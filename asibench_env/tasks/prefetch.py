"""A bounded pool of background workers that generate instances before the resets that need them.

One pool per process (:func:`default_prefetcher`), shared by every :class:`~asibench_env.tasks.instances.InstanceCache`,
so that many envs in one process never run more than ``workers`` generators at once
(``$ASIBENCH_ENV_PREFETCH_WORKERS``, default 2). Work is keyed by the instance's cache path: a second
request for an instance in flight gets the same future, and a reset that needs it waits for it
(:meth:`Prefetcher.claim`) instead of generating it again. A failed prefetch never stops the pool: its
error is kept until the reset that needs the instance claims it (or a new prefetch retries it).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

DEFAULT_WORKERS = 2
MAX_KEPT_FAILURES = 1024


def _workers_from_env() -> int:
    raw = os.environ.get("ASIBENCH_ENV_PREFETCH_WORKERS", "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_WORKERS
    except ValueError:
        raise ValueError(f"ASIBENCH_ENV_PREFETCH_WORKERS must be a whole number of workers, got {raw!r}") from None


class Prefetcher:
    """Background generation with at most ``workers`` jobs running; see the module docstring."""

    _default: ClassVar[Prefetcher | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, workers: int = DEFAULT_WORKERS):
        if workers < 1:
            raise ValueError(f"a prefetcher needs at least one worker, got {workers}")
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asibench-prefetch")
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[Any]] = {}
        self._failed: OrderedDict[str, Future[Any]] = OrderedDict()
        self._claimed: set[Future[Any]] = set()

    @classmethod
    def default(cls) -> Prefetcher:
        """The process's pool, created on first use (``$ASIBENCH_ENV_PREFETCH_WORKERS`` workers)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls(_workers_from_env())
                atexit.register(cls._default.shutdown)
            return cls._default

    @classmethod
    def current(cls) -> Prefetcher | None:
        """The process's pool if one was created, else None."""
        return cls._default

    def submit(self, key: str, work: Callable[[], Any]) -> Future[Any]:
        """Run ``work`` in the background unless ``key`` is already in flight; return its future."""
        with self._lock:
            running = self._inflight.get(key)
            if running is not None:
                return running
            self._failed.pop(key, None)  # a new request retries an earlier failure
            future = self._executor.submit(work)
            self._inflight[key] = future
        future.add_done_callback(lambda done: self._settle(key, done))
        return future

    def _settle(self, key: str, future: Future[Any]) -> None:
        with self._lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]
            if future in self._claimed:  # its error was already handed to a reset
                self._claimed.discard(future)
            elif not future.cancelled() and future.exception() is not None:
                self._failed[key] = future
                while len(self._failed) > MAX_KEPT_FAILURES:
                    self._failed.popitem(last=False)

    def pending(self) -> int:
        """How many prefetches are queued or running."""
        with self._lock:
            return len(self._inflight)

    def claim(self, key: str) -> BaseException | None:
        """Wait for ``key``'s prefetch if one is running; return (and forget) its error, if it failed.

        A prefetch still queued is cancelled instead (the caller generates the instance itself rather
        than wait behind other prefetches).
        """
        with self._lock:
            future = self._inflight.get(key) or self._failed.get(key)
        if future is None or future.cancel():  # still queued behind others: the caller generates it now
            return None
        try:
            future.result()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            with self._lock:
                if self._failed.get(key) is future:
                    del self._failed[key]  # settled already
                else:
                    self._claimed.add(future)  # settles later: do not keep its error then
            return exc
        return None

    def shutdown(self, wait: bool = False) -> None:
        """Cancel queued prefetches (running generators finish); never raises."""
        self._executor.shutdown(wait=wait, cancel_futures=True)


def default_prefetcher() -> Prefetcher:
    """:meth:`Prefetcher.default`."""
    return Prefetcher.default()
