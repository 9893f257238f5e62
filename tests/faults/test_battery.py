"""The fault battery's end-to-end cases on both sandboxes, through the real CLI in subprocesses.

A faulty host never costs an episode and never scores one 0: the driver killed with -9 then
``--resume``; a sandbox container killed mid-step; the ``--out`` disk filling up mid-run. The other
cases of the battery live beside the code they exercise and carry the ``fault`` marker too
(``pytest -m fault`` runs them all); docs/security.md lists every case and where it is tested.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fake_model_server import ScriptedPolicyServer
from helpers import CLI, cli_env
from test_exit_codes import _fill, small_disk  # noqa: F401 - small_disk is a fixture

from asibench_env.agents.oracle import OracleAgent
from asibench_env.cli import exit_codes
from asibench_env.trajectories import load

pytestmark = [pytest.mark.fault, pytest.mark.slow]

BACKENDS = ["local", "docker"]


def _run_args(tasks_dir: Path, out: Path, backend: str, *extra: str) -> list[str]:
    return [
        *CLI, "run", "--agent", "oracle", "--tasks", "demo.line_fit", "--tasks-dir", str(tasks_dir),
        "--levels", "B1,B3", "--seeds", "0-2", "--concurrency", "2", "--sandbox", backend, "--out", str(out),
        "--quiet", *extra,
    ]  # fmt: skip


def _results(out: Path) -> list[dict]:
    folder = out / "results"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _wait_for_results(out: Path, at_least: int, proc: subprocess.Popen, timeout_s: float = 300) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = len(_results(out))
        if done >= at_least or proc.poll() is not None:
            return done
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} result files in {out} after {timeout_s} s")


def _assert_complete(out: Path) -> None:
    """All six planned episodes scored once, in the results and the Parquet tables alike."""
    docs = _results(out)
    assert len(docs) == 6 and all(d["episode_status"] == "scored" and d["final_score"] >= 99 for d in docs)
    episodes = [e for e in load(out, "episodes").to_table().to_pylist() if e["status"] == "scored"]
    keys = [(e["prompt_level"], e["seed"]) for e in episodes]
    assert len(keys) == len(set(keys)) == 6


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_client")  # the image is there, and the session checks for leftovers
    return str(request.param)


def test_driver_killed_with_sigkill_resumes_to_every_episode_once(
    backend: str, tmp_path: Path, fixture_tasks_dir: Path
) -> None:
    out = tmp_path / "run"
    env = cli_env(tmp_path)
    proc = subprocess.Popen(
        _run_args(fixture_tasks_dir, out, backend), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    done = _wait_for_results(out, 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and 2 <= done < 6

    resumed = subprocess.run(
        _run_args(fixture_tasks_dir, out, backend, "--resume"), env=env, capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_complete(out)
    if backend == "docker":
        from asibench_env.sandbox.container import launcher

        client = launcher.docker_client()
        # The resumed run's start-up sweep removed the dead driver's containers.
        assert not [c for c in launcher.our_containers(client) if c.owner.split(":")[1] == str(proc.pid)]


def test_a_full_out_disk_stops_cleanly_and_resume_completes(
    backend: str, tmp_path: Path, fixture_tasks_dir: Path, small_disk: Path  # noqa: F811
) -> None:
    out = small_disk / "run"
    env = cli_env(tmp_path)
    proc = subprocess.Popen(
        _run_args(fixture_tasks_dir, out, backend), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_results(out, 1, proc)
    filler = _fill(small_disk)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == exit_codes.WRITE_FAILED, stderr
    assert "No space left on device" in " ".join(stderr.split()) and "Traceback" not in stderr
    filler.unlink()
    resumed = subprocess.run(
        _run_args(fixture_tasks_dir, out, backend, "--resume"), env=env, capture_output=True, text=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_complete(out)


def test_a_container_killed_mid_step_is_retried_not_scored_zero(docker_client, tmp_path: Path) -> None:
    from asibench_env.sandbox.container import launcher

    task = "computer_science.queue_service_rates"
    sleep = {"tool": "bash", "arguments": {"command": "sleep 15", "timeout": 60}}
    actions = [sleep, *OracleAgent().solve_actions(task)]
    out = tmp_path / "run"
    with ScriptedPolicyServer(actions) as server:
        args = [
            *CLI, "run", "--agent", "openai", "--model", "scripted", "--base-url", server.base_url,
            "--price", "scripted=0,0", "--tasks", task, "--levels", "B3", "--seeds", "0", "--sandbox", "docker",
            "--max-retries", "1", "--out", str(out), "--quiet",
        ]  # fmt: skip
        env = cli_env(tmp_path, OPENAI_API_KEY="local")
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        killed = None
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            running = [c for c in launcher.our_containers(docker_client) if c.owner.split(":")[1] == str(proc.pid)]
            if server.requests and running:
                time.sleep(3)  # the first model turn answered `sleep 15`: the step is running now
                docker_client.api.kill(running[0].id)
                killed = running[0].id
            time.sleep(0.2)
        stdout, stderr = proc.communicate(timeout=600)
    assert killed is not None, "the run ended before a container could be killed"
    assert proc.returncode == 0, stdout + stderr
    (doc,) = _results(out)
    assert doc["episode_status"] == "scored" and doc["final_score"] >= 99
    statuses = sorted(e["status"] for e in load(out, "episodes").to_table().to_pylist())
    assert statuses == ["infra_error", "scored"]  # the killed attempt is kept as infra_error, then retried


def test_setsid_exec_cannot_outlive_a_docker_sandbox(docker_client, seed_dir: Path) -> None:
    """Issue 16's first reproduction on Docker: a detached process goes with the container."""
    from asibench_env.sandbox.container import launcher
    from asibench_env.sandbox.container.sandbox import DockerSandbox

    box = DockerSandbox(seed_dir)
    container_id = box.container_id
    try:
        # `exec setsid ...` replaces the shell: the supervisor kills strays when it starts a new one; a
        # detached background process is what would survive if anything could.
        box.exec("exec setsid sleep 100003", timeout=3)
        assert box.processes() == []
        box.exec("setsid sleep 100003 > /dev/null 2>&1 &")
        running = subprocess.run(["ps", "-eo", "args", "-ww"], capture_output=True, text=True).stdout
        assert "sleep 100003" in running  # the detached sleep runs (in the container) until close
    finally:
        box.close()
    assert launcher.wait_until_gone(docker_client, {container_id}, timeout=30) == set()
    top = subprocess.run(["ps", "-eo", "args", "-ww"], capture_output=True, text=True).stdout
    assert "sleep 100003" not in top  # nothing of it runs anywhere on the host
