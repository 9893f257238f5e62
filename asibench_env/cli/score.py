"""``asibench-env score``: score a run's kept outputs where reference files are now available."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.cli.common import (
    InstancesDirOpt,
    JudgeApiKeyEnvOpt,
    JudgeBaseUrlOpt,
    JudgeModelOpt,
    JudgeProtocolOpt,
    TasksDirOpt,
    judge_settings,
    open_registry,
)
from asibench_env.cli.tables import score_table
from asibench_env.errors import InfraError
from asibench_env.runs.rescore import rescore_run

console = Console()


def score(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (`asibench-env run --out`).")],
    instances_dir: InstancesDirOpt = None,
    tasks_dir: TasksDirOpt = None,
    judge_base_url: JudgeBaseUrlOpt = None,
    judge_model: JudgeModelOpt = None,
    judge_api_key_env: JudgeApiKeyEnvOpt = None,
    judge_protocol: JudgeProtocolOpt = None,
) -> None:
    """Score the run's produced episodes that can be scored now; rewrite results and records.

    An episode is produced when its instance had no reference files (give them with --instances-dir) or
    when its task's scorers call a model judge and none was configured (give one with --judge-*).
    """
    judge = judge_settings(judge_base_url, judge_api_key_env, judge_model, judge_protocol)
    if not instances_dir and judge is None:
        raise typer.BadParameter(
            "nothing to score with: give the instances with their reference/ folders (--instances-dir DIR) "
            "and/or a model judge (--judge-base-url URL --judge-api-key-env VAR)",
            param_hint="--instances-dir",
        )
    registry = open_registry(tasks_dir, instances_dir)
    try:
        outcome = rescore_run(run_dir, registry, judge=judge)
    except FileNotFoundError as exc:
        raise typer.BadParameter(
            f"{exc}; give the folder that `asibench-env run --out` wrote", param_hint="RUN_DIR"
        ) from exc
    except InfraError as exc:
        console.print(f"[red]{exc}[/]: the episodes scored before it are saved; run the same command again")
        raise typer.Exit(1) from exc
    console.print(score_table(outcome.results, width=console.width))
    console.print(
        f"Scored {outcome.rescored} produced episode(s); {outcome.still_produced} still without reference files. "
        f"Rewrote {run_dir}/results and batch_records/"
    )
