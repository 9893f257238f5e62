"""TRL: :class:`AsiBenchToolEnv` for ``GRPOTrainer(environment_factory=...)`` and its training rows.

Built against TRL 1.16.0 (``trl/trainer/grpo_trainer.py``), whose contract is:

- the factory is called with no arguments, once at start (a probe whose tools are listed) and again
  whenever a batch needs more instances than its pool holds; instances are reused across batches
  and never closed by the trainer;
- ``reset(**row)`` receives every column of the dataset row; a returned string is appended to the
  prompt's last message;
- every public method listed by ``inspect.getmembers(type(env), inspect.isfunction)`` except
  ``reset`` and ``get_reward`` is a tool, its schema built by transformers' ``get_json_schema`` from the
  type hints and the Google-style docstring; it is called with the model's parsed JSON arguments and
  its return value, as text, is the tool message;
- ``get_reward()`` is called once per finished rollout; ``None`` marks the rollout unscorable (left out
  of its group's baseline, advantage 0).

This module imports neither ``trl`` nor ``torch``; :func:`build_dataset` imports ``datasets``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import weakref
from collections.abc import Callable, Iterable
from types import MethodType
from typing import Any, TypeVar

from asibench_env.envs.episode import EpisodeResult
from asibench_env.envs.protocol import SYSTEM_PROMPT as BASE_SYSTEM_PROMPT
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.envs.tools import (
    BashTool,
    ListFilesTool,
    PythonTool,
    ReadFileTool,
    SubmitTool,
    Tool,
    WriteFileTool,
)
from asibench_env.errors import InfraError
from asibench_env.tasks.models import normalize_level
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

logger = logging.getLogger(__name__)

__all__ = ["SYSTEM_PROMPT", "AsiBenchToolEnv", "build_dataset", "dataset_rows"]

SYSTEM_PROMPT = BASE_SYSTEM_PROMPT
"""The default system message of :func:`dataset_rows`: the built-in model agents' own."""

REFUSED_OPTIONS = frozenset({"task_id", "tools", "action_parser", "render_mode"})
"""AsiBenchEnv arguments the tool env sets itself (the task comes from each row; the tools are its methods)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _documented(tool: type[Tool[Any]]) -> Callable[[_F], _F]:
    """Give a tool method the Google-style docstring of ``tool``: its description and argument descriptions.

    The env's tool objects stay the one source of the texts the model sees, whatever the API.
    """

    def apply(method: _F) -> _F:
        fields = tool.args_model.model_fields
        lines = [tool.description]
        if fields:
            lines += ["", "Args:"] + [f"    {name}: {field.description}" for name, field in fields.items()]
        lines += ["", "Returns:", "    The tool's output as text; a mistake comes back as an error message."]
        method.__doc__ = "\n".join(lines)
        return method

    return apply


class _NotATool:
    """A method TRL does not offer the model as a tool: TRL lists plain functions only, this is a descriptor."""

    def __init__(self, func: Callable[[Any], None]):
        self._func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        return self if obj is None else MethodType(self._func, obj)


class _EnvSlot:
    """The env of a tool env's current task; what its weakref finalizer closes (it must not hold the tool env)."""

    def __init__(self) -> None:
        self.env: AsiBenchEnv | None = None

    def close(self) -> None:
        env, self.env = self.env, None
        if env is not None:
            env.close()  # the sandbox; dropping the env removes its collected outputs (its own finalizer)


class AsiBenchToolEnv:
    """One ASI-Bench episode per rollout, driven by TRL's tool-calling loop.

    Use the class itself as ``GRPOTrainer(environment_factory=AsiBenchToolEnv)`` (local sandbox, built-in
    tasks), or :meth:`factory` with options (``AsiBenchToolEnv.factory(sandbox="docker")``). Keyword
    options go to :class:`~asibench_env.envs.task_env.AsiBenchEnv` (``sandbox``, ``sandbox_options``,
    ``tasks_dir``, ``instances_dir``, ``registry``, ``instance_cache``, ``max_steps``,
    ``max_wall_time_s``, ``limits``, ``judge``, ``level`` as the default level, ...); ``task_id``,
    ``tools``, ``action_parser`` and ``render_mode`` are refused (the task comes from each dataset row,
    the tools are this class's methods). An unknown option raises ``TypeError`` here, not at the first reset.

    ``reset(task_id=..., level=..., seed=...)`` starts the episode (rows from :func:`dataset_rows`); the
    tool methods ``bash``, ``python``, ``read_file``, ``write_file``, ``list_files`` and ``submit`` return
    the env's observation text (a bad argument value, a bad path or a call after the end is text too,
    never an exception; only an argument name the method does not have fails at the call, which TRL
    turns into an error message for the model); :meth:`get_reward` is the final score / 100. A rollout
    that never calls ``submit`` (the model stopped, or TRL's completion or tool-call budget ran out) is
    scored on its workspace when :meth:`get_reward` is called, as the env scores a truncated episode
    (``score_unsubmitted=False`` gives 0.0 instead, unscored). The sandbox is closed when the episode is
    scored, at the next reset, by :meth:`close` and, failing those, when the instance is garbage
    collected or the interpreter exits.
    """

    def __init__(self, *, score_unsubmitted: bool = True, **env_options: Any):
        self.score_unsubmitted = score_unsubmitted
        self._env_options = _check_options(env_options)
        self._slot = _EnvSlot()
        self._finalizer = weakref.finalize(self, _EnvSlot.close, self._slot)
        self._running = False
        self._result: EpisodeResult | None = None
        self._reset_info: dict[str, Any] = {}
        self._reset_error: str | None = None
        self._auto_submitted = False

    @classmethod
    def factory(cls, *, score_unsubmitted: bool = True, **env_options: Any) -> Callable[[], AsiBenchToolEnv]:
        """A no-argument callable building configured instances, for ``environment_factory=``.

        Checks the options now (``TypeError`` for an unknown or refused one). The callable pickles when
        the options do (paths and plain values rather than live objects), as TRL's async trainer needs.
        """
        _check_options(env_options)
        return functools.partial(cls, score_unsubmitted=score_unsubmitted, **env_options)

    # ----------------------------------------------------------------- state (properties: not tools)
    @property
    def env(self) -> AsiBenchEnv | None:
        """The underlying Gymnasium env of the current task (None before the first reset and after close)."""
        return self._slot.env

    @property
    def reset_info(self) -> dict[str, Any]:
        """The env's reset info of the current episode (task, instance, level, seed, tools, sandbox, ...)."""
        return self._reset_info

    @property
    def result(self) -> EpisodeResult | None:
        """The finished episode's result (score breakdown, gates, status); None while it runs."""
        return self._result

    @property
    def auto_submitted(self) -> bool:
        """Whether :meth:`get_reward` submitted the outputs because the model never called ``submit``."""
        return self._auto_submitted

    # ----------------------------------------------------------------- TRL's protocol
    def reset(self, task_id: str | None = None, level: str | None = None, seed: int | None = None, **row: Any) -> str:
        """Start the episode of a dataset row; return the task prompt and a listing of the workspace.

        ``row`` holds the other columns (``prompt``: when its last message has text, the observation is
        separated from it by a blank line). An infrastructure failure (instance generation, sandbox
        start, the host's disk) is logged and returned as text, and the rollout's reward is None (unscorable), so one
        failure does not stop a training run. Raises ``ValueError`` for a row without ``task_id`` or
        with a bad level, and ``UnknownTaskError`` (a ``KeyError``) for an unknown task.
        """
        self._running = False
        self._result, self._reset_info, self._reset_error, self._auto_submitted = None, {}, None, False
        if not task_id:
            raise ValueError(
                "reset() needs the row's task_id (and level, seed): build the dataset with "
                "asibench_env.integrations.trl.dataset_rows() or build_dataset()"
            )
        options = {"level": normalize_level(level)} if level is not None else None
        env = self._env_for(task_id)
        try:
            observation, info = env.reset(seed=None if seed is None else int(seed), options=options)
        except (InfraError, OSError) as exc:  # every infrastructure failure derives from InfraError
            logger.error("rollout of %s could not start: %s", task_id, exc)
            self._reset_error = str(exc)
            return f"[infrastructure error] the environment could not start: {exc}"
        self._running, self._reset_info = True, info
        return _separator(row.get("prompt")) + observation

    def get_reward(self) -> float | None:
        """The final score / 100 (0-1) of this rollout; None when it cannot be scored.

        An episode still running is ended here: its outputs are submitted and scored (or, with
        ``score_unsubmitted=False``, it is abandoned with reward 0.0). None for an infrastructure failure
        or an episode whose outputs are kept but not scored (``produced``: no reference files, or a
        model-judge task without a judge); TRL then leaves the rollout out of its group's baseline.
        Calling it again returns the same value.
        """
        if self._running:
            if not self.score_unsubmitted:
                self._running = False
                self._slot.close()
                return 0.0
            self._auto_submitted = True
            self._step(SubmitTool.name, {})
        if self._result is None or self._result.final_score is None:
            return None
        return self._result.final_score / 100.0

    @_NotATool
    def close(self) -> None:
        """Close the sandbox and drop the env (an unfinished episode is abandoned, unscored); reset() may follow."""
        self._running = False
        self._slot.close()

    def __enter__(self) -> AsiBenchToolEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- the tools
    @_documented(BashTool)
    def bash(self, command: str, timeout: float | None = None) -> str:
        return self._step(BashTool.name, {"command": command, "timeout": timeout})

    @_documented(PythonTool)
    def python(self, code: str) -> str:
        return self._step(PythonTool.name, {"code": code})

    @_documented(ReadFileTool)
    def read_file(self, path: str) -> str:
        return self._step(ReadFileTool.name, {"path": path})

    @_documented(WriteFileTool)
    def write_file(self, path: str, content: str) -> str:
        return self._step(WriteFileTool.name, {"path": path, "content": content})

    @_documented(ListFilesTool)
    def list_files(self, path: str = ".") -> str:
        return self._step(ListFilesTool.name, {"path": path})

    @_documented(SubmitTool)
    def submit(self) -> str:
        return self._step(SubmitTool.name, {})

    # ----------------------------------------------------------------- internals
    def _step(self, tool: str, arguments: dict[str, Any]) -> str:
        """One env step; the observation, or why no step can run now."""
        env = self._slot.env
        if not self._running or env is None:
            return self._not_running()
        action = {"tool": tool, "arguments": {k: v for k, v in arguments.items() if v is not None}}
        observation, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            self._running = False
            self._result = info["episode"]
        return observation

    def _not_running(self) -> str:
        if self._reset_error is not None:
            return f"[infrastructure error] the environment could not start: {self._reset_error}"
        if self._result is not None:
            return f"[episode over] the episode ended ({self._result.end_reason}); no further tool calls are possible"
        return "[error] no episode is running: reset() was not called, or the env was closed"

    def _env_for(self, task_id: str) -> AsiBenchEnv:
        """The env of ``task_id``: the current one when it runs that task, else a new one (the old closed)."""
        current = self._slot.env
        if current is not None and current.task.id == task_id:
            return current
        self._slot.close()
        env = AsiBenchEnv(task_id, **self._env_options)
        # The next tasks' envs share this one's registry and instance cache: the task folders are read once.
        self._env_options.update(registry=env.registry, instance_cache=env.instance_cache)
        self._env_options.pop("tasks_dir", None)
        self._env_options.pop("instances_dir", None)
        self._slot.env = env
        return env


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    """The AsiBenchEnv options, checked: ``TypeError`` for a refused or unknown name."""
    refused = sorted(REFUSED_OPTIONS & set(options))
    if refused:
        raise TypeError(
            f"AsiBenchToolEnv sets {', '.join(refused)} itself: the task comes from each dataset row "
            "(task_id, level, seed) and the tools are the class's methods"
        )
    accepted = set(inspect.signature(AsiBenchEnv.__init__).parameters) - {"self"} - REFUSED_OPTIONS
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(
            f"unknown AsiBenchToolEnv option(s) {', '.join(unknown)}; accepted: score_unsubmitted, "
            f"{', '.join(sorted(accepted))}"
        )
    return dict(options)


def _separator(prompt: Any) -> str:
    """A blank line when the row's prompt ends with a message that has text, since TRL appends to it."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        content = prompt[-1].get("content")
        if isinstance(content, str) and content.strip():
            return "\n\n"
    return ""


# --------------------------------------------------------------------------------- training rows
def dataset_rows(
    tasks: str | Iterable[str] = "all",
    levels: str | Iterable[str] = ("B3",),
    seeds: Iterable[int] = range(1),
    *,
    registry: TaskRegistry | None = None,
    system_prompt: str | None = SYSTEM_PROMPT,
) -> list[dict[str, Any]]:
    """Training rows for ``GRPOTrainer(environment_factory=AsiBenchToolEnv)``: one per task, level and seed.

    Each row holds ``prompt`` (conversational: the system message, when given, and an empty user
    message that TRL fills with what :meth:`AsiBenchToolEnv.reset` returns: the task prompt and the
    workspace listing) and the columns ``reset`` reads: ``task_id``, ``level`` (B1-B4) and ``seed``
    (the instance's seed). Nothing of the instance is generated here, and no reference or ground truth
    is ever in a row.

    Args:
        tasks: task ids, or ``"all"`` (every task of ``registry`` that can run here) or ids separated by commas.
        levels: guidance levels (``"B1,B3"`` or a list).
        seeds: instance seeds.
        registry: where the tasks are found (default: the built-in tasks).
        system_prompt: the system message, or None for none.

    Raises:
        ValueError: a bad level, no rows, or a named task that cannot run here (no generator and no
            downloaded instances).
        UnknownTaskError: an unknown task id.
    """
    registry = registry or builtin_registry()
    if isinstance(tasks, str) and tasks.strip() == "all":
        chosen = [task.id for task in registry if registry.runnability(task.id).runnable]
    else:
        names = tasks.split(",") if isinstance(tasks, str) else tasks
        chosen = [registry.get(name.strip()).id for name in names if name.strip()]
    for task_id in chosen:
        if not registry.runnability(task_id).runnable:
            raise ValueError(
                f"task {task_id} cannot run here: it has no generator and no downloaded instances "
                "(pass a registry with instances_dirs=...)"
            )
    level_list = [normalize_level(level) for level in (levels.split(",") if isinstance(levels, str) else levels)]
    seed_list = [int(seed) for seed in seeds]
    prompt = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": ""}
    ]
    rows = [
        {"prompt": [dict(message) for message in prompt], "task_id": task_id, "level": level, "seed": seed}
        for task_id in chosen
        for level in level_list
        for seed in seed_list
    ]
    if not rows:
        raise ValueError(f"no rows: tasks {chosen}, levels {level_list}, seeds {seed_list}")
    return rows


def build_dataset(
    tasks: str | Iterable[str] = "all",
    levels: str | Iterable[str] = ("B3",),
    seeds: Iterable[int] = range(1),
    *,
    registry: TaskRegistry | None = None,
    system_prompt: str | None = SYSTEM_PROMPT,
) -> Any:
    """:func:`dataset_rows` as a Hugging Face ``datasets.Dataset`` (needs the ``datasets`` package)."""
    try:
        datasets = importlib.import_module("datasets")  # optional: only this function needs it
    except ImportError as exc:
        raise ImportError(
            "build_dataset needs the `datasets` package (pip install datasets); "
            "dataset_rows() gives the same rows as a list"
        ) from exc
    rows = dataset_rows(tasks, levels, seeds, registry=registry, system_prompt=system_prompt)
    return datasets.Dataset.from_list(rows)
