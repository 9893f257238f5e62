"""Long instance generations report progress (a live status line in `run`) and honour the task's time limit."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from asibench_env.tasks.instances import GenerationStatus, InstanceCache, InstanceGenerationError
from asibench_env.tasks.loading import load_task
from tests.helpers import CLI, cli_env

SAMPLE = Path(__file__).parent / "fixtures" / "official_like" / "tasks" / "sample" / "noisy_mean"


def _slow_copy(tmp_path: Path, delay: float, timeout: float = 30) -> Path:
    task = tmp_path / "tasks" / "sample" / "noisy_mean"
    shutil.copytree(SAMPLE, task)
    text = (task / "task.yaml").read_text()
    text = text.replace(
        "delay: {type: float, range: [0.0, 0.0], default: 0.0}", f"delay: {{type: float, default: {delay}}}"
    )
    (task / "task.yaml").write_text(text.replace("timeout_seconds: 30", f"timeout_seconds: {timeout}"))
    return task


def test_a_generation_reports_its_progress_and_a_cached_instance_nothing(tmp_path: Path) -> None:
    seen: list[GenerationStatus] = []
    cache = InstanceCache(tmp_path / "cache", progress=seen.append, progress_interval_s=0.3)
    task = load_task(SAMPLE)
    params = {"n": 50, "delay": 1.5, "seed": 7}
    _, cached = cache.get(task, params)
    assert not cached
    assert seen[0].elapsed_s < 1.0 and not seen[0].done
    assert seen[-1].done and seen[-1].elapsed_s >= 1.5
    assert len(seen) >= 4  # start, several ticks, end
    assert seen[1].text.startswith("generating sample.noisy_mean seed 7 ... ") and seen[1].text.endswith("(limit 30 s)")
    assert "done in" in seen[-1].text
    count = len(seen)
    started = time.monotonic()
    _, cached = cache.get(task, params)
    assert cached and len(seen) == count and time.monotonic() - started < 0.5


def test_the_tasks_generation_timeout_is_honoured(tmp_path: Path) -> None:
    task = load_task(_slow_copy(tmp_path, delay=20, timeout=1))
    seen: list[GenerationStatus] = []
    started = time.monotonic()
    with pytest.raises(InstanceGenerationError, match="timed out after 1 s"):
        InstanceCache(tmp_path / "cache", progress=seen.append).get(task, {"n": 50, "delay": 20, "seed": 0})
    assert time.monotonic() - started < 10
    assert seen[-1].done and seen[-1].timeout_s == 1


def test_run_shows_a_live_generation_status_line(tmp_path: Path) -> None:
    task = _slow_copy(tmp_path, delay=3)
    proc = subprocess.run(
        [*CLI, "run", "--agent", "null", "--tasks", "sample.noisy_mean", "--tasks-dir", str(task.parent.parent)]
        + ["--levels", "B1", "--seeds", "0", "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path, TTY_COMPATIBLE="1"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "generating sample.noisy_mean seed 0 ... 2 s" in proc.stdout
