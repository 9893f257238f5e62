"""Tool calls, and the parser that turns whatever a policy produced into one.

A step accepts a dict, a JSON string, a :class:`ToolCall`, or raw completion text holding one call
(a ``<tool_call>{...}</tool_call>`` block as Hermes/Qwen templates emit, or a fenced bash/python
block). Anything else is an :class:`ActionParseError` whose message explains the valid forms; the
environment returns that message as the observation.

A :class:`ToolCallParser` checks calls against a :class:`~asibench_env.envs.tools.ToolRegistry`
(:func:`make_parser`); :func:`parse_action` is the parser of the six built-in tools.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from asibench_env.envs.tools import (
    BashArgs,
    ListFilesArgs,
    PythonArgs,
    ReadFileArgs,
    SubmitArgs,
    Tool,
    ToolRegistry,
    WriteFileArgs,
    default_tools,
)

__all__ = [
    "ARGUMENT_MODELS",
    "TOOL_NAMES",
    "VALID_FORMS",
    "ActionParseError",
    "ActionParser",
    "BashArgs",
    "ListFilesArgs",
    "PythonArgs",
    "ReadFileArgs",
    "SubmitArgs",
    "ToolCall",
    "ToolCallParser",
    "WriteFileArgs",
    "make_parser",
    "parse_action",
    "valid_forms",
]


class ToolCall(BaseModel):
    """One validated tool call."""

    model_config = ConfigDict(frozen=True)
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def args_json(self) -> str:
        """The arguments as compact JSON with sorted keys."""
        return json.dumps(self.arguments, ensure_ascii=False, sort_keys=True)


class ActionParseError(ValueError):
    """The action could not be read as a tool call; the message is shown to the agent."""


@runtime_checkable
class ActionParser(Protocol):
    """Turns a raw action into a :class:`ToolCall` or raises :class:`ActionParseError`."""

    def __call__(self, action: Any) -> ToolCall: ...


_TOOL_CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED_BLOCK = re.compile(r"```[ \t]*(bash|sh|shell|python|py)[ \t]*\n(.*?)```", re.DOTALL)
_FENCE_TOOL = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
_FENCE_ARGUMENT = {"bash": "command", "python": "code"}


def _signature(tool: Tool) -> str:
    fields = tool.args_model.model_fields
    return f"{tool.name}{{{', '.join(n if f.is_required() else f'{n}?' for n, f in fields.items())}}}"


def valid_forms(tools: ToolRegistry) -> str:
    """The help appended to every parse error: the accepted forms, and each registered tool's arguments."""
    forms = [
        'a JSON object {"tool": NAME, "arguments": {...}} (or {"name": NAME, "arguments": ...})',
        'a <tool_call>{"name": NAME, "arguments": {...}}</tool_call> block',
    ]
    fences = [f"```{name}```" for name in _FENCE_ARGUMENT if name in tools]
    if fences:
        forms.append(f"a fenced {' or '.join(fences)} block")
    listed = ", ".join(_signature(tool) for tool in tools) or "none"
    return f"Valid actions: {', '.join(forms[:-1])}, or {forms[-1]}. Tools: {listed}."


class ToolCallParser:
    """The default action parser, checking tool names and arguments against a registry.

    It reads the registry on every call, so tools registered later are accepted too.
    """

    def __init__(self, tools: ToolRegistry) -> None:
        self.tools = tools
        # The last call this parser produced, with its validated arguments: resolve() of that same
        # object then skips a second validation (the env's step path parses, then resolves).
        self._last: tuple[ToolCall, Tool, BaseModel] | None = None

    @property
    def valid_forms(self) -> str:
        """The help text listing the accepted forms and the registered tools."""
        return valid_forms(self.tools)

    def __call__(self, action: Any) -> ToolCall:
        """Parse dicts, JSON strings, ToolCall or other pydantic models, and completion text.

        Raises :class:`ActionParseError` (with the valid forms in its message) when the action holds no
        call, names an unregistered tool, or gives arguments the tool's model refuses.
        """
        if isinstance(action, ToolCall):
            return self._validated(action.tool, action.arguments)
        if isinstance(action, BaseModel):
            return self._from_mapping(action.model_dump())
        if isinstance(action, Mapping):
            return self._from_mapping(action)
        if isinstance(action, bytes):
            action = action.decode("utf-8", errors="replace")
        if isinstance(action, str):
            return self._from_text(action)
        raise self._error(f"Unsupported action type {type(action).__name__}.")

    def resolve(self, call: ToolCall) -> tuple[Tool, BaseModel]:
        """The registered tool of ``call`` and its validated arguments; raises :class:`ActionParseError`."""
        last = self._last
        if last is not None and last[0] is call and call.tool in self.tools and self.tools.get(call.tool) is last[1]:
            return last[1], last[2]
        return self._check(call.tool, call.arguments)

    def _error(self, message: str) -> ActionParseError:
        return ActionParseError(f"{message} {self.valid_forms}")

    def _check(self, tool: Any, arguments: Any) -> tuple[Tool, BaseModel]:
        if not isinstance(tool, str) or not tool:
            raise self._error("The tool name is missing or not a string.")
        if tool not in self.tools:
            raise self._error(f"Unknown tool {tool!r}.")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as exc:
                raise self._error(f"The arguments of {tool} are not valid JSON ({exc.msg}).") from exc
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise self._error(f"The arguments of {tool} must be a JSON object.")
        found = self.tools.get(tool)
        try:
            return found, found.args_model.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            raise self._error(f"Invalid arguments for {tool}: {problems}.") from exc

    def _validated(self, tool: Any, arguments: Any) -> ToolCall:
        found, model = self._check(tool, arguments)
        call = ToolCall(tool=found.name, arguments=model.model_dump(exclude_none=True))
        self._last = (call, found, model)
        return call

    def _from_mapping(self, data: Mapping[str, Any]) -> ToolCall:
        if "function" in data and isinstance(data["function"], Mapping):  # an OpenAI tool_call object
            return self._from_mapping(data["function"])
        tool = data.get("tool", data.get("name"))
        if "arguments" in data or "input" in data or "args" in data:
            arguments = data.get("arguments", data.get("input", data.get("args")))
        else:  # the flat form {"tool": "bash", "command": "ls"}
            arguments = {k: v for k, v in data.items() if k not in ("tool", "name", "type", "id")}
        return self._validated(tool, arguments)

    def _from_text(self, text: str) -> ToolCall:
        stripped = text.strip()
        if not stripped:
            raise self._error("The action is empty.")
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise self._error(
                    f"The action looks like JSON but does not parse: {exc.msg} at character {exc.pos}."
                ) from exc
            if not isinstance(data, Mapping):
                raise self._error("The JSON action must be an object.")
            return self._from_mapping(data)
        block = _TOOL_CALL_BLOCK.search(text)
        if block:
            try:
                data = json.loads(block.group(1))
            except json.JSONDecodeError as exc:
                raise self._error(f"The <tool_call> block is not valid JSON: {exc.msg}.") from exc
            if not isinstance(data, Mapping):
                raise self._error("The <tool_call> block must hold a JSON object.")
            return self._from_mapping(data)
        fenced = _FENCED_BLOCK.search(text)
        if fenced:
            tool = _FENCE_TOOL[fenced.group(1)]
            return self._validated(tool, {_FENCE_ARGUMENT[tool]: fenced.group(2)})
        raise self._error("No tool call found in the action.")


def make_parser(tools: ToolRegistry | None = None) -> ToolCallParser:
    """A parser bound to ``tools`` (None: a fresh registry of the six built-ins)."""
    return ToolCallParser(default_tools() if tools is None else tools)


_DEFAULT_PARSER = make_parser()

TOOL_NAMES: tuple[str, ...] = _DEFAULT_PARSER.tools.names()
"""The built-in tools' names, in order."""
ARGUMENT_MODELS: dict[str, type[BaseModel]] = {tool.name: tool.args_model for tool in _DEFAULT_PARSER.tools}
"""The built-in tools' argument models by name."""
VALID_FORMS: str = _DEFAULT_PARSER.valid_forms
"""The help text of the built-in tools' parser."""


def parse_action(action: Any) -> ToolCall:
    """The parser of the six built-in tools: dicts, JSON strings, ToolCall or pydantic models, and text.

    Raises :class:`ActionParseError` (whose message lists the valid forms) when the action is not a
    valid call of a built-in tool.
    """
    return _DEFAULT_PARSER(action)
