"""``asibench-env run``: an agent over tasks x levels x seeds, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from asibench_env.agents import AGENT_NAMES, make_agent
from asibench_env.agents.model_agent import Budgets, MissingAPIKeyError
from asibench_env.agents.pricing import UnknownPriceError, default_prices, parse_price
from asibench_env.cli.common import InstancesDirOpt, TasksDirOpt, open_registry
from asibench_env.cli.tables import score_table
from asibench_env.runs.baselines import BaselineConfig, load_baseline
from asibench_env.runs.batch import RunDirError, run_batch
from asibench_env.runs.runner import parse_seeds, plan_episodes
from asibench_env.tasks.models import parse_levels
from asibench_env.tasks.registry import UnknownTaskError

console = Console()


def _levels(text: str) -> list[str]:
    try:
        return parse_levels(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--levels") from exc


def _opt(help_text: str, *names: str, **kw):
    return typer.Option(*names, help=help_text, show_default=False, **kw)


def run(
    config: Annotated[
        Path | None, _opt("A baseline file (baselines/NAME.yaml); options given here override it.")
    ] = None,
    agent: Annotated[
        str | None, _opt("Agent: oracle, null, openai, openai-responses or anthropic. (default oracle)")
    ] = None,
    model: Annotated[str | None, _opt("Model name, for the openai and anthropic agents.")] = None,
    base_url: Annotated[str | None, _opt("OpenAI-compatible server URL (vLLM, SGLang, Ollama, ...).")] = None,
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
    warm_pool: Annotated[int, typer.Option(help="Docker sandbox: containers kept started ahead of resets.", min=0)] = 0,
    max_steps: Annotated[int | None, _opt("Step budget per episode. (default 100)")] = None,
    max_wall_time: Annotated[float | None, _opt("Wall-time budget per episode, in seconds. (default 3600)")] = None,
    param_mode: Annotated[str, typer.Option(help="'default' parameters or 'random' draws per seed.")] = "default",
    concurrency: Annotated[int | None, _opt("Episodes run in parallel. (default 1)", min=1)] = None,
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
    try:
        base = load_baseline(config) if config else BaselineConfig(name="cli", agent="oracle", seeds="0-1")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from exc
    given = {
        "agent": agent,
        "model": model,
        "base_url": base_url,
        "temperature": temperature,
        "seed": model_seed,
        "max_tokens": max_tokens,
        "reasoning_effort": reasoning_effort,
        "max_total_tokens": max_total_tokens,
        "max_cost_usd": max_cost,
        "tasks": tasks,
        "levels": levels,
        "seeds": seeds,
        "max_steps": max_steps,
        "max_wall_time_s": max_wall_time,
        "concurrency": concurrency,
    }
    settings = base.model_copy(update={k: v for k, v in given.items() if v is not None})
    if settings.agent not in AGENT_NAMES:
        raise typer.BadParameter(f"choose one of: {', '.join(AGENT_NAMES)}", param_hint="--agent")

    registry = open_registry(tasks_dir, instances_dir)
    try:
        selected = registry.select(settings.tasks)
    except UnknownTaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc
    if not selected:
        raise typer.BadParameter("no tasks selected", param_hint="--tasks")
    try:
        seed_list = parse_seeds(settings.seeds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds") from exc
    if param_mode not in ("default", "random"):
        raise typer.BadParameter("use 'default' or 'random'", param_hint="--param-mode")
    specs = plan_episodes([t.id for t in selected], _levels(settings.levels), seed_list)

    agent_kwargs: dict = {}
    if settings.agent == "oracle":
        agent_kwargs = {"registry": registry}
    elif settings.agent in ("openai", "openai-responses", "anthropic"):
        if not settings.model:
            raise typer.BadParameter(f"the {settings.agent} agent needs --model", param_hint="--model")
        prices = default_prices()
        for text in price or []:
            try:
                prices = prices.with_override(*parse_price(text))
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--price") from exc
        agent_kwargs = {
            "model": settings.model,
            "base_url": settings.base_url,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "prices": prices,
            "budgets": Budgets(max_total_tokens=settings.max_total_tokens, max_cost_usd=settings.max_cost_usd),
        }
        if settings.agent == "openai":
            agent_kwargs.update(seed=settings.seed, reasoning_effort=settings.reasoning_effort)
        elif settings.agent == "openai-responses":
            agent_kwargs.update(reasoning_effort=settings.reasoning_effort)
        else:
            agent_kwargs = {k: v for k, v in agent_kwargs.items() if v is not None}
    try:
        probe = make_agent(settings.agent, **agent_kwargs)
    except (MissingAPIKeyError, UnknownPriceError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--agent") from exc
    agent_config = {"name": settings.agent, **(probe.config() if hasattr(probe, "config") else {})}
    console.print(f"Running [bold]{settings.agent}[/] on {len(selected)} task(s), {len(specs)} episode(s) -> {out}")
    try:
        outcome = run_batch(
            specs,
            lambda: make_agent(settings.agent, **agent_kwargs),
            out,
            registry=registry,
            concurrency=settings.concurrency,
            resume=resume,
            max_retries=max_retries,
            allow_mixed=allow_mixed,
            env_kwargs={
                "sandbox": sandbox,
                "sandbox_options": _sandbox_options(sandbox, image, warm_pool),
                "max_steps": settings.max_steps,
                "max_wall_time_s": settings.max_wall_time_s,
                "param_mode": param_mode,
            },
            show_progress=not quiet,
            agent_config=agent_config,
        )
    except RunDirError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    results = outcome.results
    if outcome.skipped:
        console.print(f"Skipped {outcome.skipped} episode(s) already finished in {out}")
    console.print(score_table(results, width=console.width))
    infra = sum(r.status == "infra_error" for r in results)
    if infra:
        console.print(f"[yellow]{infra} episode(s) ended in infra_error (excluded from means); see {out}/results[/]")
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    if costs:
        console.print(f"Cost: ${sum(costs):.4f} in all, ${sum(costs) / len(costs):.4f} per episode")
    console.print(f"Results: {out / 'results'}; reports: {out / 'batch_records'}; trajectories: {out / 'trajectories'}")
    if outcome.interrupted:
        console.print("[yellow]Interrupted: finished episodes are saved; continue with --resume[/]")
        raise typer.Exit(130)


def _sandbox_options(sandbox: str, image: str | None, warm_pool: int) -> dict[str, object]:
    if sandbox != "docker":
        if image or warm_pool:
            raise typer.BadParameter("--image and --warm-pool apply to --sandbox docker", param_hint="--sandbox")
        return {}
    options: dict[str, object] = {"warm_pool": warm_pool}
    if image:
        options["image"] = image
    return options
