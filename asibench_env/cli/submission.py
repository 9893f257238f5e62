"""``asibench-env submission build``: the official submission bundle of a seed42 run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.runs.submission import SubmissionError, build_bundle

console = Console()

submission_app = typer.Typer(help="Official submissions of produce-only (seed42) runs.", no_args_is_help=True)


@submission_app.command("build")
def build(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (`asibench-env run --out`) on seed42 instances.")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="The bundle: FILE.tar.gz, or a folder (default RUN_DIR/submission_<UTC time>).", show_default=False
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note for the manifest (team, model).", show_default=False)] = None,
) -> None:
    """Build the official submission bundle of a seed42 run with the official `build_submission`."""
    try:
        bundle = build_bundle(run_dir, out, note=note)
    except SubmissionError as exc:
        raise typer.BadParameter(str(exc), param_hint="RUN_DIR") from exc
    missing = bundle.instances_with_missing_outputs
    console.print(f"Bundle of {bundle.instance_count} result(s): {bundle.bundle_dir}")
    if bundle.archive_path is not None:
        console.print(f"Archive: {bundle.archive_path}")
    if missing:
        console.print(
            f"[yellow]{len(missing)} result(s) lack some declared outputs: {', '.join(e.base_name for e in missing)}[/]"
        )
