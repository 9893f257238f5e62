"""The steps of ``asibench-env run``: settings from a baseline file and options, the plan, the agent, the summary.

Every failure is a :class:`typer.BadParameter` naming the option to change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from asibench_env.agents.api_errors import MissingAPIKeyError
from asibench_env.agents.base import Agent, AsyncAgent
from asibench_env.agents.pricing import UnknownPriceError
from asibench_env.agents.registry import AgentEntry, AgentSpecError, resolve_agent
from asibench_env.agents.settings import AgentSettingsError, parse_options
from asibench_env.cli.tables import score_table
from asibench_env.runs.baselines import BaselineConfig, BaselineError, load_baseline, with_overrides
from asibench_env.runs.batch import BatchOutcome
from asibench_env.runs.executors import Executor, RayExecutor, RayUnavailableError, ThreadExecutor
from asibench_env.runs.executors.ray_cluster import check_reachable, import_ray
from asibench_env.runs.runner import EpisodeSpec, parse_seeds, plan_episodes
from asibench_env.tasks.models import parse_levels
from asibench_env.tasks.registry import TaskRegistry, UnknownTaskError
from asibench_env.tasks.runnability import UNRUNNABLE_FIX, unrunnable_message

OPTION_OF_FIELD = {
    "agent": "--agent",
    "options": "--agent-option",
    "model": "--model",
    "base_url": "--base-url",
    "api_key_env": "--api-key-env",
    "prices": "--price",
    "temperature": "--temperature",
    "seed": "--model-seed",
    "max_tokens": "--max-tokens",
    "reasoning_effort": "--reasoning-effort",
    "native_tools": "--config",
    "max_total_tokens": "--max-total-tokens",
    "max_cost_usd": "--max-cost",
    "tasks": "--tasks",
    "levels": "--levels",
    "seeds": "--seeds",
    "max_steps": "--max-steps",
    "max_wall_time_s": "--max-wall-time",
    "concurrency": "--concurrency",
}
"""The command-line option that sets each settings field (for error hints)."""


def _hint(field: str | None) -> str:
    return OPTION_OF_FIELD.get((field or "").split(".")[0], "--config")


def settings_from(config: Path | None, **given: Any) -> BaselineConfig:
    """The run's settings: the baseline file (or the defaults), then the options given on the command line.

    ``prices`` and ``options`` add to the file's. Raises :class:`typer.BadParameter`.
    """
    try:
        base = load_baseline(config) if config else BaselineConfig(name="cli", agent="oracle", seeds="0-1")
    except BaselineError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from exc
    if given.get("prices"):
        given["prices"] = [*base.prices, *given["prices"]]
    if given.get("options"):
        try:
            given["options"] = {**base.options, **parse_options(given["options"])}
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--agent-option") from exc
    try:
        return with_overrides(base, given)
    except BaselineError as exc:
        raise typer.BadParameter(str(exc), param_hint=_hint(exc.field)) from exc


@dataclass(frozen=True)
class RunPlan:
    """The episodes to run, the tasks left out because they cannot run here, and those run on downloaded instances."""

    specs: list[EpisodeSpec]
    unrunnable: list[str] = field(default_factory=list)
    """Tasks skipped with --skip-unrunnable: no generator and no downloaded instance."""
    downloaded: dict[str, int] = field(default_factory=dict)
    """Tasks planned on their downloaded instances (task id -> instance count): seeds do not apply to them."""


def plan(
    settings: BaselineConfig, registry: TaskRegistry, param_mode: str, *, skip_unrunnable: bool = False
) -> RunPlan:
    """The episodes the settings ask for. Raises :class:`typer.BadParameter`.

    Tasks that cannot run here (no generator, no downloaded instance) are refused in one line, or left
    out with ``skip_unrunnable``. A task with downloaded instances runs each of them once per level
    (seeds select generated instances only).
    """
    try:
        selected = registry.select(settings.tasks)
    except UnknownTaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tasks") from exc
    if not selected:
        raise typer.BadParameter("no tasks selected; give --tasks all or task ids", param_hint="--tasks")
    try:
        seed_list = parse_seeds(settings.seeds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds") from exc
    try:
        level_list = parse_levels(settings.levels)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--levels") from exc
    if param_mode not in ("default", "random"):
        raise typer.BadParameter("use --param-mode default or --param-mode random", param_hint="--param-mode")
    unrunnable = [task.id for task in selected if not registry.runnability(task.id).runnable]
    if unrunnable and not skip_unrunnable:
        raise typer.BadParameter(unrunnable_message(unrunnable), param_hint="--tasks")
    runnable = [task.id for task in selected if task.id not in unrunnable]
    if not runnable:
        raise typer.BadParameter(
            f"none of the {len(selected)} selected task(s) can run here; " + UNRUNNABLE_FIX.split(", or ")[0],
            param_hint="--tasks",
        )
    instances = {task_id: [ref.instance_id for ref in registry.instances(task_id)] for task_id in runnable}
    instances = {task_id: ids for task_id, ids in instances.items() if ids}
    specs = plan_episodes(runnable, level_list, seed_list, instances)
    return RunPlan(specs, unrunnable, {task_id: len(ids) for task_id, ids in instances.items()})


def build_agent(
    settings: BaselineConfig, registry: TaskRegistry
) -> tuple[Callable[[], Agent | AsyncAgent], Agent | AsyncAgent]:
    """A maker of fresh agents for the settings, and one agent built with it now (so errors come first).

    Raises :class:`typer.BadParameter` naming the option to change.
    """
    try:
        entry: AgentEntry = resolve_agent(settings.agent)
    except AgentSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--agent") from exc
    agent_settings = settings.agent_settings()

    def make() -> Agent | AsyncAgent:
        return entry.build(agent_settings, registry=registry)

    try:
        probe = make()
    except AgentSettingsError as exc:
        raise typer.BadParameter(str(exc), param_hint=_hint(exc.field)) from exc
    except MissingAPIKeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="--api-key-env") from exc
    except UnknownPriceError as exc:
        raise typer.BadParameter(str(exc), param_hint="--price") from exc
    except AgentSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--agent") from exc
    except Exception as exc:  # noqa: BLE001 - a plug-in's constructor may raise anything; say so in one line
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        hint = f"agent {settings.agent!r} could not be built: {message}"
        raise typer.BadParameter(hint, param_hint="--agent") from exc
    return make, probe


def sandbox_options(sandbox: str, image: str | None, warm_pool: int) -> dict[str, object]:
    """The sandbox backend's options. Raises :class:`typer.BadParameter` for docker-only options on local."""
    if sandbox != "docker":
        if image:
            raise typer.BadParameter("--image applies to --sandbox docker", param_hint="--sandbox")
        return {"warm_pool": warm_pool} if warm_pool else {}
    options: dict[str, object] = {"warm_pool": warm_pool}
    if image:
        options["image"] = image
    return options


ExecutorOpt = Annotated[
    str,
    typer.Option(help="Where episodes run: threads (this process) or ray (Ray tasks, across machines)."),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        help=(
            "--executor ray: the cluster's HOST:PORT (what `ray start --head` prints), or auto. "
            "(default: a new local Ray)"
        ),
        show_default=False,
    ),
]
RayEpisodeCpusOpt = Annotated[float, typer.Option(help="--executor ray: CPUs each episode asks Ray for.", min=0.01)]
RayEpisodeMemoryOpt = Annotated[
    float, typer.Option(help="--executor ray: memory each episode asks Ray for, in GiB.", min=0.0)
]
# The options above are shared by ``run`` and ``rollouts`` (a rollout is an episode).


def ray_error(exc: RayUnavailableError, ray_address: str | None) -> typer.BadParameter:
    """A Ray failure as the CLI reports it: on --ray-address when one was given, else on --executor."""
    return typer.BadParameter(str(exc), param_hint="--ray-address" if ray_address else "--executor")


def make_executor(
    name: str,
    concurrency: int,
    *,
    ray_address: str | None = None,
    ray_episode_cpus: float = 1.0,
    ray_episode_memory_gib: float = 1.0,
) -> Executor:
    """The executor ``--executor`` names, checked now (Ray installed, cluster reachable). Raises BadParameter."""
    if name == "threads":
        if ray_address:
            raise typer.BadParameter("--ray-address applies to --executor ray", param_hint="--ray-address")
        return ThreadExecutor(concurrency)
    if name != "ray":
        raise typer.BadParameter(f"unknown executor {name!r}; use threads or ray", param_hint="--executor")
    try:
        import_ray()
        if ray_address:
            check_reachable(ray_address)
    except RayUnavailableError as exc:
        raise ray_error(exc, ray_address) from exc
    return RayExecutor(
        concurrency,
        address=ray_address,
        num_cpus=ray_episode_cpus,
        memory_bytes=int(ray_episode_memory_gib * 1024**3),
    )


def print_outcome(
    console: Console, outcome: BatchOutcome, out: Path, *, planned: int, unrunnable: Sequence[str] = ()
) -> None:
    """The score table, infrastructure errors, costs and where the files are; or that nothing was left to run."""
    results = outcome.results
    if unrunnable:
        console.print(
            f"[yellow]Skipped {len(unrunnable)} task(s) that cannot run here[/] (no generator, no downloaded "
            f"instance): {', '.join(unrunnable)}",
            soft_wrap=True,
        )
    if not results and outcome.skipped == planned and not outcome.interrupted:
        console.print(f"All {planned} planned episode(s) were already finished in {out}; nothing left to run.")
        return
    if outcome.skipped:
        console.print(f"Skipped {outcome.skipped} episode(s) already finished in {out}")
    console.print(score_table(results, width=console.width))
    infra = sum(r.status == "infra_error" for r in results)
    if infra:
        console.print(f"[yellow]{infra} episode(s) ended in infra_error (excluded from means); see {out}/results[/]")
    produced = sum(r.status == "produced" for r in results)
    if produced:
        console.print(
            f"{produced} episode(s) produced outputs on instances without reference files (not scored; kept in "
            f"{out}/results): `asibench-env submission build {out}` for seed42, "
            f"`asibench-env score {out} --instances-dir DIR` once references are available"
        )
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    if costs:
        console.print(f"Cost: ${sum(costs):.4f} in all, ${sum(costs) / len(costs):.4f} per episode")
    console.print(f"Results: {out / 'results'}; reports: {out / 'batch_records'}; trajectories: {out / 'trajectories'}")
    if outcome.interrupted:
        console.print("[yellow]Interrupted: finished episodes are saved; continue with --resume[/]")
