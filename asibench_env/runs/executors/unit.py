"""The unit of work every executor runs: one attempt of one episode, captured instead of written.

The trajectory logger's writer is swapped for one that keeps the rows in memory, and the episode's kept
outputs are read into bytes, so the attempt's whole product travels back to the driver in one
:class:`~asibench_env.runs.executors.base.EpisodeRecord`.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from asibench_env.envs.episode import EpisodeResult
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.runs.executors.base import EpisodeJob, EpisodeRecord, TrajectoryRows
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import TrajectoryLogger
from asibench_env.trajectories.writer import TrajectoryWriter

logger = logging.getLogger(__name__)

EnvPool = dict[tuple[str, str], TrajectoryLogger]
"""A worker's envs by (task, level), reused across its episodes (sandbox warm pools stay warm)."""


class CapturingWriter(TrajectoryWriter):
    """A trajectory writer that keeps each finished episode's rows instead of writing Parquet."""

    def __init__(self, root: Path, run_id: str):
        super().__init__(root, run_id)
        self.captured: list[TrajectoryRows] = []

    def write_episode(self, steps: list[dict[str, Any]], episode: dict[str, Any]) -> None:
        """Keep the rows; the driver writes them with a real :class:`TrajectoryWriter`."""
        self.captured.append(TrajectoryRows(steps=list(steps), episode=dict(episode)))


def harness_failure(spec: EpisodeSpec, registry: TaskRegistry, error: str) -> EpisodeResult:
    """An infra_error result for an attempt the harness itself could not run (never scored as the agent's)."""
    try:
        version = registry.get(spec.task_id).version
    except Exception:  # noqa: BLE001 - the failure being reported may be this very lookup
        version = ""
    return EpisodeResult(
        task_id=spec.task_id,
        task_version=version,
        instance_id=spec.instance_id or f"{spec.task_id}__seed{spec.seed}",
        prompt_level=spec.level,
        seed=spec.seed,
        status="infra_error",
        end_reason="infra_error",
        final_score=None,
        error=error,
    )


def _logged_env(job: EpisodeJob, spec: EpisodeSpec, envs: EnvPool, env_options: dict[str, Any]) -> TrajectoryLogger:
    key = (spec.task_id, spec.level)
    if key not in envs:
        base = AsiBenchEnv(spec.task_id, level=spec.level, registry=job.registry, **env_options)
        config = job.agent_config or {}
        wrapped = TrajectoryLogger(
            base, job.out_dir, run_id=job.run_id, model=config.get("model"), agent_config=job.agent_config
        )
        wrapped.writer = CapturingWriter(job.out_dir, job.run_id)
        envs[key] = wrapped
    return envs[key]


def read_outputs(result: EpisodeResult) -> dict[str, bytes]:
    """The bytes of every kept output (``result.artifacts`` in ``result.outputs_dir``), links not followed.

    A file that cannot be read is left out: the driver's check of sizes and hashes then turns the
    episode into an infra_error rather than keep a wrong copy.
    """
    if result.outputs_dir is None or not Path(result.outputs_dir).is_dir():
        return {}
    outputs: dict[str, bytes] = {}
    for artifact in result.artifacts:
        rel = Path(artifact.path)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            continue
        try:
            fd = os.open(Path(result.outputs_dir) / rel, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                outputs[artifact.path] = handle.read()
        except OSError as exc:
            logger.warning("cannot read output %s of %s: %s", artifact.path, result.instance_id, exc)
    return outputs


def run_attempt(
    job: EpisodeJob,
    spec: EpisodeSpec,
    attempt: int,
    *,
    envs: EnvPool,
    env_options: dict[str, Any],
    node: str | None = None,
) -> EpisodeRecord:
    """Run one attempt of ``spec`` on an env from ``envs`` and return everything it produced; never raises.

    ``env_options`` are the env's options as this worker builds them (its own instance cache).
    """
    agent_name = str((job.agent_config or {}).get("name", "unknown"))
    try:
        env = _logged_env(job, spec, envs, env_options)
        writer = env.writer
        assert isinstance(writer, CapturingWriter)
        writer.captured.clear()
        agent = job.make_agent()
        agent_name = agent.name
        env.agent = agent_name
        result = run_episode(env, agent, spec)
        rows, outputs = list(writer.captured), read_outputs(result)
        writer.captured.clear()
    except Exception as exc:  # noqa: BLE001 - a harness failure must not stop the other episodes
        logger.exception("harness failure on %s", spec)
        result = harness_failure(spec, job.registry, f"harness failure: {type(exc).__name__}: {exc}")
        rows, outputs = [], {}
    return EpisodeRecord(
        spec=spec,
        attempt=attempt,
        result=result.model_copy(update={"outputs_dir": None}),
        agent_name=agent_name,
        trajectories=rows,
        outputs=outputs,
        node=node or socket.gethostname(),
    )


def close_envs(envs: EnvPool) -> None:
    """Close a worker's envs (their sandboxes and warm pools)."""
    for env in envs.values():
        try:
            env.close()
        except Exception:  # noqa: BLE001 - closing must go on for the others
            logger.exception("closing an env failed")
    envs.clear()
