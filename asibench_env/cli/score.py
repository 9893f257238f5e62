"""``asibench-env score``: score a run's kept outputs where reference files are now available."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.cli.common import InstancesDirOpt, TasksDirOpt, open_registry
from asibench_env.cli.tables import score_table
from asibench_env.runs.rescore import rescore_run

console = Console()


def score(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (`asibench-env run --out`).")],
    instances_dir: InstancesDirOpt = None,
    tasks_dir: TasksDirOpt = None,
) -> None:
    """Score the run's produced episodes whose instances now have reference files; rewrite results and records."""
    if not instances_dir:
        raise typer.BadParameter("give the instances with their reference/ folders", param_hint="--instances-dir")
    registry = open_registry(tasks_dir, instances_dir)
    try:
        outcome = rescore_run(run_dir, registry)
    except FileNotFoundError as exc:
        raise typer.BadParameter(
            f"{exc}; give the folder that `asibench-env run --out` wrote", param_hint="RUN_DIR"
        ) from exc
    console.print(score_table(outcome.results, width=console.width))
    console.print(
        f"Scored {outcome.rescored} produced episode(s); {outcome.still_produced} still without reference files. "
        f"Rewrote {run_dir}/results and batch_records/"
    )
