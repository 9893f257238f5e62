"""Vector envs that step their sub-envs at once and serve text observations.

Gymnasium's ``SyncVectorEnv`` (``gymnasium.make_vec(..., vectorization_mode="sync")``) works with
:class:`~asibench_env.envs.task_env.AsiBenchEnv` but steps one sub-env after another. Its
process-based ``AsyncVectorEnv`` cannot serve text spaces (see docs/scaling.md). The two vector envs
here step every sub-env concurrently, in the calling process:

* :class:`AsyncioVectorEnv` drives the sub-envs' ``reset_async``/``step_async`` on one event loop: a
  step waiting for its sandbox holds no thread. ``step``/``reset`` run a private loop; from a running
  loop, ``await vec.step_async(actions)`` / ``await vec.reset_async(...)`` instead.
* :class:`ThreadVectorEnv` runs the sub-envs' ``reset``/``step`` on a thread each (any Gymnasium env).

Both follow Gymnasium's next-step autoreset (``metadata["autoreset_mode"]`` is
``AutoresetMode.NEXT_STEP``, Gymnasium's default): the step after a sub-env terminated or truncated
resets it, ignores its action and returns the reset observation and info with reward 0 and both
flags False. Observations are a tuple of strings (as ``SyncVectorEnv`` gives for text spaces),
rewards a float64 array, the flags bool arrays, infos Gymnasium's vector info dict.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

StepResult = tuple[Any, float, bool, bool, dict[str, Any]]
"""One sub-env's ``(observation, reward, terminated, truncated, info)``."""


class _ConcurrentVectorEnv(VectorEnv, abc.ABC):
    """Next-step autoreset over sub-envs whose resets and steps run together (see the module docstring)."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]):
        if not env_fns:
            raise ValueError("a vector env needs at least one env function, e.g. [lambda: gymnasium.make(ID)] * 4")
        self.envs: list[gym.Env] = [make() for make in env_fns]
        self.num_envs = len(self.envs)
        first = self.envs[0]
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(first.observation_space, self.num_envs)
        self.action_space = batch_space(first.action_space, self.num_envs)
        self.metadata = {**first.metadata, "autoreset_mode": AutoresetMode.NEXT_STEP}
        self.render_mode = first.render_mode
        self.spec = first.spec
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Reset the sub-envs together.

        ``seed``: None (each draws its own), an int (``seed + i`` for sub-env ``i``) or one per
        sub-env. ``options`` go to every sub-env; ``options["reset_mask"]`` (a bool array) resets only
        those sub-envs (the others keep their episode and report their last observation as None).
        """
        return self._run(self._reset_jobs(seed, options))

    def step(self, actions: Sequence[Any]) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray, np.ndarray, dict]:
        """Step every sub-env with its action (or reset the ones whose episode ended on the last step)."""
        return self._run(self._step_jobs(actions))

    def render(self) -> tuple[Any, ...] | None:
        """The sub-envs' renders (with ``render_mode="ansi"``, their transcripts)."""
        return tuple(env.render() for env in self.envs)

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()

    # ------------------------------------------------------------------ the batch logic
    def _reset_jobs(self, seed: int | Sequence[int | None] | None, options: dict[str, Any] | None) -> _Batch:
        seeds: list[int | None]
        if seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, int | np.integer):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs; pass one per env, an int or None")
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if mask is None:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        elif not isinstance(mask, np.ndarray) or mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
            raise ValueError(f"options['reset_mask'] must be a numpy bool array of shape ({self.num_envs},)")
        jobs = [("reset", i, {"seed": seeds[i], "options": options or None}) for i in range(self.num_envs) if mask[i]]
        return _Batch(jobs, reset=True)

    def _step_jobs(self, actions: Sequence[Any]) -> _Batch:
        actions = list(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"got {len(actions)} actions for {self.num_envs} envs; pass one per env")
        jobs = [
            ("reset", i, {}) if self._autoreset[i] else ("step", i, {"action": actions[i]})
            for i in range(self.num_envs)
        ]
        return _Batch(jobs, reset=False)

    def _collect(self, batch: _Batch, results: list[Any]) -> Any:
        observations: list[Any] = [None] * self.num_envs
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        infos: dict[str, Any] = {}
        for (kind, i, _), result in zip(batch.jobs, results, strict=True):
            if kind == "reset":
                observations[i], info = result
                self._autoreset[i] = False
            else:
                observations[i], reward, terminated[i], truncated[i], info = result
                rewards[i] = float(reward)
                self._autoreset[i] = bool(terminated[i] or truncated[i])
            infos = self._add_info(infos, info, i)
        if batch.reset:
            return tuple(observations), infos
        return tuple(observations), rewards, terminated, truncated, infos

    def _run(self, batch: _Batch) -> Any:
        results = self._execute(batch)
        return self._collect(batch, results)

    @abc.abstractmethod
    def _execute(self, batch: _Batch) -> list[Any]:
        """Run the batch's resets and steps together; their results in order (re-raise the first failure)."""


class _Batch:
    """The sub-env calls of one vector reset or step: ``(kind, index, keyword arguments)``."""

    def __init__(self, jobs: list[tuple[str, int, dict[str, Any]]], *, reset: bool):
        self.jobs = jobs
        self.reset = reset


def _first_failure(results: list[Any]) -> list[Any]:
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


class AsyncioVectorEnv(_ConcurrentVectorEnv):
    """Sub-envs with ``reset_async``/``step_async`` (any :class:`AsiBenchEnv`, wrapped or not) on one loop.

    The sub-envs' async methods are found under their wrappers (``get_wrapper_attr``), so a
    :class:`~asibench_env.trajectories.logger.TrajectoryLogger` around a sub-env logs its steps.
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]):
        super().__init__(env_fns)
        for env in self.envs:
            try:
                env.get_wrapper_attr("step_async")
            except AttributeError as exc:
                raise TypeError(f"{env} has no step_async; use ThreadVectorEnv for envs without an async API") from exc
        self._loop: asyncio.AbstractEventLoop | None = None

    async def reset_async(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """:meth:`reset` on the running event loop."""
        batch = self._reset_jobs(seed, options)
        return self._collect(batch, await self._gather(batch))

    async def step_async(
        self, actions: Sequence[Any]
    ) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray, np.ndarray, dict]:
        """:meth:`step` on the running event loop."""
        batch = self._step_jobs(actions)
        return self._collect(batch, await self._gather(batch))

    async def _gather(self, batch: _Batch) -> list[Any]:
        calls = [self.envs[i].get_wrapper_attr(f"{kind}_async")(**kwargs) for kind, i, kwargs in batch.jobs]
        return _first_failure(await asyncio.gather(*calls, return_exceptions=True))

    def _execute(self, batch: _Batch) -> list[Any]:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self._gather(batch))

    def close_extras(self, **kwargs: Any) -> None:
        super().close_extras(**kwargs)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()


class ThreadVectorEnv(_ConcurrentVectorEnv):
    """Any Gymnasium sub-envs, their ``reset``/``step`` run on one thread each, all at once."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]):
        super().__init__(env_fns)
        self._pool = ThreadPoolExecutor(max_workers=self.num_envs, thread_name_prefix="asibench-vector")

    def _execute(self, batch: _Batch) -> list[Any]:
        futures = [self._pool.submit(getattr(self.envs[i], kind), **kwargs) for kind, i, kwargs in batch.jobs]
        results: list[Any] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - re-raised below, after every call has finished
                results.append(exc)
        return _first_failure(results)

    def close_extras(self, **kwargs: Any) -> None:
        super().close_extras(**kwargs)
        self._pool.shutdown(wait=True)


def make_vec(env_id: str, num_envs: int, *, mode: str = "asyncio", **kwargs: Any) -> VectorEnv:
    """``num_envs`` copies of a registered env in an :class:`AsyncioVectorEnv` (``mode="asyncio"``) or a
    :class:`ThreadVectorEnv` (``mode="thread"``); ``kwargs`` go to ``gymnasium.make``.

    Raises ``ValueError`` for another mode or fewer than one env.
    """
    if num_envs < 1:
        raise ValueError(f"num_envs must be at least 1, got {num_envs}")
    fns = [lambda: gym.make(env_id, **kwargs)] * num_envs
    if mode == "asyncio":
        return AsyncioVectorEnv(fns)
    if mode == "thread":
        return ThreadVectorEnv(fns)
    raise ValueError(f"mode must be 'asyncio' or 'thread', got {mode!r}")


__all__ = ["AsyncioVectorEnv", "ThreadVectorEnv", "make_vec"]
