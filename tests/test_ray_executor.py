"""The Ray executor on a real local Ray cluster (Ray's own cluster utilities): two worker nodes on this machine.

Same episodes as a threads run; a node killed under a running episode (re-run elsewhere, nothing lost
or counted twice); a driver killed with SIGKILL and resumed; clear errors for an unreachable cluster.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from helpers import CLI, cli_env, local_ray_cluster

from asibench_env.cli.run_setup import make_executor
from asibench_env.runs.batch import run_batch
from asibench_env.runs.executors import RayExecutor
from asibench_env.runs.runner import plan_episodes
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import load

TASKS = "physics.damped_oscillator_fit,statistics.changepoint_detection"


def _run_args(out: Path, *extra: str, seeds: str = "0-1") -> list[str]:
    return [*CLI, "run", "--agent", "oracle", "--tasks", TASKS, "--levels", "B1", "--seeds", seeds, "--out", str(out)]


def _results(out: Path) -> list[tuple]:
    """Each result file's identity and outcome (not its timings)."""
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    return sorted(
        (d["instance_id"], d["prompt_level"], d["seed"], d["episode_status"], d["final_score"], d["steps"])
        for d in docs
    )


def _outputs(out: Path) -> list[tuple]:
    """Every kept output file: its episode folder, path and sha256 as the result lists them."""
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    files = []
    for doc in docs:
        manifest = doc["agent_output"]["persisted_outputs"]
        for entry in manifest["files"]:
            assert (out / "results" / manifest["dir"] / entry["path"]).is_file()
            files.append((manifest["dir"], entry["path"], entry["sha256"]))
    return sorted(files)


def _episode_rows(out: Path) -> list[tuple]:
    rows = load(out, "episodes").to_table().to_pylist()
    return sorted((r["task_id"], r["prompt_level"], r["seed"], r["status"], r["final_score"], r["steps"]) for r in rows)


def _step_rows(out: Path) -> list[tuple]:
    rows = load(out, "steps").to_table().to_pylist()
    return sorted((r["task_id"], r["seed"], r["step_index"], r["tool"], r["exit_code"]) for r in rows)


@pytest.fixture(scope="module")
def ray_cluster(private_cache: Path) -> Iterator:
    """Two worker nodes on this machine (:func:`helpers.local_ray_cluster`), sharing the session's instance cache."""
    with local_ray_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def threads_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the same six episodes on two threads, through the CLI."""
    tmp = tmp_path_factory.mktemp("threads")
    out = tmp / "run"
    proc = subprocess.run(
        [*_run_args(out, seeds="0-2"), "--concurrency", "2", "--quiet"],
        env=cli_env(tmp),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def _cluster_env(tmp: Path) -> dict[str, str]:
    env = cli_env(tmp)
    env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


@pytest.mark.slow
def test_ray_run_matches_a_threads_run(ray_cluster, threads_run: Path, tmp_path: Path):
    out = tmp_path / "ray"
    proc = subprocess.run(
        [*_run_args(out, seeds="0-2"), "--executor", "ray", "--ray-address", ray_cluster.address, "--concurrency", "2"],
        env=_cluster_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert "100.0" in proc.stdout
    assert len(_results(out)) == 6
    assert _results(out) == _results(threads_run)
    assert all(status == "scored" and score == 100.0 for *_, status, score, _steps in _results(out))
    assert _outputs(out) == _outputs(threads_run)
    assert _episode_rows(out) == _episode_rows(threads_run)
    assert _step_rows(out) == _step_rows(threads_run)
    overview = json.loads((out / "batch_records" / "batch_overview.json").read_text())
    assert overview[0]["n_instances"] == 6


@pytest.mark.slow
def test_a_killed_node_reruns_its_episode_elsewhere(ray_cluster, tmp_path: Path):
    from ray_agents import ParkingOracle

    registry = TaskRegistry()
    specs = plan_episodes(TASKS.split(","), ["B1"], [0, 1])
    parked_instance = "statistics.changepoint_detection__n_samples1000_seed1_spike_fraction0.01"
    make_agent = functools.partial(
        ParkingOracle, registry=registry, marker_dir=str(tmp_path), instance_id=parked_instance
    )
    out = tmp_path / "run"
    outcome: list = []

    def drive() -> None:
        executor = RayExecutor(2, address=ray_cluster.address)
        outcome.append(
            run_batch(
                specs,
                make_agent,
                out,
                registry=registry,
                env_kwargs={"sandbox": "local"},
                agent_config={"name": "oracle"},
                show_progress=False,
                executor=executor,
            )
        )

    driver = threading.Thread(target=drive)
    driver.start()
    parked = tmp_path / "parked.json"
    deadline = time.monotonic() + 600
    while not parked.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    node_id = json.loads(parked.read_text())["node"]
    victim = next(node for node in ray_cluster.worker_nodes if node.node_id == node_id)
    ray_cluster.remove_node(victim)
    driver.join(900)
    ray_cluster.add_node(num_cpus=1)  # back to two worker nodes for the other tests
    assert not driver.is_alive()

    rerun = json.loads((tmp_path / "rerun.json").read_text())["node"]
    assert rerun != node_id  # the parked episode ran again, on the surviving node
    (batch,) = outcome
    assert len(batch.results) == 4 and batch.retried == 0
    assert all(r.status == "scored" and r.final_score == 100.0 for r in batch.results)
    assert sorted(r.instance_id for r in batch.results).count(parked_instance) == 1
    results = _results(out)
    assert len(results) == 4 and len({r[:3] for r in results}) == 4
    episodes = load(out, "episodes").to_table().to_pylist()
    assert len(episodes) == 4  # the killed attempt left no rows: rows travel with the finished record
    assert {(e["task_id"], e["seed"]) for e in episodes} == {(s.task_id, s.seed) for s in specs}
    steps = load(out, "steps").to_table()
    assert set(steps.column("episode_id").to_pylist()) == {e["episode_id"] for e in episodes}


@pytest.mark.slow
@pytest.mark.parametrize("resume_with", ["ray", "threads"])
def test_a_killed_driver_resumes_to_the_same_episodes(ray_cluster, threads_run: Path, tmp_path: Path, resume_with):
    out = tmp_path / "killed"
    ray_args = ["--executor", "ray", "--ray-address", ray_cluster.address]
    args = [*_run_args(out, seeds="0-2"), "--quiet"]
    proc = subprocess.Popen(
        [*args, *ray_args, "--concurrency", "2"],
        env=_cluster_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not list((out / "results").glob("*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_before = len(list((out / "results").glob("*.json")))
    assert 1 <= finished_before < 6

    resumed = subprocess.run(
        [*args, *(ray_args if resume_with == "ray" else []), "--concurrency", "2", "--resume"],
        env=_cluster_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"Skipped {finished_before} episode(s)" in resumed.stdout
    assert _results(out) == _results(threads_run)
    assert _outputs(out) == _outputs(threads_run)
    episodes = load(out, "episodes").to_table().to_pylist()
    keys = [(e["task_id"], e["prompt_level"], e["seed"]) for e in episodes]
    assert len(keys) == len(set(keys)) == 6  # no episode counted twice in the trajectories
    assert _episode_rows(out) == _episode_rows(threads_run)


def test_unreachable_cluster_is_a_clear_error_before_any_file(tmp_path: Path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "run"
    args = [*_run_args(out), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"]
    proc = subprocess.run(args, env=cli_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in proc.stderr and "ray start --head" in proc.stderr
    assert not out.exists()


def test_executor_option_errors_name_the_fix():
    with pytest.raises(typer.BadParameter, match="is not HOST:PORT"):
        make_executor("ray", 2, ray_address="nowhere")
    with pytest.raises(typer.BadParameter, match="--ray-address applies to --executor ray"):
        make_executor("threads", 2, ray_address="127.0.0.1:6379")
    with pytest.raises(typer.BadParameter, match="use threads or ray"):
        make_executor("processes", 2)
    executor = make_executor("ray", 3, ray_episode_cpus=0.5, ray_episode_memory_gib=2)
    assert isinstance(executor, RayExecutor)
    assert executor.describe() == {
        "executor": "ray",
        "max_in_flight": 3,
        "address": None,
        "num_cpus": 0.5,
        "memory_bytes": 2 * 1024**3,
    }


@pytest.mark.slow
def test_docker_episodes_go_only_to_nodes_that_declare_an_engine(ray_cluster, tmp_path: Path):
    out = tmp_path / "docker"
    args = [
        *CLI,
        "run",
        "--agent",
        "oracle",
        "--tasks",
        "physics.damped_oscillator_fit",
        "--levels",
        "B1",
        "--seeds",
        "0-1",
        "--sandbox",
        "docker",
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster.address,
        "--quiet",
    ]
    refused = subprocess.run([*args, "--out", str(out)], env=_cluster_env(tmp_path), capture_output=True, text=True)
    assert refused.returncode == 2
    assert "'docker_sandbox'" in refused.stderr and "ray start" in refused.stderr
    assert not (out / "run_metadata.json").exists()

    engine_node = ray_cluster.add_node(num_cpus=1, resources={"docker_sandbox": 2})
    try:
        ran = subprocess.run(
            [*args, "--out", str(out), "--concurrency", "2"],
            env=_cluster_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        ray_cluster.remove_node(engine_node)
    assert ran.returncode == 0, ran.stderr
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert len(docs) == 2 and all(d["episode_status"] == "scored" and d["final_score"] == 100.0 for d in docs)
    assert {d["provenance"]["sandbox"]["backend"] for d in docs} == {"docker"}
