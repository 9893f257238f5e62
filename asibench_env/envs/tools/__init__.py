"""The agent's tools: one :class:`Tool` object each, collected in a :class:`ToolRegistry`.

The six built-ins (``bash``, ``python``, ``read_file``, ``write_file``, ``list_files``, ``submit``)
live one per module; :func:`default_tools` gives a fresh registry of them. :func:`tool_specs` renders
a registry in a model API's function-calling format.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asibench_env.envs.tools.base import Tool, ToolContext, run_tool, run_tool_async
from asibench_env.envs.tools.bash import BashArgs, BashTool
from asibench_env.envs.tools.list_files import ListFilesArgs, ListFilesTool
from asibench_env.envs.tools.python import PythonArgs, PythonTool
from asibench_env.envs.tools.read_file import ReadFileArgs, ReadFileTool
from asibench_env.envs.tools.registry import ToolRegistry
from asibench_env.envs.tools.specs import ToolFormat, argument_schema, convert_spec, render_specs
from asibench_env.envs.tools.submit import SubmitArgs, SubmitTool
from asibench_env.envs.tools.write_file import WriteFileArgs, WriteFileTool

__all__ = [
    "TOOL_DESCRIPTIONS",
    "BashArgs",
    "BashTool",
    "ListFilesArgs",
    "ListFilesTool",
    "PythonArgs",
    "PythonTool",
    "ReadFileArgs",
    "ReadFileTool",
    "SubmitArgs",
    "SubmitTool",
    "Tool",
    "ToolContext",
    "ToolFormat",
    "ToolRegistry",
    "WriteFileArgs",
    "WriteFileTool",
    "argument_schema",
    "as_registry",
    "convert_spec",
    "default_tools",
    "run_tool",
    "run_tool_async",
    "tool_specs",
]


def default_tools() -> ToolRegistry:
    """A fresh registry of the six built-in tools, in their usual order (safe to change)."""
    return ToolRegistry([BashTool(), PythonTool(), ReadFileTool(), WriteFileTool(), ListFilesTool(), SubmitTool()])


def as_registry(tools: ToolRegistry | Iterable[Tool] | None) -> ToolRegistry:
    """A registry as is, a fresh one of the given tools, or (None) of the built-ins.

    Raises ``ValueError`` on duplicate names and ``TypeError`` on something that is not a tool.
    """
    if tools is None:
        return default_tools()
    if isinstance(tools, ToolRegistry):
        return tools
    return ToolRegistry(tools)


def tool_specs(fmt: ToolFormat = "openai", tools: ToolRegistry | Iterable[Tool] | None = None) -> list[dict[str, Any]]:
    """The tools (default: the six built-ins) in the given format; ``ValueError`` for an unknown format."""
    return render_specs(as_registry(tools), fmt)


TOOL_DESCRIPTIONS: dict[str, str] = {tool.name: tool.description for tool in default_tools()}
"""The built-in tools' descriptions by name (kept for compatibility; read ``Tool.description``)."""
