"""The verifiers 0.4.0 environment: the real ``verifiers`` package plays built-in task instances against a
scripted OpenAI-compatible policy on 127.0.0.1 (native function calls), and its rewards equal the scores
the same actions earn through AsiBenchEnv directly; truncation, tool errors, infrastructure and provider
failures, the plugin id and the ``vf-eval`` command; every sandbox is closed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import verifiers.v1 as vf
import verifiers.v1.runtimes.subprocess as vf_subprocess
from fake_model_server import STALL_PATH, ScriptedPolicyServer
from helpers import DEMO_SOLVE, cli_env

from asibench_env.agents.oracle import OracleAgent
from asibench_env.integrations.verifiers_env import (
    PLUGIN_ID,
    AsiBenchHarness,
    AsiBenchTaskData,
    AsiBenchVerifiersEnv,
    load_environment,
)
from asibench_env.sandbox.base import SandboxError
from asibench_env.sandbox.factory import register_backend
from asibench_env.sandbox.local import LocalSandbox, LocalSandboxOptions
from asibench_env.tasks.registry import UnknownTaskError, builtin_registry

TASK = "computer_science.queue_service_rates"
ACTIONS = OracleAgent().solve_actions(TASK)
SKEW = "import numpy as np\nfor name in ('service_rates.npy', 'waits.npy'):\n    np.save(name, np.load(name) * 1.25)\n"
SKEWED = [*ACTIONS, {"tool": "python", "arguments": {"code": SKEW}}]
"""The oracle's answer with two outputs scaled by 1.25: a partial score (about 67), not 0 or 100."""
SUBMIT = {"tool": "submit", "arguments": {}}
KEY_VAR = "ASIBENCH_VF_TEST_KEY"


class TrackedOptions(LocalSandboxOptions):
    fail_exec: bool = False
    """Every command fails as an infrastructure error (a SandboxError)."""


class TrackedSandbox(LocalSandbox):
    """The local sandbox, remembering every instance (to check they are all closed) and able to fail."""

    options_model = TrackedOptions  # type: ignore[assignment]
    opened: ClassVar[list[TrackedSandbox]] = []

    def __init__(self, seed_dir: Path, *, options: TrackedOptions, **kwargs: Any):
        self.fail_exec = options.fail_exec
        self.was_closed = False
        super().__init__(seed_dir, options=options, **kwargs)
        TrackedSandbox.opened.append(self)

    async def exec_async(self, command: str, timeout: float | None = None) -> Any:
        if self.fail_exec:
            raise SandboxError("scripted sandbox failure")
        return await super().exec_async(command, timeout)

    def close(self) -> None:
        self.was_closed = True
        super().close()


register_backend("vf-tracked", TrackedSandbox)


@pytest.fixture
def vf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """verifiers' per-rollout runtime folders go to a temporary folder; every sandbox must end closed."""
    cache = tmp_path / "verifiers-cache"
    monkeypatch.setattr(vf_subprocess, "CACHE_DIR", cache)
    monkeypatch.setenv(KEY_VAR, "local")
    TrackedSandbox.opened.clear()
    yield cache
    assert all(box.was_closed for box in TrackedSandbox.opened), "a rollout left its sandbox open"
    left = list((cache / "runtimes" / "subprocess").glob("*")) if cache.exists() else []
    assert not left, f"verifiers left rollout folders behind: {left}"


def _context(server: ScriptedPolicyServer) -> Any:
    client = vf.EvalClientConfig(base_url=server.base_url, api_key_var=KEY_VAR)
    return vf.ModelContext(model="scripted", client=client)


def _play(env: Any, server: ScriptedPolicyServer, rollouts: int = 1) -> list[Any]:
    """Every row of the env's taskset, ``rollouts`` times each at once; the traces in row order.

    Every sandbox must be closed when its rollout returns (by the rollout, not later by garbage collection).
    """

    async def run() -> list[Any]:
        tasks = list(env.taskset)
        async with env.serving():
            episodes = await asyncio.gather(
                *(env.run_episode(task, _context(server)) for task in tasks for _ in range(rollouts))
            )
            assert all(box.was_closed for box in TrackedSandbox.opened), "a rollout returned with its sandbox open"
        return [trace for episode in episodes for trace in episode.traces]

    return asyncio.run(run())


def _ours(
    make_env: Any, level: str, seed: int, actions: list[dict], max_steps: int = 50, sandbox: str = "local"
) -> tuple[float, dict]:
    """The reward and final info AsiBenchEnv gives for these actions, then submit (or truncation)."""
    env = make_env(TASK, level=level, max_steps=max_steps, sandbox=sandbox)
    env.reset(seed=seed)
    for action in [*actions, SUBMIT]:
        _obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return reward, info
    raise AssertionError("submit did not end the episode")


# ------------------------------------------------------------------------------------------ the rows


def test_rows_name_the_instance_and_never_carry_a_reference():
    env = load_environment(tasks=TASK, levels="b3,B1", seeds=[0, 1], max_turns=7)
    assert isinstance(env, AsiBenchVerifiersEnv) and isinstance(env, vf.Env)
    rows = [task.data for task in env.taskset]
    assert [(r.level, r.seed) for r in rows] == [("B3", 0), ("B3", 1), ("B1", 0), ("B1", 1)]
    assert all(isinstance(r, AsiBenchTaskData) and r.task_id == TASK for r in rows)
    assert [task.key for task in env.taskset][0] == f"{TASK}__b3__seed0"
    assert set(AsiBenchTaskData.model_fields) - set(vf.TaskData.model_fields) == {
        "task_id",
        "level",
        "seed",
        "tasks_dir",
        "instances_dir",
    }
    dumped = json.dumps([r.model_dump(mode="json") for r in rows])
    assert "reference" not in dumped and "solution" not in dumped and "answer" not in dumped
    harness = env.config.agent.harness
    assert harness.max_turns == 7 and harness.sandbox == "local"
    assert isinstance(env.config.agent.runtime, vf.SubprocessConfig)  # no remote verifiers sandbox
    every = load_environment(tasks="all", levels=["B4"], seeds=3)
    assert len(list(every.taskset)) == len(builtin_registry())


def test_bad_rows_fail_with_the_reason():
    with pytest.raises(ValueError, match="levels must be among"):
        load_environment(tasks=TASK, levels="B9")
    with pytest.raises(UnknownTaskError, match="unknown task 'physics.nope'"):
        list(load_environment(tasks="physics.nope").taskset)


def test_the_plugin_id_resolves_as_vf_eval_resolves_it():
    config = vf.resolve_env_config({"taskset": {"id": PLUGIN_ID, "tasks": [TASK], "seeds": [2]}})
    env = vf.load_environment(config)
    assert isinstance(env, AsiBenchVerifiersEnv)
    assert isinstance(env._harnesses["agent"], AsiBenchHarness)  # the taskset's own harness by default
    assert [(t.data.task_id, t.data.seed) for t in env.taskset] == [(TASK, 2)]


# ------------------------------------------------------------------------------------ full rollouts


@pytest.mark.slow
@pytest.mark.parametrize(("level", "seed"), [("B3", 0), ("B1", 1)])
def test_rewards_equal_our_scores_for_the_same_tool_calls(make_env, vf_cache: Path, level: str, seed: int):
    env = load_environment(tasks=TASK, levels=level, seeds=seed, sandbox="vf-tracked")
    with ScriptedPolicyServer(SKEWED, plans=("solve", "submit")) as server:
        traces = _play(env, server, rollouts=2)
    ours_skewed, info = _ours(make_env, level, seed, SKEWED)
    ours_submit, _ = _ours(make_env, level, seed, [])
    assert 0.0 < ours_skewed < 1.0 and ours_submit == 0.0  # a partial score: the comparison means something
    assert sorted(t.reward for t in traces) == sorted([ours_skewed, ours_submit])
    solved = max(traces, key=lambda t: t.reward)
    assert solved.ok and solved.rewards["asibench_score"].score == ours_skewed == info["final_score"] / 100
    assert solved.state.status == "scored" and solved.state.end_reason == "submit"
    assert solved.state.steps == len(SKEWED) + 1 == solved.metrics["asibench_steps"]
    assert solved.info["asibench"]["final_score"] == info["final_score"]  # the serialized record has it too
    # the model saw the env's prompt and the six tools in the OpenAI format, and each call's result
    first = next(body for body in server.requests if len(body["messages"]) == 2)
    tools = make_env(TASK).tool_specs("openai")
    assert first["tools"] == tools and [t["function"]["name"] for t in tools] == [
        "bash",
        "python",
        "read_file",
        "write_file",
        "list_files",
        "submit",
    ]
    assert first["messages"][0]["role"] == "system" and "# Workspace" in first["messages"][1]["content"]
    assert TASK not in json.dumps(first["messages"])  # the model sees the anonymous id only
    tool_messages = [m.content for m in solved.messages if m.role == "tool"]
    assert tool_messages[0].startswith("Wrote") and tool_messages[1].startswith("[exit code 0]")
    assert len(TrackedSandbox.opened) == 2


@pytest.mark.slow
def test_a_model_that_never_submits_is_truncated_at_max_turns_and_scored(make_env, vf_cache: Path):
    turns = len(ACTIONS) + 2
    env = load_environment(tasks=TASK, levels="B3", seeds=0, sandbox="vf-tracked", max_turns=turns)
    with ScriptedPolicyServer(ACTIONS, plans=("stall",)) as server:
        (trace,) = _play(env, server)
    stalled = [{"tool": "read_file", "arguments": {"path": STALL_PATH}}] * 2
    ours, info = _ours(make_env, "B3", 0, [*ACTIONS, *stalled], max_steps=turns)
    assert info["end_reason"] == "max_steps" and info["status"] == "scored" and ours == 1.0
    assert trace.ok and trace.reward == ours and trace.state.end_reason == "max_steps"
    assert trace.stop_condition == "max_turns" and trace.is_truncated  # verifiers' own truncation mark
    assert trace.num_turns == turns == trace.state.steps
    errors = [m.content for m in trace.messages if m.role == "tool"][len(ACTIONS) :]
    assert len(errors) == 1 and errors[0] == f"[error] no such file or folder: {STALL_PATH}"  # a tool message


@pytest.mark.slow
def test_an_infrastructure_failure_is_a_rollout_error_not_a_zero(vf_cache: Path):
    env = load_environment(tasks=TASK, seeds=0, sandbox="vf-tracked", sandbox_options={"fail_exec": True})
    with ScriptedPolicyServer(ACTIONS) as server:
        (trace,) = _play(env, server)
    assert not trace.ok and trace.stop_condition == "sandbox_error"
    assert trace.errors[-1].type == "SandboxError" and "scripted sandbox failure" in trace.errors[-1].message
    assert trace.rewards == {}  # never scored: no asibench_score of 0
    assert trace.state.status == "infra_error" and trace.info["asibench"]["status"] == "infra_error"
    assert TrackedSandbox.opened and TrackedSandbox.opened[0].was_closed


@pytest.mark.slow
def test_a_provider_error_fails_the_rollout_and_closes_the_sandbox(vf_cache: Path):
    env = load_environment(tasks=TASK, seeds=0, sandbox="vf-tracked")
    with ScriptedPolicyServer(ACTIONS, faults=[("error", 400)]) as server:
        (trace,) = _play(env, server)
    assert not trace.ok and trace.errors[-1].type == "ProviderError" and trace.rewards == {}
    assert trace.state.status == "unfinished"  # the episode never ended: nothing was scored
    assert len(TrackedSandbox.opened) == 1 and TrackedSandbox.opened[0].was_closed


@pytest.mark.slow
def test_vf_eval_runs_the_plugin_id_from_the_command_line(tmp_path: Path, private_cache: Path):
    with ScriptedPolicyServer(ACTIONS) as server:
        env = cli_env(tmp_path, ASIBENCH_ENV_CACHE=str(private_cache), HOME=str(tmp_path / "home"))
        env[KEY_VAR] = "local"
        vf_eval = Path(sys.executable).with_name("vf-eval")
        result = subprocess.run(
            [
                str(vf_eval),
                PLUGIN_ID,
                "--env.taskset.tasks",
                json.dumps([TASK]),
                "--env.taskset.seeds",
                "[0, 1]",
                "--env.agent.harness.max-turns",  # the harness's fields take no --env.agent.harness.id
                "12",
                "-m",
                "scripted",
                "--client.base-url",
                server.base_url,
                "--client.api-key-var",
                KEY_VAR,
                "--no-push",
                "--no-rich",
                "-o",
                str(tmp_path / "out"),
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    (traces_file,) = (tmp_path / "out").glob("*/traces.jsonl")
    traces = [t for line in traces_file.read_text().splitlines() for t in json.loads(line)["traces"]]
    assert sorted(t["task"]["data"]["seed"] for t in traces) == [0, 1]
    assert all(t["ok"] and t["rewards"]["asibench_score"]["score"] == 1.0 for t in traces)
    assert all(t["info"]["asibench"]["status"] == "scored" for t in traces)
    assert all(t["agent"]["config"]["harness"]["max_turns"] == 12 for t in traces)
    assert not list((tmp_path / "home").glob(".cache/verifiers/runtimes/subprocess/*"))


@pytest.mark.slow
def test_a_rollout_cut_by_the_verifiers_deadline_closes_its_sandbox_and_is_not_scored(vf_cache: Path):
    env = load_environment(tasks=TASK, seeds=0, sandbox="vf-tracked", agent={"timeout": {"rollout": 0.01}})
    with ScriptedPolicyServer(ACTIONS) as server:
        (trace,) = _play(env, server)  # cut during the reset, whose sandbox _play checks is closed
    assert trace.stop_condition == "agent_timeout" and trace.is_timeout and not trace.ok
    assert trace.rewards == {"asibench_score": None}  # scoring ran and refused: no reward, not a 0
    assert trace.errors[-1].type == "TaskError" and "before its ASI-Bench episode ended" in trace.errors[-1].message
    assert len(TrackedSandbox.opened) == 1


@pytest.mark.slow
def test_a_task_folder_outside_the_package_plays_through_tasks_dir(make_env, vf_cache: Path, fixture_tasks_dir):
    solve = [{"tool": "python", "arguments": {"code": DEMO_SOLVE}}]
    env = load_environment(tasks="demo.line_fit", seeds=[3], tasks_dir=str(fixture_tasks_dir), sandbox="vf-tracked")
    (row,) = [task.data for task in env.taskset]
    assert row.tasks_dir == [str(fixture_tasks_dir.resolve())] and row.instances_dir == []
    with ScriptedPolicyServer(solve) as server:
        (trace,) = _play(env, server)
    demo = make_env("demo.line_fit")
    demo.reset(seed=3)
    demo.step(solve[0])
    ours = demo.step(SUBMIT)[1]
    assert trace.ok and trace.reward == ours and ours > 0.5


def test_rollouts_run_in_the_docker_sandbox(make_env, vf_cache: Path, docker_client):
    env = load_environment(tasks=TASK, levels="B2", seeds=4, sandbox="docker")
    with ScriptedPolicyServer(SKEWED) as server:
        (trace,) = _play(env, server)
    ours, info = _ours(make_env, "B2", 4, SKEWED, sandbox="docker")
    assert info["sandbox"]["level"] == "container"
    assert trace.ok and trace.reward == ours and 0.0 < ours < 1.0
