"""Grouped rollouts on a real local Ray cluster (two worker nodes), through the CLI, against a threads run.

Each rollout is a Ray task; the driver writes every file. Same groups, rewards and columns as the same
plan run on threads; the cluster's processes are all gone after its shutdown.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fake_model_server import ScriptedPolicyServer
from helpers import CLI, cli_env, local_ray_cluster

from asibench_env.agents.oracle import OracleAgent
from asibench_env.trajectories import load

TASK = "computer_science.queue_service_rates"
ACTIONS = OracleAgent().solve_actions(TASK)


def _rollouts(out: Path, server: ScriptedPolicyServer, env: dict[str, str], *extra: str) -> str:
    args = [
        *CLI, "rollouts", "--base-url", server.base_url, "--model", "scripted", "--group-size", "3",
        "--tasks", TASK, "--levels", "B3", "--seeds", "0-1", "--concurrency", "2", "--out", str(out), "--quiet",
    ]  # fmt: skip
    proc = subprocess.run([*args, *extra], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _summary(out: Path) -> dict:
    """What must not depend on where rollouts ran: groups, rewards, stats, result identities, table columns."""
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    episodes = load(out, "episodes").to_table().to_pylist()
    groups = load(out, "groups").to_table().to_pylist()
    for group in groups:  # the group stats (written on the driver) agree with the group's episode rows
        rewards = sorted(r["reward"] for r in episodes if r["group_id"] == group["group_id"])
        assert sorted(group["rewards"]) == rewards and group["mean"] == pytest.approx(sum(rewards) / 3)
    columns = {
        table: sorted(pq.ParquetDataset(out / "trajectories" / table).schema.names)
        for table in ("steps", "episodes", "groups")
    }
    return {
        "results": sorted((d["seed"], d["rollout"]["rollout_index"], d["episode_status"]) for d in docs),
        "groups": sorted((g["group_id"], g["complete"], g["completed"], g["group_size"]) for g in groups),
        "episodes": sorted((r["group_id"], r["rollout_index"], r["status"]) for r in episodes),
        "rewards": sorted(r["reward"] for r in episodes),
        "columns": columns,
        "steps": load(out).count_rows(),
    }


def _ray_processes_under(pid: int) -> list[str]:
    """The command lines of Ray processes descending from ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdlines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        todo.extend(children.get(child, []))
        if "ray" in cmdlines.get(child, ""):
            found.append(cmdlines[child])
    return found


@pytest.mark.slow
def test_ray_rollouts_match_a_threads_run_and_leave_no_ray_processes(private_cache: Path, tmp_path: Path):
    threads_out, ray_out = tmp_path / "threads", tmp_path / "ray"
    with ScriptedPolicyServer(ACTIONS, plans=("solve", "submit")) as server:
        threads_stdout = _rollouts(threads_out, server, cli_env(tmp_path / "t", OPENAI_API_KEY="local"))
    with local_ray_cluster(OPENAI_API_KEY="local") as cluster:  # the nodes' workers read the policy's key
        env = cli_env(tmp_path / "r", OPENAI_API_KEY="local")
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        with ScriptedPolicyServer(ACTIONS, plans=("solve", "submit")) as server:
            ray_stdout = _rollouts(ray_out, server, env, "--executor", "ray", "--ray-address", cluster.address)
            requests = len(server.requests)
        assert _ray_processes_under(os.getpid())  # the cluster is up (the check below can see Ray processes)
    assert not _ray_processes_under(os.getpid())  # nothing of the cluster or the run is left behind
    assert "Groups: 2 complete, 0 incomplete" in threads_stdout and "Groups: 2 complete, 0 incomplete" in ray_stdout
    assert requests == 3 * 3 + 3 * 1  # three solving conversations of 3 turns, three that submit at once
    ray, threads = _summary(ray_out), _summary(threads_out)
    assert ray == threads
    assert ray["rewards"] == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0] and len(ray["groups"]) == 2
    assert not list(ray_out.glob(".incoming-*"))  # the shipped outputs' scratch folders are gone


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--executor", "ray", "--ray-address", "127.0.0.1:{port}"], "cannot reach the Ray cluster at 127.0.0.1:"),
        (["--ray-address", "127.0.0.1:{port}"], "--ray-address applies to --executor ray"),
        (["--executor", "processes"], "use threads or ray"),
    ],
)
def test_rollouts_executor_errors_are_runs_and_come_before_any_file(tmp_path: Path, extra: list[str], message: str):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "run"
    args = [
        *CLI, "rollouts", "--base-url", "http://127.0.0.1:9/v1", "--model", "scripted",
        "--tasks", TASK, "--levels", "B3", "--seeds", "0", "--out", str(out),
    ]  # fmt: skip
    options = [part.format(port=port) for part in extra]
    env = cli_env(tmp_path, OPENAI_API_KEY="local")
    proc = subprocess.run([*args, *options], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not out.exists()
