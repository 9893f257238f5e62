"""The local executor: worker threads of this process, each with its own envs (today's ``run --concurrency``)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from asibench_env.runs.executors.base import EpisodeJob, EpisodeRecord, Executor
from asibench_env.runs.executors.unit import EnvPool, close_envs, run_attempt
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.tasks.instances import GenerationStatus, InstanceCache

_Item = tuple[EpisodeSpec, int] | None


class ThreadExecutor(Executor):
    """``max_in_flight`` daemon threads take attempts from a queue; the driver collects their records."""

    name = "threads"

    def __init__(self, max_in_flight: int = 1):
        super().__init__(max_in_flight)
        self._inbox: queue.Queue[_Item] = queue.Queue()
        self._outbox: queue.Queue[EpisodeRecord] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._pending = 0
        self._cancelled = False

    def start(self, job: EpisodeJob, on_generation: Callable[[GenerationStatus], None] | None = None) -> None:
        """Start the threads; they share the driver's instance cache (with its generation progress)."""
        options = dict(job.env_kwargs)
        if "instance_cache" not in options:
            options["instance_cache"] = InstanceCache(progress=on_generation)
        for index in range(self.max_in_flight):
            thread = threading.Thread(
                target=self._work, args=(job, options), name=f"episode-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _work(self, job: EpisodeJob, options: dict[str, Any]) -> None:
        envs: EnvPool = {}
        try:
            while (item := self._inbox.get()) is not None:
                spec, attempt = item
                self._outbox.put(run_attempt(job, spec, attempt, envs=envs, env_options=options))
        finally:
            close_envs(envs)

    def submit(self, spec: EpisodeSpec, attempt: int) -> None:
        """Queue one attempt for the next free thread."""
        self._pending += 1
        self._inbox.put((spec, attempt))

    def wait(self, timeout: float) -> list[EpisodeRecord]:
        """Finished records, waiting up to ``timeout`` s for the first."""
        records: list[EpisodeRecord] = []
        try:
            records.append(self._outbox.get(timeout=timeout))
            while True:
                records.append(self._outbox.get_nowait())
        except queue.Empty:
            pass
        self._pending -= len(records)
        return records

    def in_flight(self) -> int:
        """Attempts queued or running."""
        return self._pending

    def cancel(self) -> None:
        """Drop the queued attempts; running ones cannot be stopped (the threads die with the process)."""
        self._cancelled = True
        while True:
            try:
                self._inbox.get_nowait()
            except queue.Empty:
                break

    def close(self) -> None:
        """Stop the threads after their current attempt (not waiting for them after :meth:`cancel`)."""
        for _ in self._threads:
            self._inbox.put(None)
        if not self._cancelled:
            for thread in self._threads:
                thread.join()
        self._threads = []
