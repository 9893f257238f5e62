"""``asibench-env site build``: the static benchmark site of run folders and tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.cli.common import TasksDirOpt, open_registry
from asibench_env.runs.site import SiteError, build_site, load_leaderboard

site_app = typer.Typer(help="Build the static benchmark site (plain HTML and CSS).", no_args_is_help=True)
console = Console()


@site_app.command("build")
def site_build(
    run_dirs: Annotated[
        list[Path] | None,
        typer.Argument(help="Run folders (what `asibench-env run --out` wrote), one page each.", show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="The site's folder (rebuilt from scratch).")] = Path("site"),
    tasks_dir: TasksDirOpt = None,
    leaderboard: Annotated[
        Path | None,
        typer.Option(
            "--leaderboard",
            help="The leaderboard.json that `asibench-env leaderboard --out DIR` wrote; without it the index "
            "says no runs are ranked yet.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write an index, one page per task and one page per run folder: open OUT/index.html, no server needed."""
    registry = open_registry(tasks_dir, None)
    for run_dir in run_dirs or []:
        if not run_dir.is_dir():
            raise typer.BadParameter(f"{run_dir} is not a folder", param_hint="RUN_DIRS")
    if leaderboard is not None and not leaderboard.is_file():
        raise typer.BadParameter(f"{leaderboard} is not a file", param_hint="--leaderboard")
    try:
        built = build_site(run_dirs or [], out, registry=registry, leaderboard=load_leaderboard(leaderboard))
    except SiteError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(f"Wrote {len(built.pages)} page(s) under {built.out}; open the index page (no server needed):")
    print(built.index.resolve())  # the last line, alone: what scripts (and make demo) pick up
