"""asibench-env: ASI-Bench scientific-workflow tasks as multi-turn Gymnasium environments.

Importing the package registers ``asibench/<task_id>-v0`` for every built-in task and
``asibench/Task-v0`` for any task with Gymnasium; ``register_tasks(tasks_dir, instances_dir)`` adds the
runnable tasks of a folder in the official layout. The layers, top to bottom, are ``cli``, ``runs``,
``agents``, ``envs``, then ``sandbox``/``rewards``/``trajectories`` over ``tasks``, then the ground
modules ``paths``, ``errors`` and ``_version`` (see docs/architecture.md).
"""

from __future__ import annotations

from asibench_env._version import __version__
from asibench_env.envs.actions import ActionParseError, ToolCall, parse_action
from asibench_env.envs.episode import EpisodeResult
from asibench_env.envs.registration import register_envs, register_tasks
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.errors import InfraError
from asibench_env.tasks.registry import TaskRegistry

register_envs()

__all__ = [
    "ActionParseError",
    "AsiBenchEnv",
    "EpisodeResult",
    "InfraError",
    "TaskRegistry",
    "ToolCall",
    "__version__",
    "parse_action",
    "register_envs",
    "register_tasks",
]
