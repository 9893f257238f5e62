"""TRL's environment class, driven the way TRL 1.16.0's GRPOTrainer drives ``environment_factory`` classes.

What ``trl/trainer/grpo_trainer.py`` does, and these tests repeat without torch: it calls the factory with
no arguments; lists the tools with ``inspect.getmembers(type(env), inspect.isfunction)`` minus ``reset``,
``get_reward`` and private names; renders them into the prompt through the chat template (transformers
turns each method into a schema with ``get_json_schema``); calls ``env.reset(**row)`` and appends the
returned text to the prompt's last message; calls each parsed tool call as ``method(**arguments)`` and
sends ``str(result)`` back as a ``tool`` message; calls ``get_reward()`` once per rollout.
"""

from __future__ import annotations

import gc
import inspect
import json
import pickle
from pathlib import Path
from typing import Any

import datasets
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from transformers.utils import get_json_schema

from asibench_env.agents.oracle import OracleAgent
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.envs.tools import tool_specs
from asibench_env.integrations.trl import SYSTEM_PROMPT, AsiBenchToolEnv, build_dataset, dataset_rows
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry, UnknownTaskError

TASK = "computer_science.queue_service_rates"  # the fast built-in task
TOOLS = ["bash", "list_files", "python", "read_file", "submit", "write_file"]
OFFICIAL_LIKE = Path(__file__).parent / "fixtures" / "official_like" / "tasks"


# ------------------------------------------------------------------ TRL's loop, as GRPOTrainer runs it
def trl_tools(env: Any) -> dict[str, Any]:
    """The tools GRPOTrainer finds on an environment instance (its listing in __init__ and per batch)."""
    return {
        name: getattr(env, name)
        for name, _ in inspect.getmembers(type(env), predicate=inspect.isfunction)
        if name not in ("reset", "get_reward") and not name.startswith("_")
    }


def trl_prompt(row: dict[str, Any], observation: str | None) -> list[dict[str, Any]]:
    """The prompt GRPOTrainer generates from: reset's text appended to the row prompt's last message."""
    prompt = row["prompt"]
    if observation is None:
        return prompt
    return prompt[:-1] + [{**prompt[-1], "content": prompt[-1]["content"] + observation}]


def model_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call as GRPOTrainer gets it from the model's completion: JSON text parsed into a dict."""
    return {"type": "function", "function": {"name": name, "arguments": json.loads(json.dumps(arguments))}}


def run_tool_call(env: Any, call: dict[str, Any]) -> dict[str, Any]:
    """GRPOTrainer's execution of one parsed tool call: the tool message it appends (no exception expected)."""
    name = call["function"]["name"]
    result = trl_tools(env)[name](**call["function"]["arguments"])
    assert isinstance(result, str)
    return {"role": "tool", "name": name, "content": str(result)}


@pytest.fixture
def factory(registry: TaskRegistry, instance_cache: InstanceCache):
    """``AsiBenchToolEnv.factory`` on the test session's registry and cache; every instance closed after."""
    made: list[AsiBenchToolEnv] = []
    build = AsiBenchToolEnv.factory(registry=registry, instance_cache=instance_cache)

    def make() -> AsiBenchToolEnv:
        env = build()
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


def oracle_reward(registry: TaskRegistry, instance_cache: InstanceCache, level: str, seed: int) -> float:
    env = AsiBenchEnv(TASK, registry=registry, instance_cache=instance_cache)
    try:
        result = run_episode(env, OracleAgent(registry), EpisodeSpec(TASK, level, seed))
    finally:
        env.close()
    assert result.status == "scored" and result.final_score is not None and result.final_score > 90
    return result.final_score / 100


# ------------------------------------------------------------------ the tools TRL sees
def test_trl_finds_exactly_the_six_tools_and_the_protocol_methods():
    env = AsiBenchToolEnv()
    assert sorted(trl_tools(env)) == TOOLS
    functions = {name for name, _ in inspect.getmembers(AsiBenchToolEnv, predicate=inspect.isfunction)}
    assert {"reset", "get_reward"} <= functions and "close" not in functions and "factory" not in functions
    assert callable(env.close) and env.env is None and env.result is None


def test_every_tool_schema_from_get_json_schema_matches_the_env_tools():
    env = AsiBenchToolEnv()
    specs = {spec["name"]: spec for spec in tool_specs("json_schema")}
    for name, method in trl_tools(env).items():
        function = get_json_schema(method)["function"]
        spec = specs[name]
        assert function["name"] == name
        assert function["description"] == spec["description"]
        params, expected = function["parameters"], spec["parameters"]
        assert list(params["properties"]) == list(expected["properties"]), name
        for arg, schema in params["properties"].items():
            assert schema["type"] == expected["properties"][arg]["type"], (name, arg)
            assert schema["description"] == expected["properties"][arg]["description"], (name, arg)
        assert sorted(params.get("required", [])) == sorted(expected.get("required", [])), name
    bash = get_json_schema(env.bash)["function"]["parameters"]
    assert bash["required"] == ["command"] and bash["properties"]["timeout"]["nullable"] is True
    assert get_json_schema(env.submit)["function"]["parameters"]["properties"] == {}


# ------------------------------------------------------------------ the dataset
def test_dataset_rows_hold_the_prompt_and_what_reset_needs(registry: TaskRegistry):
    rows = dataset_rows([TASK, "demo.line_fit"], "b1,B3", range(2), registry=registry)
    assert len(rows) == 8
    assert {(r["task_id"], r["level"], r["seed"]) for r in rows} == {
        (t, lv, s) for t in (TASK, "demo.line_fit") for lv in ("B1", "B3") for s in (0, 1)
    }
    for row in rows:
        assert set(row) == {"prompt", "task_id", "level", "seed"}
        assert row["prompt"] == [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": ""}]
    assert dataset_rows(TASK, system_prompt=None)[0]["prompt"] == [{"role": "user", "content": ""}]
    assert {r["task_id"] for r in dataset_rows("all")} == set(TaskRegistry().ids())

    dataset = build_dataset(f"{TASK},demo.line_fit", ["B3"], [0, 5], registry=registry)
    assert isinstance(dataset, datasets.Dataset)
    assert dataset.column_names == ["prompt", "task_id", "level", "seed"]
    assert dataset.to_list() == dataset_rows([TASK, "demo.line_fit"], ["B3"], [0, 5], registry=registry)


def test_dataset_rows_refuse_what_cannot_run():
    with pytest.raises(UnknownTaskError, match="unknown task"):
        dataset_rows(["physics.nope"])
    with pytest.raises(ValueError, match="level must be one of"):
        dataset_rows([TASK], ["B7"])
    with pytest.raises(ValueError, match="no rows"):
        dataset_rows([TASK], seeds=[])
    official = TaskRegistry([OFFICIAL_LIKE], include_builtin=False)
    with pytest.raises(ValueError, match="contract.mean_estimate cannot run here"):
        dataset_rows(["contract.mean_estimate"], registry=official)
    assert {r["task_id"] for r in dataset_rows("all", registry=official)} == {"sample.noisy_mean"}


def test_the_prompt_renders_through_a_chat_template_with_tools(factory):
    tokenizer = _tool_tokenizer()
    env = factory()
    row = build_dataset([TASK], ["B2"], [0]).to_list()[0]
    observation = env.reset(**row)
    prompt = trl_prompt(row, observation)
    call = model_call("list_files", {"path": "data"})
    result = run_tool_call(env, call)
    assert "data/request_log.csv" in result["content"]
    conversation = [*prompt, {"role": "assistant", "content": "", "tool_calls": [call]}, result]
    tools = list(trl_tools(env).values())  # GRPOTrainer passes the bound methods, as here

    text = tokenizer.apply_chat_template(conversation, tools=tools, tokenize=False, add_generation_prompt=True)
    for method in tools:
        assert json.dumps(get_json_schema(method)) in text
    assert SYSTEM_PROMPT in text and "# Workspace" in text and "request_log.csv" in text
    assert '{"name": "list_files", "arguments": {"path": "data"}}' in text
    assert f"<tool_response>\n{result['content']}\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")
    ids = tokenizer.apply_chat_template(conversation, tools=tools, tokenize=True, return_dict=True)["input_ids"]
    assert len(ids) > 100


# ------------------------------------------------------------------ rollouts
def test_the_oracle_solves_a_built_in_task_through_trls_loop(factory, registry, instance_cache):
    probe = factory()  # GRPOTrainer builds one instance up front to list the tools; it joins the pool
    assert sorted(trl_tools(probe)) == TOOLS
    rows = build_dataset([TASK], ["B3"], [3], registry=registry).to_list()
    row = rows[0]
    observation = probe.reset(**row)
    assert observation.startswith("# ") and "# Workspace" in observation and "reference" not in observation
    assert probe.reset_info["task_id"] == TASK and probe.reset_info["seed"] == 3
    workspace = probe.env.sandbox.workspace
    messages = trl_prompt(row, observation)
    for action in OracleAgent(registry).solve_actions(TASK):
        call = model_call(action["tool"], action["arguments"])
        messages += [{"role": "assistant", "content": "", "tool_calls": [call]}, run_tool_call(probe, call)]
    assert "[exit code 0]" in messages[-1]["content"]
    assert run_tool_call(probe, model_call("submit", {}))["content"].startswith("Submitted.")

    reward = probe.get_reward()
    assert reward == pytest.approx(oracle_reward(registry, instance_cache, "B3", 3), abs=1e-9)
    assert probe.get_reward() == reward and not probe.auto_submitted
    assert probe.result is not None and probe.result.status == "scored" and probe.result.end_reason == "submit"
    assert not workspace.exists()  # scored: the sandbox is closed
    after = run_tool_call(probe, model_call("bash", {"command": "ls"}))["content"]
    assert after.startswith("[episode over]")


def test_a_rollout_that_never_submits_is_scored_at_get_reward(factory, registry, instance_cache):
    env = factory()
    env.reset(**dataset_rows([TASK], ["B1"], [4], registry=registry)[0])
    for action in OracleAgent(registry).solve_actions(TASK):
        run_tool_call(env, model_call(action["tool"], action["arguments"]))
    workspace = env.env.sandbox.workspace
    # GRPOTrainer runs the user's reward functions before the env's get_reward: one that reads the score
    # breakdown calls get_reward first (the pattern of docs/training/trl.md), which scores the rollout once.
    assert hard_gates(environments=[env]) == [1.0] and env.auto_submitted
    assert env.get_reward() == pytest.approx(oracle_reward(registry, instance_cache, "B1", 4), abs=1e-9)
    assert env.result.status == "scored" and env.result.steps == 3 and not workspace.exists()


def hard_gates(environments: list[AsiBenchToolEnv], **kwargs: Any) -> list[float | None]:
    """A reward function on one dimension of the score breakdown, as docs/training/trl.md writes it."""
    rewards: list[float | None] = []
    for env in environments:
        scored = env.get_reward() is not None  # scores the rollout when the model never submitted
        rewards.append(float(env.result.hard_gates_passed) if scored else None)
    return rewards


def test_score_unsubmitted_false_gives_zero_and_closes(registry, instance_cache):
    with AsiBenchToolEnv(registry=registry, instance_cache=instance_cache, score_unsubmitted=False) as env:
        env.reset(task_id="demo.line_fit", level="B3", seed=0)
        env.python("import numpy as np")
        workspace = env.env.sandbox.workspace
        assert env.get_reward() == 0.0 and env.result is None and not workspace.exists()


def test_bad_arguments_and_calls_out_of_turn_come_back_as_text(factory):
    env = factory()
    assert env.bash("ls").startswith("[error] no episode is running")
    assert env.get_reward() is None
    env.reset(task_id="demo.line_fit", level="B3", seed=0, prompt=[{"role": "user", "content": "Go."}])
    answers = {
        "escape": env.read_file("../../etc/passwd"),
        "missing": env.read_file("nope.txt"),
        "folder": env.read_file("data"),
        "negative timeout": env.bash("ls", timeout=-1),
        "not text": run_tool_call(env, model_call("python", {"code": 42}))["content"],
        "absolute write": env.write_file("/etc/x", "y"),
    }
    assert answers["escape"].startswith("[error]")
    assert answers["missing"] == "[error] no such file or folder: nope.txt"
    assert answers["folder"].startswith("[error] data is a folder")
    assert answers["negative timeout"].startswith("[invalid action]") and "timeout" in answers["negative timeout"]
    assert answers["not text"].startswith("[invalid action]") and "code" in answers["not text"]
    assert answers["absolute write"].startswith("[error]")
    assert env.list_files().startswith("data/") and env.env.sandbox is not None  # the episode goes on


def test_the_env_step_budget_ends_the_episode_and_scores_it(registry, instance_cache):
    with AsiBenchToolEnv(registry=registry, instance_cache=instance_cache, max_steps=2) as env:
        env.reset(task_id="demo.line_fit", level="B4", seed=0)
        env.list_files()
        assert env.python("print(1)").endswith("[step budget used up: outputs submitted]")
        assert env.bash("ls").startswith("[episode over] the episode ended (max_steps)")
        assert env.get_reward() == 0.0 and env.result.status == "scored" and not env.auto_submitted


def test_reset_separates_the_observation_from_a_prompt_with_text(factory):
    env = factory()
    observation = env.reset(task_id="demo.line_fit", level="B2", seed=1, prompt=[{"role": "user", "content": "Go."}])
    assert observation.startswith("\n\n# ")
    assert env.reset(task_id="demo.line_fit", level="B2", seed=1).startswith("# ")


def test_sandboxes_are_closed_on_reset_close_and_garbage_collection(factory, registry, instance_cache):
    env = factory()
    env.reset(task_id="demo.line_fit", seed=0)
    first = env.env.sandbox.workspace
    env.reset(task_id=TASK, seed=0)  # another task: the previous env is closed, a new one started
    assert not first.exists() and env.env.task.id == TASK
    second = env.env.sandbox.workspace
    env.reset(task_id=TASK, seed=1)  # the same task: the env is reused, the sandbox replaced
    assert not second.exists()
    third = env.env.sandbox.workspace
    env.close()
    assert not third.exists() and env.env is None
    assert env.bash("ls").startswith("[error] no episode is running")
    env.reset(task_id="demo.line_fit", seed=0)  # a pooled instance may be reset again after close
    env.submit()
    outputs = Path(env.result.outputs_dir)
    assert outputs.is_dir()
    env.close()
    assert not outputs.exists()  # the collected outputs go with the env

    dropped = AsiBenchToolEnv(registry=registry, instance_cache=instance_cache)
    dropped.reset(task_id="demo.line_fit", seed=2)
    workspace = dropped.env.sandbox.workspace
    del dropped
    gc.collect()
    assert not workspace.exists()


def test_a_reset_that_fails_on_the_infrastructure_is_text_and_unscorable(copy_task, tmp_path):
    task_dir = copy_task()
    (task_dir / "generate_gt.py").write_text("raise SystemExit('generator exploded')\n")
    registry = TaskRegistry([task_dir.parent.parent], include_builtin=False)
    with AsiBenchToolEnv(registry=registry, instance_cache=InstanceCache(tmp_path / "c")) as env:
        observation = env.reset(**dataset_rows(["demo.line_fit"], registry=registry)[0])
        assert observation.startswith("[infrastructure error]") and "generator exploded" in observation
        assert env.bash("ls").startswith("[infrastructure error]")
        assert env.get_reward() is None


def test_options_are_checked_when_the_factory_is_made():
    with pytest.raises(TypeError, match="sets task_id, tools itself"):
        AsiBenchToolEnv(task_id="x", tools=[])
    with pytest.raises(TypeError, match="unknown AsiBenchToolEnv option.*sandbox_optons"):
        AsiBenchToolEnv.factory(sandbox_optons={})
    factory = AsiBenchToolEnv.factory(sandbox="local", max_steps=5, tasks_dir=str(OFFICIAL_LIKE))
    env = pickle.loads(pickle.dumps(factory))()  # TRL's async trainer ships the factory to a worker process
    assert isinstance(env, AsiBenchToolEnv) and env.score_unsubmitted
    with pytest.raises(ValueError, match="needs the row's task_id"):
        env.reset(prompt=[{"role": "user", "content": ""}])


def _tool_tokenizer() -> PreTrainedTokenizerFast:
    """A tiny word-level tokenizer with a Hermes-style chat template that renders tools, tool calls and results."""
    vocab = {"[UNK]": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        chat_template=HERMES_TEMPLATE,
    )


HERMES_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}\n\n{% endif %}"
    "# Tools\n<tools>{% for tool in tools %}\n{{ tool | tojson }}{% endfor %}\n</tools><|im_end|>\n"
    "{%- elif messages[0].role == 'system' %}<|im_start|>system\n{{ messages[0].content }}<|im_end|>\n{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' %}<|im_start|>user\n{{ message.content }}<|im_end|>\n"
    "{%- elif message.role == 'assistant' %}<|im_start|>assistant\n{{ message.content }}"
    "{%- for call in message.tool_calls or [] %}\n<tool_call>\n"
    '{{ {"name": call.function.name, "arguments": call.function.arguments} | tojson }}\n</tool_call>'
    "{%- endfor %}<|im_end|>\n"
    "{%- elif message.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ message.content }}\n"
    "</tool_response><|im_end|>\n"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
