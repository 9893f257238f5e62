"""One rollout, start to end: ``run_rollout(spec, policy, out_dir, ...)``, the unit any executor can run.

Its inputs are plain picklable values (a :class:`RolloutSpec`, a :class:`PolicyConfig` or a module-level
function, the env's keyword arguments, a folder), so threads, processes, asyncio or Ray can run it. It
writes the rollout's trajectory (Parquet) and its result file into the run folder and returns a
:class:`RolloutResult`. It is two halves: :func:`play_rollout` (runs anywhere, writes nothing, returns a
picklable :class:`RolloutProduct`) and :func:`write_rollout` (the driver writes it), so a Ray cluster
needs no shared filesystem. An infrastructure failure (sandbox, dropped policy connection after the SDK's own
retries) re-runs the rollout up to ``max_retries`` times; after that it ends as ``infra_error``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
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
from asibench_env.runs.collect import write_shipped_result
from asibench_env.runs.executors.base import TrajectoryRows
from asibench_env.runs.executors.unit import CapturingWriter, harness_failure, read_outputs
from asibench_env.runs.runner import run_episode
from asibench_env.tasks.registry import TaskRegistry, builtin_registry
from asibench_env.trajectories import TrajectoryLogger
from asibench_env.trajectories.writer import TrajectoryWriter

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


_MESSAGE_FIELDS = frozenset({"request_messages_json", "assistant_message_json"})
"""Turn fields kept only in the Parquet steps (the result already holds the whole conversation)."""


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
        if "model" in turn:  # the first step of a model turn carries the call's record
            self.turns.append({k: v for k, v in turn.items() if k not in _MESSAGE_FIELDS})
        return turn

    def conversation_setup(self) -> dict[str, Any]:
        return self.agent.conversation_setup()

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


@dataclass
class RolloutProduct:
    """What playing one rollout produced, carried back to the driver, which writes it (:func:`write_rollout`).

    ``result.outputs_dir`` is None: the kept outputs travel as bytes in ``outputs``.
    """

    spec: RolloutSpec
    result: EpisodeResult
    attempt: int
    agent_name: str
    agent_config: dict[str, Any]
    run_id: str | None
    trajectories: list[TrajectoryRows] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)
    steps: list[RolloutStep] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    episode_id: str | None = None
    wall_time_s: float = 0.0


def play_rollout(
    spec: RolloutSpec,
    policy: PolicyConfig | ChatPolicy,
    out_dir: str | Path,
    *,
    env_kwargs: dict[str, Any] | None = None,
    run_id: str | None = None,
    max_retries: int = 1,
) -> RolloutProduct:
    """Play one rollout with ``policy`` and capture (not write) its trajectory rows, result and kept outputs.

    Runs on any machine: ``out_dir`` is only named. An infrastructure failure re-runs the rollout up to
    ``max_retries`` times (the rows of every attempt are kept, as a local run logs them). Never raises.
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
    rows: list[TrajectoryRows] = []
    steps: list[RolloutStep] = []
    turns: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    episode_id: str | None = None
    for attempt in range(1, max_retries + 2):
        steps, turns, messages, episode_id = [], [], [], None
        writer = CapturingWriter(out_dir, run_id or "")
        try:
            base = AsiBenchEnv(spec.task_id, level=spec.level, registry=registry, **options)
            logged = TrajectoryLogger(base, out_dir, run_id=run_id, agent=name, model=model, agent_config=agent_config)
            logged.writer = writer
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
        rows.extend(writer.captured)
        if result.status != "infra_error" or attempt > max_retries:
            break
        logger.warning("infra error on %s (attempt %d), retrying: %s", spec, attempt, result.error)
    assert result is not None
    return RolloutProduct(
        spec=spec,
        result=result.model_copy(update={"outputs_dir": None}),
        attempt=attempt,
        agent_name=name,
        agent_config=agent_config,
        run_id=run_id,
        trajectories=rows,
        outputs=read_outputs(result),
        steps=steps,
        turns=turns,
        messages=messages,
        episode_id=episode_id,
        wall_time_s=time.monotonic() - started,
    )


def write_rollout(product: RolloutProduct, out_dir: str | Path) -> RolloutResult:
    """Write a played rollout into ``out_dir`` (on the driver): trajectory rows, kept outputs, result file."""
    out_dir = Path(out_dir)
    spec, result = product.spec, product.result
    trajectories = TrajectoryWriter(out_dir, product.run_id or "")
    for rows in product.trajectories:
        trajectories.write_episode(rows.steps, rows.episode)
    rollout = {
        "group_id": spec.group_id,
        "rollout_index": spec.rollout_index,
        "group_size": spec.group_size,
        "episode_id": product.episode_id,
        "reward": None if result.final_score is None else result.final_score / 100.0,
    }
    path = write_shipped_result(
        out_dir,
        result,
        product.outputs,
        product.agent_name,
        attempt=product.attempt,
        agent_config=product.agent_config,
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
        attempts=product.attempt,
        episode_id=product.episode_id,
        score_results=result.score_results,
        gate_results=result.gate_results,
        messages=product.messages,
        steps=product.steps,
        turns=product.turns,
        wall_time_s=product.wall_time_s,
        sandbox=result.sandbox,
        result_path=str(path),
    )


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
    :func:`play_rollout` then :func:`write_rollout`, in this process.
    """
    product = play_rollout(spec, policy, out_dir, env_kwargs=env_kwargs, run_id=run_id, max_retries=max_retries)
    return write_rollout(product, out_dir)
