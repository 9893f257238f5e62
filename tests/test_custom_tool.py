"""A tool defined outside the package: registered on an env, offered, parsed, run and ended like a built-in."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from asibench_env.envs.actions import VALID_FORMS, ActionParseError, ToolCall, make_parser, parse_action
from asibench_env.envs.tools import (
    BashTool,
    Tool,
    ToolContext,
    ToolRegistry,
    default_tools,
    tool_specs,
)

FORMATS = ["openai", "openai_responses", "anthropic", "json_schema"]


class WordCountArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="File path relative to the workspace root.")


class WordCount(Tool[WordCountArgs]):
    name = "word_count"
    description = "Count the words of a workspace text file."
    args_model = WordCountArgs

    def run(self, context: ToolContext, args: WordCountArgs) -> str:
        words = len(context.sandbox.read_file(args.path).decode("utf-8", errors="replace").split())
        context.info["words"] = words
        return f"{args.path}: {words} words"


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Answer(Tool[NoArgs]):
    """A second way to end the episode."""

    name = "answer"
    description = "Give up and end the task."
    args_model = NoArgs
    ends_episode = True

    def run(self, context: ToolContext, args: NoArgs) -> str:
        return "Answered."


def _names(specs: list[dict]) -> list[str]:
    return [spec.get("name") or spec["function"]["name"] for spec in specs]


def _tools() -> ToolRegistry:
    tools = default_tools()
    tools.register(WordCount())
    return tools


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_custom_tool_is_offered_in_every_format(make_env, fmt):
    env = make_env(tools=_tools())
    builtins = ["bash", "python", "read_file", "write_file", "list_files", "submit"]
    assert _names(env.tool_specs(fmt)) == [*builtins, "word_count"]
    assert _names(tool_specs(fmt, tools=_tools())) == [*builtins, "word_count"]
    assert _names(tool_specs(fmt)) == builtins  # the module default stays the built-ins
    schema = tool_specs("json_schema", tools=[WordCount()])[0]["parameters"]
    assert schema["required"] == ["path"] and schema["additionalProperties"] is False
    assert "title" not in schema and "title" not in schema["properties"]["path"]


def test_a_custom_tool_is_in_the_reset_info_and_runs_through_step(make_env):
    env = make_env(tools=_tools())
    _, info = env.reset(seed=0)
    assert "word_count" in [t["name"] for t in info["tools"]]
    env.step({"tool": "write_file", "arguments": {"path": "notes.txt", "content": "one two  three\nfour"}})
    obs, reward, terminated, truncated, info = env.step('{"tool": "word_count", "arguments": {"path": "notes.txt"}}')
    assert obs == "notes.txt: 4 words"
    assert reward == 0.0 and not terminated and not truncated
    assert info["tool"] == "word_count" and info["arguments"] == {"path": "notes.txt"} and info["words"] == 4
    obs, *_, info = env.step({"tool": "word_count", "arguments": {"path": "missing.txt"}})
    assert obs == "[error] no such file or folder: missing.txt" and "action_error" in info
    obs, *_ = env.step({"tool": "word_count", "arguments": {"path": "../outside"}})
    assert obs.startswith("[error]") and "outside the workspace" in obs


def test_custom_tool_errors_and_help_are_observations(make_env):
    env = make_env(tools=_tools())
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step({"tool": "word_count", "arguments": {}})
    assert obs.startswith("[invalid action] Invalid arguments for word_count: path: Field required")
    assert not terminated and not truncated and info["tool"] is None
    obs, *_ = env.step({"tool": "word_count", "arguments": {"path": "a", "lines": True}})
    assert "lines: Extra inputs are not permitted" in obs
    obs, *_ = env.step("no tool call here")
    assert "Tools: bash{command, timeout?}" in obs and "submit{}, word_count{path}." in obs


def test_the_help_text_is_generated_from_the_registry():
    assert VALID_FORMS == (
        'Valid actions: a JSON object {"tool": NAME, "arguments": {...}} (or {"name": NAME, "arguments": ...}), '
        'a <tool_call>{"name": NAME, "arguments": {...}}</tool_call> block, or a fenced ```bash``` or ```python``` '
        "block. Tools: bash{command, timeout?}, python{code}, read_file{path}, write_file{path, content}, "
        "list_files{path?}, submit{}."
    )
    parser = make_parser(ToolRegistry([WordCount()]))
    assert parser.valid_forms == (
        'Valid actions: a JSON object {"tool": NAME, "arguments": {...}} (or {"name": NAME, "arguments": ...}), '
        'or a <tool_call>{"name": NAME, "arguments": {...}}</tool_call> block. Tools: word_count{path}.'
    )
    assert parser('<tool_call>{"name": "word_count", "arguments": {"path": "a"}}</tool_call>') == ToolCall(
        tool="word_count", arguments={"path": "a"}
    )
    with pytest.raises(ActionParseError, match="Unknown tool 'bash'"):
        parser("```bash\nls\n```")
    with pytest.raises(ActionParseError, match="Unknown tool 'word_count'"):
        parse_action({"tool": "word_count", "arguments": {"path": "a"}})


def test_registry_refuses_duplicates_and_bad_tools(make_env):
    tools = _tools()
    with pytest.raises(ValueError, match="'word_count' is already registered"):
        tools.register(WordCount())
    with pytest.raises(ValueError, match="already registered"):
        make_env(tools=[BashTool(), BashTool()])
    with pytest.raises(TypeError, match="instance of"):
        tools.register(WordCount)  # type: ignore[arg-type]

    class BadName(WordCount):
        name = "word count"

    with pytest.raises(ValueError, match="invalid tool name"):
        tools.register(BadName())

    class NoModel(WordCount):
        args_model = BaseModel

    with pytest.raises(TypeError, match="args_model must be a subclass"):
        tools.register(NoModel())
    assert tools.unregister("word_count").name == "word_count"
    assert "word_count" not in tools and len(tools) == 6
    with pytest.raises(KeyError, match="no tool named 'word_count'"):
        tools.get("word_count")
    assert default_tools().names() == ("bash", "python", "read_file", "write_file", "list_files", "submit")


def test_without_submit_the_episode_ends_on_the_step_budget(make_env):
    tools = default_tools()
    tools.unregister("submit")
    env = make_env(tools=tools, max_steps=2)
    _, info = env.reset(seed=0)
    assert "submit" not in [t["name"] for t in info["tools"]]
    obs, _, terminated, truncated, _ = env.step({"tool": "submit"})
    assert obs.startswith("[invalid action] Unknown tool 'submit'") and not terminated and not truncated
    obs, reward, terminated, truncated, info = env.step({"tool": "bash", "arguments": {"command": "echo hi"}})
    assert not terminated and truncated and info["end_reason"] == "max_steps"
    assert obs.endswith("[step budget used up: outputs submitted]") and reward == 0.0


def test_a_custom_ending_tool_terminates_and_scores(make_env):
    env = make_env(tools=[WordCount(), Answer()])
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step({"tool": "answer"})
    assert obs == "Answered." and terminated and not truncated
    assert info["end_reason"] == "submit" and info["status"] == "scored" and reward == 0.0


def test_a_custom_parser_still_overrides_parsing_and_its_calls_are_checked(make_env):
    def shorthand(action: str) -> ToolCall:
        tool, _, path = action.partition(" ")
        return ToolCall(tool=tool, arguments={"path": path} if path else {})

    env = make_env(tools=_tools(), action_parser=shorthand)
    env.reset(seed=0)
    obs, *_ = env.step("word_count prompt.md")
    assert obs.startswith("prompt.md: ") and obs.endswith(" words")
    obs, *_, info = env.step("teleport")
    assert obs.startswith("[invalid action] Unknown tool 'teleport'") and info["tool"] is None
    obs, *_ = env.step("bash")  # no command: the tool's argument model refuses it
    assert obs.startswith("[invalid action] Invalid arguments for bash: command: Field required")


def test_the_old_import_paths_still_work():
    import importlib
    import sys

    import asibench_env.envs.tools as tools

    sys.modules.pop("asibench_env.tools", None)
    with pytest.warns(DeprecationWarning, match="moved to asibench_env.envs.tools"):
        old = importlib.import_module("asibench_env.tools")
    assert old is tools and old.tool_specs is tool_specs and set(old.TOOL_DESCRIPTIONS) == set(default_tools().names())


def test_a_model_agent_is_offered_the_envs_custom_tools(make_env, monkeypatch: pytest.MonkeyPatch):
    """The model agents take their tools from the env's reset info, so a custom tool reaches the model."""
    from fake_model_server import FakeModelServer, tool_turn

    from asibench_env.agents.openai_agent import OpenAIChatAgent
    from asibench_env.runs.runner import EpisodeSpec, run_episode

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    tools = default_tools()
    tools.register(WordCount())
    script = [tool_turn("word_count", {"path": "prompt.md"}, "call_1"), tool_turn("submit", {}, "call_2")]
    with FakeModelServer(script) as server:
        agent = OpenAIChatAgent("scripted", base_url=server.base_url, require_price=False, max_retries=0)
        result = run_episode(make_env(tools=tools), agent, EpisodeSpec("demo.line_fit", "B3", 0))
    assert result.status == "scored"
    offered = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert offered == [*default_tools().names(), "word_count"]
    answer = server.requests[1]["messages"][-1]
    assert answer["role"] == "tool" and answer["content"].endswith("words")
