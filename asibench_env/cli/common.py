"""Options and helpers shared by the command-line modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asibench_env.rewards import JudgeConfigError, JudgeSettings
from asibench_env.tasks.registry import TaskRegistry

TasksDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--tasks-dir", help="A folder of tasks in the official layout (repeatable).", show_default=False),
]
InstancesDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--instances-dir", help="A folder of downloaded instances (repeatable).", show_default=False),
]


def open_registry(tasks_dir: list[Path] | None, instances_dir: list[Path] | None) -> TaskRegistry:
    """The built-in tasks plus those of the given folders. Raises :class:`typer.BadParameter` for a missing folder."""
    try:
        return TaskRegistry(tasks_dir or [], instances_dir or [])
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks-dir / --instances-dir") from exc


JudgeBaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="Model judge: OpenAI-compatible server URL for the llm_judge, multimodal and agent_judge scorers.",
        show_default=False,
    ),
]
JudgeModelOpt = Annotated[
    str | None, typer.Option(help="Model judge: model name, replacing the one the task names.", show_default=False)
]
JudgeApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        help="Model judge: environment variable holding its API key (required with --judge-base-url).",
        show_default=False,
    ),
]
JudgeProtocolOpt = Annotated[
    str | None,
    typer.Option(help="Model judge: API protocol, openai or native. (default openai)", show_default=False),
]


def judge_settings(
    base_url: str | None, api_key_env: str | None, model: str | None, protocol: str | None
) -> JudgeSettings | None:
    """The model judge the ``--judge-*`` options describe (None without them), its key variable checked now.

    Raises :class:`typer.BadParameter` naming the option to change.
    """
    if protocol is not None and base_url is None:
        raise typer.BadParameter("--judge-protocol needs --judge-base-url URL", param_hint="--judge-base-url")
    try:
        return JudgeSettings.from_options(base_url, api_key_env, model, protocol or "openai")
    except JudgeConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.option or "--judge-base-url") from exc
