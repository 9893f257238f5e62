"""``asibench-env leaderboard``: one row per agent configuration over run folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.atomic import write_text_atomic
from asibench_env.cli.common import InstancesDirOpt, TasksDirOpt, open_registry
from asibench_env.runs.leaderboard import LeaderboardError, build_leaderboard
from asibench_env.runs.leaderboard.render import FILE_SUFFIX, FORMATS, render, to_table

console = Console()
errors = Console(stderr=True)


def leaderboard(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders (`asibench-env run --out`).", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option(help="Write leaderboard.json, .csv, .md and .html into this folder.", show_default=False),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"Output format: {', '.join(FORMATS)}.")] = "table",
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="Compare each row on its own episodes (rows marked partial).")
    ] = False,
    allow_mixed: Annotated[
        bool, typer.Option("--allow-mixed", help="Admit runs of another package or benchmark version (marked).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = 0,
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
) -> None:
    """Rank agent configurations over run folders: means, B1-B4 and domain means, 95% intervals, trust labels.

    Runs of one configuration merge; rows compare on the episodes all of them counted unless
    --allow-partial. Rules: docs/leaderboard.md.
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", param_hint="--format")
    registry = open_registry(tasks_dir, instances_dir)
    try:
        board = build_leaderboard(
            run_dirs, registry=registry, allow_partial=allow_partial, allow_mixed=allow_mixed, seed=seed
        )
    except LeaderboardError as exc:
        raise typer.BadParameter(str(exc), param_hint="RUN_DIRS") from exc
    for warning in board.warnings:
        errors.print(f"[yellow]warning:[/] {warning}", soft_wrap=True, highlight=False)
    if fmt == "table":
        console.print(to_table(board))
    else:
        console.out(render(board, fmt), end="", highlight=False)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, suffix in FILE_SUFFIX.items():
            write_text_atomic(out / f"leaderboard.{suffix}", render(board, name))
        errors.print(f"Wrote leaderboard.json, .csv, .md and .html to {out}", highlight=False)
