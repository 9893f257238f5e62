"""Gymnasium ids: ``asibench/<task_id>-v0`` per built-in task and ``asibench/Task-v0`` for any task."""

from __future__ import annotations

import gymnasium as gym

ENTRY_POINT = "asibench_env.envs.task_env:AsiBenchEnv"
GENERIC_ID = "asibench/Task-v0"


def env_id(task_id: str) -> str:
    """The registered id of a built-in task."""
    return f"asibench/{task_id}-v0"


def register_envs() -> list[str]:
    """Register every built-in task (idempotent); returns the registered ids."""
    from asibench_env.tasks.registry import builtin_registry

    ids = [GENERIC_ID]
    if GENERIC_ID not in gym.registry:
        gym.register(id=GENERIC_ID, entry_point=ENTRY_POINT, disable_env_checker=False)
    for task_id in builtin_registry().ids():
        name = env_id(task_id)
        ids.append(name)
        if name not in gym.registry:
            gym.register(id=name, entry_point=ENTRY_POINT, kwargs={"task_id": task_id})
    return ids
