"""``asibench-env export harbor``: one Harbor task folder per task, level and seed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.cli.common import TasksDirOpt, open_registry
from asibench_env.integrations.harbor import (
    HARBOR_VERSION,
    ExportedTask,
    HarborExportError,
    HarborExportOptions,
    HarborExportSpec,
    export_harbor_tasks,
)
from asibench_env.integrations.harbor.bundle import BundleError
from asibench_env.runs.runner import parse_seeds
from asibench_env.tasks.instances import InstanceGenerationError
from asibench_env.tasks.models import parse_levels
from asibench_env.tasks.registry import UnknownTaskError

console = Console()


def harbor(
    out: Annotated[Path, typer.Option(help="Folder to write the task folders into.", show_default=False)],
    tasks: Annotated[str, typer.Option(help="'all' or task ids separated by commas.")] = "all",
    levels: Annotated[str, typer.Option(help="Prompt levels, e.g. B1,B2,B3,B4.")] = "B1,B2,B3,B4",
    seeds: Annotated[str, typer.Option(help="Seeds: a range '0-4' or a list '1,2,3'.")] = "0-1",
    param_mode: Annotated[str, typer.Option(help="'default' parameters or 'random' draws per seed.")] = "default",
    image: Annotated[
        str | None,
        typer.Option(
            help="Sandbox image the environments build FROM (default: the built-in tasks' one).", show_default=False
        ),
    ] = None,
    agent_timeout: Annotated[float, typer.Option(help="The agent's time limit in seconds.", min=1)] = 3600.0,
    verifier_timeout: Annotated[float, typer.Option(help="The verifier's time limit in seconds.", min=1)] = 600.0,
    tasks_dir: TasksDirOpt = None,
) -> None:
    """Export seeded instances as Harbor 0.25.0 task folders (task.toml, instruction.md, environment/,
    tests/, solution/): one per task, level and seed. Layout: docs/training/harbor.md.
    """
    if param_mode not in ("default", "random"):
        raise typer.BadParameter(
            f"{param_mode!r} is not a parameter mode; use default or random", param_hint="--param-mode"
        )
    try:
        seed_list = parse_seeds(seeds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds") from exc
    try:
        level_list = parse_levels(levels)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--levels") from exc
    registry = open_registry(tasks_dir, None)
    try:
        selected = registry.select(tasks)
    except UnknownTaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc
    specs = [HarborExportSpec(task.id, level, seed) for task in selected for level in level_list for seed in seed_list]
    options = HarborExportOptions(
        image=image,
        agent_timeout_s=agent_timeout,
        verifier_timeout_s=verifier_timeout,
        param_mode="random" if param_mode == "random" else "default",
    )

    def show(item: ExportedTask) -> None:
        console.print(f"wrote {item.path}", soft_wrap=True, highlight=False)

    try:
        written = export_harbor_tasks(specs, out, registry=registry, options=options, progress=show)
    except (HarborExportError, BundleError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc
    except InstanceGenerationError as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from exc
    console.print(f"{len(written)} Harbor task folders in {out} (Harbor {HARBOR_VERSION} format)", highlight=False)
