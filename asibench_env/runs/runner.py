"""Drive one agent through one episode; plan episodes and parse seed ranges."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import gymnasium as gym

from asibench_env.agents.base import (
    Agent,
    AsyncAgent,
    DescribesConversation,
    ReportsTurns,
    ReportsUsage,
    SyncAdapter,
    is_async_agent,
)
from asibench_env.envs.episode import EpisodeResult, EpisodeStatus
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.errors import InfraError
from asibench_env.trajectories import TrajectoryLogger
from asibench_env.trajectories.logger import MODEL_FIELDS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run: a task at a level, on the instance a seed generates or on a downloaded instance.

    ``instance_id`` names a downloaded instance (then ``seed`` is None: seeds select generated
    instances only); without it the seed picks the generated instance.
    """

    task_id: str
    level: str
    seed: int | None
    instance_id: str | None = None

    @property
    def key(self) -> tuple[str, str, int | None, str | None]:
        """What identifies the episode in a run folder (for resuming): the seed, or the downloaded instance."""
        return spec_key(self.task_id, self.level, self.seed, self.instance_id)


def spec_key(
    task_id: str, level: str, seed: int | None, instance_id: str | None
) -> tuple[str, str, int | None, str | None]:
    """An episode's identity: task, level and seed for a generated instance, or the instance id when seed is None."""
    return task_id, level.upper(), seed, instance_id if seed is None else None


def plan_episodes(
    task_ids: Iterable[str],
    levels: Iterable[str],
    seeds: Iterable[int],
    instances: Mapping[str, Sequence[str]] | None = None,
) -> list[EpisodeSpec]:
    """Every combination, task-major.

    A task with downloaded instances in ``instances`` (task id -> instance ids) gets one episode per
    instance and level, with no seed; the others one per seed and level.
    """
    levels, seeds = list(levels), list(seeds)
    downloaded = instances or {}
    specs = []
    for task_id in task_ids:
        for level in levels:
            if downloaded.get(task_id):
                specs += [EpisodeSpec(task_id, level, None, instance_id) for instance_id in downloaded[task_id]]
            else:
                specs += [EpisodeSpec(task_id, level, seed) for seed in seeds]
    return specs


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0..4]; '1,5,9' -> [1, 5, 9]; ranges and lists may mix.

    Raises :class:`ValueError` with the offending part and the forms that work.
    """
    forms = "write a range like 0-4, a list like 1,2,3, or both (0-4,10)"
    seeds: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        bounds = [low.strip(), high.strip()] if dash else [low.strip()]
        if not all(b.isascii() and b.isdigit() for b in bounds):
            raise ValueError(f"{part!r} is not a seed or a seed range (seeds are whole numbers >= 0); {forms}")
        first, last = int(bounds[0]), int(bounds[-1])
        if last < first:
            raise ValueError(f"seed range {part!r} runs backwards; write it low-high, e.g. {last}-{first}")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}; {forms}")
    return seeds


def _failed(
    spec: EpisodeSpec, env: AsiBenchEnv, status: EpisodeStatus, error: str, steps: int, started: float
) -> EpisodeResult:
    instance = env.instance
    return EpisodeResult(
        task_id=spec.task_id,
        task_version=env.task.version,
        instance_id=instance.instance_id if instance else spec.instance_id or f"{spec.task_id}__seed{spec.seed}",
        prompt_level=spec.level,
        seed=spec.seed,
        parameters=dict(instance.params) if instance else {},
        status=status,
        end_reason=status,
        final_score=0.0 if status == "agent_error" else None,
        error=error,
        steps=steps,
        wall_time_s=time.monotonic() - started,
    )


def _trajectory_logger(env: gym.Env) -> TrajectoryLogger | None:
    """The TrajectoryLogger among the env's wrappers, found through Gymnasium's wrapper attributes."""
    if not env.has_wrapper_attr("trajectory_logger"):
        return None
    layer = env.get_wrapper_attr("trajectory_logger")
    return layer if isinstance(layer, TrajectoryLogger) else None


def _with_usage(result: EpisodeResult, agent: Agent) -> EpisodeResult:
    """Add the agent's token and cost totals (agents that report usage keep them) to the episode's result."""
    if not isinstance(agent, ReportsUsage):
        return result
    usage = agent.usage
    return result.model_copy(
        update={"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens, "cost_usd": agent.cost_usd}
    )


def _record(env: gym.Env, result: EpisodeResult) -> EpisodeResult:
    """Log an episode that did not end through the env (so the trajectory logger did not see its end)."""
    layer = _trajectory_logger(env)
    if layer is not None:
        layer.record_result(result)
    return result


def run_episode(env: gym.Env, agent: Agent | AsyncAgent, spec: EpisodeSpec) -> EpisodeResult:
    """Run one episode to its end; never raises for agent or infrastructure failures.

    ``env`` is an :class:`AsiBenchEnv`, possibly wrapped (e.g. in a TrajectoryLogger). An async agent is
    driven through a :class:`SyncAdapter`. Agents that implement :class:`ReportsTurns` have each turn's
    model metadata logged with its step; those that implement :class:`ReportsUsage` have their token and
    cost totals copied into the result.
    """
    base = env.unwrapped
    if not isinstance(base, AsiBenchEnv):
        raise TypeError(f"run_episode drives an AsiBenchEnv (possibly wrapped), not {type(base).__name__}")
    if is_async_agent(agent):
        agent = SyncAdapter(cast(AsyncAgent, agent))
    agent = cast(Agent, agent)
    started = time.monotonic()
    steps = 0
    try:
        options: dict[str, object] = {"level": spec.level}
        if spec.instance_id:
            options["instance_id"] = spec.instance_id
        observation, info = env.reset(seed=spec.seed, options=options)
    except (InfraError, OSError) as exc:  # every infrastructure failure derives from InfraError
        logger.warning("reset failed for %s: %s", spec, exc)
        return _record(env, _failed(spec, base, "infra_error", f"reset failed: {exc}", steps, started))
    try:
        agent.reset(observation, info)
        logger_layer = _trajectory_logger(env)
        if logger_layer is not None and isinstance(agent, DescribesConversation):
            logger_layer.set_conversation(**agent.conversation_setup())
        while True:
            action = agent.act(observation, info)
            turn = agent.pop_turn() if isinstance(agent, ReportsTurns) else {}
            if logger_layer is not None and turn:
                logger_layer.annotate(**{k: v for k, v in turn.items() if k in MODEL_FIELDS})
            observation, reward, terminated, truncated, info = env.step(action)
            steps += 1
            if terminated or truncated:
                agent.end(float(reward), info)
                return _with_usage(info["episode"], agent)
    except InfraError as exc:
        return _record(env, _failed(spec, base, "infra_error", str(exc), steps, started))
    except Exception as exc:  # noqa: BLE001 - an agent bug ends its own episode, not the run
        logger.exception("agent %s failed on %s", agent.name, spec)
        return _record(env, _failed(spec, base, "agent_error", f"{type(exc).__name__}: {exc}", steps, started))
    finally:
        env.close()
        if isinstance(agent, SyncAdapter):
            agent.close()
