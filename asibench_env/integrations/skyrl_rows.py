"""SkyRL dataset rows: one prompt row per task, level and fresh seed, in the format SkyRL-train reads.

A row is ``{data_source, prompt, env_class, reward_spec, extra_info}``. ``extra_info`` holds what the
environment needs to rebuild the instance (:class:`SkyRLInstance`: task id, level, seed, generator
parameters, instance id) and never its reference: the reward comes from the env's scorer, so
``reward_spec`` is ``{"method": "rule", "ground_truth": None}``. This module does not import
``skyrl_gym``: building rows needs no trainer package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from asibench_env.envs.protocol import text_protocol_prompt
from asibench_env.envs.tools import tool_specs
from asibench_env.integrations.exports.instances import InstanceRequest, fresh_instances
from asibench_env.integrations.exports.skyrl import ENV_CLASS, skyrl_rows
from asibench_env.tasks.instances import InstanceCache, ParamMode
from asibench_env.tasks.models import normalize_level
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

__all__ = ["DEFAULT_ENV_CLASS", "SkyRLInstance", "plain", "skyrl_prompt_rows"]

DEFAULT_ENV_CLASS = ENV_CLASS
"""The id :func:`~asibench_env.integrations.skyrl_env.register_asibench` registers by default."""


class SkyRLInstance(BaseModel):
    """The ``extra_info`` of a SkyRL row: what rebuilds one task instance, and nothing of its reference.

    ``params_json`` is the generator parameters as JSON text (one Parquet column type for every task:
    a struct column would merge the parameter names of all tasks and fill the missing ones with
    nulls); None for a downloaded instance (``instance_id`` then names it, and ``seed`` is None).
    Unknown keys are ignored, so a trainer may add its own (``split``, ``index``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    task_id: str
    task_version: str | None = None
    level: str
    seed: int | None
    """The generator's seed; None for a downloaded instance (``instance_id`` names it)."""
    param_mode: ParamMode = "default"
    params_json: str | None = None
    instance_id: str | None = None
    source: Literal["generator", "instances"] = "generator"
    """Where the instance comes from: the task's generator (any seed) or a downloaded instance."""
    index: int | None = None
    """The row's position in the exported dataset (rows are sorted by task, level and seed)."""

    def params(self) -> dict[str, Any] | None:
        """The generator parameters, or None for a downloaded instance."""
        return None if self.params_json is None else dict(json.loads(self.params_json))

    def reset_options(self) -> dict[str, Any]:
        """The ``AsiBenchEnv.reset`` options that rebuild this instance at this level."""
        options: dict[str, Any] = {"level": self.level, "param_mode": self.param_mode}
        if self.source == "instances" and self.instance_id:
            options["instance_id"] = self.instance_id
        elif self.params_json is not None:
            options["params"] = self.params()
        return options

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any]) -> SkyRLInstance:
        """Read the instance from SkyRL's ``extras`` (the row's columns but ``prompt`` and ``env_class``).

        Raises ``ValueError`` naming what is missing or wrong, and how rows are built.
        """
        info = extras.get("extra_info")
        if not isinstance(info, Mapping):
            raise ValueError(
                "the SkyRL row has no extra_info mapping (got "
                f"{type(info).__name__}); build rows with asibench_env.integrations.skyrl_rows.skyrl_prompt_rows"
            )
        try:
            return cls.model_validate(plain(info))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'extra_info'}: {e['msg']}" for e in exc.errors())
            raise ValueError(
                f"the SkyRL row's extra_info cannot rebuild an instance ({problems}); "
                "it needs task_id, level and seed, as skyrl_prompt_rows writes them"
            ) from None


def plain(value: Any) -> Any:
    """``value`` with every mapping a dict and every sequence a list (OmegaConf configs, numpy arrays)."""
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, as pandas reads Parquet lists
    if callable(tolist):
        return plain(tolist())
    if isinstance(value, Sequence | set | frozenset):
        return [plain(item) for item in value]
    return value


def skyrl_prompt_rows(
    tasks: Iterable[str],
    levels: Iterable[str],
    seeds: Iterable[int],
    *,
    registry: TaskRegistry | None = None,
    param_mode: ParamMode = "default",
    env_class: str = DEFAULT_ENV_CLASS,
    system_prompt: str | None = None,
    render_prompts: bool = True,
    instance_cache: InstanceCache | None = None,
) -> list[dict[str, Any]]:
    """SkyRL prompt rows for every task, level and seed, in that order (duplicates dropped).

    Args:
        tasks: task ids of ``registry`` (default: the built-in tasks).
        levels: guidance levels, ``B1`` ... ``B4``.
        seeds: instance seeds: a task's generator draws each instance's parameters from its seed
            (as ``AsiBenchEnv.reset(seed=...)`` does). A task with downloaded instances gets one row
            per instance and level instead, with no seed, as ``asibench-env run`` plans them.
        registry: where the tasks are found.
        param_mode: ``"default"`` (only the seed varies) or ``"random"`` (parameters drawn from their ranges).
        env_class: the SkyRL env id the rows name (the id given to ``register_asibench``).
        system_prompt: the system message; default the text tool protocol
            (:func:`~asibench_env.envs.protocol.text_protocol_prompt`) with the six built-in tools.
        render_prompts: show each instance's own prompt, as its generator renders it (the instance
            is generated into ``instance_cache``, which also readies it for training); False shows
            the task's prompt template instead, placeholders and all (fast: nothing is generated).
            Either way the env replaces the row's user message with the live reset observation.
        instance_cache: where instances are generated (default: the user's instance cache).

    Returns:
        One dict per row: ``data_source`` (``"asibench/<task_id>"``), ``prompt`` (a system message and
        a user message with the level's task prompt), ``env_class``, ``reward_spec``
        (``{"method": "rule", "ground_truth": None}``) and ``extra_info`` (:class:`SkyRLInstance` as a dict).

    Raises:
        UnknownTaskError: a task id the registry does not know.
        ValueError: an unknown level or parameter mode, or a task that cannot run here (neither a
            generator nor downloaded instances).
        InstanceGenerationError: rendering a prompt needed an instance whose generator failed.
    """
    if param_mode not in ("default", "random"):
        raise ValueError(f"param_mode must be 'default' or 'random', got {param_mode!r}")
    registry = registry or builtin_registry()
    chosen = [registry.get(task_id) for task_id in dict.fromkeys(tasks)]
    chosen_levels = list(dict.fromkeys(normalize_level(level) for level in levels))
    chosen_seeds = list(dict.fromkeys(int(seed) for seed in seeds))
    requests: list[InstanceRequest] = []
    for task in chosen:
        downloaded = registry.instances(task.id)
        if not task.has_generator and not downloaded:
            raise ValueError(
                f"task {task.id} has no generator and no downloaded instances, so no episode can start: "
                "pass a registry with its instances folder (TaskRegistry(tasks_dirs, instances_dirs))"
            )
        for level in chosen_levels:
            if downloaded:  # as a run plans them: each downloaded instance once, with no seed
                requests += [InstanceRequest(task.id, level, None, ref.instance_id) for ref in downloaded]
            else:
                requests += [InstanceRequest(task.id, level, seed) for seed in chosen_seeds]
    system = system_prompt if system_prompt is not None else text_protocol_prompt(tool_specs("json_schema"))
    instances = fresh_instances(
        requests,
        registry,
        instance_cache,
        param_mode=param_mode,
        system_prompt=system,
        render=render_prompts,
    )
    return [row.record() for row in skyrl_rows(instances, env_class=env_class)]
