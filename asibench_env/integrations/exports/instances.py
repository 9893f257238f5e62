"""Fresh instances for prompt datasets: what an env needs to rebuild each one, and its task prompt.

Generated instances come from the instance cache (generated on a miss); downloaded ones from the task
registry. Nothing of the instance's reference (ground truth) is read or returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asibench_env.envs.workspace import prompt_path
from asibench_env.integrations.exports.errors import ExportError
from asibench_env.integrations.exports.models import ChatMessage, InstanceInfo
from asibench_env.tasks.instances import InstanceCache, ParamMode, instance_id_for, planned_params
from asibench_env.tasks.registry import InstanceRef, TaskRegistry


@dataclass(frozen=True)
class InstanceRequest:
    """One prompt row to make: a task at a level, on the instance a seed generates or a downloaded instance."""

    task_id: str
    level: str
    seed: int | None
    instance_id: str | None = None


@dataclass(frozen=True)
class FreshInstance:
    """A planned instance: how to rebuild it, its task's domain, and the prompt messages."""

    info: InstanceInfo
    domain: str
    messages: list[ChatMessage]


def _sort_key(request: InstanceRequest) -> tuple[str, str, int, str]:
    return (
        request.task_id,
        request.level.upper(),
        -1 if request.seed is None else request.seed,
        request.instance_id or "",
    )


RENDERED_LATER = (
    "(This instance's prompt is rendered by its generator; the environment shows it when the episode starts.)"
)
"""The user message of a row whose task has no prompt template and whose instance was not rendered."""


def fresh_instances(
    requests: Sequence[InstanceRequest],
    registry: TaskRegistry,
    cache: InstanceCache | None = None,
    *,
    param_mode: ParamMode = "default",
    system_prompt: str | None = None,
    render: bool = True,
) -> list[FreshInstance]:
    """The instances of ``requests``, sorted by task, level and seed (or instance id), numbered in that order.

    The messages are the system prompt (when given) and the level's task prompt as the user message:
    the instance's own, as its generator renders it (``render``: the instance is generated into
    ``cache``, default the user's instance cache), else the task's template, placeholders and all
    (nothing is generated). Raises :class:`ExportError` for a task that has neither a generator nor
    the named instance.
    """
    if render and cache is None:
        cache = InstanceCache()
    out = []
    for index, request in enumerate(sorted(requests, key=_sort_key)):
        task = registry.get(request.task_id)
        level = request.level.upper()
        ref: InstanceRef | None
        params: dict[str, Any] | None = None
        if request.instance_id is not None:
            ref = registry.instance(request.instance_id)
        else:
            if request.seed is None:
                raise ExportError(f"{request.task_id} {level}: give a seed or a downloaded instance id")
            planned = planned_params(registry, task, request.seed, param_mode)
            if planned is None:
                raise ExportError(
                    f"task {task.id} has no generator here (only downloaded instances); its rows need instance ids"
                )
            params = planned
            ref = cache.get(task, params)[0] if cache is not None and render else None
        if ref is not None:
            prompt = prompt_path(task, ref, level).read_text(encoding="utf-8")
        else:
            template = task.prompt_template(level)
            prompt = template.read_text(encoding="utf-8") if template.is_file() else RENDERED_LATER
        messages = [ChatMessage(role="system", content=system_prompt)] if system_prompt else []
        messages.append(ChatMessage(role="user", content=prompt))
        info = InstanceInfo(
            task_id=task.id,
            task_version=task.version,
            level=level,
            seed=request.seed,
            param_mode=param_mode,
            params_json=None if params is None else json.dumps(params, sort_keys=True, default=str),
            instance_id=ref.instance_id if ref is not None else instance_id_for(task.id, params or {}),
            source="generator" if params is not None else "instances",
            index=index,
        )
        out.append(FreshInstance(info=info, domain=task.meta.domain, messages=messages))
    return out
