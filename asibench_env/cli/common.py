"""Options and helpers shared by the command-line modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
