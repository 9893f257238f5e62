"""Vector envs on real envs: Gymnasium's SyncVectorEnv, and the asyncio- and thread-backed ones."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from helpers import DEMO_SOLVE

import asibench_env  # noqa: F401  (registers the env ids)
from asibench_env.envs.vector import AsyncioVectorEnv, ThreadVectorEnv, make_vec
from asibench_env.trajectories.logger import TrajectoryLogger
from asibench_env.trajectories.reader import load

BASH = '{"tool": "bash", "arguments": {"command": "echo $((6 * 7)); ls data"}}'
SOLVE = {"tool": "python", "arguments": {"code": DEMO_SOLVE}}
SUBMIT = {"tool": "submit", "arguments": {}}
# Per step, one action per sub-env: env 0 solves and submits at step 2, env 1 submits empty at step 1,
# env 2 keeps working. The step after each submit autoresets that env (its action is ignored).
SCRIPT = [
    [BASH, SUBMIT, BASH],
    [SOLVE, BASH, "not a call"],
    [SUBMIT, BASH, BASH],
    [BASH, BASH, SUBMIT],
    [BASH, BASH, BASH],
]


@pytest.fixture
def env_fns(fixture_tasks_dir: Path, instance_cache):
    def make() -> gym.Env:
        return gym.make(
            "asibench/Task-v0", task_id="demo.line_fit", tasks_dir=fixture_tasks_dir, instance_cache=instance_cache
        )

    return [make] * 3


def _play(vec: Any) -> list[Any]:
    trace: list[Any] = []
    obs, infos = vec.reset(seed=10)
    trace.append((obs, list(infos["instance_id"])))
    for actions in SCRIPT:
        obs, rewards, terminated, truncated, infos = vec.step(actions)
        trace.append((obs, rewards.tolist(), terminated.tolist(), truncated.tolist()))
    vec.close()
    return trace


@pytest.mark.slow
def test_vector_envs_match_gymnasiums_sync_vector_env(env_fns):
    reference = _play(SyncVectorEnv(env_fns))
    assert _play(AsyncioVectorEnv(env_fns)) == reference
    assert _play(ThreadVectorEnv(env_fns)) == reference
    # the script really ended episodes and autoreset them (next-step autoreset, as in Gymnasium)
    assert reference[1][2] == [False, True, False] and reference[1][1][1] == 0.0
    assert reference[2][0][1].startswith("# Line fit")  # env 1 was reset on the step after its submit
    assert reference[3][2] == [True, False, False] and reference[3][1][0] > 0.99
    assert reference[4][0][0].startswith("# Line fit") and reference[4][2] == [False, False, True]
    assert reference[5][0][2].startswith("# Line fit") and reference[5][0][1].startswith("42\n")


def test_metadata_spaces_and_infos(env_fns):
    vec = AsyncioVectorEnv(env_fns)
    try:
        assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        assert vec.num_envs == 3 and vec.observation_space == gym.spaces.Tuple([vec.single_observation_space] * 3)
        obs, infos = vec.reset(seed=[1, 2, 3])
        assert all(isinstance(o, str) and vec.single_observation_space.contains(o) for o in obs)
        assert list(infos["seed"]) == [1, 2, 3] and infos["_seed"].all()
        obs, _, _, _, infos = vec.step([BASH] * 3)
        assert all(o.startswith("42\n") for o in obs) and list(infos["tool"]) == ["bash"] * 3
        obs, infos = vec.reset(seed=[4, 5, 6], options={"reset_mask": np.array([False, True, False])})
        assert obs[0] is None and obs[1].startswith("# Line fit") and list(infos["_seed"]) == [False, True, False]
        with pytest.raises(ValueError, match="one per env"):
            vec.step([BASH])
    finally:
        vec.close()


def test_asyncio_vector_env_inside_a_running_loop_with_logged_sub_envs(env_fns, tmp_path: Path):
    vec = AsyncioVectorEnv([lambda i=i: TrajectoryLogger(env_fns[0](), tmp_path / f"log{i}") for i in range(2)])

    async def play() -> list[float]:
        await vec.reset_async(seed=0)
        await vec.step_async([SOLVE, BASH])
        _, rewards, terminated, _, _ = await vec.step_async([SUBMIT, SUBMIT])
        assert terminated.all()
        return rewards.tolist()

    rewards = asyncio.run(play())
    vec.close()
    assert rewards[0] > 0.99 and rewards[1] == 0.0
    for i in range(2):
        assert load(tmp_path / f"log{i}").to_table().num_rows == 2


def test_gymnasium_make_vec_sync_on_a_builtin_id_and_our_make_vec(instance_cache):
    env_id = "asibench/astronomy.radial_velocity_orbit-v0"
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", instance_cache=instance_cache)
    try:
        obs, infos = vec.reset(seed=0)
        assert len(obs) == 2 and list(infos["seed"]) == [0, 1]
        assert list(infos["task_id"]) == ["astronomy.radial_velocity_orbit"] * 2
        obs, rewards, terminated, _, infos = vec.step([BASH, SUBMIT])
        assert obs[0].startswith("42\n") and terminated.tolist() == [False, True]
        assert infos["status"][1] == "scored" and rewards[1] == 0.0
    finally:
        vec.close()
    ours = make_vec(env_id, 2, mode="thread", instance_cache=instance_cache)
    try:
        obs, _ = ours.reset(seed=0)
        assert isinstance(ours, ThreadVectorEnv) and all(o.startswith("#") for o in obs)
    finally:
        ours.close()
    with pytest.raises(ValueError, match="asyncio' or 'thread"):
        make_vec(env_id, 2, mode="process")
