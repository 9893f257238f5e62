"""The Anthropic agent: the real anthropic SDK against a scripted server on 127.0.0.1, through the real env."""

from __future__ import annotations

import pytest
from fake_model_server import FakeModelServer, anthropic_turn, text_block, tool_use
from helpers import DEMO_SOLVE

from asibench_env.agents.anthropic_agent import AnthropicAgent
from asibench_env.agents.model_agent import Budgets, MissingAPIKeyError
from asibench_env.agents.pricing import ModelPrice, default_prices
from asibench_env.runs.runner import EpisodeSpec, run_episode

PRICES = default_prices().with_override("scripted-claude", ModelPrice(input=3.0, output=15.0))


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")


def _agent(server: FakeModelServer, **kwargs) -> AnthropicAgent:
    return AnthropicAgent(
        "scripted-claude",
        base_url=server.base_url.removesuffix("/v1"),
        prices=PRICES,
        max_retries=2,
        timeout_s=10,
        **kwargs,
    )


def test_solves_the_demo_task_with_two_tool_calls_in_one_turn(make_env):
    script = [
        anthropic_turn(
            text_block("Looking first."),
            tool_use("list_files", {"path": "data"}, "tu_1"),
            tool_use("read_file", {"path": "task_info.json"}, "tu_2"),
        ),
        anthropic_turn(tool_use("python", {"code": DEMO_SOLVE}, "tu_3")),
        anthropic_turn(tool_use("submit", {}, "tu_4")),
    ]
    with FakeModelServer(script) as server:
        agent = _agent(server, temperature=0.0)
        result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.final_score >= 99 and result.steps == 4
    second = server.requests[1]
    assert second["model"] == "scripted-claude" and second["max_tokens"] == 8192 and second["temperature"] == 0.0
    assert {t["name"] for t in second["tools"]} >= {"bash", "python", "submit"} and "input_schema" in second["tools"][0]
    results = second["messages"][-1]["content"]
    assert [b["tool_use_id"] for b in results] == ["tu_1", "tu_2"]
    assert "x.npy" in results[0]["content"] and "schema_version" in results[1]["content"]
    assert agent.cost_usd == pytest.approx((300 * 3.0 + 60 * 15.0) / 1e6)


def test_overloaded_and_dropped_connections_are_retried(make_env):
    script = [("error", 529, {}), "drop", anthropic_turn(tool_use("submit", {}, "tu_1"))]
    with FakeModelServer(script) as server:
        result = run_episode(make_env(), _agent(server), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and len(server.requests) == 3


def test_a_model_that_never_calls_a_tool_hits_the_step_budget(make_env):
    script = [anthropic_turn(text_block("Hmm."), stop_reason="end_turn") for _ in range(3)]
    with FakeModelServer(script) as server:
        result = run_episode(make_env(max_steps=3), _agent(server), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.end_reason == "max_steps" and result.final_score == 0.0
    assert "No tool call found" in server.requests[1]["messages"][-1]["content"]


def test_dollar_budget_autosubmits(make_env):
    script = [anthropic_turn(tool_use("bash", {"command": "ls"}, "tu_1"), tokens=(100_000, 1000))]
    with FakeModelServer(script) as server:
        agent = _agent(server, budgets=Budgets(max_cost_usd=0.1))
        result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert len(server.requests) == 1 and result.end_reason == "submit"
    assert agent.stop_reason == "cost budget of $0.1 reached"


def test_old_tool_outputs_are_shortened_when_the_context_fills(make_env):
    script = [anthropic_turn(tool_use("bash", {"command": "seq 1 20000"}, f"tu_{i}")) for i in range(4)]
    script.append(anthropic_turn(tool_use("submit", {}, "tu_9")))
    with FakeModelServer(script) as server:
        run_episode(
            make_env(), _agent(server, budgets=Budgets(context_chars=150_000)), EpisodeSpec("demo.line_fit", "B3", 0)
        )
    last = server.requests[-1]["messages"]
    outputs = [
        b["content"]
        for m in last
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert "older tool output shortened" in outputs[0] and "older tool output shortened" not in outputs[-1]


def test_missing_api_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(MissingAPIKeyError, match="set ANTHROPIC_API_KEY"):
        AnthropicAgent("claude-sonnet-4-20250514")
