"""The Gymnasium environment, end to end on the demo task with the real local sandbox and scorer."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import DEMO_SOLVE

import asibench_env  # noqa: F401  (registers the env ids)
from asibench_env.envs.actions import ToolCall


def test_reset_gives_prompt_listing_and_info(make_env):
    env = make_env(level="B2")
    obs, info = env.reset(seed=0)
    assert "Line fit (B2)" in obs
    assert "data/x.npy" in obs and "task_info.json" in obs
    assert info["task_id"] == "demo.line_fit" and info["level"] == "B2" and info["seed"] == 0
    assert info["expected_outputs"][0] == {"name": "coef.npy", "type": "data"}
    assert {t["name"] for t in info["tools"]} == {"bash", "python", "read_file", "write_file", "list_files", "submit"}
    assert info["budgets"]["max_steps"] == 100
    assert info["sandbox"]["backend"] == "local"
    task_info = json.loads(env.sandbox.read_file("task_info.json"))
    assert task_info["schema_version"] == 3 and task_info["prompt_level"] == "b2"
    assert task_info["task_id"].startswith("task_") and "line" not in task_info["task_id"]
    assert "shape" not in json.dumps(task_info)


def test_solving_scores_full_reward_on_the_last_step_only(make_env):
    env = make_env()
    env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
    assert reward == 0.0 and not terminated and not truncated
    assert "[exit code 0]" in obs
    obs, reward, terminated, truncated, info = env.step({"tool": "submit", "arguments": {}})
    assert terminated and not truncated
    assert info["status"] == "scored" and info["end_reason"] == "submit"
    assert info["final_score"] >= 99.0
    assert reward == pytest.approx(info["final_score"] / 100)
    assert info["hard_gates_passed"] and len(info["score_results"]) == 2
    assert {a.path for a in info["episode"].artifacts} == {"coef.npy", "results/fit.py"}
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"tool": "submit"})


def test_empty_submission_scores_zero(make_env):
    env = make_env()
    env.reset(seed=2)
    _, reward, terminated, _, info = env.step('{"tool": "submit"}')
    assert terminated and reward == 0.0 and info["final_score"] == 0.0
    assert not info["hard_gates_passed"]
    assert sorted(info["missing_outputs"]) == ["coef.npy", "results/fit.py"]


@pytest.mark.parametrize(
    "bad",
    [
        '{"tool": "bash", "arguments": {"command": "ls"',  # malformed JSON
        {"tool": "teleport", "arguments": {}},  # unknown tool
        "no tool call here",
    ],
)
def test_malformed_action_is_an_observation_and_counts(make_env, bad):
    env = make_env()
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(bad)
    assert obs.startswith("[invalid action]") and "Valid actions" in obs
    assert reward == 0.0 and not terminated and not truncated
    assert info["step"] == 1 and "action_error" in info
    obs, *_ = env.step({"tool": "bash", "arguments": {"command": "echo still alive"}})
    assert "still alive" in obs


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "data/../../x"])
def test_paths_outside_the_workspace_are_refused(make_env, path):
    env = make_env()
    env.reset(seed=0)
    obs, *_, info = env.step({"tool": "read_file", "arguments": {"path": path}})
    assert obs.startswith("[error]") and "root:" not in obs
    obs, *_ = env.step({"tool": "write_file", "arguments": {"path": path, "content": "x"}})
    assert obs.startswith("[error]")


def test_file_tools_and_raw_completion_actions(make_env):
    env = make_env()
    env.reset(seed=0)
    obs, *_ = env.step(ToolCall(tool="write_file", arguments={"path": "notes/a.txt", "content": "hello"}))
    assert "Wrote 5 bytes" in obs
    obs, *_ = env.step('<tool_call>{"name": "read_file", "arguments": {"path": "notes/a.txt"}}</tool_call>')
    assert obs == "hello"
    obs, *_ = env.step("```bash\ncd notes && export GREETING=hi\n```")
    obs, *_ = env.step({"tool": "bash", "arguments": {"command": "pwd; echo $GREETING"}})
    assert "notes" in obs and "hi" in obs
    obs, *_ = env.step({"tool": "list_files", "arguments": {"path": "notes"}})
    assert "a.txt" in obs
    obs, *_ = env.step({"tool": "read_file", "arguments": {"path": "missing.txt"}})
    assert obs.startswith("[error]")


def test_python_tool_persists_state(make_env):
    env = make_env()
    env.reset(seed=0)
    env.step({"tool": "python", "arguments": {"code": "import numpy as np\nx = np.load('data/x.npy')"}})
    obs, *_ = env.step({"tool": "python", "arguments": {"code": "print(x.shape)"}})
    assert "(200,)" in obs


def test_step_budget_truncates_and_still_scores(make_env):
    env = make_env(max_steps=2)
    env.reset(seed=3)
    env.step({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
    obs, reward, terminated, truncated, info = env.step({"tool": "bash", "arguments": {"command": "true"}})
    assert truncated and not terminated
    assert info["end_reason"] == "max_steps" and "step budget" in obs
    assert info["final_score"] >= 99.0 and reward > 0.99


def test_command_timeout_is_reported(make_env):
    env = make_env()
    env.reset(seed=0)
    obs, *_, info = env.step({"tool": "bash", "arguments": {"command": "sleep 30", "timeout": 0.5}})
    assert info["timed_out"] and "timed out" in obs


def test_same_seed_same_instance_and_options(make_env):
    env = make_env()
    _, first = env.reset(seed=5)
    x_first = env.sandbox.read_file("data/x.npy")
    _, again = env.reset(seed=5)
    assert again["instance_id"] == first["instance_id"] and again["instance_cached"]
    assert env.sandbox.read_file("data/x.npy") == x_first
    _, other = env.reset(seed=6)
    assert other["instance_id"] != first["instance_id"]
    _, custom = env.reset(seed=5, options={"level": "b4", "params": {"n_points": 60}})
    assert custom["level"] == "B4" and custom["parameters"]["n_points"] == 60
    assert np.load(__import__("io").BytesIO(env.sandbox.read_file("data/x.npy"))).shape == (60,)


def test_unseeded_resets_follow_the_first_seed(make_env):
    a, b = make_env(), make_env()
    a.reset(seed=11)
    b.reset(seed=11)
    assert a.reset()[1]["instance_id"] == b.reset()[1]["instance_id"]


def test_render_and_close(make_env):
    env = make_env(render_mode="ansi")
    env.reset(seed=0)
    env.step({"tool": "bash", "arguments": {"command": "echo rendered"}})
    text = env.render()
    assert "demo.line_fit" in text and "rendered" in text
    env.close()
    env.close()  # idempotent
    assert env.sandbox is None


def test_bad_constructor_arguments(registry):
    from asibench_env.envs.task_env import AsiBenchEnv

    with pytest.raises(ValueError, match="level must be one of"):
        AsiBenchEnv("demo.line_fit", registry=registry, level="B9")
    with pytest.raises(ValueError, match="task_id is required"):
        AsiBenchEnv(registry=registry)
    with pytest.raises(ValueError, match="unknown sandbox"):
        env = AsiBenchEnv("demo.line_fit", registry=registry, sandbox="nope")
        env.reset(seed=0)


def test_gymnasium_make_and_env_checker(fixture_tasks_dir, instance_cache):
    env = gym.make(
        "asibench/Task-v0", task_id="demo.line_fit", tasks_dir=fixture_tasks_dir, instance_cache=instance_cache
    )
    try:
        check_env(env.unwrapped, skip_render_check=True)
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        assert env.unwrapped.tool_specs("openai")[0]["function"]["name"] == "bash"
    finally:
        env.close()


@pytest.mark.slow
def test_every_builtin_task_is_registered_and_passes_the_checker():
    from asibench_env.tasks.registry import builtin_registry

    ids = builtin_registry().ids()
    assert len(ids) >= 3
    for task_id in ids:
        env = gym.make(f"asibench/{task_id}-v0", level="B3", sandbox="local")
        try:
            check_env(env.unwrapped, skip_render_check=True)
        finally:
            env.close()


def test_dropped_env_leaves_no_process(make_env):
    import gc
    import subprocess

    from asibench_env.envs.task_env import AsiBenchEnv

    env = AsiBenchEnv("demo.line_fit", registry=make_env().registry, instance_cache=make_env().instance_cache)
    env.reset(seed=0)
    env.step({"tool": "bash", "arguments": {"command": "sleep 1234 &"}})
    workspace = env.sandbox.workspace
    del env
    gc.collect()
    assert not workspace.exists()
    assert "sleep 1234" not in subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout


def test_crashing_generator_is_an_infra_error_in_the_runner(copy_task, tmp_path):
    from asibench_env.agents import NullAgent
    from asibench_env.envs.task_env import AsiBenchEnv
    from asibench_env.runs.runner import EpisodeSpec, run_episode
    from asibench_env.tasks.instances import InstanceCache, InstanceGenerationError
    from asibench_env.tasks.registry import TaskRegistry

    task_dir = copy_task()
    (task_dir / "generate_gt.py").write_text("raise SystemExit('generator exploded')\n")
    registry = TaskRegistry([task_dir.parent.parent], include_builtin=False)
    env = AsiBenchEnv("demo.line_fit", registry=registry, instance_cache=InstanceCache(tmp_path / "c"))
    with pytest.raises(InstanceGenerationError, match="generator exploded"):
        env.reset(seed=0)
    result = run_episode(env, NullAgent(), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "infra_error" and result.final_score is None
    assert "generator exploded" in result.error


def test_symlink_output_to_a_host_file_scores_zero(make_env):
    env = make_env()
    env.reset(seed=0)
    env.step({"tool": "bash", "arguments": {"command": "mkdir -p results && ln -s /etc/passwd coef.npy"}})
    _, reward, _, _, info = env.step({"tool": "submit"})
    assert reward == 0.0 and "coef.npy" in info["refused_outputs"]


@pytest.mark.parametrize(
    "code",
    [
        "np.save('coef.npy', np.zeros(3))",  # wrong shape
        "np.save('coef.npy', np.zeros(2, dtype=np.float32))",  # wrong dtype
        "np.save('coef.npy', np.full(2, np.nan))",  # NaN
        "open('coef.npy', 'w').write('garbage')",  # not an array
    ],
)
def test_bad_outputs_score_zero(make_env, code):
    env = make_env()
    env.reset(seed=0)
    env.step({"tool": "python", "arguments": {"code": "import numpy as np\n" + code}})
    _, reward, terminated, _, info = env.step({"tool": "submit"})
    assert terminated and reward == 0.0 and info["status"] == "scored"
    assert not info["hard_gates_passed"]


def test_downloaded_instances_without_a_generator(copy_task, tmp_path, instance_cache, registry):
    import shutil

    from asibench_env.envs.task_env import AsiBenchEnv
    from asibench_env.tasks.instances import sample_params
    from asibench_env.tasks.registry import TaskRegistry

    generated, _ = instance_cache.get(registry.get("demo.line_fit"), sample_params(registry.get("demo.line_fit"), 9))
    downloads = tmp_path / "instances"
    public = downloads / "demo.line_fit__n_coef2_n_points200_noise0.05_seed31415"
    shutil.copytree(generated.path, public)
    private = downloads / "demo.line_fit__n_coef2_n_points200_noise0.05_seed42"
    shutil.copytree(generated.path, private)
    shutil.rmtree(private / "reference")
    task_dir = copy_task()
    (task_dir / "generate_gt.py").unlink()  # like the official final tasks: fixed instances only
    local = TaskRegistry([task_dir.parent.parent], [downloads], include_builtin=False)
    env = AsiBenchEnv("demo.line_fit", registry=local)
    try:
        _, info = env.reset(options={"instance_id": public.name})
        assert info["instance_id"] == public.name
        env.step({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
        _, reward, _, _, info = env.step({"tool": "submit"})
        assert info["status"] == "scored" and reward > 0.99
        _, info = env.reset(options={"instance_id": private.name})
        env.step({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
        _, reward, _, _, info = env.step({"tool": "submit"})
        assert info["status"] == "produced" and info["final_score"] is None and reward == 0.0
        assert "private split" in info["error"]
        kept = Path(info["outputs_dir"])  # the collected copy stays after the episode and after close
        assert sorted(a["path"] for a in info["artifacts"]) == ["coef.npy", "results/fit.py"]
        assert (kept / "coef.npy").is_file() and env.unwrapped.outputs_dir == kept
        env.close()
        assert (kept / "coef.npy").is_file()
        seen = {env.reset(seed=s)[1]["instance_id"] for s in range(4)}
        assert seen == {public.name, private.name}
        assert not kept.exists(), "the next reset removes the last episode's outputs"
    finally:
        env.close()


def test_sync_vector_env(fixture_tasks_dir, instance_cache):
    envs = gym.make_vec(
        "asibench/Task-v0",
        num_envs=2,
        vectorization_mode="sync",
        task_id="demo.line_fit",
        tasks_dir=fixture_tasks_dir,
        instance_cache=instance_cache,
    )
    try:
        obs, info = envs.reset(seed=[0, 1])
        assert len(obs) == 2 and info["instance_id"][0] != info["instance_id"][1]
        obs, reward, terminated, truncated, info = envs.step(
            [{"tool": "python", "arguments": {"code": DEMO_SOLVE}}, '{"tool": "submit"}']
        )
        assert list(terminated) == [False, True] and reward[1] == 0.0
        obs, reward, terminated, truncated, info = envs.step(['{"tool": "submit"}', '{"tool": "submit"}'])
        assert terminated[0] and reward[0] > 0.99
    finally:
        envs.close()


def test_async_agents_are_driven_too(make_env):
    import asyncio

    from asibench_env.runs.runner import EpisodeSpec, run_episode

    class AsyncScripted:
        name = "async-scripted"

        async def reset(self, observation, info):
            self.loop = asyncio.get_running_loop()
            self.plan = [{"tool": "python", "arguments": {"code": DEMO_SOLVE}}, {"tool": "submit"}]

        async def act(self, observation, info):
            assert asyncio.get_running_loop() is self.loop  # one loop for the whole episode
            await asyncio.sleep(0)
            return self.plan.pop(0)

        async def end(self, reward, info):
            self.reward = reward

    agent = AsyncScripted()
    result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.final_score >= 99 and agent.reward > 0.99
