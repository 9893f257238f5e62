"""``asibench-env rollouts``: G rollouts of each task instance from a served policy, with group statistics."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from asibench_env.agents.api_errors import MissingAPIKeyError
from asibench_env.agents.settings import validation_message
from asibench_env.cli import exit_codes
from asibench_env.cli.common import InstancesDirOpt, TasksDirOpt, open_registry
from asibench_env.cli.run_setup import (
    ExecutorOpt,
    RayAddressOpt,
    RayEpisodeCpusOpt,
    RayEpisodeMemoryOpt,
    make_executor,
    plan,
    ray_error,
    sandbox_options,
    settings_from,
)
from asibench_env.rollouts import GroupRecord, PolicyConfig, RolloutOutcome, collect_rollouts, make_policy_agent
from asibench_env.runs.batch import RunDirError
from asibench_env.runs.collect import RunWriteError
from asibench_env.runs.executors import RayExecutor, RayFutures, RayUnavailableError

console = Console()

POLICY_OPTION = {
    "model": "--model",
    "base_url": "--base-url",
    "api_key_env": "--api-key-env",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "max_tokens": "--max-tokens",
    "seed": "--model-seed",
    "top_logprobs": "--top-logprobs",
    "extra_body": "--extra-body",
    "max_retries": "--request-retries",
    "callable": "--policy",
}


def _opt(help_text: str, *names: str, **kw: Any) -> Any:
    return typer.Option(*names, help=help_text, show_default=False, **kw)


def _extra_body(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not JSON; give an object, e.g. '{{\"top_k\": 20}}'", param_hint="--extra-body"
        ) from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("give a JSON object, e.g. '{\"top_k\": 20}'", param_hint="--extra-body")
    return value


def rollouts(
    model: Annotated[str | None, _opt("The served model's name (required).")] = None,
    base_url: Annotated[
        str | None, _opt("OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1 (vLLM, SGLang, ...).")
    ] = None,
    group_size: Annotated[int, typer.Option(help="Rollouts per task instance (a group).", min=1)] = 4,
    tasks: Annotated[str | None, _opt("'all' or task ids separated by commas. (default all)")] = None,
    levels: Annotated[str | None, _opt("Prompt levels, e.g. B1,B2,B3,B4. (default B1,B2,B3,B4)")] = None,
    seeds: Annotated[str | None, _opt("Seeds: a range '0-4' or a list '1,2,3'. (default 0-1)")] = None,
    concurrency: Annotated[int, typer.Option(help="Rollouts in flight at once.", min=1)] = 1,
    executor: ExecutorOpt = "threads",
    ray_address: RayAddressOpt = None,
    ray_episode_cpus: RayEpisodeCpusOpt = 1.0,
    ray_episode_memory: RayEpisodeMemoryOpt = 1.0,
    out: Annotated[Path, typer.Option(help="Output folder for the run.")] = Path("runs/rollouts"),
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a stopped run in --out; skip finished rollouts.")
    ] = False,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key (any value for a local server).")
    ] = "OPENAI_API_KEY",
    temperature: Annotated[float | None, _opt("Sampling temperature.")] = None,
    top_p: Annotated[float | None, _opt("Nucleus sampling top_p.")] = None,
    max_tokens: Annotated[int | None, _opt("Maximum output tokens per model call.")] = None,
    model_seed: Annotated[int | None, _opt("The server's sampling seed.")] = None,
    logprobs: Annotated[
        bool, typer.Option("--logprobs/--no-logprobs", help="Ask for each completion token's logprob.")
    ] = True,
    top_logprobs: Annotated[int | None, _opt("Also keep this many alternative tokens' logprobs (0-20).")] = None,
    token_ids: Annotated[
        bool,
        typer.Option(
            "--token-ids/--no-token-ids",
            help="Ask for prompt and completion token ids (vLLM's return_token_ids; other servers may refuse it).",
        ),
    ] = True,
    extra_body: Annotated[
        str | None, _opt("JSON object merged into every request body, e.g. '{\"top_k\": 20}'.")
    ] = None,
    policy: Annotated[
        str | None, _opt("A Python policy package.module:function (messages, tools) -> message, instead of a server.")
    ] = None,
    request_retries: Annotated[
        int, typer.Option(help="The OpenAI SDK's retries of one failed request (5xx, dropped connection).", min=0)
    ] = 2,
    max_retries: Annotated[
        int, typer.Option(help="Re-runs of a rollout that ends in an infrastructure error.", min=0)
    ] = 1,
    sandbox: Annotated[str, typer.Option(help="Sandbox backend: local or docker.")] = "local",
    max_steps: Annotated[int | None, _opt("Step budget per rollout. (default 100)")] = None,
    max_wall_time: Annotated[float | None, _opt("Wall-time budget per rollout, in seconds. (default 3600)")] = None,
    param_mode: Annotated[str, typer.Option(help="'default' parameters or 'random' draws per seed.")] = "default",
    allow_mixed: Annotated[
        bool,
        typer.Option(
            "--allow-mixed",
            help="Resume a run written by another version, or with another agent, model, endpoint or sandbox.",
        ),
    ] = False,
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Collect --group-size rollouts of every task x level x seed from a served policy, with group statistics.

    Each rollout keeps its messages, tool calls, rewards, score breakdown, status and, when the server
    returns them, token ids and logprobs. Each group gets its mean, std and advantages; a group with a
    rollout that ended in infra_error (after --max-retries re-runs) is reported incomplete.

    Writes DIR/run_metadata.json, DIR/results/, DIR/batch_records/ and DIR/trajectories/ (Parquet:
    steps, episodes and groups). With --executor ray each rollout is a Ray task on any node of the
    cluster and this process writes every file (no shared filesystem needed).
    """
    if model is None and policy is None:
        raise typer.BadParameter("give --model NAME (the served model's name)", param_hint="--model")
    try:
        config = PolicyConfig(
            model=model or (policy or "callable").rpartition(":")[2],
            base_url=base_url,
            api_key_env=api_key_env,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=model_seed,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            return_token_ids=token_ids,
            extra_body=_extra_body(extra_body),
            max_retries=request_retries,
            callable=policy,
        )
    except ValidationError as exc:
        field, message = validation_message(exc)
        raise typer.BadParameter(f"{field}: {message}", param_hint=POLICY_OPTION.get(field, "--model")) from exc
    if top_logprobs is not None and not logprobs:
        raise typer.BadParameter("--top-logprobs needs --logprobs", param_hint="--top-logprobs")
    try:
        make_policy_agent(config)  # a missing key or a policy that does not load fails before anything runs
    except MissingAPIKeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="--api-key-env") from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--policy") from exc
    settings = settings_from(
        None, tasks=tasks, levels=levels, seeds=seeds, max_steps=max_steps, max_wall_time_s=max_wall_time
    )
    registry = open_registry(tasks_dir, instances_dir)
    run_plan = plan(settings, registry, param_mode)
    env_kwargs: dict[str, Any] = {
        "sandbox": sandbox,
        "sandbox_options": sandbox_options(sandbox, None, 0),
        "max_steps": settings.max_steps,
        "max_wall_time_s": settings.max_wall_time_s,
        "param_mode": param_mode,
        "tasks_dir": [str(p) for p in tasks_dir or []],
        "instances_dir": [str(p) for p in instances_dir or []],
    }
    episodes = run_plan.specs
    episode_executor = make_executor(
        executor,
        concurrency,
        ray_address=ray_address,
        ray_episode_cpus=ray_episode_cpus,
        ray_episode_memory_gib=ray_episode_memory,
    )
    pool: RayFutures | None = None
    if isinstance(episode_executor, RayExecutor):
        try:
            pool = episode_executor.futures(docker=sandbox == "docker")
        except RayUnavailableError as exc:
            episode_executor.close()
            raise ray_error(exc, ray_address) from exc
    console.print(
        f"Collecting {group_size} rollout(s) of {len(episodes)} task instance(s) x level(s) "
        f"({group_size * len(episodes)} rollouts) from {config.model} -> {out}"
    )
    try:
        outcome = collect_rollouts(
            episodes,
            config,
            out,
            group_size=group_size,
            concurrency=concurrency,
            resume=resume,
            max_retries=max_retries,
            env_kwargs=env_kwargs,
            registry=registry,
            allow_mixed=allow_mixed,
            show_progress=not quiet,
            keep_transcripts=False,
            executor=pool,
        )
    except RunDirError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    except RunWriteError as exc:
        typer.echo(f"asibench-env rollouts: error: {exc}", err=True)
        raise typer.Exit(exit_codes.WRITE_FAILED) from exc
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    print_groups(console, outcome, out)
    if outcome.interrupted:
        raise typer.Exit(exit_codes.INTERRUPTED)
    if any(g.infra_errors for g in outcome.groups):
        raise typer.Exit(exit_codes.INFRA_ERROR)


def groups_table(groups: list[GroupRecord]) -> Table:
    """Per task and level: groups complete and incomplete, rollouts counted, infra errors, mean reward."""
    by_cell: dict[tuple[str, str], list[GroupRecord]] = defaultdict(list)
    for group in groups:
        by_cell[(group.task_id, group.prompt_level)].append(group)
    table = Table(title="Rollout groups (reward = final score / 100)")
    for name, justify in (
        ("task", "left"),
        ("level", "left"),
        ("groups", "right"),
        ("complete", "right"),
        ("incomplete", "right"),
        ("rollouts scored", "right"),
        ("infra errors", "right"),
        ("mean reward", "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for (task_id, level), cell in sorted(by_cell.items()):
        rewards = [r for g in cell for r in g.rewards]
        table.add_row(
            task_id,
            level,
            str(len(cell)),
            str(sum(g.complete for g in cell)),
            str(sum(not g.complete for g in cell)),
            f"{sum(g.completed for g in cell)}/{sum(g.group_size for g in cell)}",
            str(sum(g.infra_errors for g in cell)),
            f"{sum(rewards) / len(rewards):.3f}" if rewards else "",
        )
    return table


def print_groups(console: Console, outcome: RolloutOutcome, out: Path) -> None:
    """The groups table, the incomplete groups with their reasons, and where the files are."""
    if outcome.skipped:
        console.print(f"Skipped {outcome.skipped} rollout(s) already finished in {out}")
    if outcome.retried:
        console.print(f"Re-ran {outcome.retried} rollout(s) after an infrastructure error")
    console.print(groups_table(outcome.groups))
    incomplete = [g for g in outcome.groups if not g.complete]
    complete = len(outcome.groups) - len(incomplete)
    console.print(f"Groups: {complete} complete, {len(incomplete)} incomplete")
    for group in incomplete[:20]:
        console.print(
            f"[yellow]incomplete[/] {group.group_id}: {group.completed}/{group.group_size} scored; {group.reason}"
        )
    if len(incomplete) > 20:
        console.print(f"... and {len(incomplete) - 20} more (the groups table has them all)")
    console.print(f"Results: {out / 'results'}; trajectories (steps, episodes, groups): {out / 'trajectories'}")
    if outcome.interrupted:
        console.print("[yellow]Interrupted: finished rollouts are saved; continue with --resume[/]")
