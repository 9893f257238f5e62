"""``asibench-env export``: training datasets from run folders (sft, dpo, kto) and prompt rows for fresh seeds
(verl, skyrl).

Each command parses, calls :mod:`asibench_env.integrations.exports`, writes the file and prints what was
written and what was filtered out, by reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from asibench_env.cli.common import InstancesDirOpt, TasksDirOpt, open_registry
from asibench_env.cli.export_harbor import harbor
from asibench_env.cli.run_setup import plan, settings_from
from asibench_env.envs.protocol import SYSTEM_PROMPT, text_protocol_prompt
from asibench_env.errors import InfraError
from asibench_env.integrations.exports import (
    FINAL_SCORE,
    ExportError,
    ExportReport,
    FreshInstance,
    InstanceRequest,
    UnknownDimensionError,
    dpo_rows,
    fresh_instances,
    kto_rows,
    sft_rows,
    skyrl_rows,
    verl_rows,
    write_dataset,
)
from asibench_env.integrations.exports.models import RowModel
from asibench_env.integrations.exports.skyrl import ENV_CLASS
from asibench_env.integrations.exports.verl import DEFAULT_AGENT_NAME
from asibench_env.integrations.exports.writer import FORMATS, Format, Kind
from asibench_env.tasks.instances import InstanceCache

console = Console()
export_app = typer.Typer(
    help="Training datasets from runs (sft, dpo, kto), prompt rows (verl, skyrl) and Harbor task folders (harbor).",
    no_args_is_help=True,
)
export_app.command("harbor")(harbor)

R = TypeVar("R", bound=RowModel)

RunDirsArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="RUN_DIR...", help="Run folders (`asibench-env run --out` / `rollouts --out`).", show_default=False
    ),
]
OutOpt = Annotated[Path, typer.Option(help="The file to write (Parquet, or JSON Lines with --format jsonl).")]
FormatOpt = Annotated[str, typer.Option("--format", help="parquet or jsonl.")]


def _format(value: str) -> Format:
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not a format; use {' or '.join(FORMATS)}", param_hint="--format")
    return "jsonl" if value == "jsonl" else "parquet"


def _from_runs(build: Callable[[], tuple[list[R], ExportReport]], kind: Kind, out: Path, fmt: Format) -> None:
    """Build rows from runs, print the report, write them; refuse (exit 2) when nothing is left."""
    try:
        rows, report = build()
    except ExportError as exc:
        raise typer.BadParameter(str(exc), param_hint="RUN_DIR") from exc
    _finish(rows, report, kind, out, fmt)


def _finish(rows: Sequence[RowModel], report: ExportReport, kind: Kind, out: Path, fmt: Format) -> None:
    if not rows:
        for line in report.lines():
            console.print(line, soft_wrap=True, highlight=False)
        raise typer.BadParameter(
            "no rows left after filtering (see the counts above); give other run folders or loosen the filters",
            param_hint="RUN_DIR",
        )
    try:
        report.path = write_dataset(rows, kind, out, fmt)
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot write {out}: {exc.strerror or exc}; choose another --out", param_hint="--out"
        ) from exc
    for line in report.lines():
        console.print(line, soft_wrap=True, highlight=False)


@export_app.command()
def sft(
    run_dirs: RunDirsArg,
    out: OutOpt,
    min_score: Annotated[float, typer.Option(help="Lowest final score (0-100) of an episode kept.")] = 100.0,
    reasoning: Annotated[
        bool, typer.Option("--reasoning", help="Keep the assistant's reasoning (reasoning_content) where logged.")
    ] = False,
    fmt: FormatOpt = "parquet",
) -> None:
    """SFT rows: one per scored episode with a final score of at least --min-score.

    Columns: run_id, episode_id, task_id, instance_id, prompt_level, seed, agent, model, messages (the
    whole conversation in the OpenAI chat format, tool calls and results included), tools (the OpenAI
    function specs, one JSON string), final_score.
    """
    fmt_ = _format(fmt)
    _from_runs(lambda: sft_rows(run_dirs, min_score=min_score, reasoning=reasoning), "sft", out, fmt_)


@export_app.command()
def dpo(
    run_dirs: RunDirsArg,
    out: OutOpt,
    margin: Annotated[
        float, typer.Option(help="Least score difference (points out of 100) between chosen and rejected.", min=0)
    ] = 0.0,
    dimension: Annotated[
        str, typer.Option(help="final_score, or one scorer's name in the episodes' score results.")
    ] = FINAL_SCORE,
    max_pairs: Annotated[
        int | None,
        typer.Option(help="Most pairs per instance and level (the largest differences first). (default: all)", min=1),
    ] = None,
    fmt: FormatOpt = "parquet",
) -> None:
    """Preference pairs: two episodes of the same instance and level, chosen above rejected by --margin.

    Every two episodes with the same prompt whose scores differ by more than 0 and at least --margin make
    a pair, ordered by the difference (largest first), then the episode ids. Columns: prompt (system and
    task prompt), chosen, rejected (the rest of each conversation), tools, dimension, score_chosen,
    score_rejected, chosen_episode_id, rejected_episode_id, their run ids, task_id, instance_id,
    prompt_level, seed.
    """
    fmt_ = _format(fmt)

    try:
        rows, report = dpo_rows(run_dirs, margin=margin, dimension=dimension, max_pairs=max_pairs)
    except UnknownDimensionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--dimension") from exc
    except ExportError as exc:
        raise typer.BadParameter(str(exc), param_hint="RUN_DIR") from exc
    _finish(rows, report, "dpo", out, fmt_)


@export_app.command()
def kto(
    run_dirs: RunDirsArg,
    out: OutOpt,
    threshold: Annotated[float, typer.Option(help="label is true when the final score is at least this (0-100).")],
    fmt: FormatOpt = "parquet",
) -> None:
    """KTO rows: one per episode with a final score; label = final_score >= --threshold.

    Columns: prompt (system and task prompt), completion (the rest of the conversation), label, tools,
    final_score and the episode's identity (run_id, episode_id, task_id, instance_id, prompt_level,
    seed, agent, model).
    """
    fmt_ = _format(fmt)
    _from_runs(lambda: kto_rows(run_dirs, threshold=threshold), "kto", out, fmt_)


TasksOpt = Annotated[str, typer.Option(help="'all' or task ids separated by commas.")]
LevelsOpt = Annotated[str, typer.Option(help="Prompt levels, e.g. B1,B2,B3,B4.")]
SeedsOpt = Annotated[str, typer.Option(help="Seeds: a range '0-4' or a list '1,2,3'.")]
ParamModeOpt = Annotated[str, typer.Option(help="'default' parameters or 'random' draws per seed.")]
SystemPromptOpt = Annotated[
    bool,
    typer.Option(
        "--system-prompt/--no-system-prompt",
        help="Begin each prompt with a system prompt: the model agents' (verl, native tool calls) or the text "
        "protocol's, which lists the tools and the <tool_call> form (skyrl, whose env parses tool calls from text).",
    ),
]


def _instances(
    tasks: str,
    levels: str,
    seeds: str,
    param_mode: str,
    system_prompt: str | None,
    tasks_dir: list[Path] | None,
    instances_dir: list[Path] | None,
) -> list[FreshInstance]:
    settings = settings_from(None, tasks=tasks, levels=levels, seeds=seeds)
    registry = open_registry(tasks_dir, instances_dir)
    run_plan = plan(settings, registry, param_mode)
    requests = [InstanceRequest(s.task_id, s.level, s.seed, s.instance_id) for s in run_plan.specs]
    try:
        return fresh_instances(
            requests,
            registry,
            InstanceCache(),
            param_mode="random" if param_mode == "random" else "default",
            system_prompt=system_prompt,
        )
    except InfraError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    except ExportError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc


@export_app.command()
def verl(
    out: OutOpt,
    tasks: TasksOpt = "all",
    levels: LevelsOpt = "B1,B2,B3,B4",
    seeds: SeedsOpt = "0-1",
    param_mode: ParamModeOpt = "default",
    system_prompt: SystemPromptOpt = True,
    agent_name: Annotated[str, typer.Option(help="verl's agent loop for every row.")] = DEFAULT_AGENT_NAME,
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
    fmt: FormatOpt = "parquet",
) -> None:
    """verl prompt rows for fresh seeds (no run needed): one per task x level x seed.

    Columns: data_source (asibench/<task_id>), prompt (chat messages), ability (the task's domain),
    reward_model ({style: rule, ground_truth: null}: the reward is the env's score, no reference is
    exported), extra_info (task_id, task_version, level, seed, param_mode, params_json, instance_id,
    source, index: what the env needs to rebuild the instance), agent_name.
    """
    fmt_ = _format(fmt)
    prompt = SYSTEM_PROMPT if system_prompt else None
    items = _instances(tasks, levels, seeds, param_mode, prompt, tasks_dir, instances_dir)
    report = ExportReport("verl", episodes_read=len(items), rows=len(items), source="instance")
    _finish(verl_rows(items, agent_name=agent_name), report, "verl", out, fmt_)


@export_app.command()
def skyrl(
    out: OutOpt,
    tasks: TasksOpt = "all",
    levels: LevelsOpt = "B1,B2,B3,B4",
    seeds: SeedsOpt = "0-1",
    param_mode: ParamModeOpt = "default",
    system_prompt: SystemPromptOpt = True,
    env_class: Annotated[str, typer.Option(help="The SkyRL-gym env id of every row.")] = ENV_CLASS,
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
    fmt: FormatOpt = "parquet",
) -> None:
    """SkyRL-gym prompt rows for fresh seeds (no run needed): one per task x level x seed.

    Columns: data_source (asibench/<task_id>), prompt (chat messages), env_class, reward_spec ({method:
    rule, ground_truth: null}: the env scores the episode, no reference is exported), extra_info (task_id,
    task_version, level, seed, param_mode, params_json, instance_id, source, index).
    """
    fmt_ = _format(fmt)
    prompt = text_protocol_prompt() if system_prompt else None
    items = _instances(tasks, levels, seeds, param_mode, prompt, tasks_dir, instances_dir)
    report = ExportReport("skyrl", episodes_read=len(items), rows=len(items), source="instance")
    _finish(skyrl_rows(items, env_class=env_class), report, "skyrl", out, fmt_)
