"""Grouped rollouts over many task instances: ``collect_rollouts(episodes, policy, out_dir, group_size=G)``.

Plays G rollouts of each episode (task, level, seed) with :func:`~asibench_env.rollouts.worker.play_rollout`,
``concurrency`` at a time on worker threads (or on any ``concurrent.futures.Executor`` given, e.g. Ray's
:class:`~asibench_env.runs.executors.RayFutures`). Every file is written here, on the driver; each group
ends once all its rollouts have finished: its groups-table row and its episodes' group
columns are written then. The run folder is a run's (``run_metadata.json``, ``results/``,
``batch_records/``, ``trajectories/``), and ``resume`` skips the rollouts whose result file says they
finished, exactly as ``asibench-env run --resume`` does.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asibench_env.envs.episode import EpisodeResult
from asibench_env.rollouts.groups import GroupRecord, RolloutRecord, write_group
from asibench_env.rollouts.policy import ChatPolicy, PolicyConfig
from asibench_env.rollouts.spec import RolloutKey, RolloutSpec, plan_rollouts, rollout_key, row_key
from asibench_env.rollouts.stats import DEFAULT_EPS
from asibench_env.rollouts.worker import RolloutProduct, RolloutResult, play_rollout, write_rollout
from asibench_env.runs.batch import (
    drop_unfinished_trajectories,
    finished_results,
    preflight,
    rebuild_batch_records,
    write_run_metadata,
)
from asibench_env.runs.collect import RunWriteError
from asibench_env.runs.metadata import run_identity
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

logger = logging.getLogger(__name__)


@dataclass
class RolloutOutcome:
    """What a rollouts run produced: this session's rollouts, and every planned group's final record."""

    results: list[RolloutResult] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)
    skipped: int = 0
    """Rollouts already finished in the folder (``resume``)."""
    retried: int = 0
    """Re-runs of rollouts after an infrastructure error."""
    interrupted: bool = False


def _done_records(out_dir: Path) -> dict[RolloutKey, RolloutRecord]:
    done = {}
    for doc in finished_results(out_dir):
        rollout = doc.get("rollout")
        if not isinstance(rollout, dict) or "rollout_index" not in rollout:
            continue
        key = rollout_key(
            doc["task_id"], doc["prompt_level"], doc.get("seed"), doc.get("instance_id"), rollout["rollout_index"]
        )
        done[key] = RolloutRecord.from_document(doc)
    return done


def _record(result: RolloutResult) -> RolloutRecord:
    return RolloutRecord(
        rollout_index=result.rollout_index,
        status=result.status,
        final_score=result.final_score,
        episode_id=result.episode_id,
        instance_id=result.instance_id,
    )


def _isolation(results: list[RolloutResult]) -> list[EpisodeResult]:
    """A stand-in result with the sandbox isolation the rollouts got, for the run's metadata (it reads only that)."""
    result = next((r for r in results if r.sandbox), None)
    if result is None:
        return []
    stand_in = EpisodeResult(
        task_id=result.task_id,
        task_version="",
        instance_id=result.instance_id,
        prompt_level=result.prompt_level,
        seed=result.seed,
        status="infra_error",
        end_reason="infra_error",
        final_score=None,
        sandbox=result.sandbox,
    )
    return [stand_in]


def collect_rollouts(
    episodes: Sequence[EpisodeSpec],
    policy: PolicyConfig | ChatPolicy,
    out_dir: str | Path,
    *,
    group_size: int,
    concurrency: int = 1,
    resume: bool = False,
    max_retries: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    registry: TaskRegistry | None = None,
    eps: float = DEFAULT_EPS,
    allow_mixed: bool = False,
    executor: Executor | None = None,
    show_progress: bool = False,
    on_result: Callable[[RolloutResult], None] | None = None,
    keep_transcripts: bool = True,
) -> RolloutOutcome:
    """Collect ``group_size`` rollouts of each episode with ``policy`` into ``out_dir``; see the module docstring.

    ``on_result`` sees every finished rollout whole; ``keep_transcripts=False`` keeps the outcome's
    results small (no messages, steps or turns: they are in the Parquet tables) for long runs.

    ``registry`` is used for the run's metadata (task versions and hashes; default: the tasks of
    ``env_kwargs``' ``tasks_dir`` or the built-in ones). Raises
    :class:`~asibench_env.runs.batch.RunDirError` when the folder cannot take the run, ``ValueError``
    for a group size below 1, and :class:`~asibench_env.runs.collect.RunWriteError` when writing into
    ``out_dir`` failed (e.g. a full disk): no new rollout was started after it, the rollouts in flight
    were finished and their writes tried; ``resume=True`` completes the run. Rollouts' own failures
    never raise.
    """
    out_dir = Path(out_dir)
    rollouts = plan_rollouts(episodes, group_size)
    options = dict(env_kwargs or {})
    if registry is None:
        tasks_dir, instances_dir = options.get("tasks_dir"), options.get("instances_dir")
        registry = TaskRegistry(tasks_dir or [], instances_dir or []) if tasks_dir or instances_dir else None
    registry = registry or builtin_registry()
    agent_config = (
        policy.public() if isinstance(policy, PolicyConfig) else {"agent": "rollouts", "callable": repr(policy)}
    )
    agent_config = {**agent_config, "group_size": group_size}
    requested = options.get("sandbox", "local")
    preflight(out_dir, resume=resume, allow_mixed=allow_mixed, identity=run_identity(agent_config, requested))
    done = _done_records(out_dir) if resume else {}
    if resume:
        drop_unfinished_trajectories(out_dir, set(done), key=row_key)
    run_id = uuid.uuid4().hex[:12]
    executor_name = type(executor).__name__ if executor is not None else None
    write_run_metadata(out_dir, episodes, registry, [], requested, agent_config, session=run_id, executor=executor_name)
    todo = [r for r in rollouts if r.key not in done]
    outcome = RolloutOutcome(skipped=len(rollouts) - len(todo))
    records: dict[str, dict[int, RolloutRecord]] = defaultdict(dict)
    first: dict[str, RolloutSpec] = {}
    for spec in rollouts:
        first.setdefault(spec.group_id, spec)
        if spec.key in done:
            records[spec.group_id][spec.rollout_index] = done[spec.key]
    remaining: dict[str, int] = defaultdict(int)
    for spec in todo:
        remaining[spec.group_id] += 1
    finished_groups: dict[str, GroupRecord] = {}
    tally = {"scored": 0.0, "reward": 0.0, "errors": 0.0}  # for the progress line
    lock = threading.Lock()

    write_failures: list[OSError] = []

    def finish(group_id: str) -> None:
        try:
            finished_groups[group_id] = write_group(out_dir, run_id, first[group_id], records[group_id].values(), eps)
        except OSError as exc:
            logger.warning("cannot write the row of group %s: %s", group_id, exc)
            write_failures.append(exc)

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    pool = executor or ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="rollout")
    with progress:
        bar = progress.add_task("rollouts", total=len(todo), status="")
        futures: dict[Future[RolloutProduct], RolloutSpec] = {}
        written: set[RolloutKey] = set()

        def write(spec: RolloutSpec, future: Future[RolloutProduct]) -> RolloutResult | None:
            """Write a finished rollout's files here, on the driver; None for a second copy (never counted twice)."""
            if spec.key in written:
                logger.warning("dropping a second copy of rollout %s", spec)
                return None
            written.add(spec.key)
            try:
                product = future.result()
            except Exception as exc:  # noqa: BLE001 - an executor failure (a lost worker or node) ends this rollout
                logger.error("rollout %s failed in its executor: %s", spec, exc)
                return _lost(spec, exc)
            try:
                return write_rollout(product, out_dir)
            except OSError as exc:  # the run folder's disk: stop cleanly; --resume plays this rollout again
                logger.warning("cannot write rollout %s: %s", spec, exc)
                write_failures.append(exc)
                written.discard(spec.key)
                queue.clear()
                return None

        queue = list(reversed(todo))
        in_flight = max(1, concurrency)

        def submit_more() -> None:
            while queue and len(futures) < in_flight:
                spec = queue.pop()
                futures[
                    pool.submit(
                        play_rollout, spec, policy, out_dir, env_kwargs=options, run_id=run_id, max_retries=max_retries
                    )
                ] = spec

        try:
            submit_more()
            while futures:
                ready, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in ready:
                    spec = futures.pop(future)
                    written_result = write(spec, future)
                    if written_result is None:
                        continue
                    result = written_result
                    if on_result:
                        on_result(result)
                    if not keep_transcripts:
                        result = result.model_copy(update={"messages": [], "steps": [], "turns": []})
                    with lock:
                        outcome.results.append(result)
                        outcome.retried += result.attempts - 1
                        records[spec.group_id][spec.rollout_index] = _record(result)
                        remaining[spec.group_id] -= 1
                        if remaining[spec.group_id] == 0:
                            finish(spec.group_id)
                    if result.reward is not None:
                        tally["scored"] += 1
                        tally["reward"] += result.reward
                    tally["errors"] += result.status == "infra_error"
                    scored, errors = int(tally["scored"]), int(tally["errors"])
                    mean = f"mean reward {tally['reward'] / scored:.3f}" if scored else "mean reward -"
                    progress.update(
                        bar, advance=1, status=f"{mean}  groups done {len(finished_groups)}  infra errors {errors}"
                    )
                submit_more()
        except KeyboardInterrupt:
            outcome.interrupted = True
            queue.clear()
            progress.console.print("[yellow]Stopping: waiting for the running rollouts to finish[/]")
            wait(list(futures))
            for future, spec in futures.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    late = write(spec, future)
                    if late is None:
                        continue
                    result = late
                    outcome.results.append(result)
                    records[spec.group_id][spec.rollout_index] = _record(result)
        finally:
            if executor is None:
                pool.shutdown(wait=True, cancel_futures=True)
    for group_id in first:  # groups finished earlier (resume) or cut short (interrupted) get their row too
        if group_id not in finished_groups:
            finish(group_id)
    outcome.groups = [finished_groups[g] for g in first if g in finished_groups]
    try:
        if outcome.results:
            write_run_metadata(
                out_dir,
                episodes,
                registry,
                _isolation(outcome.results),
                requested,
                agent_config,
                session=run_id,
                executor=executor_name,
            )
        rebuild_batch_records(out_dir)
    except OSError as exc:
        write_failures.append(exc)
    if write_failures:
        raise RunWriteError(write_failures[0])
    return outcome


def _lost(spec: RolloutSpec, exc: BaseException) -> RolloutResult:
    return RolloutResult(
        task_id=spec.task_id,
        prompt_level=spec.level,
        seed=spec.seed,
        instance_id=spec.instance_id or "",
        group_id=spec.group_id,
        rollout_index=spec.rollout_index,
        group_size=spec.group_size,
        status="infra_error",
        final_score=None,
        reward=None,
        error=f"executor failure: {type(exc).__name__}: {exc}",
        attempts=1,
        episode_id=None,
    )
