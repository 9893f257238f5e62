"""The ``asibench-env`` command line."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from asibench_env.episode import EpisodeResult
from asibench_env.tasks.models import LEVELS

app = typer.Typer(
    help="ASI-Bench scientific-workflow tasks as multi-turn Gymnasium environments.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
tasks_app = typer.Typer(help="List and inspect tasks.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
console = Console()

TasksDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--tasks-dir", help="A folder of tasks in the official layout (repeatable).", show_default=False),
]
InstancesDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--instances-dir", help="A folder of downloaded instances (repeatable).", show_default=False),
]


def _registry(tasks_dir: list[Path] | None, instances_dir: list[Path] | None):
    from asibench_env.tasks.registry import TaskRegistry

    try:
        return TaskRegistry(tasks_dir or [], instances_dir or [])
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _levels(text: str) -> list[str]:
    levels = [part.strip().upper() for part in text.split(",") if part.strip()]
    bad = [lvl for lvl in levels if lvl not in LEVELS]
    if bad or not levels:
        raise typer.BadParameter(f"levels must be among {', '.join(LEVELS)}; got {text!r}")
    return levels


@app.command()
def run(
    agent: Annotated[str, typer.Option(help="Agent to run: oracle or null.")] = "oracle",
    tasks: Annotated[str, typer.Option(help="'all' or task ids separated by commas.")] = "all",
    levels: Annotated[str, typer.Option(help="Prompt levels, e.g. B1,B2,B3,B4.")] = "B1,B2,B3,B4",
    seeds: Annotated[str, typer.Option(help="Seeds: a range '0-4' or a list '1,2,3'.")] = "0-1",
    out: Annotated[Path, typer.Option(help="Output folder for results.")] = Path("runs/latest"),
    sandbox: Annotated[str, typer.Option(help="Sandbox backend.")] = "local",
    max_steps: Annotated[int, typer.Option(help="Step budget per episode.")] = 100,
    max_wall_time: Annotated[float, typer.Option(help="Wall-time budget per episode, in seconds.")] = 3600.0,
    param_mode: Annotated[str, typer.Option(help="'default' parameters or 'random' draws per seed.")] = "default",
    concurrency: Annotated[int, typer.Option(help="Episodes run in parallel.", min=1)] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a stopped run in --out; skip finished episodes.")
    ] = False,
    max_retries: Annotated[
        int, typer.Option(help="Retries of an episode that ends in an infrastructure error.", min=0)
    ] = 1,
    allow_mixed: Annotated[
        bool, typer.Option("--allow-mixed", help="Resume a run written by another version.")
    ] = False,
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run an agent over tasks x levels x seeds and print a score table.

    Writes DIR/run_metadata.json, DIR/results/, DIR/batch_records/ and DIR/trajectories/ (Parquet).
    """
    from asibench_env.agents import make_agent
    from asibench_env.batch import RunDirError, run_batch
    from asibench_env.runner import parse_seeds, plan_episodes
    from asibench_env.tasks.registry import UnknownTaskError

    registry = _registry(tasks_dir, instances_dir)
    try:
        selected = registry.select(tasks)
    except UnknownTaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc
    if not selected:
        raise typer.BadParameter("no tasks selected", param_hint="--tasks")
    try:
        seed_list = parse_seeds(seeds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds") from exc
    if param_mode not in ("default", "random"):
        raise typer.BadParameter("use 'default' or 'random'", param_hint="--param-mode")
    specs = plan_episodes([t.id for t in selected], _levels(levels), seed_list)
    agent_kwargs = {"registry": registry} if agent == "oracle" else {}
    try:
        make_agent(agent, **agent_kwargs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--agent") from exc
    console.print(f"Running [bold]{agent}[/] on {len(selected)} task(s), {len(specs)} episode(s) -> {out}")
    try:
        outcome = run_batch(
            specs,
            lambda: make_agent(agent, **agent_kwargs),
            out,
            registry=registry,
            concurrency=concurrency,
            resume=resume,
            max_retries=max_retries,
            allow_mixed=allow_mixed,
            env_kwargs={
                "sandbox": sandbox,
                "max_steps": max_steps,
                "max_wall_time_s": max_wall_time,
                "param_mode": param_mode,
            },
            show_progress=not quiet,
            agent_config={"name": agent},
        )
    except RunDirError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    results = outcome.results
    if outcome.skipped:
        console.print(f"Skipped {outcome.skipped} episode(s) already finished in {out}")
    console.print(score_table(results))
    infra = sum(r.status == "infra_error" for r in results)
    if infra:
        console.print(f"[yellow]{infra} episode(s) ended in infra_error (excluded from means); see {out}/results[/]")
    console.print(f"Results: {out / 'results'}; reports: {out / 'batch_records'}; trajectories: {out / 'trajectories'}")
    if outcome.interrupted:
        console.print("[yellow]Interrupted: finished episodes are saved; continue with --resume[/]")
        raise typer.Exit(130)


@app.command()
def report(out: Annotated[Path, typer.Argument(help="A run folder with a trajectories/ dataset.")]) -> None:
    """Rebuild results/ and batch_records/ of a run from its Parquet episodes alone."""
    from asibench_env.reports import rebuild_from_parquet

    try:
        written = rebuild_from_parquet(out)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="OUT") from exc
    console.print(f"Rebuilt {len(written)} file(s) under {out}")


def score_table(results: list[EpisodeResult]) -> Table:
    """Mean score per task and level; infra errors are shown apart, never as 0."""
    by_cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    infra: dict[str, int] = defaultdict(int)
    levels = sorted({r.prompt_level for r in results})
    for r in results:
        if r.final_score is None:
            infra[r.task_id] += 1
        else:
            by_cell[(r.task_id, r.prompt_level)].append(r.final_score)
    table = Table(title="Mean score (0-100)")
    table.add_column("task")
    for level in levels:
        table.add_column(level, justify="right")
    table.add_column("infra errors", justify="right")
    for task_id in sorted({r.task_id for r in results}):
        cells = []
        for level in levels:
            scores = by_cell.get((task_id, level))
            cells.append(f"{sum(scores) / len(scores):.1f}" if scores else "")
        table.add_row(task_id, *cells, str(infra[task_id]))
    overall = [s for scores in by_cell.values() for s in scores]
    if overall:
        table.add_row(
            "[bold]all[/]",
            *[
                f"{sum(v) / len(v):.1f}"
                if (v := [s for (t, lv), ss in by_cell.items() if lv == level for s in ss])
                else ""
                for level in levels
            ],
            str(sum(infra.values())),
        )
    return table


@tasks_app.command("list")
def tasks_list(tasks_dir: TasksDirOpt = None, instances_dir: InstancesDirOpt = None) -> None:
    """List every task with its domain, levels and source."""
    registry = _registry(tasks_dir, instances_dir)
    table = Table(title=f"{len(registry)} task(s)")
    for column in ("id", "domain", "levels", "source", "name"):
        table.add_column(column)
    for task in registry:
        table.add_row(task.id, task.meta.domain, ",".join(LEVELS), task.source, task.meta.name)
    console.print(table)
    for path, error in registry.errors.items():
        console.print(f"[red]broken:[/] {path}: {error}")


@tasks_app.command("show")
def tasks_show(
    task_id: Annotated[str, typer.Argument(help="The task id, e.g. physics.damped_oscillator_fit.")],
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
) -> None:
    """Show one task's public metadata, outputs and scoring summary."""
    from asibench_env.tasks.registry import UnknownTaskError

    registry = _registry(tasks_dir, instances_dir)
    try:
        task = registry.get(task_id)
    except UnknownTaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="TASK_ID") from exc
    meta = task.meta
    console.print(f"[bold]{meta.id}[/] v{meta.version} ({meta.status}) - {meta.name}")
    console.print(f"domain: {meta.domain} / {meta.subdomain or '-'}   source: {task.source}   dir: {task.task_dir}")
    if meta.source.paper:
        console.print(f"reference: {meta.source.paper}")
    console.print(
        f"runtime: python {meta.runtime.python or 'any'}; packages: {', '.join(meta.runtime.packages) or '-'}"
    )
    console.print("inputs: " + (", ".join(f.name for f in meta.input.files) or "-"))
    console.print("outputs: " + ", ".join(f"{f.name} ({f.type})" for f in task.outputs))
    gates = task.evaluation.get("gates", [])
    scoring = task.evaluation.get("scoring", [])
    gate_text = ", ".join(f"{g['scorer']} ({g.get('severity', 'hard')})" for g in gates)
    console.print(f"gates: {gate_text or '-'}")
    console.print("scoring: " + ", ".join(f"{s['scorer']} x{s.get('weight', 1)}" for s in scoring))
    if task.generation:
        params = ", ".join(f"{k}={v.default} in {v.range or v.options}" for k, v in task.generation.parameters.items())
        console.print(f"generator: {task.generation.mode}; parameters: {params or '-'}")
    console.print(f"downloaded instances: {len(registry.instances(task.id))}")


def main() -> None:  # pragma: no cover - console entry
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
