"""SkyRL-gym environment: one ASI-Bench episode as a ``BaseTextEnv`` that reads raw completions.

Built on skyrl-gym 0.4.0 (the ``skyrl`` extra): ``skyrl_gym.envs.base_text_env.BaseTextEnv`` and
``BaseTextEnvStepOutput``, registered with ``skyrl_gym.register`` and made with
``skyrl_gym.make(id, env_config=..., extras=...)``, as SkyRL-train's generator does for every
trajectory. The generator gives the env the row's columns but ``prompt`` and ``env_class`` as
``extras`` (plus ``extras["max_turns"]``, its ``generator.max_turns``) and the config section
``environment.skyrl_gym.<env_class>`` as ``env_config``.

Each completion goes to :class:`~asibench_env.envs.task_env.AsiBenchEnv` unchanged, so the env's own
parser reads the ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` block (or a fenced
``bash`` / ``python`` block); a completion without a valid call is an invalid action whose
observation says what was wrong, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from skyrl_gym import register as _skyrl_register
from skyrl_gym import registry as _skyrl_registry
from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput

from asibench_env.envs.protocol import text_protocol_prompt
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.integrations.skyrl_rows import DEFAULT_ENV_CLASS, SkyRLInstance, plain, skyrl_prompt_rows
from asibench_env.rewards import JudgeSettings, needs_judge
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

__all__ = [
    "DEFAULT_ENV_CLASS",
    "ENTRY_POINT",
    "AsiBenchSkyRLConfig",
    "AsiBenchTextEnv",
    "register_asibench",
    "skyrl_prompt_rows",
]

logger = logging.getLogger(__name__)

ENTRY_POINT = "asibench_env.integrations.skyrl_env:AsiBenchTextEnv"
"""The entry point :func:`register_asibench` registers (a string: importable in every Ray worker)."""
DEFAULT_MAX_TURNS = 100


class AsiBenchSkyRLConfig(BaseModel):
    """The ``env_config`` of :class:`AsiBenchTextEnv`: SkyRL's ``environment.skyrl_gym.<env_class>`` section."""

    model_config = ConfigDict(extra="forbid")

    sandbox: str = "local"
    """The sandbox backend: ``local`` or ``docker``."""
    sandbox_options: dict[str, Any] = Field(default_factory=dict)
    """The backend's options, e.g. ``{"warm_pool": 4}`` or ``{"cpus": 2.0}``."""
    max_turns: int | None = Field(default=None, ge=1)
    """The step budget; the lower of this and the generator's ``max_turns`` applies (default 100)."""
    max_wall_time_s: float = Field(default=3600.0, gt=0)
    observation_role: Literal["user", "tool"] = "user"
    """The role of the observation messages. ``user`` (any chat template) wraps the output in
    ``<tool_response>`` tags, the text Hermes-style templates render for a ``tool`` message."""
    tasks_dir: list[str] = Field(default_factory=list)
    """Task folders in the official layout, beside the built-in tasks."""
    instances_dir: list[str] = Field(default_factory=list)
    """Folders of downloaded instances."""
    judge: JudgeSettings | None = None
    """Where model-judge scorers are served; a task that needs one is refused without it."""
    scoring_timeout_s: float = Field(default=120.0, gt=0)


class AsiBenchTextEnv(BaseTextEnv):
    """One ASI-Bench episode for SkyRL: ``init`` starts it, each ``step`` runs one raw completion.

    ``env_config`` is an :class:`AsiBenchSkyRLConfig` or a mapping of its fields (an OmegaConf
    ``DictConfig`` too); ``extras`` is SkyRL's per-row dict, whose ``extra_info`` names the instance
    (:class:`~asibench_env.integrations.skyrl_rows.SkyRLInstance`). ``registry`` and
    ``instance_cache`` are for callers in Python (``skyrl_gym.make`` passes them through); by default
    the config's folders and the user's instance cache.

    Raises ``ValueError`` for a config with unknown or invalid fields, ``extras`` without an
    instance, or a task whose scoring needs a model judge when none is configured;
    :class:`~asibench_env.tasks.registry.UnknownTaskError` for an unknown task.
    """

    def __init__(
        self,
        env_config: AsiBenchSkyRLConfig | Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        *,
        registry: TaskRegistry | None = None,
        instance_cache: InstanceCache | None = None,
    ) -> None:
        super().__init__()
        self.config = _config(env_config)
        extras = plain(extras or {})
        self.instance = SkyRLInstance.from_extras(extras)
        self.max_turns = _max_turns(self.config.max_turns, extras.get("max_turns"))
        registry = registry or _registry(self.config)
        task = registry.get(self.instance.task_id)
        if self.config.judge is None and needs_judge(task.evaluation):
            raise ValueError(
                f"task {task.id} is scored by a model judge and none is configured: set judge "
                "(base_url, api_key_env, optional model) in environment.skyrl_gym.<env_class>, or leave the task out"
            )
        self.gym_env = AsiBenchEnv(
            task.id,
            level=self.instance.level,
            sandbox=self.config.sandbox,
            registry=registry,
            max_steps=self.max_turns,
            max_wall_time_s=self.config.max_wall_time_s,
            sandbox_options=self.config.sandbox_options,
            scoring_timeout_s=self.config.scoring_timeout_s,
            instance_cache=instance_cache,
            judge=self.config.judge,
        )
        self.instance_id: str | None = None
        self.invalid_actions = 0
        self._started = False
        self._done = False

    def init(self, prompt: Sequence[Mapping[str, Any]] | None) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Start the episode (instance, sandbox) and return the conversation the model begins from.

        The row's messages are kept as given up to its last user message, which is replaced by the
        episode's reset observation: the instance's own prompt at the row's level plus a listing of
        the workspace the sandbox really holds (the row only carries the task's prompt template, for
        SkyRL's prompt-length filter and for reading). With no system message there, the text tool
        protocol (:func:`~asibench_env.envs.protocol.text_protocol_prompt`) is put first.

        Returns:
            The messages, and a dict with the task and instance ids, level, seed, parameters and the
            tools in the ``json_schema`` form.

        Raises:
            RuntimeError: ``init`` was already called (one env serves one episode, as in SkyRL).
            ValueError: the instance has no reference files here (private split): it cannot be scored.
            InfraError: the instance could not be generated or the sandbox could not start.
        """
        if self._started:
            raise RuntimeError("init() was already called: an AsiBenchTextEnv serves one episode; make a new one")
        self._started = True
        observation, info = self.gym_env.reset(seed=self.instance.seed, options=self.instance.reset_options())
        self.instance_id = info["instance_id"]
        instance = self.gym_env.instance
        if instance is not None and not instance.has_reference:
            self.gym_env.close()
            raise ValueError(
                f"instance {self.instance_id} has no reference files here (private split), so no reward can be "
                "computed: leave it out of the training rows"
            )
        if self.instance.instance_id and self.instance.instance_id != self.instance_id:
            logger.warning(
                "row names instance %s but the env built %s (task files changed since the rows were made?)",
                self.instance.instance_id,
                self.instance_id,
            )
        messages = _conversation(plain(prompt or []), observation, text_protocol_prompt(info["tools"]))
        keys = ("task_id", "task_version", "instance_id", "level", "seed", "parameters", "tools")
        return messages, {key: info[key] for key in keys}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        """Run one completion: its tool call, or an invalid-action observation when it holds none.

        Returns:
            ``observations``: one message (role per ``observation_role``) with the tool's output or
            the parse error; none on the last step. ``reward``: 0.0, and ``final_score / 100`` on the
            last step (0.0 for an episode that was not scored). ``done``: after ``submit``, at the
            step or wall-time budget, or on an infrastructure failure. ``metadata``: the task,
            instance, level, seed, step, tool and action error; on the last step also ``status``
            (``scored``, ``infra_error`` ...), ``end_reason``, ``final_score`` and ``result`` (the
            whole :class:`~asibench_env.envs.episode.EpisodeResult`: gates, scorers, errors).

        Raises:
            RuntimeError: before :meth:`init`, or after the episode ended.
        """
        if not self._started:
            raise RuntimeError("call init(prompt) before step()")
        if self._done:
            raise RuntimeError("the episode is over; make a new env for the next one")
        self.turns += 1
        observation, reward, terminated, truncated, info = self.gym_env.step(action)
        if info.get("tool") is None:
            self.invalid_actions += 1
        metadata: dict[str, Any] = {
            "task_id": self.instance.task_id,
            "instance_id": self.instance_id,
            "level": self.instance.level,
            "seed": self.instance.seed,
            "step": info.get("step"),
            "tool": info.get("tool"),
            "action_error": info.get("action_error"),
        }
        self._done = terminated or truncated
        if not self._done:
            message = {"role": self.config.observation_role, "content": self._content(observation)}
            return BaseTextEnvStepOutput(observations=[message], reward=0.0, done=False, metadata=metadata)
        result = self.gym_env.last_result
        if result is not None:
            metadata.update(
                status=result.status,
                end_reason=result.end_reason,
                final_score=result.final_score,
                result=result.model_dump(mode="json", exclude={"outputs_dir"}),
            )
        metadata["final_observation"] = observation
        self.gym_env.close()
        return BaseTextEnvStepOutput(observations=[], reward=float(reward), done=True, metadata=metadata)

    def get_metrics(self) -> dict[str, Any]:
        """Episode metrics SkyRL averages over a batch: score, scored and infra-error rates, steps, invalid actions."""
        result = self.gym_env.last_result if self._done else None
        metrics: dict[str, Any] = {
            "steps": self.turns,
            "invalid_actions": self.invalid_actions,
            "scored": float(result is not None and result.status == "scored"),
            "infra_error": float(result is not None and result.status == "infra_error"),
        }
        if result is not None and result.final_score is not None:
            metrics["final_score"] = result.final_score
        return metrics

    def close(self) -> None:
        """Close the sandbox (an unfinished episode is abandoned, unscored). Safe to call more than once."""
        self.gym_env.close()

    def _content(self, observation: str) -> str:
        if self.config.observation_role == "tool":
            return observation
        return f"<tool_response>\n{observation}\n</tool_response>"


def register_asibench(id: str = DEFAULT_ENV_CLASS) -> None:
    """Register :class:`AsiBenchTextEnv` with skyrl_gym under ``id``; calling it again does nothing.

    skyrl-gym 0.4.0 has no plug-in discovery: call this in the process that makes the envs (in
    SkyRL-train, inside the ``skyrl_entrypoint`` Ray task, before ``BasePPOExp(cfg).run()``).
    Raises ``ValueError`` when ``id`` is already registered to another environment.
    """
    existing = _skyrl_registry.get(id)
    if existing is not None:
        if existing.entry_point in (ENTRY_POINT, AsiBenchTextEnv):
            return
        raise ValueError(
            f"skyrl_gym id {id!r} is already registered to {existing.entry_point!r}; "
            "register ASI-Bench under another id and name it as env_class in the rows"
        )
    _skyrl_register(id=id, entry_point=ENTRY_POINT)


def _config(env_config: AsiBenchSkyRLConfig | Mapping[str, Any] | None) -> AsiBenchSkyRLConfig:
    if isinstance(env_config, AsiBenchSkyRLConfig):
        return env_config
    values = plain(env_config) if env_config is not None else {}
    if not isinstance(values, dict):
        raise ValueError(f"env_config must be a mapping of AsiBenchSkyRLConfig fields, got {type(env_config).__name__}")
    values.pop("env_class", None)  # tolerated: some configs repeat the section's own name
    try:
        return AsiBenchSkyRLConfig.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'env_config'}: {e['msg']}" for e in exc.errors())
        fields = ", ".join(AsiBenchSkyRLConfig.model_fields)
        raise ValueError(f"invalid ASI-Bench env_config ({problems}); the fields are {fields}") from None


def _max_turns(configured: int | None, from_generator: Any) -> int:
    """The lower of the config's and SkyRL's generator's ``max_turns`` (100 when neither is set)."""
    limits = [int(value) for value in (configured, from_generator) if value is not None and int(value) > 0]
    return min(limits) if limits else DEFAULT_MAX_TURNS


def _registry(config: AsiBenchSkyRLConfig) -> TaskRegistry:
    if not config.tasks_dir and not config.instances_dir:
        return builtin_registry()
    return _folders_registry(tuple(config.tasks_dir), tuple(config.instances_dir))


@lru_cache(maxsize=8)
def _folders_registry(tasks_dirs: tuple[str, ...], instances_dirs: tuple[str, ...]) -> TaskRegistry:
    """The registry of these folders, read once per process (SkyRL makes one env per trajectory)."""
    return TaskRegistry(tasks_dirs, instances_dirs)


def _conversation(prompt: Any, observation: str, protocol: str) -> list[dict[str, str]]:
    """The row's messages before its last user message, then the live reset observation as the user turn."""
    messages = [
        {"role": str(message.get("role", "user")), "content": str(message.get("content", ""))}
        for message in (prompt if isinstance(prompt, list) else [])
        if isinstance(message, dict)
    ]
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    if users:
        del messages[users[-1] :]
    if not any(message["role"] == "system" for message in messages):
        messages.insert(0, {"role": "system", "content": protocol})
    messages.append({"role": "user", "content": observation})
    return messages
