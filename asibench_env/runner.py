"""Drive agents through episodes and write one result file per episode."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asibench_env.agents.base import Agent
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.episode import EpisodeResult
from asibench_env.errors import InfraError
from asibench_env.reports import EpisodeSummary, write_batch_records
from asibench_env.results import write_result
from asibench_env.run_metadata import SandboxProvenance, collect_run_metadata, save_run_metadata
from asibench_env.sandbox.base import SandboxError
from asibench_env.tasks.instances import InstanceGenerationError
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import TrajectoryLogger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to run: a task at a level with a seed."""

    task_id: str
    level: str
    seed: int


def plan_episodes(task_ids: Iterable[str], levels: Iterable[str], seeds: Iterable[int]) -> list[EpisodeSpec]:
    """Every combination, task-major."""
    levels, seeds = list(levels), list(seeds)
    return [EpisodeSpec(t, lvl, s) for t in task_ids for lvl in levels for s in seeds]


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0..4]; '1,5,9' -> [1, 5, 9]; ranges and lists may mix."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            low, high = part.split("-", 1)
            if int(high) < int(low):
                raise ValueError(f"seed range {part!r} runs backwards; write it low-high")
            seeds.extend(range(int(low), int(high) + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}; write e.g. 0-4 or 1,2,3")
    return seeds


def _failed(spec: EpisodeSpec, env: AsiBenchEnv, status: str, error: str, steps: int, started: float) -> EpisodeResult:
    instance = env.instance
    return EpisodeResult(
        task_id=spec.task_id,
        task_version=env.task.version,
        instance_id=instance.instance_id if instance else f"{spec.task_id}__seed{spec.seed}",
        prompt_level=spec.level,
        seed=spec.seed,
        parameters=dict(instance.params) if instance else {},
        status=status,  # type: ignore[arg-type]
        end_reason=status,  # type: ignore[arg-type]
        final_score=0.0 if status == "agent_error" else None,
        error=error,
        steps=steps,
        wall_time_s=time.monotonic() - started,
    )


def _record(env: gym.Env, result: EpisodeResult) -> EpisodeResult:
    """Log an episode that did not end through the env (so the trajectory logger did not see its end)."""
    layer = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, TrajectoryLogger):
            layer.record_result(result)
            break
        layer = layer.env
    return result


def run_episode(env: gym.Env, agent: Agent, spec: EpisodeSpec) -> EpisodeResult:
    """Run one episode to its end; never raises for agent or infrastructure failures.

    ``env`` is an :class:`AsiBenchEnv`, possibly wrapped (e.g. in a TrajectoryLogger).
    """
    base: AsiBenchEnv = env.unwrapped  # type: ignore[assignment]
    started = time.monotonic()
    steps = 0
    try:
        observation, info = env.reset(seed=spec.seed, options={"level": spec.level})
    except (InstanceGenerationError, SandboxError, InfraError, OSError) as exc:
        logger.warning("reset failed for %s: %s", spec, exc)
        return _record(env, _failed(spec, base, "infra_error", f"reset failed: {exc}", steps, started))
    try:
        agent.reset(observation, info)
        while True:
            action = agent.act(observation, info)
            observation, reward, terminated, truncated, info = env.step(action)
            steps += 1
            if terminated or truncated:
                agent.end(reward, info)
                return info["episode"]
    except InfraError as exc:
        return _record(env, _failed(spec, base, "infra_error", str(exc), steps, started))
    except Exception as exc:  # noqa: BLE001 - an agent bug ends its own episode, not the run
        logger.exception("agent %s failed on %s", getattr(agent, "name", "?"), spec)
        return _record(env, _failed(spec, base, "agent_error", f"{type(exc).__name__}: {exc}", steps, started))
    finally:
        env.close()


def run_batch(
    specs: Sequence[EpisodeSpec],
    make_agent: Callable[[], Agent],
    out_dir: Path,
    *,
    registry: TaskRegistry,
    env_kwargs: dict[str, Any] | None = None,
    show_progress: bool = True,
    on_result: Callable[[EpisodeResult], None] | None = None,
    agent_config: dict[str, Any] | None = None,
) -> list[EpisodeResult]:
    """Run the episodes one after another, writing ``out_dir/results/<instance>__<level>.json`` for each."""
    results_dir = Path(out_dir) / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    results: list[EpisodeResult] = []
    names: list[str] = []
    envs: dict[tuple[str, str], gym.Env] = {}
    run_id = uuid.uuid4().hex[:12]
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    with progress:
        bar = progress.add_task("episodes", total=len(specs), status="")
        for spec in specs:
            key = (spec.task_id, spec.level)
            if key not in envs:
                base = AsiBenchEnv(spec.task_id, level=spec.level, registry=registry, **(env_kwargs or {}))
                envs[key] = TrajectoryLogger(
                    base,
                    out_dir,
                    run_id=run_id,
                    agent=(agent_config or {}).get("name"),
                    model=(agent_config or {}).get("model"),
                )
            agent = make_agent()
            envs[key].agent = agent.name  # the trajectory logger records who played each episode
            result = run_episode(envs[key], agent, spec)
            write_result(results_dir, result, agent.name, agent_config=agent_config)
            results.append(result)
            names.append(agent.name)
            if on_result:
                on_result(result)
            scored = [r.final_score for r in results if r.final_score is not None]
            errors = sum(r.status == "infra_error" for r in results)
            mean = f"mean {sum(scored) / len(scored):.1f}" if scored else "mean -"
            progress.update(bar, advance=1, status=f"{mean}  infra errors {errors}")
    for env in envs.values():
        env.close()
    _write_metadata(out_dir, specs, registry, results, (env_kwargs or {}).get("sandbox", "local"), agent_config)
    write_batch_records(out_dir, [summary_of(r, name, agent_config) for r, name in zip(results, names, strict=True)])
    return results


def summary_of(result: EpisodeResult, agent_name: str, agent_config: dict[str, Any] | None) -> EpisodeSummary:
    """The report view of an episode."""
    return EpisodeSummary(
        task_id=result.task_id,
        prompt_level=result.prompt_level,
        status=result.status,
        final_score=result.final_score,
        hard_gates_passed=result.hard_gates_passed,
        soft_gate_failures=result.soft_gate_failures,
        agent=agent_name,
        model=(agent_config or {}).get("model"),
    )


def _write_metadata(
    out_dir: Path,
    specs: Sequence[EpisodeSpec],
    registry: TaskRegistry,
    results: list[EpisodeResult],
    requested: str,
    agent_config: dict[str, Any] | None,
) -> None:
    levels = sorted({s.level for s in specs})
    seeds = sorted({s.seed for s in specs})
    isolation = next((r.sandbox for r in results if r.sandbox), {})
    sandbox = SandboxProvenance(
        requested_mode=requested,
        effective_mode=isolation.get("level"),
        backend=isolation.get("backend"),
        network=isolation.get("network"),
        details=isolation.get("details", {}),
    )
    task_versions = {t: registry.get(t).version for t in sorted({s.task_id for s in specs})}
    save_run_metadata(
        out_dir,
        collect_run_metadata(
            agent=agent_config or {},
            task_versions=task_versions,
            sandbox=sandbox,
            levels=levels,
            seeds=seeds,
        ),
    )
