"""``asibench-env instances ...``: pull official instances from the Hugging Face Hub and list a folder of them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from asibench_env.tasks.pull import SPLIT_NOTES, PullError, PullUsageError, pull, summarize_instances

instances_app = typer.Typer(help="Pull official ASI-Bench instances and list downloaded ones.", no_args_is_help=True)
console = Console()


@instances_app.command("pull")
def instances_pull(
    split: Annotated[
        str,
        typer.Option(
            help="The official split: seed31415 (public references, scored locally) or seed42 "
            "(private references, scored by the website).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="The folder to write <instance_id>/ folders into (then --instances-dir).")],
    tasks: Annotated[
        str | None, typer.Option(help="Task ids separated by commas (default: every task of the split).")
    ] = None,
    repo: Annotated[
        str | None, typer.Option(help="Another dataset repository (org/name) than the split's official one.")
    ] = None,
    revision: Annotated[str, typer.Option(help="A branch, tag or commit of the dataset.")] = "main",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace instance folders already there.")] = False,
) -> None:
    """Download a split's instances through the official pull (hub address: HF_ENDPOINT; token: HF_TOKEN)."""
    task_ids = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    try:
        outcome = pull(split, out, tasks=task_ids, repo=repo, revision=revision, overwrite=overwrite)
    except PullUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.option) from exc
    except PullError as exc:
        print(f"asibench-env instances pull: error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    record = outcome.record
    with_reference = sum(i.has_reference for i in record.instances)
    console.print(
        f"pulled {len(outcome.pulled)} instance(s) of {record.split} from {record.repo_id}@{record.revision} "
        f"into {out}"
        + (f"; {len(outcome.skipped)} already there (--overwrite replaces them)" if outcome.skipped else "")
    )
    console.print(
        f"{out} holds {len(record.instances)} instance(s) of split {record.split} ({SPLIT_NOTES[record.split]}); "
        f"{with_reference} with references"
    )
    if outcome.stripped_references:
        console.print(f"[yellow]removed reference/ of {len(outcome.stripped_references)} seed42 instance(s)[/]")
    console.print(f"use it with: asibench-env run --instances-dir {out} ...")


@instances_app.command("list")
def instances_list(
    instances_dir: Annotated[
        Path, typer.Option("--instances-dir", help="A folder of instances (written by `instances pull`).")
    ],
) -> None:
    """Per task: how many instances a folder holds, which split, whether references are present."""
    try:
        rows = summarize_instances(instances_dir)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--instances-dir") from exc
    table = Table(title=f"{sum(r.instances for r in rows)} instance(s) of {len(rows)} task(s) in {instances_dir}")
    table.add_column("task", no_wrap=True, style="bold")
    table.add_column("instances", justify="right")
    table.add_column("split", no_wrap=True)
    table.add_column("references", no_wrap=True)
    for row in rows:
        table.add_row(row.task_id, str(row.instances), row.split, row.references)
    console.print(table)
