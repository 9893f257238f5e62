"""Tool calls: their models, and the parser that turns whatever a policy produced into one.

A step accepts a dict, a JSON string, a :class:`ToolCall`, or raw completion text holding one call
(a ``<tool_call>{...}</tool_call>`` block as Hermes/Qwen templates emit, or a fenced bash/python
block). Anything else is an :class:`ActionParseError` whose message explains the valid forms; the
environment returns that message as the observation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TOOL_NAMES = ("bash", "python", "read_file", "write_file", "list_files", "submit")


class BashArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(description="The bash command to run in the persistent shell.")
    timeout: float | None = Field(default=None, gt=0, description="Seconds before the command is killed.")


class PythonArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="Python code to run in the persistent interpreter.")


class ReadFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="File path relative to the workspace root.")


class WriteFileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="File path relative to the workspace root; parent folders are created.")
    content: str = Field(description="The complete new text of the file.")


class ListFilesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(default=".", description="Folder relative to the workspace root.")


class SubmitArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


ARGUMENT_MODELS: dict[str, type[BaseModel]] = {
    "bash": BashArgs,
    "python": PythonArgs,
    "read_file": ReadFileArgs,
    "write_file": WriteFileArgs,
    "list_files": ListFilesArgs,
    "submit": SubmitArgs,
}


class ToolCall(BaseModel):
    """One validated tool call."""

    model_config = ConfigDict(frozen=True)
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def args_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False, sort_keys=True)


class ActionParseError(ValueError):
    """The action could not be read as a tool call; the message is shown to the agent."""


VALID_FORMS = (
    'Valid actions: a JSON object {"tool": NAME, "arguments": {...}} (or {"name": NAME, "arguments": ...}), '
    'a <tool_call>{"name": NAME, "arguments": {...}}</tool_call> block, or a fenced ```bash``` or ```python``` '
    "block. Tools: bash{command, timeout?}, python{code}, read_file{path}, write_file{path, content}, "
    "list_files{path?}, submit{}."
)


@runtime_checkable
class ActionParser(Protocol):
    """Turns a raw action into a :class:`ToolCall` or raises :class:`ActionParseError`."""

    def __call__(self, action: Any) -> ToolCall: ...


_TOOL_CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED_BLOCK = re.compile(r"```[ \t]*(bash|sh|shell|python|py)[ \t]*\n(.*?)```", re.DOTALL)
_FENCE_TOOL = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}


def _validated(tool: Any, arguments: Any) -> ToolCall:
    if not isinstance(tool, str) or not tool:
        raise ActionParseError(f"The tool name is missing or not a string. {VALID_FORMS}")
    if tool not in ARGUMENT_MODELS:
        raise ActionParseError(f"Unknown tool {tool!r}. {VALID_FORMS}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ActionParseError(f"The arguments of {tool} are not valid JSON ({exc.msg}). {VALID_FORMS}") from exc
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise ActionParseError(f"The arguments of {tool} must be a JSON object. {VALID_FORMS}")
    try:
        model = ARGUMENT_MODELS[tool].model_validate(dict(arguments))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
        )
        raise ActionParseError(f"Invalid arguments for {tool}: {problems}. {VALID_FORMS}") from exc
    return ToolCall(tool=tool, arguments=model.model_dump(exclude_none=True))


def _from_mapping(data: Mapping[str, Any]) -> ToolCall:
    if "function" in data and isinstance(data["function"], Mapping):  # an OpenAI tool_call object
        return _from_mapping(data["function"])
    tool = data.get("tool", data.get("name"))
    if "arguments" in data or "input" in data or "args" in data:
        arguments = data.get("arguments", data.get("input", data.get("args")))
    else:  # the flat form {"tool": "bash", "command": "ls"}
        arguments = {k: v for k, v in data.items() if k not in ("tool", "name", "type", "id")}
    return _validated(tool, arguments)


def _from_text(text: str) -> ToolCall:
    stripped = text.strip()
    if not stripped:
        raise ActionParseError(f"The action is empty. {VALID_FORMS}")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ActionParseError(
                f"The action looks like JSON but does not parse: {exc.msg} at character {exc.pos}. {VALID_FORMS}"
            ) from exc
        if not isinstance(data, Mapping):
            raise ActionParseError(f"The JSON action must be an object. {VALID_FORMS}")
        return _from_mapping(data)
    block = _TOOL_CALL_BLOCK.search(text)
    if block:
        try:
            data = json.loads(block.group(1))
        except json.JSONDecodeError as exc:
            raise ActionParseError(f"The <tool_call> block is not valid JSON: {exc.msg}. {VALID_FORMS}") from exc
        if not isinstance(data, Mapping):
            raise ActionParseError(f"The <tool_call> block must hold a JSON object. {VALID_FORMS}")
        return _from_mapping(data)
    fenced = _FENCED_BLOCK.search(text)
    if fenced:
        tool = _FENCE_TOOL[fenced.group(1)]
        body = fenced.group(2)
        return _validated(tool, {"command": body} if tool == "bash" else {"code": body})
    raise ActionParseError(f"No tool call found in the action. {VALID_FORMS}")


def parse_action(action: Any) -> ToolCall:
    """The default parser: dicts, JSON strings, ToolCall or other pydantic models, and completion text."""
    if isinstance(action, ToolCall):
        return _validated(action.tool, action.arguments)
    if isinstance(action, BaseModel):
        return _from_mapping(action.model_dump())
    if isinstance(action, Mapping):
        return _from_mapping(action)
    if isinstance(action, bytes):
        action = action.decode("utf-8", errors="replace")
    if isinstance(action, str):
        return _from_text(action)
    raise ActionParseError(f"Unsupported action type {type(action).__name__}. {VALID_FORMS}")
