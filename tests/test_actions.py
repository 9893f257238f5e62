"""The action parser: every accepted form, and errors the agent can read."""

from __future__ import annotations

import pytest

from asibench_env.envs.actions import ActionParseError, BashArgs, ToolCall, parse_action
from asibench_env.envs.tools import tool_specs


@pytest.mark.parametrize(
    ("action", "tool", "arguments"),
    [
        ({"tool": "bash", "arguments": {"command": "ls"}}, "bash", {"command": "ls"}),
        ({"name": "python", "arguments": '{"code": "1+1"}'}, "python", {"code": "1+1"}),
        ({"tool": "bash", "command": "pwd"}, "bash", {"command": "pwd"}),
        (
            {"type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'}},
            "read_file",
            {"path": "a.txt"},
        ),
        ('{"tool": "list_files", "arguments": {}}', "list_files", {"path": "."}),
        ('{"tool": "submit"}', "submit", {}),
        (
            'Let me look.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls data"}}\n</tool_call>',
            "bash",
            {"command": "ls data"},
        ),
        ("I will run:\n```bash\necho hi\n```\n", "bash", {"command": "echo hi\n"}),
        ("```python\nprint(2)\n```", "python", {"code": "print(2)\n"}),
        (
            ToolCall(tool="write_file", arguments={"path": "x.txt", "content": "hi"}),
            "write_file",
            {"path": "x.txt", "content": "hi"},
        ),
        (
            {"tool": "bash", "arguments": {"command": "sleep 1", "timeout": 5}},
            "bash",
            {"command": "sleep 1", "timeout": 5.0},
        ),
    ],
)
def test_accepted_forms(action, tool, arguments):
    call = parse_action(action)
    assert call.tool == tool
    assert call.arguments == arguments


def test_pydantic_model_action():
    class MyCall(BashArgs):
        tool: str = "bash"

    assert parse_action(MyCall(command="ls")).arguments == {"command": "ls"}


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ('{"tool": "bash", "arguments": {"command": "ls"', "does not parse"),
        ({"tool": "rm_rf", "arguments": {}}, "Unknown tool 'rm_rf'"),
        ({"tool": "bash", "arguments": {}}, "command: Field required"),
        ({"tool": "bash", "arguments": {"command": "ls", "extra": 1}}, "extra: Extra inputs are not permitted"),
        ({"tool": "bash", "arguments": {"command": "ls", "timeout": -1}}, "timeout"),
        ({"tool": "bash", "arguments": "not json"}, "not valid JSON"),
        ("", "empty"),
        ("just some words", "No tool call found"),
        ("<tool_call>{oops}</tool_call>", "<tool_call> block is not valid JSON"),
        (12345, "Unsupported action type int"),
        ("[1, 2]", "No tool call found"),
    ],
)
def test_malformed_actions_explain_the_valid_forms(action, fragment):
    with pytest.raises(ActionParseError) as err:
        parse_action(action)
    assert fragment in str(err.value)
    assert "Valid actions" in str(err.value)


@pytest.mark.parametrize("fmt", ["openai", "openai_responses", "anthropic", "json_schema"])
def test_tool_specs_cover_all_tools(fmt):
    specs = tool_specs(fmt)
    names = [s.get("name") or s["function"]["name"] for s in specs]
    assert names == ["bash", "python", "read_file", "write_file", "list_files", "submit"]


def test_openai_spec_shape():
    bash = tool_specs("openai")[0]
    assert bash["type"] == "function"
    params = bash["function"]["parameters"]
    assert params["required"] == ["command"]
    assert params["properties"]["timeout"]["type"] == "number"
    anthropic = tool_specs("anthropic")[2]
    assert anthropic["input_schema"]["required"] == ["path"]


def test_unknown_tool_format():
    with pytest.raises(ValueError, match="unknown tool format"):
        tool_specs("xml")  # type: ignore[arg-type]
