"""Tool calls, and the parser that turns whatever a policy produced into one.

A step accepts a dict, a JSON string, a :class:`ToolCall`, or raw completion text holding one call
(a ``<tool_call>{...}</tool_call>`` block as Hermes/Qwen templates emit, or a fenced bash/python
block). Anything else is an :class:`ActionParseError` whose message explains the valid forms; the
environment returns that message as the observation.

The parser never raises anything else, whatever it is given, and it cannot be stalled: an action longer
than :data:`~asibench_env.envs.action_scan.MAX_ACTION_CHARS` (1 MiB) is refused before it is read,
blocks are found by linear ``str.find`` scans (no regular expression runs on model text), and decoded
values deeper than :data:`~asibench_env.envs.action_scan.MAX_NESTING` levels or holding more than
:data:`~asibench_env.envs.action_scan.MAX_VALUES` values are refused.

A :class:`ToolCallParser` checks calls against a :class:`~asibench_env.envs.tools.ToolRegistry`
(:func:`make_parser`); :func:`parse_action` is the parser of the six built-in tools.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from asibench_env.envs.action_scan import (
    FENCE_LANGUAGES,
    MAX_ACTION_CHARS,
    MAX_NESTING,
    find_fenced_block,
    find_tool_call_block,
    structure_problem,
)
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
    "MAX_ACTION_CHARS",
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
        call, names an unregistered tool, or gives arguments the tool's model refuses; never any other
        exception, whatever ``action`` is.
        """
        try:
            return self._parse(action)
        except ActionParseError:
            raise
        except Exception as exc:  # noqa: BLE001 - untrusted input: any failure is the agent's parse error
            raise self._error(f"The action could not be read ({type(exc).__name__}).") from exc

    def resolve(self, call: ToolCall) -> tuple[Tool, BaseModel]:
        """The registered tool of ``call`` and its validated arguments; raises :class:`ActionParseError`."""
        last = self._last
        if last is not None and last[0] is call and call.tool in self.tools and self.tools.get(call.tool) is last[1]:
            return last[1], last[2]
        try:
            self._check_structure(call.arguments)
            return self._check(call.tool, call.arguments)
        except ActionParseError:
            raise
        except Exception as exc:  # noqa: BLE001 - a custom parser's call is as untrusted as the action
            raise self._error(f"The tool call could not be read ({type(exc).__name__}).") from exc

    def _parse(self, action: Any) -> ToolCall:
        if isinstance(action, ToolCall):
            self._check_structure(action.arguments)
            return self._validated(action.tool, action.arguments)
        if isinstance(action, BaseModel):
            action = action.model_dump()
        if isinstance(action, Mapping):
            self._check_structure(action)
            return self._from_mapping(action)
        if isinstance(action, bytes | bytearray):
            self._check_size(len(action), "bytes")
            action = bytes(action).decode("utf-8", errors="replace")
        if isinstance(action, str):
            return self._from_text(action)
        raise self._error(f"Unsupported action type {type(action).__name__}.")

    def _error(self, message: str) -> ActionParseError:
        return ActionParseError(f"{message} {self.valid_forms}")

    def _check_size(self, size: int, unit: str) -> None:
        if size > MAX_ACTION_CHARS:
            raise self._error(
                f"The action is {size:,} {unit} long; actions are limited to {MAX_ACTION_CHARS:,} {unit} (1 MiB). "
                "Write a large file in parts (e.g. append with several calls) or generate it with code."
            )

    def _check_structure(self, value: Any) -> None:
        problem = structure_problem(value)
        if problem is not None:
            raise self._error(f"The action cannot be taken: {problem}.")

    def _loads(self, text: str, invalid: str) -> Any:
        """JSON text of an action (already size-checked) decoded and checked for depth and size.

        ``invalid`` starts the message of a syntax error, e.g. "The <tool_call> block is not valid JSON".
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"{invalid}: {exc.msg} at character {exc.pos}.") from exc
        except RecursionError as exc:
            raise self._error(f"The JSON nests arrays or objects too deeply (at most {MAX_NESTING} levels).") from exc
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise self._error(f"The JSON cannot be read: {_short(str(exc), 200)}.") from exc
        self._check_structure(data)
        return data

    def _check(self, tool: Any, arguments: Any) -> tuple[Tool, BaseModel]:
        if not isinstance(tool, str) or not tool:
            raise self._error("The tool name is missing or not a string.")
        if tool not in self.tools:
            raise self._error(f"Unknown tool {_short(repr(tool), 80)}.")
        if isinstance(arguments, str):
            self._check_size(len(arguments), "characters")
            invalid = f"The arguments of {tool} are not valid JSON"
            arguments = self._loads(arguments, invalid) if arguments.strip() else {}
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise self._error(f"The arguments of {tool} must be a JSON object.")
        found = self.tools.get(tool)
        try:
            return found, found.args_model.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{_short('.'.join(str(p) for p in err['loc']), 80) or 'arguments'}: {_short(err['msg'], 200)}"
                for err in exc.errors()[:10]
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
        self._check_size(len(text), "characters")  # before any scan or parse
        stripped = text.strip()
        if not stripped:
            raise self._error("The action is empty.")
        if stripped.startswith("{"):
            data = self._loads(stripped, "The action looks like JSON but does not parse")
            if not isinstance(data, Mapping):
                raise self._error("The JSON action must be an object.")
            return self._from_mapping(data)
        block = find_tool_call_block(text)
        if block is not None:
            data = self._loads(block, "The <tool_call> block is not valid JSON")
            if not isinstance(data, Mapping):
                raise self._error("The <tool_call> block must hold a JSON object.")
            return self._from_mapping(data)
        fenced = find_fenced_block(text)
        if fenced is not None:
            tool = FENCE_LANGUAGES[fenced[0]]
            return self._validated(tool, {_FENCE_ARGUMENT[tool]: fenced[1]})
        raise self._error("No tool call found in the action.")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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
