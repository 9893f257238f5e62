"""The batch runner through the real CLI: resume after a kill, concurrency, refusals, report rebuild."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import CLI, cli_env

from asibench_env._version import __version__
from asibench_env.runs.batch import RunDirError, preflight
from asibench_env.trajectories import load


def _run_args(fixture_tasks_dir: Path, out: Path, *extra: str) -> list[str]:
    return [
        *CLI,
        "run",
        "--agent",
        "oracle",
        "--tasks",
        "demo.line_fit",
        "--tasks-dir",
        str(fixture_tasks_dir),
        "--levels",
        "B1,B3",
        "--seeds",
        "0-2",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def _episodes(out: Path) -> list[tuple]:
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    return sorted((d["instance_id"], d["prompt_level"], d["seed"], round(d["final_score"], 6)) for d in docs)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, fixture_tasks_dir: Path) -> Path:
    """One uninterrupted run of the six episodes with two workers, shared by the tests below (read-only)."""
    tmp = tmp_path_factory.mktemp("reference")
    out = tmp / "parallel"
    proc = subprocess.run(
        _run_args(fixture_tasks_dir, out, "--concurrency", "2"),
        env=cli_env(tmp),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_episodes(tmp_path: Path, fixture_tasks_dir: Path, reference_run: Path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        _run_args(fixture_tasks_dir, out), env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list((out / "results").glob("*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_before = len(list((out / "results").glob("*.json")))
    assert 2 <= finished_before < 6

    again = subprocess.run(_run_args(fixture_tasks_dir, out), env=cli_env(tmp_path), capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to mix into an existing run

    resumed = subprocess.run(
        _run_args(fixture_tasks_dir, out, "--resume"),
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"Skipped {finished_before} episode(s)" in resumed.stdout
    assert _episodes(out) == _episodes(reference_run)
    episodes = load(out, "episodes").to_table().to_pylist()
    keys = [(e["task_id"], e["prompt_level"], e["seed"]) for e in episodes]
    assert len(keys) == len(set(keys)) == 6  # no duplicates in the trajectories either
    steps = load(out).to_table()
    assert set(steps.column("episode_id").to_pylist()) == {e["episode_id"] for e in episodes}


@pytest.mark.slow
def test_concurrency_and_report_rebuild(tmp_path: Path, reference_run: Path):
    out = tmp_path / "copy"
    shutil.copytree(reference_run, out)
    before = _episodes(out)
    assert len(before) == 6 and all(score >= 99 for *_, score in before)
    records = (out / "batch_records" / "task_scoreboard.json").read_text()
    for path in (out / "results").glob("*.json"):
        path.unlink()
    (out / "batch_records" / "task_scoreboard.json").unlink()
    rebuilt = subprocess.run([*CLI, "report", str(out)], env=cli_env(tmp_path), capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "demo.line_fit" in rebuilt.stdout and "100.0" in rebuilt.stdout  # the score table is printed
    assert _episodes(out) == before
    strip = lambda text: [{k: v for k, v in r.items() if k != "generated_at"} for r in json.loads(text)]  # noqa: E731
    assert strip((out / "batch_records" / "task_scoreboard.json").read_text()) == strip(records)


def test_preflight_refusals(tmp_path: Path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(RunDirError, match="cannot write to"):
        preflight(blocker / "run", resume=False, allow_mixed=False)
    old = tmp_path / "old"
    (old / "results").mkdir(parents=True)
    (old / "run_metadata.json").write_text(json.dumps({"framework_version": "0.0.1"}))
    with pytest.raises(RunDirError, match="already holds a run"):
        preflight(old, resume=False, allow_mixed=False)
    with pytest.raises(RunDirError, match=f"this is {__version__}"):
        preflight(old, resume=True, allow_mixed=False)
    preflight(old, resume=True, allow_mixed=True)


def test_report_without_trajectories_is_a_clear_error(tmp_path: Path):
    proc = subprocess.run([*CLI, "report", str(tmp_path)], env=cli_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2 and "holds no Parquet episodes" in proc.stderr


@pytest.mark.slow
def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_and_flushes(tmp_path: Path, fixture_tasks_dir: Path):
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        _run_args(fixture_tasks_dir, out),
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a command started in a terminal: a shell's background job (CI scripts, `cmd &`) inherits
        # SIGINT ignored, and Python then never turns Ctrl-C into KeyboardInterrupt.
        preexec_fn=_interruptible,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "results").glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stdout and "--resume" in stdout
    finished = len(list((out / "results").glob("*.json")))
    assert 1 <= finished < 6
    overview = json.loads((out / "batch_records" / "batch_overview.json").read_text())
    assert overview[0]["n_instances"] == finished
    assert load(out, "episodes").count_rows() == finished
    assert json.loads((out / "run_metadata.json").read_text())["sandbox"]["effective_mode"] == "namespaces"
