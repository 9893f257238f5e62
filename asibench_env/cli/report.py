"""``asibench-env report``: rebuild a run's result files and reports from its Parquet episodes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.cli.tables import score_table
from asibench_env.runs.reports import latest_attempts, rebuild_from_parquet, results_from_parquet

console = Console()


def report(out: Annotated[Path, typer.Argument(help="A run folder with a trajectories/ dataset.")]) -> None:
    """Rebuild results/ and batch_records/ of a run from its Parquet episodes alone, and print its scores."""
    try:
        written = rebuild_from_parquet(out)
    except FileNotFoundError as exc:
        raise typer.BadParameter(
            f"{out} holds no Parquet episodes (trajectories/episodes); "
            "give the folder that `asibench-env run --out` wrote",
            param_hint="OUT",
        ) from exc
    results = latest_attempts(result for result, _ in results_from_parquet(out))
    console.print(score_table(results, width=console.width))
    console.print(f"Rebuilt {len(written)} file(s) under {out}: results/ and batch_records/")
