"""ASI-Bench tasks as a verifiers environment (built and tested against verifiers 0.4.0, ``verifiers.v1``).

:func:`load_environment` returns a ``verifiers.v1.Env`` whose taskset has one row per task, level and
seed (:class:`AsiBenchTaskData`: the instance to play, never its reference). Each rollout is played
by :class:`~asibench_env.integrations.verifiers_harness.AsiBenchHarness`: one
:class:`~asibench_env.envs.task_env.AsiBenchEnv` per rollout, the six tools as native function calls,
the rollout ends on ``submit`` or when the env truncates the episode. The one reward,
``asibench_score``, is the task scorer's final score / 100. An infrastructure failure is a verifiers
rollout error on the trace (``trace.errors``, ``trace.ok`` False), never a reward of 0.

verifiers finds the pieces by importing the plugin id ``asibench_verifiers`` (a top-level module that
re-exports them), so ``vf-eval asibench_verifiers ...`` works once asibench-env is installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from asibench_env.envs.protocol import SYSTEM_PROMPT
from asibench_env.integrations.verifiers_harness import (
    PLUGIN_ID,
    AsiBenchHarness,
    AsiBenchHarnessConfig,
    AsiBenchSession,
    AsiBenchState,
    AsiBenchTaskData,
)
from asibench_env.tasks.models import normalize_level, parse_levels
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "PLUGIN_ID",
    "AsiBenchEnvConfig",
    "AsiBenchHarness",
    "AsiBenchHarnessConfig",
    "AsiBenchSession",
    "AsiBenchState",
    "AsiBenchTask",
    "AsiBenchTaskData",
    "AsiBenchTaskset",
    "AsiBenchTasksetConfig",
    "AsiBenchVerifiersEnv",
    "load_environment",
]

DEFAULT_SYSTEM_PROMPT = SYSTEM_PROMPT
"""The system message of every rollout unless told: the built-in model agents' own."""


class AsiBenchTask(vf.Task[AsiBenchTaskData, AsiBenchState, vf.TaskConfig]):
    """One row's behaviour: the reward and metrics, read from what the harness recorded in the state."""

    @property
    def key(self) -> str:
        """The row's durable id (``task_id__level__seedN``), stable across tasksets and runs."""
        return str(self.data.id)

    @vf.reward
    async def asibench_score(self, trace: Any) -> float:
        """The task scorer's final score / 100, the same reward the Gymnasium env gives on its last step.

        Raises ``ValueError`` (a verifiers ``TaskError`` on the trace, not a 0) when the episode was
        not scored: its outputs were produced but cannot be scored here (no reference files, or a
        model-judge scorer with no judge configured), or verifiers stopped the rollout (its rollout
        timeout) before the episode ended.
        """
        state: AsiBenchState = trace.state
        if state.status == "unfinished":
            raise ValueError(
                f"the rollout stopped ({trace.stop_condition}) before its ASI-Bench episode ended, so nothing was "
                "scored; bound episodes with the env's budgets (max_turns, max_wall_time_s: truncated and scored) "
                "rather than verifiers' rollout timeout"
            )
        if state.status != "scored" or state.final_score is None:
            raise ValueError(f"episode {state.instance_id} ended {state.status}, not scored: {state.error}")
        return state.final_score / 100.0

    @vf.metric
    async def asibench_steps(self, trace: Any) -> float:
        """How many steps (tool calls and text replies) the env ran."""
        return float(trace.state.steps)


class AsiBenchTasksetConfig(vf.TasksetConfig):
    """Which rows load (``--env.taskset.*``): every task x level x seed."""

    id: str = PLUGIN_ID
    tasks: list[str] = Field(default_factory=lambda: ["all"])
    """Task ids, or ``all`` for every task of the registry."""
    levels: list[str] = Field(default_factory=lambda: ["B3"])
    """Prompt levels, B1 ... B4."""
    seeds: list[int] = Field(default_factory=lambda: [0])
    """Instance seeds."""
    system_prompt_text: str | None = DEFAULT_SYSTEM_PROMPT
    """The system message of every rollout (None: none)."""
    tasks_dir: list[str] = Field(default_factory=list)
    """Task folders in the official layout, besides the built-in tasks (each row carries them to its env)."""
    instances_dir: list[str] = Field(default_factory=list)
    """Folders of downloaded instances."""


class AsiBenchTaskset(vf.Taskset[AsiBenchTask, AsiBenchTasksetConfig]):
    """One :class:`AsiBenchTask` per task x level x seed, in that order (task ids sorted for ``all``)."""

    def load(self) -> Iterator[AsiBenchTask]:
        """The rows; raises ``UnknownTaskError`` for an unknown task id and ``ValueError`` for a bad level."""
        config: AsiBenchTasksetConfig = self.config
        tasks_dirs = [str(Path(d).expanduser().resolve()) for d in config.tasks_dir]
        instances_dirs = [str(Path(d).expanduser().resolve()) for d in config.instances_dir]
        registry = TaskRegistry(tasks_dirs, instances_dirs) if tasks_dirs or instances_dirs else builtin_registry()
        task_ids = [task.id for spec in config.tasks for task in registry.select(spec)]
        levels = [normalize_level(level) for level in config.levels]
        for task_id in dict.fromkeys(task_ids):
            summary = registry.get(task_id).summary
            for level in levels:
                for seed in config.seeds:
                    data = AsiBenchTaskData(
                        id=f"{task_id}__{level.lower()}__seed{seed}",
                        name=task_id,
                        description=summary,
                        prompt=f"ASI-Bench instance {task_id} at level {level}, seed {seed}. "
                        "The environment opens the conversation with the task prompt and the workspace.",
                        system_prompt=config.system_prompt_text,
                        task_id=task_id,
                        level=level,
                        seed=int(seed),
                        tasks_dir=tasks_dirs,
                        instances_dir=instances_dirs,
                    )
                    yield AsiBenchTask(data, config.task)


class AsiBenchEnvConfig(vf.EnvConfig):
    """The env's config: the ASI-Bench taskset and one ``agent`` seat on the local subprocess runtime.

    The harness needs no verifiers sandbox (the episode has its own ASI-Bench sandbox), so the seat's
    runtime defaults to ``subprocess`` rather than verifiers' remote default.
    """

    taskset: AsiBenchTasksetConfig = AsiBenchTasksetConfig()
    # Built without validation: validating the harness would import this module while it is being defined.
    agent: vf.AgentConfig = vf.AgentConfig.model_construct(
        runtime=vf.SubprocessConfig(), harness=AsiBenchHarnessConfig()
    )
    """The seat, playing with :class:`AsiBenchHarness` (``--env.agent.harness.*`` sets its fields)."""


class AsiBenchVerifiersEnv(vf.Env[AsiBenchEnvConfig]):
    """The single-agent env of the ASI-Bench taskset: the ``agent`` seat plays each row once per rollout."""

    async def run(self, task: Any, agents: Any) -> None:
        """One episode: the agent's rollout of the row."""
        await agents.agent.run(task)


def load_environment(
    tasks: str | Sequence[str] = "all",
    levels: str | Sequence[str] = "B3",
    seeds: int | Iterable[int] = (0,),
    sandbox: str = "local",
    sandbox_options: dict[str, Any] | None = None,
    max_turns: int = 50,
    *,
    max_wall_time_s: float = 3600.0,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    tasks_dir: str | Sequence[str] = (),
    instances_dir: str | Sequence[str] = (),
    **kw: Any,
) -> Any:
    """A verifiers environment over ASI-Bench task instances.

    Args:
        tasks: task ids (a list, or one string of ids separated by commas), or ``"all"``.
        levels: prompt levels, e.g. ``"B1,B3"`` or ``["B3"]``.
        seeds: instance seeds (one row per task x level x seed).
        sandbox: the ASI-Bench sandbox backend of every rollout (``local`` or ``docker``).
        sandbox_options: that backend's options.
        max_turns: the env's step budget per rollout; when it runs out the episode is truncated and the
            workspace scored.
        max_wall_time_s: the env's wall-time budget per rollout (truncation, scored).
        system_prompt: the system message (None: none).
        tasks_dir: extra task folders in the official layout.
        instances_dir: folders of downloaded instances.
        **kw: more ``AsiBenchEnvConfig`` fields, validated by verifiers: ``timeout``, ``retries``,
            ``max_concurrent_agents``, and ``agent`` (a dict of ``verifiers.v1.AgentConfig`` fields for
            the seat, e.g. ``{"timeout": {"rollout": 1800}}``; its harness is always this one).

    Returns:
        An ``AsiBenchVerifiersEnv`` (a ``verifiers.v1.Env``): run it with ``vf-eval``, prime-rl, or
        ``env.serving()`` plus ``env.run_episode(task, ModelContext(...))``.

    Raises:
        ValueError: an unknown level, a bad budget, or config fields verifiers refuses.
        UnknownTaskError: an unknown task id (when the taskset loads).
    """
    task_specs = [tasks] if isinstance(tasks, str) else list(tasks)
    level_list = parse_levels(levels) if isinstance(levels, str) else [normalize_level(x) for x in levels]
    seed_list = [seeds] if isinstance(seeds, int) else [int(s) for s in seeds]
    dirs = [tasks_dir] if isinstance(tasks_dir, str) else list(tasks_dir)
    instance_dirs = [instances_dir] if isinstance(instances_dir, str) else list(instances_dir)
    harness = AsiBenchHarnessConfig(
        sandbox=sandbox,
        sandbox_options=dict(sandbox_options or {}),
        max_turns=max_turns,
        max_wall_time_s=max_wall_time_s,
    )
    taskset = AsiBenchTasksetConfig(
        tasks=task_specs,
        levels=level_list,
        seeds=seed_list,
        system_prompt_text=system_prompt,
        tasks_dir=dirs,
        instances_dir=instance_dirs,
    )
    agent_config = vf.AgentConfig(**{"runtime": vf.SubprocessConfig(), **dict(kw.pop("agent", {})), "harness": harness})
    config = AsiBenchEnvConfig(taskset=taskset, agent=agent_config, **kw)
    return vf.load_environment(config)
