"""The OpenAI agent: the real openai SDK against a scripted server on 127.0.0.1, through the real env."""

from __future__ import annotations

import json

import pytest
from fake_model_server import FakeModelServer, text_turn, tool_turn
from helpers import DEMO_SOLVE

from asibench_env.agents.model_agent import MissingAPIKeyError
from asibench_env.agents.openai_agent import OpenAIChatAgent
from asibench_env.agents.pricing import ModelPrice, PriceTable, UnknownPriceError, default_prices, parse_price
from asibench_env.runs.runner import EpisodeSpec, run_episode

PRICES = default_prices().with_override("scripted-model", ModelPrice(input=1.0, output=2.0))


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def _agent(server: FakeModelServer, **kwargs) -> OpenAIChatAgent:
    kwargs.setdefault("prices", PRICES)
    return OpenAIChatAgent("scripted-model", base_url=server.base_url, max_retries=2, timeout_s=10, **kwargs)


def test_solves_the_demo_task_end_to_end(make_env):
    script = [
        tool_turn("list_files", {"path": "data"}, "call_1"),
        tool_turn("python", {"code": DEMO_SOLVE}, "call_2"),
        tool_turn("submit", {}, "call_3", tokens=(300, 5)),
    ]
    with FakeModelServer(script) as server:
        agent = _agent(server, temperature=0.0, seed=7)
        result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.final_score >= 99
    assert agent.usage.input_tokens == 500 and agent.usage.output_tokens == 45
    assert agent.cost_usd == pytest.approx((500 * 1.0 + 45 * 2.0) / 1e6)
    first, second = server.requests[0], server.requests[1]
    assert first["model"] == "scripted-model" and first["temperature"] == 0.0 and first["seed"] == 7
    assert {t["function"]["name"] for t in first["tools"]} >= {"bash", "python", "submit"}
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    assert "x.npy" in tool_message["content"]


def test_rate_limit_with_retry_after_is_retried(make_env):
    script = [("error", 429, {"Retry-After": "0"}), ("error", 500, {}), tool_turn("submit", {})]
    with FakeModelServer(script) as server:
        result = run_episode(make_env(), _agent(server), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and len(server.requests) == 3


def test_exhausted_retries_end_as_infra_error_not_zero(make_env):
    with FakeModelServer([("error", 500, {}), ("error", 503, {}), "drop", "drop"]) as server:
        result = run_episode(make_env(), _agent(server), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "infra_error" and result.final_score is None
    assert "model API" in result.error


def test_invalid_tool_calls_come_back_as_errors(make_env):
    script = [
        tool_turn("teleport", {"where": "answer"}, "call_1"),
        tool_turn("bash", {"cmd": "ls"}, "call_2"),
        text_turn("I think I am done."),
        text_turn("```bash\necho from a fenced block\n```"),
        tool_turn("submit", {}, "call_5"),
    ]
    with FakeModelServer(script) as server:
        result = run_episode(make_env(), _agent(server), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.steps == 5
    replies = [r["messages"][-1] for r in server.requests[1:]]
    assert replies[0]["role"] == "tool" and "Unknown tool 'teleport'" in replies[0]["content"]
    assert "command: Field required" in replies[1]["content"]
    assert replies[2]["role"] == "user" and "No tool call found" in replies[2]["content"]
    assert "from a fenced block" in replies[3]["content"]


def test_reply_cut_off_by_max_tokens_is_flagged(make_env):
    with FakeModelServer([text_turn("Let me think about", "length"), tool_turn("submit", {})]) as server:
        run_episode(make_env(), _agent(server, max_tokens=5), EpisodeSpec("demo.line_fit", "B3", 0))
    assert server.requests[0]["max_tokens"] == 5
    assert "No tool call found" in server.requests[1]["messages"][-1]["content"]


def test_missing_key_and_unknown_price(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(MissingAPIKeyError, match="set OPENAI_API_KEY"):
        OpenAIChatAgent("gpt-4o")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    with pytest.raises(UnknownPriceError, match="--price mystery-model=INPUT,OUTPUT"):
        OpenAIChatAgent("mystery-model")
    agent = OpenAIChatAgent("gpt-4o", base_url="http://127.0.0.1:9/v1")
    assert "x" not in str(agent.config()) and agent.config()["model"] == "gpt-4o"


def test_price_table():
    table = default_prices()
    assert table.version >= 1 and table.date
    assert isinstance(table, PriceTable)
    from asibench_env.agents.pricing import Usage

    cost = table.cost("gpt-4o", Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_tokens=500_000))
    assert cost == pytest.approx(0.5 * 2.50 + 0.5 * 1.25 + 10.00)
    assert parse_price("m=1,2.5") == ("m", ModelPrice(input=1, output=2.5))
    with pytest.raises(ValueError, match="MODEL=INPUT,OUTPUT"):
        parse_price("m=1")


def test_tokens_and_cost_reach_parquet_results_and_reports(registry, instance_cache, tmp_path):
    import json

    from asibench_env.runs.batch import run_batch
    from asibench_env.trajectories import load

    script = [tool_turn("python", {"code": DEMO_SOLVE}, "c1", tokens=(1000, 100)), tool_turn("submit", {}, "c2")]
    with FakeModelServer(script) as server:
        outcome = run_batch(
            [EpisodeSpec("demo.line_fit", "B2", 0)],
            lambda: _agent(server),
            tmp_path / "run",
            registry=registry,
            env_kwargs={"instance_cache": instance_cache},
            show_progress=False,
            agent_config={"name": "openai", "model": "scripted-model"},
        )
    (result,) = outcome.results
    expected = (1100 * 1.0 + 120 * 2.0) / 1e6
    assert result.input_tokens == 1100 and result.cost_usd == pytest.approx(expected)
    steps = load(tmp_path / "run").to_table().to_pylist()
    assert [s["input_tokens"] for s in sorted(steps, key=lambda s: s["step_index"])] == [1000, 100]
    (episode,) = load(tmp_path / "run", "episodes").to_table().to_pylist()
    assert episode["cost_usd"] == pytest.approx(expected) and episode["model"] == "scripted-model"
    assert json.loads(episode["agent_config_json"])["model"] == "scripted-model"
    (doc,) = [json.loads(p.read_text()) for p in (tmp_path / "run" / "results").glob("*.json")]
    assert doc["cost"]["estimated_cost_usd"] == pytest.approx(expected)
    (row,) = json.loads((tmp_path / "run" / "batch_records" / "task_level_long.json").read_text())
    assert float(row["mean_cost_usd"]) == pytest.approx(expected, abs=1e-6)


OVERFLOW = ("error", 400, {}, "This model's maximum context length is 8192 tokens; your messages resulted in 9100.")


def test_context_overflow_shortens_old_outputs_and_retries(make_env):
    script = [
        tool_turn("bash", {"command": "seq 1 30000"}, "c1"),
        tool_turn("bash", {"command": "echo small"}, "c2"),
        OVERFLOW,
        tool_turn("submit", {}, "c3"),
    ]
    with FakeModelServer(script) as server:
        agent = _agent(server)
        result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.end_reason == "submit"
    retried = server.requests[3]["messages"]
    big = next(m for m in retried if m.get("tool_call_id") == "c1")
    assert "older tool output shortened" in big["content"] and len(big["content"]) < 1000


def test_context_overflow_twice_submits_what_there_is(make_env):
    script = [tool_turn("bash", {"command": "seq 1 30000"}, "c1"), OVERFLOW, OVERFLOW]
    with FakeModelServer(script) as server:
        agent = _agent(server)
        result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.end_reason == "submit"
    assert agent.stop_reason.startswith("context window exceeded")


def test_text_protocol_for_models_without_function_calling(make_env):
    script = [
        text_turn(
            'I will solve it.\n<tool_call>{"name": "python", "arguments": {"code": '
            + json.dumps(DEMO_SOLVE)
            + "}}</tool_call>"
        ),
        text_turn('<tool_call>{"name": "submit", "arguments": {}}</tool_call>'),
    ]
    with FakeModelServer(script) as server:
        result = run_episode(make_env(), _agent(server, native_tools=False), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.final_score >= 99
    assert "tools" not in server.requests[0]
    assert "<tool_call>" in server.requests[0]["messages"][0]["content"]
    assert (
        server.requests[1]["messages"][-1]["role"] == "user"
        and "[exit code 0]" in server.requests[1]["messages"][-1]["content"]
    )


def test_responses_api_agent_solves_the_demo_task(make_env):
    from fake_model_server import function_call, responses_turn

    from asibench_env.agents.openai_responses_agent import OpenAIResponsesAgent

    script = [
        responses_turn(function_call("python", {"code": DEMO_SOLVE}, "call_a")),
        responses_turn(function_call("submit", {}, "call_b")),
    ]
    with FakeModelServer(script) as server:
        agent = OpenAIResponsesAgent(
            "scripted-model", base_url=server.base_url, prices=PRICES, max_retries=1, timeout_s=10, max_tokens=2048
        )
        result = run_episode(make_env(), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored" and result.final_score >= 99
    first, second = server.requests
    assert first["max_output_tokens"] == 2048 and first["tools"][0]["name"] == "bash"
    output = second["input"][-1]
    assert output["type"] == "function_call_output" and output["call_id"] == "call_a"
    assert "[exit code 0]" in output["output"]
    assert agent.usage.input_tokens == 200


def test_scripted_model_solves_a_builtin_task(tmp_path, instance_cache):
    """The model 'writes' the reference solver as a Python cell: a built-in task, end to end over HTTP."""
    from asibench_env.envs.task_env import AsiBenchEnv
    from asibench_env.tasks.registry import builtin_registry

    task = builtin_registry().get("physics.damped_oscillator_fit")
    code = task.solution_path.read_text().replace("Path(__file__).read_text()", "'# analysis written by the model'")
    script = [tool_turn("python", {"code": code}, "c1"), tool_turn("submit", {}, "c2")]
    env = AsiBenchEnv(task.id, level="B4", instance_cache=instance_cache)
    with FakeModelServer(script) as server:
        result = run_episode(env, _agent(server), EpisodeSpec(task.id, "B4", 0))
    assert result.status == "scored" and result.final_score >= 95


def test_malformed_tool_arguments_come_back_as_an_error(make_env):
    bad = tool_turn("bash", {"command": "ls"}, "c1")
    bad["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"command": "ls"'  # cut-off JSON
    with FakeModelServer([bad, tool_turn("submit", {}, "c2")]) as server:
        result = run_episode(make_env(), _agent(server), EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored"
    reply = server.requests[1]["messages"][-1]
    assert reply["role"] == "tool" and "not valid JSON" in reply["content"]
