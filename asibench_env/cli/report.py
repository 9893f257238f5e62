"""``asibench-env report``: rebuild a run's result files and reports from its Parquet episodes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.runs.reports import rebuild_from_parquet

console = Console()


def report(out: Annotated[Path, typer.Argument(help="A run folder with a trajectories/ dataset.")]) -> None:
    """Rebuild results/ and batch_records/ of a run from its Parquet episodes alone."""
    try:
        written = rebuild_from_parquet(out)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="OUT") from exc
    console.print(f"Rebuilt {len(written)} file(s) under {out}")
