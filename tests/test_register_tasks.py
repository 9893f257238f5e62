"""register_tasks: Gymnasium ids for the runnable tasks of a folder in the official layout."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import asibench_env
from asibench_env import register_tasks

OFFICIAL_LIKE = Path(__file__).parent / "fixtures" / "official_like"
TASKS, INSTANCES = OFFICIAL_LIKE / "tasks", OFFICIAL_LIKE / "instances"


def test_only_runnable_tasks_are_registered() -> None:
    assert register_tasks(TASKS) == ["asibench/sample.noisy_mean-v0"]
    assert "asibench/contract.mean_estimate-v0" not in gym.registry
    ids = asibench_env.register_tasks(TASKS, instances_dir=INSTANCES)
    assert ids == ["asibench/contract.mean_estimate-v0", "asibench/sample.noisy_mean-v0"]
    assert "asibench/contract.judged_summary-v0" not in gym.registry
    assert "register_tasks" in asibench_env.__all__


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        register_tasks(tmp_path / "absent")


@pytest.mark.parametrize("task_id", ["contract.mean_estimate", "sample.noisy_mean"])
def test_registered_tasks_make_and_pass_the_env_checker(task_id: str, instance_cache) -> None:
    register_tasks([TASKS], [INSTANCES])
    env = gym.make(f"asibench/{task_id}-v0", level="B1", instance_cache=instance_cache)
    try:
        check_env(env.unwrapped, skip_render_check=True)
        observation, info = env.reset(seed=0)
        assert info["task_id"] == task_id and "# Workspace" in observation
        if task_id == "contract.mean_estimate":
            _, info = env.reset(options={"instance_id": "contract.mean_estimate__seed2"})
            assert info["instance_id"] == "contract.mean_estimate__seed2" and info["seed"] is None
            with pytest.raises(KeyError, match="no downloaded instance 'x__y'"):
                env.reset(options={"instance_id": "x__y"})
    finally:
        env.close()
