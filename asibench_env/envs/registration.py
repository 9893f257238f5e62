"""Gymnasium ids: ``asibench/<task_id>-v0`` per built-in task and ``asibench/Task-v0`` for any task.

:func:`register_tasks` adds ``asibench/<task_id>-v0`` for every runnable task of a folder in the
official layout (a checkout of the public repository), with its downloaded instances.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym

from asibench_env.tasks.registry import TaskRegistry, builtin_registry

logger = logging.getLogger(__name__)

ENTRY_POINT = "asibench_env.envs.task_env:AsiBenchEnv"
GENERIC_ID = "asibench/Task-v0"


def env_id(task_id: str) -> str:
    """The registered id of a task."""
    return f"asibench/{task_id}-v0"


def register_envs() -> list[str]:
    """Register every built-in task (idempotent); returns the registered ids."""
    ids = [GENERIC_ID]
    if GENERIC_ID not in gym.registry:
        gym.register(id=GENERIC_ID, entry_point=ENTRY_POINT, disable_env_checker=False)
    for task_id in builtin_registry().ids():
        name = env_id(task_id)
        ids.append(name)
        if name not in gym.registry:
            gym.register(id=name, entry_point=ENTRY_POINT, kwargs={"task_id": task_id})
    return ids


def _paths(value: str | Path | Sequence[str | Path] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [str(Path(value).expanduser().resolve())]
    return [str(Path(item).expanduser().resolve()) for item in value]


def register_tasks(
    tasks_dir: str | Path | Sequence[str | Path],
    instances_dir: str | Path | Sequence[str | Path] | None = None,
) -> list[str]:
    """Register ``asibench/<task_id>-v0`` for every runnable task of ``tasks_dir``; returns the ids, sorted.

    A task is runnable when its folder has a generator, or ``instances_dir`` holds downloaded instances
    of it; contract-only tasks are left out (logged). Registering again replaces the earlier entries,
    so a later call with more instances takes effect. ``gymnasium.make(id, **kwargs)`` passes the env's
    other arguments (``level``, ``sandbox``, ...). Raises ``FileNotFoundError`` for a missing folder.
    """
    tasks_dirs, instances_dirs = _paths(tasks_dir), _paths(instances_dir)
    registry = TaskRegistry(tasks_dirs, instances_dirs, include_builtin=False)
    ids, left_out = [], []
    for task_id in registry.ids():
        if not registry.runnability(task_id).runnable:
            left_out.append(task_id)
            continue
        name = env_id(task_id)
        if name in gym.registry:
            del gym.registry[name]
        kwargs = {"task_id": task_id, "tasks_dir": tasks_dirs, "instances_dir": instances_dirs or None}
        gym.register(id=name, entry_point=ENTRY_POINT, kwargs=kwargs)
        ids.append(name)
    if left_out:
        logger.info("not registered (no generator, no downloaded instance): %s", ", ".join(left_out))
    return ids
