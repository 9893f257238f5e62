"""Failures on our side while collecting and scoring are infra errors (retried), never a scored 0.

Real processes and real OSErrors: the scoring worker and its scoring child are killed with SIGKILL
mid-scoring, the host's temp folder is a 64 KiB tmpfs (mounted here: the tests run as root, as CI
does) so copies fail with ENOSPC, and a scorer writes to /dev/full. Only the outputs can score 0: a
scorer that computes on them past the time limit does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from asibench_env.agents import NullAgent
from asibench_env.rewards import ScoringWorker, score_outputs
from asibench_env.runs.batch import run_batch
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)

PROBE = {"scorer": "probe", "weight": 100}
FILE_MATCH = {"scorer": "file_match", "weight": 1, "config": {"checks": []}}


def _eval(*scoring: dict[str, Any]) -> dict[str, Any]:
    return {"gates": [], "scoring": list(scoring)}


def _probe_scorer(folder: Path, body: str) -> Path:
    """A task folder whose custom scorer ``probe`` runs ``body`` (indented 8 spaces) and then passes."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "custom_scorer.py").write_text(
        "import os, time\n"
        "from ai4sci_bench.core.scorer import Scorer, register_scorer\n"
        "from ai4sci_bench.core.types import ScoreDetail\n\n"
        "@register_scorer('probe')\nclass Probe(Scorer):\n"
        "    def score(self, pred_dir, ref_dir, config):\n"
        + body
        + "        return ScoreDetail('probe', config['weight'], config['weight'], True, {})\n"
    )
    return folder


def _stall_once(pidfile: Path) -> str:
    """Scorer code: the first call writes its pid and sleeps (to be killed); later calls pass at once."""
    return (
        f"        if not os.path.exists({str(pidfile)!r}):\n"
        f"            with open({str(pidfile)!r} + '.tmp', 'w') as f:\n"
        "                f.write(str(os.getpid()))\n"
        f"            os.rename({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n"
        "            time.sleep(300)\n"
    )


def _kill_when_scoring(pidfile: Path, victim: Callable[[int], int | None]) -> threading.Thread:
    """A thread that waits for the stalled scorer's pid, then SIGKILLs ``victim(scorer_pid)``."""

    def run() -> None:
        deadline = time.monotonic() + 120
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        target = victim(int(pidfile.read_text()))
        assert target is not None
        os.kill(target, signal.SIGKILL)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie waiting for its reaper counts as ended)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    pred.mkdir()
    ref.mkdir()
    return pred, ref


@pytest.fixture
def worker() -> Iterator[ScoringWorker]:
    own = ScoringWorker()
    yield own
    own.shutdown()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (we run as root, as CI does), unmounted afterwards."""
    assert os.geteuid() == 0, "these fault tests mount a tmpfs: run them as root (CI does)"
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.fixture
def temp_dir_on(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Point the host's temp folder (tempfile.tempdir) at a folder for the rest of the test."""

    def point(folder: Path) -> None:
        monkeypatch.setattr(tempfile, "tempdir", str(folder))

    return point


# ------------------------------------------------------------------ score_outputs
def test_kill_9_of_the_scoring_worker_mid_scoring_is_an_infra_error(tmp_path: Path, dirs, worker) -> None:
    pred, ref = dirs
    pidfile = tmp_path / "scorer.pid"
    task_dir = _probe_scorer(tmp_path / "task", _stall_once(pidfile))
    killer = _kill_when_scoring(pidfile, lambda _scorer: worker.pid)
    report = score_outputs(_eval(PROBE), pred, ref, {}, task_dir=task_dir, timeout_s=120, worker=worker)
    killer.join()
    assert (
        report.infra_error and "the scoring worker died during the request (killed by signal 9)" in report.infra_error
    )
    assert _gone(int(pidfile.read_text())), "the scorer outlived its killed worker"
    again = score_outputs(_eval(PROBE), pred, ref, {}, task_dir=task_dir, worker=worker)  # a new worker
    assert again.infra_error is None and again.final_score == 100


def test_kill_9_of_the_scoring_child_mid_scoring_is_an_infra_error(tmp_path: Path, dirs, worker) -> None:
    pred, ref = dirs
    pidfile = tmp_path / "scorer.pid"
    task_dir = _probe_scorer(tmp_path / "task", _stall_once(pidfile))
    killer = _kill_when_scoring(pidfile, lambda scorer: scorer)
    report = score_outputs(_eval(PROBE), pred, ref, {}, task_dir=task_dir, timeout_s=120, worker=worker)
    killer.join()
    assert report.infra_error and "killed by signal 9 (SIGKILL)" in report.infra_error
    assert report.final_score == 0  # never read: the env ends such an episode unscored


COMPUTING = {
    "in the scorer": "        while True:\n            pass\n",
    # A task scorer running the agent's code, which loops: the scorer waits, its child computes.
    "in a process the scorer runs": "        import subprocess, sys\n"
    "        subprocess.run([sys.executable, '-c', 'while True: pass'])\n",
}


@pytest.mark.parametrize("where", list(COMPUTING))
def test_a_scorer_computing_past_the_limit_scores_zero(tmp_path: Path, dirs, worker, where: str) -> None:
    """The outputs made the scorer compute beyond the limit: the agent's failure, a scored 0, however
    loaded the host is (a runnable scorer counts as computing)."""
    pred, ref = dirs
    task_dir = _probe_scorer(tmp_path / "task", COMPUTING[where])
    report = score_outputs(_eval(PROBE), pred, ref, {}, task_dir=task_dir, timeout_s=3, worker=worker)
    assert report.infra_error is None
    assert report.final_score == 0 and "timed out after 3 s: the scorer computed on these outputs" in report.error


def test_a_scorer_failing_on_a_full_host_disk_is_an_infra_error(tmp_path: Path, dirs, worker) -> None:
    pred, ref = dirs
    write_to_full = "        with open('/dev/full', 'w') as f:\n            f.write('x')\n            f.flush()\n"
    task_dir = _probe_scorer(tmp_path / "task", write_to_full)
    report = score_outputs(_eval(PROBE), pred, ref, {}, task_dir=task_dir, worker=worker)
    assert report.infra_error and "scorer probe failed on the host" in report.infra_error
    assert "No space left on device" in report.infra_error


def test_a_full_scoring_disk_is_an_infra_error(dirs, full_disk: Path, temp_dir_on, worker) -> None:
    pred, ref = dirs
    np.save(pred / "big.npy", np.zeros(100_000))  # 800 KB: does not fit the 64 KiB scoring folder
    temp_dir_on(full_disk)
    report = score_outputs(_eval(FILE_MATCH), pred, ref, {}, worker=worker)
    assert report.infra_error and "could not copy the outputs for scoring" in report.infra_error
    assert "No space left on device" in report.infra_error


def test_an_unusable_scoring_temp_folder_is_an_infra_error(tmp_path: Path, dirs, temp_dir_on, worker) -> None:
    pred, ref = dirs
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    temp_dir_on(not_a_folder)
    report = score_outputs(_eval(FILE_MATCH), pred, ref, {}, worker=worker)
    assert report.infra_error and "could not make a scoring folder" in report.infra_error


# ------------------------------------------------------------------ the env: collection
def test_a_full_host_temp_disk_at_collection_is_an_infra_error(make_env, full_disk: Path, temp_dir_on) -> None:
    env = make_env()
    env.reset(seed=0)
    *_, info = env.step({"tool": "python", "arguments": {"code": "open('coef.npy', 'wb').write(b'0' * 800_000)"}})
    assert info["exit_code"] == 0
    temp_dir_on(full_disk)
    _, reward, terminated, _, info = env.step({"tool": "submit"})
    assert terminated and reward == 0.0
    assert info["status"] == "infra_error" and info["final_score"] is None
    assert "collecting outputs failed" in info["error"] and "No space left on device" in info["error"]


# ------------------------------------------------------------------ the batch runner retries them
@pytest.fixture
def probe_task(copy_task, tmp_path: Path) -> Callable[[str], TaskRegistry]:
    """The demo task with a soft gate running ``probe`` (so it scores even with no outputs)."""

    def make(body: str) -> TaskRegistry:
        folder = copy_task("probe")
        _probe_scorer(folder, body)
        evaluation_file = folder / "task_eval.yaml"
        doc = yaml.safe_load(evaluation_file.read_text())
        doc["evaluation"]["gates"].insert(0, {"scorer": "probe", "severity": "soft", "config": {}})
        evaluation_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        return TaskRegistry([folder.parent.parent], include_builtin=False)

    return make


@pytest.mark.parametrize("victim", ["worker", "child"])
def test_a_killed_scoring_process_is_retried_by_the_batch(
    victim: str, probe_task, tmp_path: Path, instance_cache: InstanceCache
) -> None:
    pidfile = tmp_path / "scorer.pid"
    registry = probe_task(_stall_once(pidfile))
    (task_id,) = registry.ids()
    pick = (lambda _scorer: ScoringWorker.default().pid) if victim == "worker" else (lambda scorer: scorer)
    killer = _kill_when_scoring(pidfile, pick)
    outcome = run_batch(
        [EpisodeSpec(task_id, "B3", 0)],
        NullAgent,
        tmp_path / "run",
        registry=registry,
        env_kwargs={"instance_cache": instance_cache},
        max_retries=1,
        show_progress=False,
    )
    killer.join()
    assert outcome.retried == 1
    (result,) = outcome.results
    assert result.status == "scored" and result.final_score == 0.0  # no outputs: the hard gate fails
    assert result.gate_results[0]["scorer_name"] == "probe" and result.gate_results[0]["passed"]


class _FillsTheHostDiskOnce:
    """Writes a big output, and on the first attempt only, points the host's temp folder at a full disk."""

    name = "fills-the-disk-once"
    attempts = 0

    def __init__(self, full: Path) -> None:
        self.full = full
        self.saved = tempfile.tempdir
        self.steps = 0

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.steps = 0

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        self.steps += 1
        if self.steps == 1:
            return {"tool": "python", "arguments": {"code": "open('coef.npy', 'wb').write(b'0' * 800_000)"}}
        type(self).attempts += 1
        if type(self).attempts == 1:
            tempfile.tempdir = str(self.full)
        return {"tool": "submit", "arguments": {}}

    def end(self, reward: float, info: dict[str, Any]) -> None:
        tempfile.tempdir = self.saved


def test_a_full_host_disk_at_collection_is_retried_by_the_batch(
    registry: TaskRegistry, instance_cache: InstanceCache, full_disk: Path, tmp_path: Path
) -> None:
    saved = tempfile.tempdir
    try:
        outcome = run_batch(
            [EpisodeSpec("demo.line_fit", "B3", 0)],
            lambda: _FillsTheHostDiskOnce(full_disk),
            tmp_path / "run",
            registry=registry,
            env_kwargs={"instance_cache": instance_cache},
            max_retries=1,
            show_progress=False,
        )
    finally:
        tempfile.tempdir = saved
    assert _FillsTheHostDiskOnce.attempts == 2 and outcome.retried == 1
    (result,) = outcome.results
    assert result.status == "scored" and result.artifacts[0].size == 800_000
