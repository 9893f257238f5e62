"""The text tool-call protocol: the system prompt that teaches a model to write ``<tool_call>`` blocks.

It is the counterpart of the parser (:mod:`asibench_env.envs.actions`), which reads those blocks from
completion text; agents and trainer integrations use it for models without native function calling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asibench_env.envs.tools import tool_specs

__all__ = ["SYSTEM_PROMPT", "text_protocol_prompt"]

SYSTEM_PROMPT = (
    "You are a careful research engineer. Solve the task in the workspace with the tools: inspect the data, "
    "choose a method, implement and check it, write every required output file, then call submit."
)


def text_protocol_prompt(tools: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The system prompt of the text-only (ReAct) mode, for models without function calling.

    ``tools`` are the env's tools in the ``json_schema`` form (its reset info's ``"tools"``); by
    default the six built-in ones.
    """
    lines = [
        SYSTEM_PROMPT,
        "",
        "Think briefly, then act with exactly one tool call per reply, written as",
        '<tool_call>{"name": TOOL, "arguments": {...}}</tool_call>',
        "",
        "Tools:",
    ]
    for spec in tools if tools is not None else tool_specs("json_schema"):
        params = ", ".join(spec["parameters"].get("properties", {}))
        lines.append(f"- {spec['name']}({params}): {spec['description']}")
    return "\n".join(lines)
