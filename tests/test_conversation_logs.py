"""Trajectory schema 3: the logs hold enough to rebuild every conversation exactly, whatever the provider.

The real openai and anthropic SDKs talk to scripted servers on 127.0.0.1; what the server received is
compared with what the Parquet rows rebuild.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_model_server import FakeModelServer, anthropic_turn, text_block, tool_turn, tool_use
from helpers import DEMO_SOLVE

from asibench_env.agents.anthropic_agent import AnthropicAgent
from asibench_env.agents.openai_agent import OpenAIChatAgent
from asibench_env.agents.oracle import OracleAgent
from asibench_env.agents.prompts import SYSTEM_PROMPT
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.trajectories import TrajectoryLogger, agent_messages, chat_messages, chat_tools, load
from asibench_env.trajectories.conversation import model_turns
from asibench_env.trajectories.schema import STEPS_SCHEMA

SPEC = EpisodeSpec("demo.line_fit", "B3", 0)
ROLES = ["assistant", "tool", "tool", "assistant", "tool", "assistant"]
"""The roles after system and prompt: a turn of two tool calls, one of one, and submit."""


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")


def _rows(run_dir: Path) -> tuple[dict, list[dict]]:
    (episode,) = load(run_dir, "episodes").to_table().to_pylist()
    steps = sorted(load(run_dir).to_table().to_pylist(), key=lambda s: s["step_index"])
    return episode, steps


def _two_calls_with_reasoning() -> dict:
    turn = tool_turn("list_files", {"path": "data"}, "call_a", tokens=(120, 30))
    message = turn["choices"][0]["message"]
    message["content"] = "Let me look around."
    message["reasoning_content"] = "The data folder should hold x and y."
    message["tool_calls"].append(
        {"id": "call_b", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "README.md"}'}}
    )
    return turn


def test_openai_turns_rebuild_exactly_what_the_server_received(make_env, tmp_path: Path):
    script = [
        _two_calls_with_reasoning(),
        tool_turn("python", {"code": DEMO_SOLVE}, "call_c", tokens=(400, 50)),
        tool_turn("submit", {}, "call_d", tokens=(500, 5)),
    ]
    with FakeModelServer(script) as server:
        agent = OpenAIChatAgent("scripted", base_url=server.base_url, max_retries=1, require_price=False)
        env = TrajectoryLogger(make_env(), tmp_path)
        result = run_episode(env, agent, SPEC)
    assert result.status == "scored"
    episode, steps = _rows(tmp_path)

    assert episode["prompt"] == server.requests[0]["messages"][1]["content"]
    assert episode["system_prompt"] == SYSTEM_PROMPT == server.requests[0]["messages"][0]["content"]
    assert json.loads(episode["tools_json"]) == server.requests[0]["tools"]
    assert episode["tool_format"] == "openai" and episode["message_format"] == "openai_chat"

    # One model turn made two tool calls: both steps carry its id, only the first its record and tokens.
    assert [s["turn_id"] for s in steps] == [0, 0, 1, 2]
    assert [s["tool_call_id"] for s in steps] == ["call_a", "call_b", "call_c", "call_d"]
    assert [s["input_tokens"] for s in steps] == [120, None, 400, 500]
    assert steps[1]["assistant_message_json"] is None and steps[1]["request_messages_json"] is None
    assert steps[0]["assistant_text"] == "Let me look around."
    assert steps[0]["reasoning"] == "The data folder should hold x and y."
    assert steps[0]["finish_reason"] == "tool_calls" and not any(s["request_full"] for s in steps if s["turn_id"])

    # Every request is the previous request, the previous reply and the logged delta.
    turns = model_turns(steps)
    assert len(turns) == len(server.requests) == 3
    for turn, request in zip(turns, server.requests, strict=True):
        prior = agent_messages(turns[: turn["turn_id"]])
        assert prior + json.loads(turn["request_messages_json"]) == request["messages"]
    last = server.requests[-1]["messages"]
    rebuilt = agent_messages(steps)
    assert rebuilt[:-1] == last and rebuilt[-1]["tool_calls"][0]["function"]["name"] == "submit"

    chat = chat_messages(episode, steps, reasoning=True)
    assert [m["role"] for m in chat] == ["system", "user", *ROLES]
    assert chat[2]["reasoning_content"].startswith("The data folder") and len(chat[2]["tool_calls"]) == 2
    assert "reasoning_content" not in chat_messages(episode, steps)[2]
    assert chat_tools(episode) == server.requests[0]["tools"]


def test_shortened_history_is_logged_as_a_full_request(make_env, tmp_path: Path):
    overflow = ("error", 400, {}, "This model's maximum context length is 8192 tokens; your messages resulted in 9100.")
    script = [
        tool_turn("bash", {"command": "seq 1 30000"}, "c1"),
        tool_turn("bash", {"command": "echo small"}, "c2"),
        overflow,
        tool_turn("submit", {}, "c3"),
    ]
    with FakeModelServer(script) as server:
        agent = OpenAIChatAgent("scripted", base_url=server.base_url, max_retries=1, require_price=False)
        run_episode(TrajectoryLogger(make_env(), tmp_path), agent, SPEC)
    _, steps = _rows(tmp_path)
    assert [s["request_full"] for s in steps] == [False, False, True]
    assert agent_messages(steps)[:-1] == server.requests[-1]["messages"]


def test_anthropic_turns_rebuild_exactly_and_convert_to_chat(make_env, tmp_path: Path):
    thinking = {"type": "thinking", "thinking": "Two files first.", "signature": "sig"}
    script = [
        anthropic_turn(
            thinking,
            text_block("Looking first."),
            tool_use("list_files", {"path": "data"}, "tu_1"),
            tool_use("read_file", {"path": "README.md"}, "tu_2"),
        ),
        anthropic_turn(tool_use("python", {"code": DEMO_SOLVE}, "tu_3")),
        anthropic_turn(tool_use("submit", {}, "tu_4")),
    ]
    with FakeModelServer(script) as server:
        agent = AnthropicAgent(
            "scripted-claude", base_url=server.base_url.removesuffix("/v1"), max_retries=1, require_price=False
        )
        result = run_episode(TrajectoryLogger(make_env(), tmp_path), agent, SPEC)
    assert result.status == "scored"
    episode, steps = _rows(tmp_path)
    assert episode["message_format"] == "anthropic_messages" and episode["tool_format"] == "anthropic"
    assert episode["system_prompt"] == server.requests[0]["system"]
    assert json.loads(episode["tools_json"]) == server.requests[0]["tools"]
    assert [s["turn_id"] for s in steps] == [0, 0, 1, 2]
    assert steps[0]["reasoning"] == "Two files first." and steps[0]["assistant_text"] == "Looking first."
    assert agent_messages(steps)[:-1] == server.requests[-1]["messages"]

    chat = chat_messages(episode, steps, reasoning=True)
    assert [m["role"] for m in chat] == ["system", "user", *ROLES]
    assert [c["id"] for c in chat[2]["tool_calls"]] == ["tu_1", "tu_2"] and chat[3]["tool_call_id"] == "tu_1"
    assert json.loads(chat[2]["tool_calls"][1]["function"]["arguments"]) == {"path": "README.md"}
    assert chat[2]["reasoning_content"] == "Two files first." and chat[2]["content"] == "Looking first."
    assert {t["function"]["name"] for t in chat_tools(episode)} >= {"bash", "python", "submit"}


def test_an_agent_without_model_turns_gets_a_conversation_from_its_steps(make_env, registry, tmp_path: Path):
    env = TrajectoryLogger(make_env(), tmp_path)
    result = run_episode(env, OracleAgent(registry), SPEC)
    assert result.status == "scored"
    episode, steps = _rows(tmp_path)
    assert episode["prompt"] and episode["system_prompt"] is None and episode["message_format"] is None
    assert episode["tool_format"] == "json_schema" and all(s["turn_id"] is None for s in steps)
    chat = chat_messages(episode, steps)
    assert chat[0] == {"role": "user", "content": episode["prompt"]}
    assert chat[-1]["role"] == "assistant" and chat[-1]["tool_calls"][0]["function"]["name"] == "submit"
    calls = [m for m in chat if m["role"] == "assistant"]
    assert len(calls) == len(steps) and [m["role"] for m in chat[1:]].count("tool") == len(steps) - 1
    assert calls[0]["tool_calls"][0]["function"]["arguments"] == steps[0]["arguments_json"]


def test_files_of_schema_version_2_read_with_the_new_columns_null(tmp_path: Path):
    old = pa.schema([f for f in STEPS_SCHEMA if f.name not in {"turn_id", "request_messages_json", "reasoning"}])
    row = {f.name: None for f in old}
    row.update(run_id="r", episode_id="e", task_id="t", instance_id="i", prompt_level="B1", step_index=0)
    row.update(reward=0.0, terminated=True, truncated=False, model_messages_json='[{"role": "user"}]')
    folder = tmp_path / "trajectories" / "steps" / "task_id=t" / "prompt_level=B1"
    folder.mkdir(parents=True)
    columns = {f.name: [row[f.name]] for f in old if f.name not in ("task_id", "prompt_level")}
    table = pa.table(columns, schema=pa.schema([f for f in old if f.name not in ("task_id", "prompt_level")]))
    pq.write_table(table.replace_schema_metadata({b"asibench_env.schema_version": b"2"}), folder / "e.parquet")
    (step,) = load(tmp_path).to_table().to_pylist()
    assert step["turn_id"] is None and step["reasoning"] is None and step["request_messages_json"] is None
    assert step["model_messages_json"] == '[{"role": "user"}]' and step["task_id"] == "t"
