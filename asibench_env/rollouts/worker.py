"""One rollout, start to end: ``run_rollout(spec, policy, out_dir, ...)``, the unit any executor can run.

Its inputs are plain picklable values (a :class:`RolloutSpec`, a :class:`PolicyConfig` or a module-level
function, the env's keyword arguments, a folder), so threads, processes, asyncio or Ray can run it. It
writes the rollout's trajectory (Parquet) and its result file into the run folder and returns a
:class:`RolloutResult`. An infrastructure failure (sandbox, dropped policy connection after the SDK's own
retries) re-runs the rollout up to ``max_retries`` times; after that it ends as ``infra_error``.
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
from pydantic import BaseModel, Field

from asibench_env.agents.model_agent import ModelAgent
from asibench_env.envs.episode import EpisodeResult
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.rollouts.policy import ChatPolicy, PolicyConfig, make_policy_agent
from asibench_env.rollouts.spec import RolloutSpec
from asibench_env.runs.executors.unit import harness_failure
from asibench_env.runs.results import write_result
from asibench_env.runs.runner import run_episode
from asibench_env.tasks.registry import TaskRegistry, builtin_registry
from asibench_env.trajectories import TrajectoryLogger

logger = logging.getLogger(__name__)


class RolloutStep(BaseModel):
    """One env step of a rollout: the tool called, its arguments and the step's reward."""

    tool: str | None
    arguments: Any = None
    reward: float
    action_error: str | None = None


class RolloutResult(BaseModel):
    """A finished rollout: what it played, how it ended, and the token data of every model turn."""

    task_id: str
    prompt_level: str
    seed: int | None
    instance_id: str
    group_id: str
    rollout_index: int
    group_size: int
    status: str = Field(description="scored, produced, agent_error or infra_error (after the retries).")
    final_score: float | None
    reward: float | None = Field(description="final_score / 100; None when not scored.")
    error: str | None = None
    attempts: int
    episode_id: str | None = Field(description="The episode's id in the trajectory tables.")
    score_results: list[dict[str, Any]] = Field(default_factory=list)
    gate_results: list[dict[str, Any]] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list, description="The conversation (OpenAI format).")
    steps: list[RolloutStep] = Field(default_factory=list)
    turns: list[dict[str, Any]] = Field(
        default_factory=list, description="Per model call: tokens, finish reason, token ids and logprobs when returned."
    )
    wall_time_s: float = 0.0
    sandbox: dict[str, Any] = Field(default_factory=dict, description="The sandbox's backend and isolation.")
    result_path: str | None = None


class _StepTap(gym.Wrapper):
    """Keeps each step's tool, arguments and reward (the Parquet rows are written by the logger beneath)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.steps: list[RolloutStep] = []

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.steps.append(
            RolloutStep(
                tool=info.get("tool"),
                arguments=info.get("arguments"),
                reward=float(reward),
                action_error=info.get("action_error"),
            )
        )
        return observation, reward, terminated, truncated, info


class _TurnTap:
    """Forwards to the policy agent and keeps every turn the runner pops."""

    def __init__(self, agent: ModelAgent):
        self.agent = agent
        self.name = agent.name
        self.turns: list[dict[str, Any]] = []

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.agent.reset(observation, info)

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        return self.agent.act(observation, info)

    def end(self, reward: float, info: dict[str, Any]) -> None:
        self.agent.end(reward, info)

    def pop_turn(self) -> dict[str, Any]:
        turn = self.agent.pop_turn()
        if turn:
            self.turns.append({k: v for k, v in turn.items() if k != "model_messages_json"})
        return turn

    @property
    def usage(self) -> Any:
        return self.agent.usage

    @property
    def cost_usd(self) -> float | None:
        return self.agent.cost_usd


@lru_cache(maxsize=8)
def _registry(tasks_dirs: tuple[str, ...], instances_dirs: tuple[str, ...]) -> TaskRegistry:
    if not tasks_dirs and not instances_dirs:
        return builtin_registry()
    return TaskRegistry([Path(p) for p in tasks_dirs], [Path(p) for p in instances_dirs])


def _paths(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | Path):
        return (str(value),)
    return tuple(str(v) for v in value)


def policy_name(policy: PolicyConfig | ChatPolicy) -> str:
    """The name rollouts record as their agent: ``openai:<model>`` or the callable's name."""
    if isinstance(policy, PolicyConfig):
        return f"openai:{policy.model}"
    return f"callable:{getattr(policy, '__qualname__', type(policy).__name__)}"


def run_rollout(
    spec: RolloutSpec,
    policy: PolicyConfig | ChatPolicy,
    out_dir: str | Path,
    *,
    env_kwargs: dict[str, Any] | None = None,
    run_id: str | None = None,
    max_retries: int = 1,
) -> RolloutResult:
    """Play one rollout with ``policy`` and write its trajectory and result file under ``out_dir``.

    ``env_kwargs`` are :class:`~asibench_env.envs.task_env.AsiBenchEnv`'s keyword arguments (sandbox,
    sandbox_options, max_steps, tasks_dir, instances_dir, ...). Never raises for agent or infrastructure
    failures: they end the rollout as ``agent_error`` or (after ``max_retries`` re-runs) ``infra_error``.
    """
    out_dir = Path(out_dir)
    options = dict(env_kwargs or {})
    registry = options.pop("registry", None) or _registry(
        _paths(options.pop("tasks_dir", None)), _paths(options.pop("instances_dir", None))
    )
    agent_config = (
        policy.public() if isinstance(policy, PolicyConfig) else {"agent": "rollouts", "callable": policy_name(policy)}
    )
    name = policy_name(policy)
    model = policy.model if isinstance(policy, PolicyConfig) else None
    started = time.monotonic()
    attempt = 0
    result: EpisodeResult | None = None
    steps: list[RolloutStep] = []
    turns: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    episode_id: str | None = None
    for attempt in range(1, max_retries + 2):
        steps, turns, messages, episode_id = [], [], [], None
        try:
            base = AsiBenchEnv(spec.task_id, level=spec.level, registry=registry, **options)
            logged = TrajectoryLogger(base, out_dir, run_id=run_id, agent=name, model=model, agent_config=agent_config)
            logged.episode_fields = {
                "group_id": spec.group_id,
                "rollout_index": spec.rollout_index,
                "group_size": spec.group_size,
            }
            tap = _StepTap(logged)
            agent = _TurnTap(make_policy_agent(policy))
            result = run_episode(tap, agent, spec.episode)
            steps, turns, episode_id = tap.steps, agent.turns, logged.last_episode_id
            messages = list(getattr(agent.agent, "messages", []))
        except Exception as exc:  # noqa: BLE001 - a harness failure ends this rollout, not its group or the run
            logger.exception("harness failure on rollout %s", spec)
            result = harness_failure(spec.episode, registry, f"harness failure: {type(exc).__name__}: {exc}")
        if result.status != "infra_error" or attempt > max_retries:
            break
        logger.warning("infra error on %s (attempt %d), retrying: %s", spec, attempt, result.error)
    assert result is not None
    rollout = {
        "group_id": spec.group_id,
        "rollout_index": spec.rollout_index,
        "group_size": spec.group_size,
        "episode_id": episode_id,
        "reward": None if result.final_score is None else result.final_score / 100.0,
    }
    path = write_result(
        out_dir / "results",
        result,
        name,
        attempt=attempt,
        agent_config=agent_config,
        suffix=spec.suffix,
        extra={"rollout": rollout},
    )
    written = json.loads(path.read_text(encoding="utf-8"))  # writing may have turned it into an infra_error
    final_score = written.get("final_score")
    return RolloutResult(
        task_id=spec.task_id,
        prompt_level=spec.level,
        seed=spec.seed,
        instance_id=result.instance_id,
        group_id=spec.group_id,
        rollout_index=spec.rollout_index,
        group_size=spec.group_size,
        status=written.get("episode_status", result.status),
        final_score=final_score,
        reward=None if final_score is None else final_score / 100.0,
        error=written.get("error", result.error),
        attempts=attempt,
        episode_id=episode_id,
        score_results=result.score_results,
        gate_results=result.gate_results,
        messages=messages,
        steps=steps,
        turns=turns,
        wall_time_s=time.monotonic() - started,
        sandbox=result.sandbox,
        result_path=str(path),
    )
