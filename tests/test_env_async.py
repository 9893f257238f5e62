"""The async env API: the same episodes as the sync one, many in flight on one event loop."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO_SOLVE
from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.tools import Tool, ToolContext, default_tools
from asibench_env.trajectories.logger import TrajectoryLogger
from asibench_env.trajectories.reader import load

ACTIONS: list[Any] = [
    {"tool": "bash", "arguments": {"command": "echo hi; ls data; exit_code_is() { return 3; }; exit_code_is"}},
    "not a tool call at all",
    {"tool": "nope", "arguments": {}},
    {"tool": "read_file", "arguments": {"path": "../etc/passwd"}},
    {"tool": "read_file", "arguments": {"path": "missing.txt"}},
    {"tool": "read_file", "arguments": {"path": "data"}},
    {"tool": "write_file", "arguments": {"path": "notes/a.txt", "content": "hello\n"}},
    {"tool": "read_file", "arguments": {"path": "notes/a.txt"}},
    {"tool": "list_files", "arguments": {"path": "."}},
    {"tool": "list_files", "arguments": {"path": "nowhere"}},
    {"tool": "python", "arguments": {"code": "x = 41\nx + 1"}},
    {"tool": "python", "arguments": {"code": "1 / 0"}},
    {"tool": "python", "arguments": {"code": DEMO_SOLVE}},
    {"tool": "bash", "arguments": {"command": "sleep 5", "timeout": 0.3}},
    {"tool": "submit", "arguments": {}},
]


def _comparable(info: dict[str, Any]) -> dict[str, Any]:
    """A step's info without what is measured (times, temporary folders, object identities)."""
    skip = {"duration_s", "wall_time_s", "scoring_time_s", "episode", "outputs_dir", "reset_time_s", "artifacts"}
    skip |= {"instance_cached", "sandbox"}  # the first reset generates the instance; each sandbox has its own uid
    return {k: v for k, v in info.items() if k not in skip}


def _scrub(text: str) -> str:
    """Process ids differ between sandboxes (bash names the killed job by its pid)."""
    return re.sub(r"line (\d+): +\d+ Killed", r"line \1: PID Killed", text)


def _run_sync(env: Any, seed: int) -> tuple[list[Any], str]:
    obs, info = env.reset(seed=seed)
    trace: list[Any] = [obs, _comparable(info)]
    for action in ACTIONS:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((_scrub(obs), reward, terminated, truncated, _comparable(info)))
        if terminated or truncated:
            break
    return trace, _scrub(env.render())


async def _run_async(env: Any, seed: int) -> tuple[list[Any], str]:
    obs, info = await env.reset_async(seed=seed)
    trace: list[Any] = [obs, _comparable(info)]
    for action in ACTIONS:
        obs, reward, terminated, truncated, info = await env.step_async(action)
        trace.append((_scrub(obs), reward, terminated, truncated, _comparable(info)))
        if terminated or truncated:
            break
    return trace, _scrub(env.render())


@pytest.fixture(params=["local", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each sandbox backend (the Docker one needs the engine: its tests are marked slow)."""
    if request.param == "docker":
        request.getfixturevalue("docker_client")
    return str(request.param)


def test_async_and_sync_give_the_same_episode(make_env, backend: str):
    sync_env = make_env(render_mode="ansi", sandbox=backend)
    async_env = make_env(render_mode="ansi", sandbox=backend)
    sync_trace, sync_render = _run_sync(sync_env, seed=3)
    async_trace, async_render = asyncio.run(_run_async(async_env, seed=3))
    assert async_render == sync_render
    assert async_trace == sync_trace
    last = async_trace[-1]
    assert last[2] and last[4]["status"] == "scored" and last[1] == pytest.approx(last[4]["final_score"] / 100)
    assert last[1] > 0.99  # the solver cell ran: a real score, not a trivially equal zero
    assert "[timed out" in async_trace[-2][0]


def test_step_budget_ends_the_async_episode_like_the_sync_one(make_env):
    results = []
    for runner in ("sync", "async"):
        env = make_env(max_steps=2, render_mode="ansi")
        if runner == "sync":
            env.reset(seed=0)
            env.step({"tool": "bash", "arguments": {"command": "true"}})
            outcome = env.step({"tool": "bash", "arguments": {"command": "true"}})
        else:

            async def episode(env: Any = env) -> Any:
                await env.reset_async(seed=0)
                await env.step_async({"tool": "bash", "arguments": {"command": "true"}})
                return await env.step_async({"tool": "bash", "arguments": {"command": "true"}})

            outcome = asyncio.run(episode())
        results.append((outcome[0], outcome[1], outcome[2], outcome[3], outcome[4]["end_reason"], env.render()))
    assert results[0] == results[1]
    assert results[0][3] and results[0][4] == "max_steps"


@pytest.mark.slow
def test_many_episodes_in_flight_on_one_loop(make_env, backend: str):
    count = 32
    envs = [make_env(sandbox=backend) for _ in range(count)]
    threads_seen: list[int] = []

    async def episode(env: Any, seed: int) -> tuple[float, str]:
        await env.reset_async(seed=seed % 4)
        await env.step_async({"tool": "bash", "arguments": {"command": "sleep 1; echo slept"}})
        obs, *_ = await env.step_async({"tool": "bash", "arguments": {"command": f"echo episode-{seed}"}})
        await env.step_async({"tool": "python", "arguments": {"code": DEMO_SOLVE}})
        _, reward, terminated, _, info = await env.step_async({"tool": "submit"})
        assert terminated and info["status"] == "scored"
        return reward, obs

    async def main() -> list[tuple[float, str]]:
        async def watch() -> None:
            while True:
                threads_seen.append(threading.active_count())
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        try:
            return await asyncio.gather(*(episode(env, i) for i, env in enumerate(envs)))
        finally:
            watcher.cancel()

    results = asyncio.run(main())
    assert [obs.splitlines()[0] for _, obs in results] == [f"episode-{i}" for i in range(count)]
    assert all(reward > 0.99 for reward, _ in results)
    # 32 episodes sleeping in their shell at once: no thread each (the default executor has at most 6).
    assert max(threads_seen) < count


class ShoutArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="A workspace file.")


class Shout(Tool[ShoutArgs]):
    """A custom tool with only a sync ``run``: the async env runs it in a worker thread."""

    name, description, args_model = "shout", "Read a file in capitals.", ShoutArgs

    def run(self, context: ToolContext, args: ShoutArgs) -> str:
        context.info["thread"] = threading.current_thread().name
        return context.sandbox.read_file(args.path).decode().upper()


def test_a_sync_only_custom_tool_works_through_step_async(make_env):
    tools = default_tools()
    tools.register(Shout())
    env = make_env(tools=tools)

    async def episode() -> list[tuple[str, dict[str, Any]]]:
        await env.reset_async(seed=0)
        await env.step_async({"tool": "write_file", "arguments": {"path": "a.txt", "content": "quiet"}})
        out = []
        for path in ("a.txt", "missing.txt"):
            obs, _, _, _, info = await env.step_async({"tool": "shout", "arguments": {"path": path}})
            out.append((obs, info))
        return out

    (obs, info), (missing, missing_info) = asyncio.run(episode())
    assert obs == "QUIET" and info["thread"] != threading.main_thread().name
    assert missing == "[error] no such file or folder: missing.txt" and "action_error" in missing_info


def test_trajectory_logger_logs_async_steps_like_sync_ones(make_env, tmp_path: Path):
    def table(out: Path) -> list[tuple[Any, ...]]:
        steps = load(out).to_table()
        columns = ["step_index", "tool", "arguments_json", "action_error", "observation", "reward", "terminated"]
        return sorted(zip(*(steps[c].to_pylist() for c in columns), strict=True))

    sync_logged = TrajectoryLogger(make_env(), tmp_path / "sync")
    sync_logged.reset(seed=1)
    for action in ACTIONS[:3] + ACTIONS[6:9] + [ACTIONS[-1]]:
        sync_logged.step(action)

    async_logged = TrajectoryLogger(make_env(), tmp_path / "async")

    async def episode() -> None:
        await async_logged.reset_async(seed=1)
        for action in ACTIONS[:3] + ACTIONS[6:9] + [ACTIONS[-1]]:
            await async_logged.step_async(action)

    asyncio.run(episode())
    assert table(tmp_path / "async") == table(tmp_path / "sync")
    assert len(table(tmp_path / "async")) == 7
