"""The batch runner: many episodes, in parallel, resumable, with infrastructure errors kept apart.

Output layout: ``DIR/run_metadata.json``, ``DIR/results/<instance>__<level>.json`` (the marker that an
episode is done), ``DIR/batch_records/`` and ``DIR/trajectories/``.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from asibench_env._version import __version__
from asibench_env.agents.base import Agent, AsyncAgent
from asibench_env.envs.episode import EpisodeResult
from asibench_env.rewards import JudgeSettings
from asibench_env.runs.collect import RecordWriter, drive
from asibench_env.runs.executors import EpisodeJob, Executor, ThreadExecutor
from asibench_env.runs.metadata import (
    MIXABLE,
    BaselineProvenance,
    Invocation,
    PlannedEpisode,
    SandboxProvenance,
    collect_run_metadata,
    load_run_metadata,
    run_identity,
    save_run_metadata,
)
from asibench_env.runs.reports import summaries_from_results, write_batch_records
from asibench_env.runs.runner import EpisodeSpec, spec_key
from asibench_env.tasks.hashing import task_sha256
from asibench_env.tasks.instances import GenerationStatus, InstanceCache, planned_params
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import load

logger = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 1024**2


class RunDirError(RuntimeError):
    """The output folder cannot take this run (unwritable, full, or holding another run)."""


@dataclass
class BatchOutcome:
    """What a batch produced; ``interrupted`` is set when Ctrl-C stopped it early."""

    results: list[EpisodeResult] = field(default_factory=list)
    agent_names: list[str] = field(default_factory=list)
    skipped: int = 0
    retried: int = 0
    interrupted: bool = False


SpecKey = tuple[str, str, int | None, str | None]


def finished_results(out_dir: Path) -> list[dict[str, Any]]:
    """The result documents of the episodes already done in ``out_dir`` (any that did not end in infra_error).

    A ``produced`` episode (outputs kept, not scored here) is done; ``asibench-env score`` scores it later.
    """
    done = []
    for path in sorted((Path(out_dir) / "results").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("ignoring unreadable result file %s", path)
            continue
        if doc.get("episode_status", "scored") != "infra_error":
            done.append(doc)
    return done


def finished_specs(out_dir: Path) -> set[SpecKey]:
    """Episodes already done in ``out_dir``: a result file exists and the episode was not an infra error."""
    return {
        spec_key(doc["task_id"], doc["prompt_level"], doc.get("seed"), doc.get("instance_id"))
        for doc in finished_results(out_dir)
    }


def preflight(out_dir: Path, *, resume: bool, allow_mixed: bool, identity: dict[str, str | None] | None = None) -> None:
    """Fail before the run starts when the output folder cannot take it.

    With ``resume``, the folder's earlier invocations must have been by this version and share ``identity``
    (:func:`~asibench_env.runs.metadata.run_identity`: agent, model, endpoint, sandbox), unless ``allow_mixed``.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{uuid.uuid4().hex}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"cannot write to {out_dir}: {exc.strerror or exc}; choose another --out") from exc
    free = shutil.disk_usage(out_dir).free
    if free < MIN_FREE_BYTES:
        raise RunDirError(f"{out_dir} has only {free // 2**20} MiB free; free some space or choose another --out")
    metadata = out_dir / "run_metadata.json"
    has_results = any((out_dir / "results").glob("*.json"))
    if not resume and (metadata.exists() or has_results):
        raise RunDirError(f"{out_dir} already holds a run; pass --resume to continue it, or choose another --out")
    if resume and metadata.exists() and not allow_mixed:
        previous = json.loads(metadata.read_text(encoding="utf-8"))
        if previous.get("framework_version") != __version__:
            raise RunDirError(
                f"{out_dir} was written by asibench-env {previous.get('framework_version')}, this is {__version__}; "
                "pass --allow-mixed to add to it anyway, or choose another --out"
            )
        if identity is not None:
            _refuse_mixed(out_dir, identity)


def _refuse_mixed(out_dir: Path, identity: dict[str, str | None]) -> None:
    try:
        previous = load_run_metadata(out_dir)
    except (OSError, ValueError) as exc:
        raise RunDirError(
            f"cannot read {out_dir / 'run_metadata.json'}: {exc}; choose another --out, or pass --allow-mixed"
        ) from exc
    for invocation in previous.invocations if previous is not None else []:
        before = run_identity(invocation.agent, invocation.sandbox.requested_mode)
        for key, option in MIXABLE.items():
            if before[key] != identity[key]:
                raise RunDirError(
                    f"{out_dir} holds a run with {key} {before[key]!r} ({option}), this invocation has "
                    f"{identity[key]!r}; resuming would mix two runs: use another --out for a separate run, "
                    "or pass --allow-mixed to add to it anyway"
                )


def _episode_row_key(row: dict[str, Any]) -> Hashable:
    return spec_key(row["task_id"], row["prompt_level"], row["seed"], row["instance_id"])


def drop_unfinished_trajectories(
    out_dir: Path, done: Collection[Hashable], key: Callable[[dict[str, Any]], Hashable] = _episode_row_key
) -> None:
    """Remove Parquet episodes logged by a killed run whose result file was never written (no duplicates).

    ``key`` gives an episodes-table row's identity, as ``done`` holds them (default: the episode's spec key).
    """
    folder = Path(out_dir) / "trajectories"
    if not (folder / "episodes").is_dir():
        return
    columns = ["episode_id", "task_id", "prompt_level", "seed", "instance_id", "status", "rollout_index"]
    rows = load(out_dir, "episodes").to_table(columns=columns)
    for row in rows.to_pylist():
        if row["status"] == "infra_error" or key(row) in done:
            continue
        for table in ("steps", "episodes"):
            for path in (folder / table).rglob(f"{row['episode_id']}.parquet"):
                path.unlink()


class _Board:
    """Shared state of the worker threads: results, the progress bar, the stop flag."""

    def __init__(self, progress: Progress, total: int):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.outcome = BatchOutcome()
        self.progress = progress
        self.bar = progress.add_task("episodes", total=total, status="")
        self.generations: dict[tuple[str, str], TaskID] = {}

    def generating(self, status: GenerationStatus) -> None:
        """Show a running instance generation as its own status line; remove it when it ends."""
        key = (status.task_id, str(status.seed))
        with self.lock:
            row = self.generations.get(key)
            if status.done:
                if row is not None:
                    self.progress.remove_task(row)
                    del self.generations[key]
                return
            text = f"generating {status.task_id} seed {status.seed} ... {status.elapsed_s:.0f} s"
            if row is None:
                self.generations[key] = self.progress.add_task(text, total=None, status="")
            else:
                self.progress.update(row, description=text)

    def retried(self) -> None:
        with self.lock:
            self.outcome.retried += 1

    def interrupted(self) -> None:
        self.outcome.interrupted = True
        self.progress.console.print(
            "[yellow]Stopping: waiting for the running episodes to finish (Ctrl-C again to abort them)[/]"
        )

    def add(self, result: EpisodeResult, agent_name: str) -> None:
        with self.lock:
            self.outcome.results.append(result)
            self.outcome.agent_names.append(agent_name)
            scored = [r.final_score for r in self.outcome.results if r.final_score is not None]
            errors = sum(r.status == "infra_error" for r in self.outcome.results)
            produced = sum(r.status == "produced" for r in self.outcome.results)
            mean = f"mean {sum(scored) / len(scored):.1f}" if scored else "mean -"
            kept = f"  produced {produced}" if produced else ""
            self.progress.update(self.bar, advance=1, status=f"{mean}  infra errors {errors}{kept}")


class _Prefetch:
    """Generates the instances of the next ``depth`` specs in the background, as workers take specs."""

    def __init__(
        self, specs: Sequence[EpisodeSpec], cache: InstanceCache, registry: TaskRegistry, mode: Any, depth: int
    ):
        self.specs, self.cache, self.registry, self.mode, self.depth = list(specs), cache, registry, mode, depth
        self._lock = threading.Lock()
        self._taken = 0
        self._submitted = 0

    def advance(self) -> None:
        """A worker took the next spec: make sure the ``depth`` specs after it are being generated."""
        with self._lock:
            self._taken += 1
            end = min(len(self.specs), self._taken + self.depth)
            upcoming = self.specs[max(self._submitted, self._taken) : end]
            self._submitted = max(self._submitted, end)
        for spec in upcoming:
            if spec.instance_id or spec.seed is None:
                continue
            try:
                task = self.registry.get(spec.task_id)
                params = planned_params(self.registry, task, spec.seed, self.mode)
                if params is not None:
                    self.cache.prefetch(task, params)  # a failure surfaces at that episode's reset
            except Exception:  # noqa: BLE001 - prefetching is an optimisation; the reset reports the problem
                logger.debug("could not prefetch %s", spec, exc_info=True)


def run_batch(
    specs: Sequence[EpisodeSpec],
    make_agent: Callable[[], Agent | AsyncAgent],
    out_dir: Path,
    *,
    registry: TaskRegistry,
    env_kwargs: dict[str, Any] | None = None,
    agent_config: dict[str, Any] | None = None,
    concurrency: int = 1,
    resume: bool = False,
    max_retries: int = 1,
    allow_mixed: bool = False,
    show_progress: bool = True,
    on_result: Callable[[EpisodeResult], None] | None = None,
    baseline: BaselineProvenance | None = None,
    executor: Executor | None = None,
    prefetch: int | None = None,
) -> BatchOutcome:
    """Run every spec (skipping finished ones with ``resume``) and write results, records and trajectories.

    ``baseline`` records the baseline file the run was started from in ``run_metadata.json``.
    ``executor`` says where the episodes run (default: ``concurrency`` threads here, a
    :class:`~asibench_env.runs.executors.ThreadExecutor`); whatever it is, this process writes every file.
    ``prefetch`` (default: ``concurrency``) is how many specs ahead of the workers have their instances
    generated in the background (by the process's bounded prefetch pool); 0 turns it off.
    """
    out_dir = Path(out_dir)
    requested = (env_kwargs or {}).get("sandbox", "local")
    identity = run_identity(agent_config or {}, requested)
    preflight(out_dir, resume=resume, allow_mixed=allow_mixed, identity=identity)
    run_id = uuid.uuid4().hex[:12]
    boards: list[_Board] = []

    def show_generation(status: GenerationStatus) -> None:
        for board in boards:
            board.generating(status)

    job = EpisodeJob(
        registry=registry,
        make_agent=make_agent,
        out_dir=out_dir,
        run_id=run_id,
        env_kwargs=dict(env_kwargs or {}),
        agent_config=agent_config,
    )
    executor = executor or ThreadExecutor(max(1, concurrency))
    ahead: _Prefetch | None = None
    if isinstance(executor, ThreadExecutor):  # other executors' nodes generate into their own caches
        cache = job.env_kwargs.get("instance_cache") or InstanceCache(progress=show_generation)
        job.env_kwargs["instance_cache"] = cache
    try:
        executor.start(job, on_generation=show_generation)  # before any file: a cluster it cannot reach leaves none
        done = finished_specs(out_dir) if resume else set()
        if resume:
            drop_unfinished_trajectories(out_dir, done)
        todo = [s for s in specs if s.key not in done]
        depth = max(1, concurrency) if prefetch is None else max(0, int(prefetch))
        if isinstance(executor, ThreadExecutor) and depth:
            mode = job.env_kwargs.get("param_mode", "default")
            ahead = _Prefetch(todo, job.env_kwargs["instance_cache"], registry, mode, depth)
        judge: JudgeSettings | None = (env_kwargs or {}).get("judge")
        judge_public = judge.public() if judge is not None else None
        executor_name = type(executor).__name__
        write_run_metadata(
            out_dir,
            specs,
            registry,
            [],
            requested,
            agent_config,
            judge_public,
            baseline,
            session=run_id,
            executor=executor_name,
        )
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            disable=not show_progress,
        )
        with progress:
            board = _Board(progress, len(todo))
            boards.append(board)
            board.outcome.skipped = len(specs) - len(todo)
            writer = RecordWriter(out_dir, run_id, agent_config, on_result)
            on_submit = ahead.advance if ahead is not None else None
            drive(executor, todo, board, writer, max_retries, on_submit=on_submit)
    finally:
        executor.close()
    outcome = board.outcome
    if outcome.results:
        write_run_metadata(
            out_dir,
            specs,
            registry,
            outcome.results,
            requested,
            agent_config,
            judge_public,
            baseline,
            session=run_id,
            executor=executor_name,
        )
    rebuild_batch_records(out_dir)
    return outcome


def rebuild_batch_records(out_dir: Path) -> list[Path]:
    """Batch records over every result file in the run folder (this session's and earlier ones)."""
    return write_batch_records(out_dir, summaries_from_results(out_dir))


def write_run_metadata(
    out_dir: Path,
    specs: Sequence[EpisodeSpec],
    registry: TaskRegistry,
    results: list[EpisodeResult],
    requested: str,
    agent_config: dict[str, Any] | None,
    judge: dict[str, Any] | None = None,
    baseline: BaselineProvenance | None = None,
    *,
    session: str | None = None,
    executor: str | None = None,
) -> None:
    """Write ``run_metadata.json`` for the planned ``specs``, with the isolation the first ``results`` got.

    The folder's earlier invocations are kept in ``invocations``; this one (``session``, the run id) is
    appended, or replaced when it is already the last one.
    """
    isolation = next((r.sandbox for r in results if r.sandbox), {})
    sandbox = SandboxProvenance(
        requested_mode=requested,
        effective_mode=isolation.get("level"),
        backend=isolation.get("backend"),
        network=isolation.get("network"),
        details=isolation.get("details", {}),
    )
    task_ids = sorted({s.task_id for s in specs})
    task_versions = {t: registry.get(t).version for t in task_ids}
    task_hashes = {t: task_sha256(registry.get(t)) for t in task_ids}
    planned = [PlannedEpisode(task_id=s.task_id, level=s.level, seed=s.seed, instance_id=s.instance_id) for s in specs]
    metadata = collect_run_metadata(
        agent=agent_config or {},
        task_versions=task_versions,
        sandbox=sandbox,
        levels=sorted({s.level for s in specs}),
        seeds=sorted({s.seed for s in specs if s.seed is not None}),
        judge=judge,
        task_hashes=task_hashes,
        planned=planned,
        baseline=baseline,
    )
    try:
        previous = load_run_metadata(out_dir)
    except (OSError, ValueError):
        logger.warning("replacing unreadable %s", Path(out_dir) / "run_metadata.json")
        previous = None
    earlier = list(previous.invocations) if previous is not None else []
    if earlier and session is not None and earlier[-1].session == session:
        earlier.pop()
    this = Invocation(
        timestamp=metadata.timestamp,
        framework_version=metadata.framework_version,
        agent=agent_config or {},
        sandbox=sandbox,
        executor=executor,
        session=session,
        planned=planned,
    )
    metadata.invocations = [*earlier, this]
    save_run_metadata(out_dir, metadata)
