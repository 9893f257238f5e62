"""asibench-env: ASI-Bench scientific-workflow tasks as multi-turn Gymnasium environments.

Importing the package registers ``asibench/<task_id>-v0`` for every built-in task and
``asibench/Task-v0`` for any task with Gymnasium.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from asibench_env.envs.registration import register_envs

try:
    __version__ = version("asibench-env")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

register_envs()


def __getattr__(name: str) -> Any:
    if name == "AsiBenchEnv":
        from asibench_env.envs.task_env import AsiBenchEnv

        return AsiBenchEnv
    if name == "TaskRegistry":
        from asibench_env.tasks.registry import TaskRegistry

        return TaskRegistry
    raise AttributeError(f"module 'asibench_env' has no attribute {name!r}")


__all__ = ["AsiBenchEnv", "TaskRegistry", "__version__", "register_envs"]
