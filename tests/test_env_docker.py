"""The Gymnasium environment and the CLI on the Docker sandbox (real engine, real image)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import CLI, DEMO_SOLVE, cli_env

import asibench_env  # noqa: F401  (registers the env ids)
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.sandbox.container.images import default_image, find_image
from asibench_env.sandbox.container.pool import shutdown_pools


@pytest.fixture
def docker_env(docker_client, fixture_tasks_dir: Path, instance_cache):
    env = gym.make(
        "asibench/Task-v0",
        task_id="demo.line_fit",
        tasks_dir=fixture_tasks_dir,
        instance_cache=instance_cache,
        sandbox="docker",
        sandbox_options={"warm_pool": 1},
    )
    yield env
    env.close()
    shutdown_pools()


def test_gymnasium_make_with_docker_passes_the_checker_and_solves(docker_env):
    check_env(docker_env.unwrapped, skip_render_check=True)
    obs, info = docker_env.reset(seed=0)
    assert info["sandbox"]["backend"] == "docker" and info["sandbox"]["level"] == "container"
    assert "data/x.npy" in obs
    obs, reward, terminated, truncated, _ = docker_env.step({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
    assert reward == 0.0 and not terminated and "[exit code 0]" in obs
    _, reward, terminated, truncated, info = docker_env.step({"tool": "submit"})
    assert terminated and not truncated and info["status"] == "scored"
    assert reward == pytest.approx(info["final_score"] / 100) and info["final_score"] >= 99.0


def test_symlinked_output_scores_zero_on_docker(docker_env):
    docker_env.reset(seed=0)
    docker_env.step({"tool": "bash", "arguments": {"command": "ln -s /etc/passwd coef.npy"}})
    _, reward, _, _, info = docker_env.step({"tool": "submit"})
    assert reward == 0.0 and "coef.npy" in info["refused_outputs"]


@pytest.mark.fault
def test_a_container_that_dies_mid_episode_is_an_infra_error(docker_env, docker_client):
    from asibench_env.agents import OracleAgent

    docker_env.reset(seed=0)
    docker_client.api.kill(docker_env.unwrapped.sandbox.container_id)
    _, reward, terminated, truncated, info = docker_env.step({"tool": "bash", "arguments": {"command": "ls"}})
    assert truncated and not terminated and reward == 0.0  # cut short by the infrastructure, not an outcome
    assert info["status"] == "infra_error" and info["final_score"] is None
    assert "container" in info["error"]
    # The runner reports it the same way, so batch runs retry it instead of counting a 0.
    oracle = OracleAgent(registry=docker_env.unwrapped.registry)
    result = run_episode(docker_env.unwrapped, oracle, EpisodeSpec("demo.line_fit", "B3", 1))
    assert result.status == "scored" and result.final_score >= 99.0


def test_cli_run_on_docker_records_the_image(docker_client, tmp_path: Path, fixture_tasks_dir: Path):
    out = tmp_path / "run"
    args = ["run", "--agent", "oracle", "--tasks", "demo.line_fit", "--tasks-dir", str(fixture_tasks_dir)]
    args += ["--levels", "B1,B4", "--seeds", "0", "--sandbox", "docker", "--warm-pool", "1", "--out", str(out)]
    proc = subprocess.run([*CLI, *args, "--quiet"], capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert len(docs) == 2 and all(d["final_score"] >= 99.0 for d in docs)
    meta = json.loads((out / "run_metadata.json").read_text())
    image = find_image(docker_client, default_image())
    assert meta["sandbox"]["requested_mode"] == "docker" and meta["sandbox"]["effective_mode"] == "container"
    assert meta["sandbox"]["details"]["image_id"] == image.image_id
    assert meta["sandbox"]["details"]["image"] == default_image()
    assert "image_digest" in meta["sandbox"]["details"]


def test_cli_image_commands(docker_client, tmp_path: Path):
    env = cli_env(tmp_path)
    shown = subprocess.run([*CLI, "image", "show"], capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0 and default_image() in shown.stdout and "numpy" in shown.stdout
    again = subprocess.run(
        [*CLI, "image", "build", "--offline", "--if-missing"], capture_output=True, text=True, env=env, timeout=120
    )
    assert again.returncode == 0 and "already built" in again.stdout
    missing = subprocess.run([*CLI, "image", "show", "nope/nope:0"], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "image build --offline" in missing.stdout
    swept = subprocess.run([*CLI, "sandbox", "sweep"], capture_output=True, text=True, env=env, timeout=120)
    assert swept.returncode == 0 and "removed" in swept.stdout
    wrong = subprocess.run(
        [*CLI, "run", "--image", "some/image:1", "--out", str(tmp_path / "x")], capture_output=True, text=True, env=env
    )
    assert wrong.returncode == 2 and "--sandbox docker" in wrong.stderr
