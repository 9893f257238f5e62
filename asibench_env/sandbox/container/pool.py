"""Warm pools of started sandbox containers, and the background release of used ones.

With ``warm_pool=N`` a reset takes a container that is already running with its supervisor ready,
and a background thread starts the next one; containers are never reused across episodes. Used
containers are released off the caller's thread (the stream is closed at once, so the supervisor
exits and Docker removes the container). Pools are per process and per container spec; every pooled
container is discarded at exit, and the owner label lets the sweeper take any that survive a crash.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any

from asibench_env.sandbox.container.launcher import ContainerSpec, Launched, launch, sweep_orphans

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pools: dict[ContainerSpec, WarmPool] = {}
_releaser = ThreadPoolExecutor(max_workers=2, thread_name_prefix="asibench-docker-release")
_pending: set[Future[None]] = set()
_swept: set[int] = set()


class WarmPool:
    """Up to ``size`` started containers of one spec, refilled by a background thread."""

    def __init__(self, client: Any, spec: ContainerSpec, size: int):
        self.client, self.spec, self.size = client, spec, size
        self._ready: deque[Launched] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._fill, name="asibench-docker-pool", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self.size:
                    self._cond.wait()
                if self._closed:
                    return
            try:
                box = launch(self.client, self.spec)
            except Exception as exc:  # noqa: BLE001 - a failed start is retried by the caller's own launch
                failures += 1
                logger.warning("warm pool could not start a container (%s)", exc)
                with self._cond:
                    self._cond.wait(timeout=min(30.0, 0.5 * 2**failures))
                continue
            failures = 0
            with self._cond:
                if self._closed:
                    box.discard()
                    return
                self._ready.append(box)
                self._cond.notify_all()

    def take(self) -> Launched | None:
        """A ready container, or None when the pool is empty right now."""
        with self._cond:
            while self._ready:
                box = self._ready.popleft()
                self._cond.notify_all()
                if box.alive():
                    return box
                _in_background(box.discard)
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            boxes = list(self._ready)
            self._ready.clear()
            self._cond.notify_all()
        for box in boxes:
            box.discard()


def acquire_container(client: Any, spec: ContainerSpec, warm_pool: int = 0) -> Launched:
    """A started container for one episode: from the warm pool when there is one, else a fresh one."""
    with _lock:
        if id(client) not in _swept:
            _swept.add(id(client))
            with contextlib.suppress(Exception):
                sweep_orphans(client)
        pool = None
        if warm_pool > 0:
            key = spec
            pool = _pools.get(key)
            if pool is None or pool.size != warm_pool:
                if pool is not None:
                    pool.close()
                pool = _pools[key] = WarmPool(client, spec, warm_pool)
    box = pool.take() if pool is not None else None
    return box if box is not None else launch(client, spec)


def release_container(box: Launched) -> None:
    """End a used container without making the caller wait for Docker."""
    box.channel.close()  # the supervisor sees end-of-input and exits; auto-remove does the rest
    _in_background(box.kill)


def _in_background(work: Callable[[], None]) -> None:
    future = _releaser.submit(work)
    with _lock:
        _pending.add(future)
    future.add_done_callback(lambda done: _forget(done))


def _forget(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def shutdown_pools(wait: bool = True) -> None:
    """Discard every pooled container (and, with ``wait``, finish pending releases)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()
    if wait:
        with _lock:
            pending = list(_pending)
        wait_for(pending, timeout=60)


atexit.register(shutdown_pools)
