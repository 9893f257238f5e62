"""``asibench-env run``: an agent over tasks x levels x seeds, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from asibench_env.agents.base import Describable
from asibench_env.agents.registry import plugin_agents, registered_agents
from asibench_env.cli import exit_codes
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
from asibench_env.cli.run_setup import (
    ExecutorOpt,
    RayAddressOpt,
    RayEpisodeCpusOpt,
    RayEpisodeMemoryOpt,
    build_agent,
    make_executor,
    plan,
    print_outcome,
    ray_error,
    sandbox_options,
    settings_from,
)
from asibench_env.runs.baselines import baseline_provenance
from asibench_env.runs.batch import RunDirError, run_batch
from asibench_env.runs.collect import RunWriteError
from asibench_env.runs.executors import RayUnavailableError

console = Console()


def _opt(help_text: str, *names: str, **kw: Any) -> Any:
    return typer.Option(*names, help=help_text, show_default=False, **kw)


def _agent_help() -> str:
    plugins = ", ".join(sorted(plugin_agents())) or "none installed"
    return (
        f"Agent: {', '.join(registered_agents())}; a class as package.module:ClassName; or an installed "
        f"plug-in's name (entry-point group asibench_env.agents: {plugins}). (default oracle)"
    )


def run(
    config: Annotated[
        Path | None, _opt("A baseline file (baselines/NAME.yaml); options given here override it.")
    ] = None,
    agent: Annotated[str | None, _opt(_agent_help())] = None,
    agent_option: Annotated[
        list[str] | None, _opt("An agent-specific setting KEY=VALUE (repeatable), e.g. mode=mean for naive.")
    ] = None,
    model: Annotated[str | None, _opt("Model name, for the openai and anthropic agents.")] = None,
    base_url: Annotated[str | None, _opt("OpenAI-compatible server URL (vLLM, SGLang, Ollama, ...).")] = None,
    api_key_env: Annotated[
        str | None, _opt("Environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY).")
    ] = None,
    price: Annotated[
        list[str] | None, _opt("A model's price: MODEL=INPUT,OUTPUT[,CACHED] in $ per million tokens.")
    ] = None,
    temperature: Annotated[float | None, _opt("Sampling temperature.")] = None,
    model_seed: Annotated[int | None, _opt("The model's sampling seed (OpenAI).")] = None,
    max_tokens: Annotated[int | None, _opt("Maximum output tokens per model call.")] = None,
    reasoning_effort: Annotated[str | None, _opt("Reasoning effort (OpenAI reasoning models).")] = None,
    max_total_tokens: Annotated[
        int | None, _opt("Token budget per episode; the agent submits when it runs out.")
    ] = None,
    max_cost: Annotated[float | None, _opt("Dollar budget per episode; the agent submits when it runs out.")] = None,
    tasks: Annotated[str | None, _opt("'all' or task ids separated by commas. (default all)")] = None,
    levels: Annotated[str | None, _opt("Prompt levels, e.g. B1,B2,B3,B4. (default B1,B2,B3,B4)")] = None,
    seeds: Annotated[str | None, _opt("Seeds: a range '0-4' or a list '1,2,3'. (default 0-1)")] = None,
    out: Annotated[Path, typer.Option(help="Output folder for the run.")] = Path("runs/latest"),
    sandbox: Annotated[str, typer.Option(help="Sandbox backend: local or docker.")] = "local",
    image: Annotated[
        str | None, typer.Option(help="Docker sandbox image (default: the built one for the built-in tasks).")
    ] = None,
    warm_pool: Annotated[
        int, typer.Option(help="Sandboxes (local or Docker) kept started ahead of resets.", min=0)
    ] = 0,
    max_steps: Annotated[int | None, _opt("Step budget per episode. (default 100)")] = None,
    max_wall_time: Annotated[float | None, _opt("Wall-time budget per episode, in seconds. (default 3600)")] = None,
    param_mode: Annotated[str, typer.Option(help="'default' parameters or 'random' draws per seed.")] = "default",
    concurrency: Annotated[
        int | None, _opt("Episodes run in parallel (with --executor ray: the most in flight). (default 1)", min=1)
    ] = None,
    executor: ExecutorOpt = "threads",
    ray_address: RayAddressOpt = None,
    ray_episode_cpus: RayEpisodeCpusOpt = 1.0,
    ray_episode_memory: RayEpisodeMemoryOpt = 1.0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a stopped run in --out; skip finished episodes.")
    ] = False,
    max_retries: Annotated[
        int, typer.Option(help="Retries of an episode that ends in an infrastructure error.", min=0)
    ] = 1,
    allow_mixed: Annotated[
        bool,
        typer.Option(
            "--allow-mixed",
            help="Resume a run written by another version, or with another agent, model, endpoint or sandbox.",
        ),
    ] = False,
    judge_base_url: JudgeBaseUrlOpt = None,
    judge_model: JudgeModelOpt = None,
    judge_api_key_env: JudgeApiKeyEnvOpt = None,
    judge_protocol: JudgeProtocolOpt = None,
    tasks_dir: TasksDirOpt = None,
    instances_dir: InstancesDirOpt = None,
    skip_unrunnable: Annotated[
        bool,
        typer.Option(
            "--skip-unrunnable",
            help="Leave out tasks that cannot run here (no generator, no downloaded instance) instead of refusing.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run an agent over tasks x levels x seeds and print a score table.

    Seeds select generated instances; a task with downloaded instances (--instances-dir) runs each of
    them once per level instead. Tasks that cannot run here are refused before anything starts
    (exit 2), or left out with --skip-unrunnable.

    Writes DIR/run_metadata.json, DIR/results/, DIR/batch_records/ and DIR/trajectories/ (Parquet).
    """
    given: dict[str, Any] = dict(
        agent=agent,
        options=agent_option,
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        prices=price,
        temperature=temperature,
        seed=model_seed,
        max_tokens=max_tokens,
        reasoning_effort=reasoning_effort,
        max_total_tokens=max_total_tokens,
        max_cost_usd=max_cost,
        tasks=tasks,
        levels=levels,
        seeds=seeds,
        max_steps=max_steps,
        max_wall_time_s=max_wall_time,
        concurrency=concurrency,
    )
    settings = settings_from(config, **given)
    baseline = None
    if config is not None:
        overrides = [name for name, value in given.items() if value is not None]
        baseline = baseline_provenance(config, settings, overrides)
    judge = judge_settings(judge_base_url, judge_api_key_env, judge_model, judge_protocol)
    registry = open_registry(tasks_dir, instances_dir)
    run_plan = plan(settings, registry, param_mode, skip_unrunnable=skip_unrunnable)
    specs = run_plan.specs
    env_kwargs: dict[str, Any] = {
        "sandbox": sandbox,
        "sandbox_options": sandbox_options(sandbox, image, warm_pool),
        "max_steps": settings.max_steps,
        "max_wall_time_s": settings.max_wall_time_s,
        "param_mode": param_mode,
        "judge": judge,
    }
    episode_executor = make_executor(
        executor,
        settings.concurrency,
        ray_address=ray_address,
        ray_episode_cpus=ray_episode_cpus,
        ray_episode_memory_gib=ray_episode_memory,
    )
    make_agent, probe = build_agent(settings, registry)
    agent_config = {"name": settings.agent, **(probe.config() if isinstance(probe, Describable) else {})}
    task_count = len({s.task_id for s in specs})
    console.print(f"Running [bold]{settings.agent}[/] on {task_count} task(s), {len(specs)} episode(s) -> {out}")
    if run_plan.downloaded:
        listed = ", ".join(f"{task_id} ({count})" for task_id, count in run_plan.downloaded.items())
        console.print(
            f"Downloaded instances, each run once per level (seeds apply to generated instances only): {listed}",
            soft_wrap=True,
        )
    if run_plan.unrunnable:
        console.print(f"Leaving out {len(run_plan.unrunnable)} task(s) that cannot run here (--skip-unrunnable)")
    try:
        outcome = run_batch(
            specs,
            make_agent,
            out,
            registry=registry,
            concurrency=settings.concurrency,
            resume=resume,
            max_retries=max_retries,
            allow_mixed=allow_mixed,
            env_kwargs=env_kwargs,
            show_progress=not quiet,
            agent_config=agent_config,
            baseline=baseline,
            executor=episode_executor,
        )
    except RunDirError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    except RunWriteError as exc:
        typer.echo(f"asibench-env run: error: {exc}", err=True)
        raise typer.Exit(exit_codes.WRITE_FAILED) from exc
    except RayUnavailableError as exc:
        raise ray_error(exc, ray_address) from exc
    print_outcome(console, outcome, out, planned=len(specs), unrunnable=run_plan.unrunnable)
    if outcome.interrupted:
        raise typer.Exit(exit_codes.INTERRUPTED)
    if any(r.status == "infra_error" for r in outcome.results):
        raise typer.Exit(exit_codes.INFRA_ERROR)
