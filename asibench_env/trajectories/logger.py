"""TrajectoryLogger: a Gymnasium wrapper that records every step and episode of any asibench env."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym

from asibench_env._version import __version__
from asibench_env.trajectories.rewrite import score_columns
from asibench_env.trajectories.writer import DEFAULT_MAX_OBSERVATION_CHARS, TrajectoryWriter, truncate_observation

MODEL_FIELDS = (
    "model",
    "model_messages_json",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost_usd",
    "logprobs_json",
    "prompt_token_ids",
    "completion_token_ids",
    "completion_logprobs",
    "turn_id",
    "tool_call_id",
    "finish_reason",
    "request_messages_json",
    "request_full",
    "assistant_message_json",
    "assistant_text",
    "reasoning",
)
"""The step columns an agent may supply for a step (through :meth:`TrajectoryLogger.annotate`)."""

CONVERSATION_FIELDS = ("system_prompt", "tools", "tool_format", "message_format")
"""What :meth:`TrajectoryLogger.set_conversation` takes: how the agent framed the episode's conversation."""

EPISODE_FIELDS = ("group_id", "rollout_index", "group_size")
"""The episode columns a caller may set for the episodes to come (:attr:`TrajectoryLogger.episode_fields`)."""


def _raw_action(action: Any) -> str:
    """The action as logged text; never raises (a hostile action must not end the episode as agent_error)."""
    if isinstance(action, str):
        return action
    try:
        if hasattr(action, "model_dump_json"):
            return str(action.model_dump_json())
        return json.dumps(action, ensure_ascii=False, default=str)
    except Exception:  # noqa: BLE001 - deep nesting (RecursionError), huge ints (ValueError), odd objects
        pass
    try:
        return repr(action)[:100_000]
    except Exception:  # noqa: BLE001
        return f"<{type(action).__name__} that cannot be shown>"


class TrajectoryLogger(gym.Wrapper):
    """Logs steps and episodes to ``out_dir/trajectories`` as Parquet, one file per finished episode.

    Only the current episode is held in memory. Agents that call models can attach the turn's
    messages, token counts, cost, logprobs and token ids with :meth:`annotate` before each ``step``,
    and the episode's system prompt and tools with :meth:`set_conversation` after ``reset``. The reset
    observation (the task prompt) is recorded as the episode's ``prompt``.
    ``episode_fields`` (keys of :data:`EPISODE_FIELDS`, e.g. a rollout's group id) go into every
    episode row written from then on; ``last_episode_id`` is the id of the last episode written.
    """

    def __init__(
        self,
        env: gym.Env,
        out_dir: str | Path,
        *,
        run_id: str | None = None,
        agent: str | None = None,
        model: str | None = None,
        agent_config: dict[str, Any] | None = None,
        max_observation_chars: int = DEFAULT_MAX_OBSERVATION_CHARS,
    ):
        super().__init__(env)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.writer = TrajectoryWriter(Path(out_dir), self.run_id)
        self.agent = agent
        self.model = model
        self.agent_config = agent_config
        self.max_observation_chars = max_observation_chars
        self._steps: list[tuple] = []  # raw step records, serialised when the episode ends
        self._context: dict[str, Any] | None = None
        self._pending: dict[str, Any] = {}
        self._conversation: dict[str, Any] = {}
        self._prompt: str | None = None
        self.episode_fields: dict[str, Any] = {}
        self.last_episode_id: str | None = None

    @property
    def trajectory_logger(self) -> TrajectoryLogger:
        """This wrapper: ``env.get_wrapper_attr("trajectory_logger")`` finds it under any other wrappers."""
        return self

    def annotate(self, **fields: Any) -> None:
        """Model metadata for the next step (keys from MODEL_FIELDS; dicts and lists are stored as JSON)."""
        unknown = set(fields) - set(MODEL_FIELDS) - {"model_messages", "logprobs"}
        if unknown:
            raise ValueError(f"unknown step fields {sorted(unknown)}; use {', '.join(MODEL_FIELDS)}")
        if "model_messages" in fields:
            fields["model_messages_json"] = json.dumps(fields.pop("model_messages"), ensure_ascii=False, default=str)
        if "logprobs" in fields:
            fields["logprobs_json"] = json.dumps(fields.pop("logprobs"), default=str)
        self._pending.update(fields)

    def set_conversation(
        self,
        *,
        system_prompt: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_format: str | None = None,
        message_format: str | None = None,
    ) -> None:
        """How the agent framed this episode's conversation: its system prompt, the tools as it sent them,
        their format (``openai``, ``anthropic``, ``openai_responses``, ``json_schema``, ``text``) and the
        messages' format (``openai_chat``, ``anthropic_messages``, ``openai_responses``).

        Call after ``reset``; without it the episode row has the env's tools (``json_schema``) and no
        system prompt.
        """
        self._conversation = {
            "system_prompt": system_prompt,
            "tools_json": json.dumps(tools, ensure_ascii=False) if tools is not None else None,
            "tool_format": tool_format,
            "message_format": message_format,
        }

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the wrapped env and start recording a new episode (a new ``episode_id``)."""
        observation, info = self.env.reset(**kwargs)
        self._start_episode(observation, info)
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the wrapped env and record the step; at the episode's end, write its rows to Parquet."""
        started = time.time()
        outcome = self.env.step(action)
        ended = self._record_step(action, outcome, started)
        if ended is not None:
            self.record_result(ended)
        return outcome

    async def reset_async(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """:meth:`reset` through the wrapped env's ``reset_async`` (found under any other wrappers)."""
        observation, info = await self.env.get_wrapper_attr("reset_async")(**kwargs)
        self._start_episode(observation, info)
        return observation, info

    async def step_async(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """:meth:`step` through the wrapped env's ``step_async``; records the same rows.

        The episode's Parquet files are written in a worker thread.
        """
        started = time.time()
        outcome = await self.env.get_wrapper_attr("step_async")(action)
        ended = self._record_step(action, outcome, started)
        if ended is not None:
            await asyncio.to_thread(self.record_result, ended)
        return outcome

    def _start_episode(self, observation: Any, info: dict[str, Any]) -> None:
        self._steps = []
        self._pending = {}
        tools = info.get("tools")
        self._conversation = {
            "system_prompt": None,
            "tools_json": json.dumps(tools, ensure_ascii=False) if tools is not None else None,
            "tool_format": "json_schema" if tools is not None else None,
            "message_format": None,
        }
        self._prompt = observation if isinstance(observation, str) else None
        self._context = {
            "run_id": self.run_id,
            "episode_id": uuid.uuid4().hex,
            "task_id": info.get("task_id", "unknown"),
            "instance_id": info.get("instance_id", "unknown"),
            "prompt_level": info.get("level", "unknown"),
            "seed": info.get("seed"),
        }

    def _record_step(self, action: Any, outcome: tuple, started: float) -> Any:
        """Keep one step (only cheap work: serialisation waits for the end); the episode result at its end."""
        observation, reward, terminated, truncated, info = outcome
        if self._context is None:
            return None
        self._steps.append(
            (
                action,
                observation,
                float(reward),
                bool(terminated),
                bool(truncated),
                info,
                started,
                time.time(),
                self._pending,
            )
        )
        self._pending = {}
        if (terminated or truncated) and "episode" in info:
            return info["episode"]
        return None

    def _step_rows(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for index, (action, observation, reward, terminated, truncated, info, started, ended, extra) in enumerate(
            self._steps
        ):
            stored, chars, cut = truncate_observation(observation, self.max_observation_chars)
            arguments = info.get("arguments")
            rows.append(
                {
                    **context,
                    "step_index": index,
                    "action_raw": _raw_action(action),
                    "tool": info.get("tool"),
                    "arguments_json": json.dumps(arguments, ensure_ascii=False) if arguments is not None else None,
                    "action_error": info.get("action_error"),
                    "observation": stored,
                    "observation_chars": chars,
                    "observation_truncated": cut,
                    "exit_code": info.get("exit_code"),
                    "timed_out": info.get("timed_out"),
                    "tool_duration_s": info.get("duration_s"),
                    "reward": reward,
                    "terminated": terminated,
                    "truncated": truncated,
                    "started_at": datetime.fromtimestamp(started, UTC),
                    "ended_at": datetime.fromtimestamp(ended, UTC),
                    "model": self.model,
                    **extra,
                }
            )
        return rows

    def record_result(self, result: Any) -> None:
        """Write the current episode with this :class:`~asibench_env.envs.episode.EpisodeResult`.

        The env calls this itself at the end of an episode; a runner calls it for episodes that ended
        another way (the agent raised, the reset failed), so that those are in the dataset too.
        """
        context = self._context or {
            "run_id": self.run_id,
            "episode_id": uuid.uuid4().hex,
            "task_id": result.task_id,
            "instance_id": result.instance_id,
            "prompt_level": result.prompt_level,
            "seed": result.seed,
        }
        sandbox = result.sandbox or {}
        episode = {
            **{k: context[k] for k in ("run_id", "episode_id", "task_id", "instance_id", "prompt_level", "seed")},
            "task_version": result.task_version,
            "parameters_json": json.dumps(result.parameters, sort_keys=True, default=str),
            "agent": self.agent,
            "model": self.model,
            "agent_config_json": json.dumps(self.agent_config, sort_keys=True, default=str)
            if self.agent_config
            else None,
            **score_columns(result),
            "steps": result.steps,
            "wall_time_s": result.wall_time_s,
            "input_tokens": _total(self._steps, "input_tokens"),
            "output_tokens": _total(self._steps, "output_tokens"),
            "cost_usd": _total(self._steps, "cost_usd"),
            "sandbox_backend": sandbox.get("backend"),
            "sandbox_isolation": sandbox.get("level"),
            "package_version": __version__,
            "artifacts": [a.model_dump() for a in result.artifacts],
            "finished_at": datetime.now(UTC),
            **{k: v for k, v in self.episode_fields.items() if k in EPISODE_FIELDS},
            "prompt": self._prompt if self._context is not None else None,
            **(self._conversation if self._context is not None else {}),
        }
        step_rows = self._step_rows(
            {k: context[k] for k in ("run_id", "episode_id", "task_id", "instance_id", "prompt_level", "seed")}
        )
        self.writer.write_episode(step_rows, episode)
        self.last_episode_id = context["episode_id"]
        self._steps = []
        self._context = None
        self._conversation = {}
        self._prompt = None


def _total(steps: list[tuple], key: str) -> float | int | None:
    values = [step[-1][key] for step in steps if step[-1].get(key) is not None]
    return sum(values) if values else None
