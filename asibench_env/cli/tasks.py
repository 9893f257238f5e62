"""``asibench-env tasks ...``: list, show, validate and catalogue tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from asibench_env.cli.common import InstancesDirOpt, TasksDirOpt, open_registry
from asibench_env.paths import BUILTIN_TASKS_DIR
from asibench_env.runs.validation import ValidationOptions, ValidationReport, validate_task
from asibench_env.tasks.catalog import render_catalog
from asibench_env.tasks.loading import is_task_dir
from asibench_env.tasks.models import LEVELS, parse_levels
from asibench_env.tasks.registry import UnknownTaskError, builtin_registry, task_dirs_under
from asibench_env.tasks.runnability import summary_line

tasks_app = typer.Typer(help="List, inspect, validate and catalogue tasks.", no_args_is_help=True)
console = Console()
DEFAULT_CATALOG = Path("docs/tasks.md")


@tasks_app.command("list")
def tasks_list(tasks_dir: TasksDirOpt = None, instances_dir: InstancesDirOpt = None) -> None:
    """List every task: id, domain, how it runs here (generator, downloaded instances or contract only), summary."""
    registry = open_registry(tasks_dir, instances_dir)
    domains = {task.meta.domain for task in registry}
    runs = {task.id: registry.runnability(task.id) for task in registry}
    title = f"{len(registry)} task(s) in {len(domains)} domain(s)"
    longest = max((len(task.id) + len(task.meta.domain) for task in registry), default=0)
    if console.width >= longest + 90:
        table = Table(title=title)
        table.add_column("id", no_wrap=True, style="bold")
        table.add_column("domain", no_wrap=True)
        table.add_column("source", no_wrap=True)
        table.add_column("runs from", no_wrap=True)
        table.add_column("judge", no_wrap=True)
        table.add_column("summary", min_width=30)
        for task in registry:
            run = runs[task.id]
            where = run.label if run.runnable else f"[yellow]{run.label}[/]"
            table.add_row(task.id, task.meta.domain, task.source, where, run.judge_label, task.summary)
        console.print(table)
    else:  # a narrow terminal: one block per task, so that ids are never cut
        console.print(f"[bold]{title}[/]")
        for task in registry:
            run = runs[task.id]
            judge = f"; judge: {run.judge_label}" if run.judge_scorers else ""
            console.print(f"[bold]{task.id}[/]", soft_wrap=True)
            console.print(
                Padding(
                    f"{task.meta.domain} ({task.source}; runs from: {run.label}{judge}): {task.summary}", (0, 0, 0, 4)
                )
            )
    console.print(summary_line(list(runs.values())))
    if any(not run.runnable for run in runs.values()):
        console.print(
            "contract only: the folder has no generate_gt.py and no instance of it was found; "
            "download instances (`asibench task pull`) and pass --instances-dir to run them"
        )
    for path, error in registry.errors.items():
        console.print(f"[red]broken:[/] {path}: {error}")


@tasks_app.command("show")
def tasks_show(
    task_id: Annotated[str, typer.Argument(help="The task id, e.g. physics.damped_oscillator_fit.")],
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
) -> None:
    """Show one task's public metadata, outputs and scoring summary."""
    registry = open_registry(tasks_dir, instances_dir)
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
    total = sum(float(s.get("weight", 1)) for s in scoring) or 1.0
    console.print(
        "scoring: "
        + ", ".join(
            f"{s['scorer']} (weight {s.get('weight', 1)}, {float(s.get('weight', 1)) / total:.0%})" for s in scoring
        )
    )
    if task.generation:
        params = ", ".join(f"{k}={v.default} in {v.range or v.options}" for k, v in task.generation.parameters.items())
        console.print(f"generator: {task.generation.mode}; parameters: {params or '-'}")
    console.print(f"downloaded instances: {len(registry.instances(task.id))}")
    run = registry.runnability(task.id)
    how = {
        "generator": "from its generator (any seed)",
        "instances": f"from {run.instances} downloaded instance(s) only (no generator)",
        "contract only": "cannot run here: no generator and no downloaded instances (pass --instances-dir)",
    }[run.runs_from]
    console.print(f"runs: {how}")
    console.print(
        f"model judge: {run.judge_label} (needs network access to a judge model)"
        if run.judge_scorers
        else "model judge: no"
    )


@tasks_app.command("validate")
def tasks_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Task folders in the official layout.")] = None,
    builtin: Annotated[bool, typer.Option("--builtin", help="Validate every built-in task.")] = False,
    seeds: Annotated[
        int, typer.Option(help="Oracle seeds per level (even: default, odd: random parameters).", min=1)
    ] = 2,
    levels: Annotated[str, typer.Option(help="Levels the oracle is checked at.")] = ",".join(LEVELS),
    sandbox: Annotated[str, typer.Option(help="Sandbox backend for the episodes: local or docker.")] = "local",
    schema_only: Annotated[
        bool,
        typer.Option("--schema-only", help="Only the task files and the custom scorer (imports, registers its names)."),
    ] = False,
) -> None:
    """Check task folders: files, custom scorer, prompts, generator determinism, leaks, oracle, null and naive
    scores, figures.

    Checks that need a generator or a reference solver (solution/solve.py) the folder lacks are n/a, not
    failures. Exits 1 when any check of any task fails.
    """
    targets = list(paths or [])
    if builtin:
        targets += list(task_dirs_under(BUILTIN_TASKS_DIR))
    if not targets:
        raise typer.BadParameter("give task folders, or --builtin", param_hint="PATHS")
    expanded = []
    for target in targets:
        found = [target] if is_task_dir(target) else list(task_dirs_under(target)) if target.is_dir() else []
        if not found:
            raise typer.BadParameter(f"{target} holds no task (no task_meta.yaml or task.yaml)", param_hint="PATHS")
        expanded += found
    options = ValidationOptions(
        seeds=seeds, levels=tuple(_level_list(levels)), sandbox=sandbox, schema_only=schema_only
    )
    failed = partial = 0
    with console.status("validating") as status:
        for target in expanded:
            status.update(f"validating {target.name}")
            report = validate_task(target, options, progress=lambda message: status.update(message))
            failed += not report.ok
            partial += report.ok and bool(report.not_applicable)
            console.print(_report_table(report))
    scope = " (files and custom scorers only)" if schema_only else ""
    some_na = f"; {partial} of them with checks n/a (no generator or no reference solver)" if partial else ""
    console.print(
        f"[green]{len(expanded)} task(s) valid{scope}[/]{some_na}"
        if not failed
        else f"[red]{failed} of {len(expanded)} task(s) failed{scope}[/]{some_na}"
    )
    if failed:
        raise typer.Exit(1)


def _level_list(text: str) -> list[str]:
    try:
        return parse_levels(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--levels") from exc


def _report_table(report: ValidationReport) -> Table:
    verdict = "[green]valid[/]" if report.ok else "[red]INVALID[/]"
    table = Table(title=f"{report.task_id or report.path}: {verdict}", title_justify="left", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("seconds", justify="right")
    table.add_column("detail")
    for check in report.checks:
        mark = {"pass": "[green]pass[/]", "FAIL": "[red]FAIL[/]", "n/a": "[dim]n/a[/]"}[check.status]
        table.add_row(check.name, mark, f"{check.seconds:.1f}", escape(check.detail))
    return table


@tasks_app.command("catalog")
def tasks_catalog(
    output: Annotated[Path, typer.Option(help="Where to write the Markdown catalogue.")] = DEFAULT_CATALOG,
    check: Annotated[
        bool, typer.Option("--check", help="Do not write: exit 1 when the file is not up to date.")
    ] = False,
) -> None:
    """Write the catalogue of built-in tasks (docs/tasks.md), generated from the task files."""
    text = render_catalog(list(builtin_registry()))
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            console.print(f"[red]{output} is out of date[/]: run `asibench-env tasks catalog`")
            raise typer.Exit(1)
        console.print(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output} ({len(builtin_registry())} tasks)")
