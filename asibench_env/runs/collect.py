"""The driver's side of a batch: feed an executor, retry infra errors, write each episode's record once.

Executors only run attempts; everything in the run folder is written here, on the driver: the trajectory
rows of every attempt (as the trajectory logger would have), then the episode's outputs and result
file. An episode is committed once (dedupe by spec key), so a record that comes back twice (a task Ray
re-ran after its node was thought lost) is dropped; every write is atomic and keyed by the episode, so
writing it again after a crash replaces rather than adds.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from asibench_env.envs.episode import EpisodeResult
from asibench_env.runs.executors.base import EpisodeRecord, Executor
from asibench_env.runs.results import write_result
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.trajectories.writer import TrajectoryWriter

logger = logging.getLogger(__name__)

POLL_S = 0.2


class RunWriteError(RuntimeError):
    """Writing into the run folder failed (a full or broken ``--out`` disk); the run stopped cleanly."""

    def __init__(self, error: OSError):
        self.error = error
        self.path = error.filename
        where = f" {self.path}" if self.path else " into the run folder"
        super().__init__(
            f"cannot write{where}: {error.strerror or error}. The run stopped (no new episodes were started; "
            "the episode being written is not counted as finished). Free space on that disk (or fix the folder), "
            "then re-run the same command with --resume to finish the run."
        )


class Board(Protocol):
    """What the driver reports to: the stop flag, the retry count, each finished episode."""

    stop: threading.Event

    def retried(self) -> None:
        """One more infra-error retry."""

    def add(self, result: EpisodeResult, agent_name: str) -> None:
        """One more finished episode."""

    def interrupted(self) -> None:
        """Ctrl-C: the run stops after the episodes in flight."""


class RecordWriter:
    """Writes records into ``out_dir``: trajectories, then outputs and the result file (the 'done' marker)."""

    def __init__(
        self,
        out_dir: Path,
        run_id: str,
        agent_config: dict[str, Any] | None = None,
        on_result: Callable[[EpisodeResult], None] | None = None,
    ):
        self.out_dir = Path(out_dir)
        self.agent_config = agent_config
        self.on_result = on_result
        self.trajectories = TrajectoryWriter(self.out_dir, run_id)
        self.committed: set[tuple[str, str, int | None, str | None]] = set()

    def write_trajectories(self, record: EpisodeRecord) -> None:
        """The Parquet rows of every episode the attempt logged (one file per episode id: idempotent)."""
        for rows in record.trajectories:
            self.trajectories.write_episode(rows.steps, rows.episode)

    def commit(self, record: EpisodeRecord) -> bool:
        """Write the episode's outputs and result file; False (nothing written) when it was committed already."""
        key = record.spec.key
        if key in self.committed:
            logger.warning("dropping a second record of %s (from %s): the episode is already written", key, record.node)
            return False
        result = record.result
        write_shipped_result(
            self.out_dir,
            result,
            record.outputs,
            record.agent_name,
            attempt=record.attempt,
            agent_config=self.agent_config,
        )
        self.committed.add(key)  # only once its result file is written: a failed write is not finished
        if self.on_result:
            self.on_result(result)
        return True


def write_shipped_result(
    out_dir: Path,
    result: EpisodeResult,
    outputs: dict[str, bytes],
    agent_name: str,
    *,
    attempt: int = 1,
    agent_config: dict[str, Any] | None = None,
    suffix: str = "",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a result that came back from a worker, with its shipped ``outputs``, into ``out_dir/results``.

    The outputs are unpacked into a scratch folder of ``out_dir`` and kept from there as a local
    episode's would be (sizes and hashes checked). Returns the result file's path.
    """
    results_dir = Path(out_dir) / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"attempt": attempt, "agent_config": agent_config, "suffix": suffix, "extra": extra}
    if not outputs:
        return write_result(results_dir, result, agent_name, **options)
    with tempfile.TemporaryDirectory(prefix=".incoming-", dir=out_dir) as tmp:
        _unpack(Path(tmp), outputs)
        return write_result(results_dir, result.model_copy(update={"outputs_dir": tmp}), agent_name, **options)


def _unpack(folder: Path, outputs: dict[str, bytes]) -> None:
    """Write shipped outputs under ``folder``; a path that escapes it is left out (the hash check then fails)."""
    for name, data in outputs.items():
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            logger.warning("refusing shipped output path %r", name)
            continue
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def drive(
    executor: Executor,
    todo: Sequence[EpisodeSpec],
    board: Board,
    writer: RecordWriter,
    max_retries: int,
    on_submit: Callable[[], None] | None = None,
) -> None:
    """Run ``todo`` on a started executor, at most ``executor.max_in_flight`` at a time, until all are written.

    An ``infra_error`` attempt is retried up to ``max_retries`` times (its trajectory rows are kept, as
    they always were). Ctrl-C stops submitting and waits for the episodes in flight; a second Ctrl-C
    abandons them (:meth:`Executor.cancel`) and propagates. An ``OSError`` while writing stops the run the same
    way (the episodes in flight finish; their writes are tried) and is raised as :class:`RunWriteError`.
    ``on_submit`` is called as each episode is first
    submitted (the batch runner prefetches the instances of the episodes after it).
    """
    pending = deque(todo)

    write_failures: list[OSError] = []

    def handle(record: EpisodeRecord) -> None:
        try:
            write(record)
        except OSError as exc:
            logger.warning("cannot write the record of %s: %s", record.spec, exc)
            write_failures.append(exc)
            board.stop.set()

    def write(record: EpisodeRecord) -> None:
        if record.spec.key in writer.committed:
            logger.warning("dropping a second record of %s", record.spec.key)
            return
        writer.write_trajectories(record)
        result = record.result
        if result.status == "infra_error" and record.attempt <= max_retries and not board.stop.is_set():
            logger.warning("infra error on %s (attempt %d), retrying: %s", record.spec, record.attempt, result.error)
            board.retried()
            executor.submit(record.spec, record.attempt + 1)
            return
        if writer.commit(record):
            board.add(result, record.agent_name)

    def fill() -> None:
        while pending and executor.in_flight() < executor.max_in_flight and not board.stop.is_set():
            executor.submit(pending.popleft(), 1)
            if on_submit is not None:
                on_submit()

    failures: list[BaseException] = []

    def loop() -> None:
        try:
            fill()
            while executor.in_flight() or (pending and not board.stop.is_set()):
                for record in executor.wait(POLL_S):
                    handle(record)
                fill()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            failures.append(exc)

    # The bookkeeping runs on its own thread, so that Ctrl-C (delivered to the main thread) never lands
    # between writing an episode's result file and counting it.
    driver = threading.Thread(target=loop, name="batch-driver", daemon=True)
    driver.start()
    try:
        _join(driver)
    except KeyboardInterrupt:
        board.stop.set()
        board.interrupted()
        try:
            _join(driver)
        except KeyboardInterrupt:
            executor.cancel()
            raise
    if failures:
        raise failures[0]
    if write_failures:
        raise RunWriteError(write_failures[0])


def _join(thread: threading.Thread) -> None:
    while thread.is_alive():
        thread.join(POLL_S)
