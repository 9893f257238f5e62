"""Score outside the sandbox: on a private copy of the outputs, in a child process with limits.

A long-lived worker process (:mod:`asibench_env.rewards.worker`) keeps numpy and the scorers
imported and forks a child per request, so a scoring call costs a fork, not a fresh interpreter.
A scorer that hangs is killed at the time limit; one that crashes the process is reported; neither
raises out of :func:`score_outputs`. Failures on our side (the worker or the scoring process dying, an
``OSError`` while copying, a time limit hit while waiting) give a report with ``infra_error`` set, never
a 0 (:mod:`asibench_env.rewards.failures` draws the line). The worker is a lifecycle object
(:class:`ScoringWorker`: start, shutdown, a default instance created on first use and shut down at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from asibench_env.errors import InfraError
from asibench_env.rewards.judge import JUDGE_TIMEOUT_S, JudgeConfigError, JudgeRequest, JudgeSettings, needs_judge
from asibench_env.rewards.results import ScoreReport
from asibench_env.tasks.runtime import RuntimeBuildError, ensure_runtime, site_packages

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_BYTES = 4 * 1024**3
COPY_MAX_BYTES = 4 * 1024**3
WORKER_GRACE_S = 15.0


def copy_outputs(src: Path, dest: Path, max_bytes: int = COPY_MAX_BYTES) -> list[str]:
    """Copy regular files only (symlinks, devices, FIFOs are dropped); return what was dropped."""
    dropped: list[str] = []
    total = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        rel_root = Path(root).relative_to(src)
        (dest / rel_root).mkdir(parents=True, exist_ok=True)
        for name in list(dirs):
            if (Path(root) / name).is_symlink():
                dirs.remove(name)
                dropped.append(str(rel_root / name))
        for name in files:
            path = Path(root) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or total + info.st_size > max_bytes:
                dropped.append(str(rel_root / name))
                continue
            total += info.st_size
            shutil.copyfile(path, dest / rel_root / name, follow_symlinks=False)
    return dropped


class ScoringWorkerError(InfraError):
    """The scoring worker could not be started, died, or stopped answering."""


class ScoringWorkerLost(ScoringWorkerError):
    """The scoring worker died or stopped answering during a request (the next request starts a new one)."""


class ScoringWorker:
    """The parent side of the worker process: one request at a time, restarted if it dies or hangs.

    A lifecycle object: :meth:`start` (optional: the first request starts it), :meth:`shutdown`
    (idempotent; the next request starts it again). :meth:`default` is the process's instance,
    created on first use and shut down at interpreter exit.
    """

    _default: ClassVar[ScoringWorker | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    @classmethod
    def default(cls) -> ScoringWorker:
        """The process's worker, created on first use (and shut down at exit)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
                atexit.register(cls._default.shutdown)
            return cls._default

    def start(self) -> None:
        """Start the worker process now rather than on the first request (a no-op when it runs).

        Raises:
            ScoringWorkerError: the worker process could not be started.
        """
        with self._lock:
            self._ensure()

    def _ensure(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            for secret in [k for k in env if k.endswith(("_API_KEY", "_TOKEN", "_SECRET"))]:
                env.pop(secret)
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "asibench_env.rewards.worker"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ScoringWorkerError(f"the scoring worker could not be started: {exc}") from exc
        return self._process

    @property
    def pid(self) -> int | None:
        """The worker process's id while it runs (None before the first request or after a shutdown)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def shutdown(self) -> None:
        """Stop the worker process (idempotent; never raises)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)

    stop = shutdown
    """Former name of :meth:`shutdown`."""

    def request(self, payload: dict[str, Any], wait_s: float) -> dict[str, Any]:
        """Send one scoring request and return the worker's answer (``{"ok": ..., "report"/"error": ...}``).

        Raises:
            ScoringWorkerError: the worker could not be started.
            ScoringWorkerLost: the worker died or did not answer within ``wait_s`` (it is stopped;
                the next request starts a new one).
        """
        with self._lock:
            process = self._ensure()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write((json.dumps(payload, default=str) + "\n").encode())
                process.stdin.flush()
            except OSError as exc:  # a broken pipe: the worker is gone
                self.shutdown()
                raise ScoringWorkerLost("the scoring worker died before the request") from exc
            try:
                ready, _, _ = select.select([process.stdout], [], [], wait_s)
                line = process.stdout.readline() if ready else b""
            except OSError as exc:
                self.shutdown()
                raise ScoringWorkerLost(f"the scoring worker could not be read: {exc}") from exc
            if not line and ready:  # end of file: the worker is gone (its exit status may lag its pipe)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)
                self.shutdown()
                raise ScoringWorkerLost(f"the scoring worker died during the request ({_ended(process.returncode)})")
            if not line:
                self.shutdown()
                raise ScoringWorkerLost(f"the scoring worker did not answer within {wait_s:g} s and was restarted")
            try:
                answer = json.loads(line)
            except ValueError as exc:
                self.shutdown()
                raise ScoringWorkerLost("the scoring worker sent an unreadable answer and was restarted") from exc
            if not isinstance(answer, dict):
                self.shutdown()
                raise ScoringWorkerLost("the scoring worker sent an unreadable answer and was restarted")
            return answer


def _ended(returncode: int | None) -> str:
    if returncode is None:
        return "exit status unknown"
    return f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"


def shutdown_worker() -> None:
    """Stop the process's scoring worker, if one was started."""
    worker = ScoringWorker._default
    if worker is not None:
        worker.shutdown()


def _failed(reason: str, evaluation: dict[str, Any], started: float, *, infra: bool = False) -> ScoreReport:
    """A report of failed scoring: a 0 with the reason, or (``infra``) an infrastructure error, unscored."""
    try:
        weights = sum(float(e.get("weight", 1.0)) for e in evaluation.get("scoring", []) or [])
        divisor = float(evaluation.get("score_divisor", 1.0))
        max_score = weights / divisor if divisor > 0 else weights
    except (TypeError, ValueError, AttributeError):
        max_score = 100.0
    return ScoreReport(
        final_score=0.0,
        max_possible_score=max_score,
        error=reason,
        infra_error=reason if infra else None,
        duration_s=time.perf_counter() - started,
    )


def _ask(
    worker: ScoringWorker | None, payload: dict[str, Any], timeout_s: float, evaluation: dict[str, Any], started: float
) -> ScoreReport:
    """One request to the scoring worker: its report; a failure of ours (a lost worker, a scoring process
    that died) is an ``infra_error`` report, a failure the outputs caused a 0 report with the reason."""
    try:
        answer = (worker or ScoringWorker.default()).request(payload, timeout_s + WORKER_GRACE_S)
    except ScoringWorkerLost as exc:
        return _failed(f"scoring failed on our side: {exc}", evaluation, started, infra=True)
    if not answer.get("ok"):
        return _failed(str(answer.get("error")), evaluation, started, infra=bool(answer.get("infra", True)))
    try:
        return ScoreReport.model_validate(answer["report"])
    except (KeyError, ValueError) as exc:
        return _failed(f"the scoring worker sent an invalid report: {exc}", evaluation, started, infra=True)


def score_outputs(
    evaluation: dict[str, Any],
    pred_dir: Path,
    ref_dir: Path,
    parameters: dict[str, Any],
    *,
    prompt_level: str | None = None,
    task_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
    worker: ScoringWorker | None = None,
    judge: JudgeSettings | None = None,
    runtime_packages: Sequence[str] = (),
) -> ScoreReport:
    """Score in a child process on a copy of ``pred_dir``; 0 with the reason on failure.

    A task's custom scorer that imports a module this environment lacks is scored again with the task
    runtime's packages (``runtime_packages``, built on first use) on its path after ours; a module
    missing there too gives a report with ``infra_error`` (and ``missing_module``) set.

    ``worker`` defaults to the process's :meth:`ScoringWorker.default`. Only a worker that cannot start
    raises (below): a scorer that
    fails on the outputs, or computes on them past ``timeout_s``, gives a 0 report with the reason; a
    failure of ours (the worker or the scoring process dying or killed, an ``OSError`` while copying the
    outputs, the time limit hit while the scorer was waiting) gives a report with ``infra_error`` set
    (:mod:`asibench_env.rewards.failures`).

    ``judge`` serves the evaluation's model-judge scorers: its key is read from its variable now and
    sent with the request; the time limit is then at least :data:`JUDGE_TIMEOUT_S`. A judge that cannot
    be reached (or whose key variable is unset) gives a report with ``infra_error`` set.

    Raises:
        ScoringWorkerError: the worker process could not even be started (an infrastructure failure).
    """
    started = time.perf_counter()
    request: JudgeRequest | None = None
    if judge is not None and needs_judge(evaluation):
        timeout_s = max(float(timeout_s), JUDGE_TIMEOUT_S)
        try:
            request = JudgeRequest.for_scoring(judge)
        except JudgeConfigError as exc:
            failed = _failed(f"the model judge is not usable: {exc}", evaluation, started)
            return failed.model_copy(update={"infra_error": failed.error})
    try:
        scratch = tempfile.TemporaryDirectory(prefix="asibench-score-", ignore_cleanup_errors=True)
    except OSError as exc:  # the host's temp folder is full or unwritable
        return _failed(f"could not make a scoring folder: {exc}", evaluation, started, infra=True)
    with scratch as tmp:
        copy_dir = Path(tmp) / "outputs"
        try:
            copy_dir.mkdir()
            copy_outputs(Path(pred_dir), copy_dir)
        except OSError as exc:  # our copy of our collected copy: the host failed, not the outputs
            return _failed(f"could not copy the outputs for scoring: {exc}", evaluation, started, infra=True)
        payload: dict[str, Any] = {
            "evaluation": evaluation,
            "pred_dir": str(copy_dir),
            "ref_dir": str(ref_dir),
            "parameters": dict(parameters),
            "prompt_level": prompt_level,
            "task_dir": str(task_dir) if task_dir else None,
            "timeout_s": float(timeout_s),
            "memory_bytes": memory_bytes,
            "judge": request.payload() if request else None,
        }
        report = _ask(worker, payload, float(timeout_s), evaluation, started)
        if report.missing_module and runtime_packages:
            try:
                payload["extra_paths"] = [str(site_packages(ensure_runtime(runtime_packages)))]
            except (OSError, RuntimeBuildError) as exc:
                reason = f"{report.infra_error} (the task runtime could not be built: {exc})"
                return report.model_copy(update={"infra_error": reason, "error": reason})
            report = _ask(worker, payload, float(timeout_s), evaluation, started)
    return report.model_copy(update={"duration_s": time.perf_counter() - started})
