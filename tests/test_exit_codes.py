"""Exit codes of ``asibench-env run`` through the real CLI: infra errors exit 3, SIGTERM stops like Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import CLI, cli_env

from asibench_env.cli import exit_codes
from asibench_env.trajectories import load

pytestmark = pytest.mark.fault  # part of the fault battery (docs/security.md)


def _run_args(tasks_dir: Path, out: Path, *extra: str) -> list[str]:
    return [
        *CLI,
        "run",
        "--agent",
        "oracle",
        "--tasks",
        "demo.line_fit",
        "--tasks-dir",
        str(tasks_dir),
        "--levels",
        "B1,B3",
        "--seeds",
        "0-2",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def _start_until_first_result(tmp_path: Path, tasks_dir: Path, out: Path) -> subprocess.Popen:
    """Start a run in a subprocess and return once its first result file is written."""
    proc = subprocess.Popen(
        _run_args(tasks_dir, out), env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "results").glob("*.json")):
        time.sleep(0.05)
    return proc


def _resume_to_all_scored(tmp_path: Path, tasks_dir: Path, out: Path) -> None:
    """Resume the run in ``out``: it exits 0 with all six planned episodes scored."""
    again = subprocess.run(
        _run_args(tasks_dir, out, "--resume"), env=cli_env(tmp_path), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert len(docs) == 6 and all(d["episode_status"] == "scored" for d in docs)


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    for command in ("run", "rollouts"):
        proc = subprocess.run([*CLI, command, "--help"], env=cli_env(tmp_path), capture_output=True, text=True)
        assert proc.returncode == 0
        text = " ".join(proc.stdout.split())
        assert "Exit codes:" in text and "3 some episode ended in an infrastructure error" in text


@pytest.mark.slow
def test_a_run_whose_every_episode_is_an_infra_error_exits_3(tmp_path: Path, fixture_tasks_dir: Path) -> None:
    tasks = tmp_path / "tasks"
    shutil.copytree(fixture_tasks_dir, tasks)
    (tasks / "demo" / "line_fit" / "generate_gt.py").write_text("import sys\nsys.exit('broken on purpose')\n")
    out = tmp_path / "broken"
    proc = subprocess.run(
        _run_args(tasks, out, "--seeds", "0", "--levels", "B1", "--max-retries", "1"),
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == exit_codes.INFRA_ERROR == 3, proc.stderr
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert [d["episode_status"] for d in docs] == ["infra_error"]
    assert "reset failed" in docs[0]["error"]


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_and_resume_completes(tmp_path: Path, fixture_tasks_dir: Path) -> None:
    out = tmp_path / "terminated"
    proc = _start_until_first_result(tmp_path, fixture_tasks_dir, out)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == exit_codes.INTERRUPTED == 130, stderr
    assert "Interrupted" in stdout and "--resume" in stdout
    assert "Traceback" not in stderr
    finished = len(list((out / "results").glob("*.json")))
    assert 1 <= finished < 6
    _resume_to_all_scored(tmp_path, fixture_tasks_dir, out)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 210 MiB tmpfs (just above the run's free-space floor), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=210m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    chunk = b"\0" * 2**20
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    return filler


@pytest.mark.slow
def test_a_full_out_disk_stops_the_run_cleanly_and_resume_completes(
    tmp_path: Path, fixture_tasks_dir: Path, small_disk: Path
):
    out = small_disk / "run"
    proc = _start_until_first_result(tmp_path, fixture_tasks_dir, out)
    filler = _fill(small_disk)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == exit_codes.WRITE_FAILED == 4, stderr
    message = " ".join(stderr.split())
    assert "cannot write" in message and "No space left on device" in message and "--resume" in message
    assert "Traceback" not in stderr
    assert 1 <= len(list((out / "results").glob("*.json"))) < 6

    filler.unlink()
    _resume_to_all_scored(tmp_path, fixture_tasks_dir, out)
    assert load(out, "episodes").count_rows() == 6
