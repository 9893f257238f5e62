"""The SkyRL-gym integration with the real skyrl-gym 0.4.0: rows, registration, and episodes on raw completions.

The env is made the way SkyRL-train's generator makes it: ``skyrl_gym.make(env_class,
env_config=<an OmegaConf section>, extras=<the row's other columns + max_turns>)``, then ``init(prompt)``
and one ``step(completion_text)`` per model turn.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skyrl_gym
from datasets import Dataset
from helpers import DEMO_SOLVE
from omegaconf import DictConfig

from asibench_env.agents.oracle import OracleAgent
from asibench_env.integrations.skyrl_env import (
    ENTRY_POINT,
    AsiBenchSkyRLConfig,
    AsiBenchTextEnv,
    register_asibench,
)
from asibench_env.integrations.skyrl_rows import SkyRLInstance, skyrl_prompt_rows
from asibench_env.sandbox.base import SandboxError
from asibench_env.tasks.instances import InstanceCache, sample_params
from asibench_env.tasks.registry import TaskRegistry, builtin_registry

ORACLE_TASK = "physics.damped_oscillator_fit"
ROW_KEYS = {"data_source", "prompt", "env_class", "reward_spec", "extra_info"}


def hermes(tool: str, arguments: dict[str, Any], thought: str = "Next step.") -> str:
    """A raw completion as a Hermes-style model writes it: some text, then one <tool_call> block."""
    return f"{thought}\n<tool_call>\n{json.dumps({'name': tool, 'arguments': arguments})}\n</tool_call>"


def skyrl_extras(row: dict[str, Any], max_turns: int = 20) -> dict[str, Any]:
    """What SkyRL's PromptDataset and generator hand the env: every column but prompt and env_class, + max_turns."""
    extras = {key: value for key, value in row.items() if key not in ("prompt", "env_class")}
    extras["max_turns"] = max_turns
    return extras


@pytest.fixture
def make_skyrl(registry: TaskRegistry, instance_cache: InstanceCache):
    """``skyrl_gym.make`` on the session's registry and private instance cache; closes every env after the test."""
    register_asibench()
    envs: list[AsiBenchTextEnv] = []

    def factory(row: dict[str, Any], config: dict[str, Any] | None = None, max_turns: int = 20) -> AsiBenchTextEnv:
        env = skyrl_gym.make(
            row["env_class"],
            env_config=DictConfig(config or {}),
            extras=skyrl_extras(row, max_turns),
            registry=registry,
            instance_cache=instance_cache,
        )
        assert isinstance(env, AsiBenchTextEnv)
        envs.append(env)
        return env

    yield factory
    for env in envs:
        env.close()


def assert_closed(sandbox: Any) -> None:
    with pytest.raises(SandboxError):
        sandbox.exec("true")


# ---------------------------------------------------------------------- rows
def test_rows_have_what_skyrl_reads_and_rebuild_the_instance() -> None:
    registry = builtin_registry()
    rows = skyrl_prompt_rows(registry.ids(), ["B1", "b4"], [3, 0, 3], registry=registry, render_prompts=False)
    assert len(rows) == len(registry.ids()) * 2 * 2  # the repeated seed is dropped
    first = rows[0]
    assert [(r["extra_info"]["level"], r["extra_info"]["seed"]) for r in rows[:4]] == [
        ("B1", 0),
        ("B1", 3),
        ("B4", 0),
        ("B4", 3),
    ]  # sorted by task, level and seed, numbered in that order
    assert [r["extra_info"]["index"] for r in rows] == list(range(len(rows)))
    for row in rows:
        assert set(row) == ROW_KEYS
        task = registry.get(row["extra_info"]["task_id"])
        assert row["data_source"] == f"asibench/{task.id}"
        assert row["env_class"] == "asibench"
        assert row["reward_spec"] == {"method": "rule", "ground_truth": None}
        system, user = row["prompt"]
        assert system["role"] == "system" and "<tool_call>" in system["content"] and "submit()" in system["content"]
        level = row["extra_info"]["level"]
        assert user == {"role": "user", "content": task.prompt_template(level).read_text(encoding="utf-8")}
        instance = SkyRLInstance.model_validate(row["extra_info"])
        assert instance.params() == sample_params(task, instance.seed)
        assert instance.reset_options() == {"level": level, "param_mode": "default", "params": instance.params()}
        assert instance.task_version == task.version and instance.source == "generator"
    assert first["extra_info"]["instance_id"].startswith(first["extra_info"]["task_id"] + "__")


def test_rows_carry_no_reference_or_solution(registry: TaskRegistry, instance_cache: InstanceCache) -> None:
    rows = skyrl_prompt_rows(["demo.line_fit"], ["B3"], [0], registry=registry, instance_cache=instance_cache)
    task = registry.get("demo.line_fit")
    lease = instance_cache.acquire(task, json.loads(rows[0]["extra_info"]["params_json"]))
    with lease:
        text = json.dumps(rows)
        reference = lease.ref.reference_dir
        assert reference.is_dir() and any(reference.iterdir())
        for path in reference.rglob("*"):
            assert path.name not in text, f"the reference file name {path.name} leaked into a row"
            for value in np.load(path).ravel():
                assert repr(float(value))[:8] not in text, f"a reference value of {path.name} leaked into a row"
        assert str(instance_cache.root) not in text and "reference/" not in text
        assert task.solution_path.read_text(encoding="utf-8").strip() not in text
    assert set(rows[0]["extra_info"]) == set(SkyRLInstance.model_fields)


def test_rows_refuse_unknown_tasks_levels_and_modes(registry: TaskRegistry) -> None:
    with pytest.raises(KeyError, match="unknown task 'nope'"):
        skyrl_prompt_rows(["nope"], ["B1"], [0], registry=registry)
    with pytest.raises(ValueError, match="level must be one of B1, B2, B3, B4"):
        skyrl_prompt_rows(["demo.line_fit"], ["B9"], [0], registry=registry)
    with pytest.raises(ValueError, match="param_mode"):
        skyrl_prompt_rows(["demo.line_fit"], ["B1"], [0], registry=registry, param_mode="wild")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- registration and config
def test_register_is_idempotent_and_refuses_a_taken_id() -> None:
    register_asibench()
    register_asibench()
    assert skyrl_gym.spec("asibench").entry_point == ENTRY_POINT
    register_asibench("asibench-second")
    try:
        assert skyrl_gym.spec("asibench-second").entry_point == ENTRY_POINT
    finally:
        skyrl_gym.envs.registration.deregister("asibench-second")
    with pytest.raises(ValueError, match="'gsm8k' is already registered to 'skyrl_gym.envs.gsm8k.env:GSM8kEnv'"):
        register_asibench("gsm8k")


def test_config_and_extras_errors_are_clear(registry: TaskRegistry) -> None:
    register_asibench()
    (row,) = skyrl_prompt_rows(["demo.line_fit"], ["B2"], [1], registry=registry, render_prompts=False)
    with pytest.raises(ValueError, match=r"invalid ASI-Bench env_config \(sandbx: Extra inputs are not permitted\)"):
        skyrl_gym.make("asibench", env_config=DictConfig({"sandbx": "docker"}), extras=skyrl_extras(row))
    with pytest.raises(ValueError, match="no extra_info mapping"):
        skyrl_gym.make("asibench", env_config=DictConfig({}), extras={"max_turns": 3})
    with pytest.raises(ValueError, match="extra_info cannot rebuild an instance .*seed"):
        skyrl_gym.make("asibench", env_config={}, extras={"extra_info": {"task_id": "demo.line_fit", "level": "B1"}})
    (judged,) = skyrl_prompt_rows(["demo.judged_note"], ["B1"], [0], registry=registry, render_prompts=False)
    with pytest.raises(ValueError, match="demo.judged_note is scored by a model judge and none is configured"):
        AsiBenchTextEnv({}, skyrl_extras(judged), registry=registry)
    # The generator's max_turns and the config's: the lower applies.
    env = AsiBenchTextEnv(AsiBenchSkyRLConfig(max_turns=7), skyrl_extras(row, max_turns=30), registry=registry)
    assert env.max_turns == env.gym_env.max_steps == 7
    env.close()
    env = AsiBenchTextEnv({"max_turns": 40}, skyrl_extras(row, 12), registry=registry)
    assert env.max_turns == 12
    env.close()


# ---------------------------------------------------------------------- episodes on raw completions
@pytest.mark.slow
def test_oracle_replayed_as_hermes_completions_earns_the_oracle_score(
    make_env, make_skyrl, registry, instance_cache
) -> None:
    # Our oracle on the plain Gymnasium env gives the score to match.
    oracle = OracleAgent(registry=registry)
    gym_env = make_env(ORACLE_TASK, level="B3")
    observation, info = gym_env.reset(seed=0)
    oracle.reset(observation, info)
    done = False
    while not done:
        observation, _, terminated, truncated, info = gym_env.step(oracle.act(observation, info))
        done = terminated or truncated
    assert info["status"] == "scored" and info["final_score"] > 50
    expected = info["final_score"] / 100

    (row,) = skyrl_prompt_rows([ORACLE_TASK], ["B3"], [0], registry=registry, instance_cache=instance_cache)
    assert "{{" not in row["prompt"][1]["content"]  # the instance's rendered prompt, not the template
    assert "{{" in registry.get(ORACLE_TASK).prompt_template("B3").read_text(encoding="utf-8")
    env = make_skyrl(row)
    messages, init_info = env.init(row["prompt"])
    assert init_info["instance_id"] == row["extra_info"]["instance_id"] == info["instance_id"]
    assert messages[0] == row["prompt"][0]  # the row's system message, as given
    assert messages[-1]["role"] == "user" and messages[-1]["content"].startswith(row["prompt"][1]["content"].rstrip())
    assert "# Workspace" in messages[-1]["content"] and "data/" in messages[-1]["content"]
    sandbox = env.gym_env.sandbox
    assert sandbox is not None

    completions = [hermes(a["tool"], a["arguments"]) for a in oracle.solve_actions(ORACLE_TASK)]
    completions.append(hermes("submit", {}, thought="The outputs are written; submitting."))
    outputs = [env.step(text) for text in completions]
    for output in outputs[:-1]:
        assert output["done"] is False and output["reward"] == 0.0
        (message,) = output["observations"]
        assert message["role"] == "user" and message["content"].startswith("<tool_response>\n")
    assert "[exit code 0]" in outputs[1]["observations"][0]["content"]
    last = outputs[-1]
    assert last["done"] is True and last["observations"] == []
    assert last["reward"] == pytest.approx(expected, abs=1e-12)
    meta = last["metadata"]
    assert meta["status"] == "scored" and meta["end_reason"] == "submit"
    assert meta["final_score"] == pytest.approx(info["final_score"], abs=1e-10)
    assert meta["instance_id"] == info["instance_id"] and meta["result"]["score_results"]
    assert env.get_metrics() == {
        "steps": 3,
        "invalid_actions": 0,
        "scored": 1.0,
        "infra_error": 0.0,
        "final_score": meta["final_score"],
    }
    assert_closed(sandbox)
    with pytest.raises(RuntimeError, match="the episode is over"):
        env.step(completions[-1])
    env.close()  # again: harmless


@pytest.mark.slow
def test_malformed_and_prose_completions_are_observations_not_exceptions(make_skyrl, registry, instance_cache) -> None:
    (row,) = skyrl_prompt_rows(["demo.line_fit"], ["B1"], [2], registry=registry, instance_cache=instance_cache)
    env = make_skyrl(row, {"observation_role": "tool"}, max_turns=5)
    env.init(row["prompt"])
    sandbox = env.gym_env.sandbox

    broken = env.step('Let me look.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"\n</tool_call>')
    (message,) = broken["observations"]
    assert message["role"] == "tool"
    assert message["content"].startswith("[invalid action] The <tool_call> block is not valid JSON")
    assert "<tool_call>" in message["content"]  # the observation shows the valid forms
    assert broken["done"] is False and broken["reward"] == 0.0 and broken["metadata"]["tool"] is None

    prose = env.step("The data looks linear, so a least-squares line should fit it well.")
    assert prose["observations"][0]["content"].startswith("[invalid action] No tool call found in the action.")
    assert prose["metadata"]["action_error"].startswith("No tool call found")

    unknown = env.step(hermes("rm_rf", {"path": "/"}))
    assert "Unknown tool 'rm_rf'" in unknown["observations"][0]["content"]

    working = env.step(hermes("list_files", {"path": "data"}))
    assert working["observations"][0]["content"] == "data/x.npy  (1728 bytes)\ndata/y.npy  (1728 bytes)"
    assert working["metadata"]["tool"] == "list_files" and working["metadata"]["action_error"] is None

    # The fifth turn is the generator's max_turns: the episode ends, is scored (nothing written: 0).
    final = env.step("I am not sure what to do.")
    assert final["done"] is True and final["observations"] == [] and final["reward"] == 0.0
    assert final["metadata"]["status"] == "scored" and final["metadata"]["end_reason"] == "max_steps"
    assert env.get_metrics()["invalid_actions"] == 4
    assert_closed(sandbox)


@pytest.mark.slow
def test_close_mid_episode_closes_the_sandbox(make_skyrl, registry, instance_cache) -> None:
    (row,) = skyrl_prompt_rows(["demo.line_fit"], ["B3"], [2], registry=registry, instance_cache=instance_cache)
    env = make_skyrl(row)
    with pytest.raises(RuntimeError, match="call init"):
        env.step(hermes("submit", {}))
    messages, _ = env.init([{"role": "user", "content": "placeholder"}])  # a row without a system message
    assert messages[0]["role"] == "system" and "<tool_call>" in messages[0]["content"]
    assert [m["role"] for m in messages] == ["system", "user"] and "placeholder" not in messages[1]["content"]
    with pytest.raises(RuntimeError, match="init\\(\\) was already called"):
        env.init(row["prompt"])
    sandbox = env.gym_env.sandbox
    env.step(hermes("bash", {"command": "echo hi > note.txt"}))
    env.close()
    assert_closed(sandbox)
    assert env.get_metrics()["scored"] == 0.0


@pytest.mark.slow
def test_rows_read_back_from_parquet_the_way_skyrl_loads_them(
    tmp_path: Path, make_skyrl, registry, instance_cache
) -> None:
    rows = skyrl_prompt_rows(["demo.line_fit"], ["B2", "B4"], [0, 1], registry=registry, instance_cache=instance_cache)
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    dataset = Dataset.from_parquet(str(path), cache_dir=str(tmp_path / "hf"))
    assert len(dataset) == 4 and set(dataset.column_names) == ROW_KEYS
    # SkyRL's PromptDataset.__getitem__: pop prompt and env_class, the rest are the env's extras.
    item = dict(dataset[3])
    prompt, env_class = item.pop("prompt"), item.pop("env_class")
    assert env_class == "asibench" and item["reward_spec"] == {"method": "rule", "ground_truth": None}
    assert item["extra_info"] == rows[3]["extra_info"]
    env = make_skyrl({**item, "prompt": prompt, "env_class": env_class}, max_turns=3)
    messages, info = env.init(prompt)
    assert (info["level"], info["seed"]) == ("B4", 1) and messages[0] == rows[3]["prompt"][0]
    output = env.step(hermes("read_file", {"path": "task_info.json"}))
    assert '"prompt_level": "b4"' in output["observations"][0]["content"]


def test_docker_sandbox_from_the_skyrl_config(docker_client, make_skyrl, registry, instance_cache) -> None:
    """``environment.skyrl_gym.asibench.sandbox=docker``: the episode runs in a container, closed at the end."""
    (row,) = skyrl_prompt_rows(["demo.line_fit"], ["B3"], [4], registry=registry, instance_cache=instance_cache)
    env = make_skyrl(row, {"sandbox": "docker", "sandbox_options": {"cpus": 1.0}})
    env.init(row["prompt"])
    sandbox = env.gym_env.sandbox
    assert type(sandbox).__name__ == "DockerSandbox"
    solved = env.step(hermes("python", {"code": DEMO_SOLVE}))
    assert solved["observations"][0]["content"].endswith("[exit code 0]\n</tool_response>")
    last = env.step(hermes("submit", {}))
    assert last["done"] and last["metadata"]["status"] == "scored"
    assert last["reward"] == pytest.approx(last["metadata"]["final_score"] / 100) and last["reward"] > 0.9
    assert last["metadata"]["result"]["sandbox"]["backend"] == "docker"
    assert_closed(sandbox)


@pytest.mark.slow
def test_a_lost_sandbox_ends_the_episode_as_an_infra_error(make_skyrl, registry, instance_cache) -> None:
    (row,) = skyrl_prompt_rows(["demo.line_fit"], ["B3"], [5], registry=registry, instance_cache=instance_cache)
    env = make_skyrl(row)
    env.init(row["prompt"])
    sandbox = env.gym_env.sandbox
    assert sandbox is not None
    sandbox.close()  # the sandbox is gone under the episode, as when its processes or container die
    out = env.step(hermes("bash", {"command": "ls"}))
    assert out["done"] is True and out["reward"] == 0.0 and out["observations"] == []
    assert out["metadata"]["status"] == "infra_error" and out["metadata"]["final_score"] is None
    assert out["metadata"]["final_observation"].startswith("[infrastructure error]")
    metrics = env.get_metrics()
    assert metrics["infra_error"] == 1.0 and metrics["scored"] == 0.0 and "final_score" not in metrics


OFFICIAL_LIKE = Path(__file__).parent / "fixtures" / "official_like"
MEAN_SOLVE = (
    "import json\n"
    "values = [float(v) for v in open('data/values.csv').read().split()]\n"
    "json.dump({'mean': sum(values) / len(values)}, open('mean.json', 'w'))\n"
)


@pytest.mark.slow
def test_downloaded_instances_from_the_config_folders() -> None:
    """A task with downloaded instances only: rows name the instance, the env finds it through env_config."""
    folders = {"tasks_dir": [str(OFFICIAL_LIKE / "tasks")], "instances_dir": [str(OFFICIAL_LIKE / "instances")]}
    registry = TaskRegistry(folders["tasks_dir"], folders["instances_dir"])
    rows = skyrl_prompt_rows(["contract.mean_estimate"], ["B1"], [0, 1, 2], registry=registry)
    assert [row["extra_info"]["instance_id"] for row in rows] == [
        "contract.mean_estimate__seed1",
        "contract.mean_estimate__seed2",
    ]
    first = rows[0]
    assert first["extra_info"]["source"] == "instances" and first["extra_info"]["params_json"] is None
    assert first["extra_info"]["seed"] is None  # seeds apply to generated instances only, as in a run
    assert first["prompt"][1]["content"].startswith("# Mean (B1)")
    register_asibench()
    env = skyrl_gym.make("asibench", env_config=DictConfig(folders), extras=skyrl_extras(first, max_turns=4))
    try:
        messages, info = env.init(first["prompt"])
        assert info["instance_id"] == "contract.mean_estimate__seed1" and info["seed"] is None
        assert messages[-1]["content"].startswith("# Mean (B1)") and "data/values.csv" in messages[-1]["content"]
        env.step(hermes("python", {"code": MEAN_SOLVE}))
        out = env.step(hermes("submit", {}))
        assert out["metadata"]["status"] == "scored" and out["metadata"]["result"]["gates_passed"]
        assert out["reward"] == pytest.approx(out["metadata"]["final_score"] / 100)
    finally:
        env.close()


@pytest.mark.slow
def test_an_instance_without_reference_is_refused_at_init(tmp_path: Path) -> None:
    """A private-split instance (no reference/ here) cannot give a reward: init says so and closes its sandbox."""
    instances = tmp_path / "instances"
    shutil.copytree(OFFICIAL_LIKE / "instances" / "contract.mean_estimate__seed1", instances / "private__seed1")
    shutil.rmtree(instances / "private__seed1" / "reference")
    folders = {"tasks_dir": [str(OFFICIAL_LIKE / "tasks")], "instances_dir": [str(instances)]}
    (row,) = skyrl_prompt_rows(["contract.mean_estimate"], ["B2"], [0], registry=TaskRegistry(*folders.values()))
    register_asibench()
    env = skyrl_gym.make("asibench", env_config=folders, extras=skyrl_extras(row))
    with pytest.raises(ValueError, match="has no reference files here \\(private split\\)"):
        env.init(row["prompt"])
    assert env.gym_env.sandbox is None
    env.close()
