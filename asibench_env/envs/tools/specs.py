"""Tool specifications in the function-calling formats of the major model APIs."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel

from asibench_env.envs.tools.base import Tool

ToolFormat = Literal["openai", "openai_responses", "anthropic", "json_schema"]
TOOL_FORMATS: tuple[str, ...] = get_args(ToolFormat)


def argument_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of an argument model, simplified for every model API.

    Titles are dropped, an optional field (``X | None``) becomes a plain ``X`` without default, and
    ``additionalProperties`` is false. Computed once per model (every reset announces the tools).
    """
    return copy.deepcopy(_argument_schema(model))


@cache
def _argument_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if "anyOf" in prop:  # Optional[float] -> a plain number: simpler for every model API
            kinds = [option for option in prop.pop("anyOf") if option.get("type") != "null"]
            prop.update(kinds[0])
            prop.pop("default", None)
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return schema


def tool_spec(tool: Tool, fmt: ToolFormat = "openai") -> dict[str, Any]:
    """One tool in the given format; raises ``ValueError`` for an unknown format."""
    return convert_spec(
        {"name": tool.name, "description": tool.description, "parameters": argument_schema(tool.args_model)}, fmt
    )


def convert_spec(spec: Mapping[str, Any], fmt: ToolFormat = "openai") -> dict[str, Any]:
    """A tool given in the ``json_schema`` form (name, description, parameters), in another format.

    This is how an agent renders the tools an env announces in its reset info (``info["tools"]``).
    Raises ``ValueError`` for an unknown format and ``KeyError`` when the spec lacks one of the keys.
    """
    name, description, schema = spec["name"], spec["description"], spec["parameters"]
    if fmt == "openai":
        return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}
    if fmt == "openai_responses":
        return {"type": "function", "name": name, "description": description, "parameters": schema}
    if fmt == "anthropic":
        return {"name": name, "description": description, "input_schema": schema}
    if fmt == "json_schema":
        return {"name": name, "description": description, "parameters": schema}
    raise ValueError(f"unknown tool format {fmt!r}; use one of {', '.join(TOOL_FORMATS)}")


def render_specs(tools: Iterable[Tool], fmt: ToolFormat = "openai") -> list[dict[str, Any]]:
    """The given tools, in order, in the given format; raises ``ValueError`` for an unknown format."""
    if fmt not in TOOL_FORMATS:
        raise ValueError(f"unknown tool format {fmt!r}; use one of {', '.join(TOOL_FORMATS)}")
    return [tool_spec(tool, fmt) for tool in tools]
