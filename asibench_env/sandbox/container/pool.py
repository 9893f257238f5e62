"""Warm pools of started sandbox containers, and the background release of used ones.

With ``warm_pool=N`` a reset takes a container that is already running with its supervisor ready,
and a background thread starts the next one; containers are never reused across episodes. Used
containers are released off the caller's thread (the stream is closed at once, so the supervisor
exits and Docker removes the container). Pools are per process (one :class:`ContainerPools`, created
on first use) and per container spec; every pooled container is discarded at exit, and the owner
label lets the sweeper take any that survive a crash.
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
from typing import Any, ClassVar

from asibench_env.sandbox.container.launcher import ContainerSpec, Launched, launch, sweep_orphans

logger = logging.getLogger(__name__)


class WarmPool:
    """Up to ``size`` started containers of one spec, refilled by a background thread."""

    def __init__(
        self, client: Any, spec: ContainerSpec, size: int, in_background: Callable[[Callable[[], None]], None]
    ):
        self.client, self.spec, self.size = client, spec, size
        self._in_background = in_background
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
                self._in_background(box.discard)
        return None

    def close(self) -> None:
        """Stop refilling and discard every ready container."""
        with self._cond:
            self._closed = True
            boxes = list(self._ready)
            self._ready.clear()
            self._cond.notify_all()
        for box in boxes:
            box.discard()


class ContainerPools:
    """The Docker backend's shared resources in one process: warm pools, background releases, sweeps.

    One default instance (:meth:`default`) is created on first use and shut down at exit; it stays
    usable after :meth:`shutdown` (the next sandbox starts a new pool).
    """

    _default: ClassVar[ContainerPools | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[ContainerSpec, WarmPool] = {}
        self._releaser = ThreadPoolExecutor(max_workers=2, thread_name_prefix="asibench-docker-release")
        self._pending: set[Future[None]] = set()
        self._swept: set[int] = set()

    @classmethod
    def default(cls) -> ContainerPools:
        """The process's instance, created on first use (and shut down at interpreter exit)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
                atexit.register(cls._default.shutdown)
            return cls._default

    @classmethod
    def current(cls) -> ContainerPools | None:
        """The process's instance if one was created, else None (nothing to shut down)."""
        return cls._default

    def warm_pools(self) -> list[WarmPool]:
        """The warm pools in use, one per container spec."""
        with self._lock:
            return list(self._pools.values())

    def sweep_once(self, client: Any) -> None:
        """Sweep orphans of a client's engine, the first time this client is seen (never raises)."""
        with self._lock:
            if id(client) in self._swept:
                return
            self._swept.add(id(client))
        with contextlib.suppress(Exception):
            sweep_orphans(client)

    def acquire(self, client: Any, spec: ContainerSpec, warm_pool: int = 0) -> Launched:
        """A started container for one episode: from the warm pool when there is one, else a fresh one.

        Raises:
            SandboxError: the container could not be created or its supervisor did not start.
        """
        self.sweep_once(client)
        pool = None
        if warm_pool > 0:
            with self._lock:
                pool = self._pools.get(spec)
                if pool is None or pool.size != warm_pool:
                    if pool is not None:
                        pool.close()
                    pool = self._pools[spec] = WarmPool(client, spec, warm_pool, self.in_background)
        box = pool.take() if pool is not None else None
        return box if box is not None else launch(client, spec)

    def release(self, box: Launched) -> None:
        """End a used container without making the caller wait for Docker."""
        box.channel.close()  # the supervisor sees end-of-input and exits; auto-remove does the rest
        self.in_background(box.kill)

    def in_background(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the release threads; :meth:`shutdown` can wait for it."""
        future = self._releaser.submit(work)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def shutdown(self, wait: bool = True) -> None:
        """Discard every pooled container (and, with ``wait``, finish pending releases). Never raises."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
        if wait:
            with self._lock:
                pending = list(self._pending)
            wait_for(pending, timeout=60)


def acquire_container(client: Any, spec: ContainerSpec, warm_pool: int = 0) -> Launched:
    """:meth:`ContainerPools.acquire` on the process's instance."""
    return ContainerPools.default().acquire(client, spec, warm_pool)


def release_container(box: Launched) -> None:
    """:meth:`ContainerPools.release` on the process's instance."""
    ContainerPools.default().release(box)


def shutdown_pools(wait: bool = True) -> None:
    """Discard every pooled container of the process (what ``DockerSandbox.shutdown`` does)."""
    pools = ContainerPools.current()
    if pools is not None:
        pools.shutdown(wait)
