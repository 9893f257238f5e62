"""Tool specifications in the function-calling formats of the major model APIs."""

from __future__ import annotations

from typing import Any, Literal

from asibench_env.envs.actions import ARGUMENT_MODELS

ToolFormat = Literal["openai", "openai_responses", "anthropic", "json_schema"]

TOOL_DESCRIPTIONS: dict[str, str] = {
    "bash": "Run a bash command in a persistent shell inside the sandbox. The working directory and exported "
    "variables persist between calls. Returns combined stdout and stderr and the exit code.",
    "python": "Run Python code in a persistent interpreter inside the sandbox, like a notebook cell: imports and "
    "variables persist between calls. Returns what the code printed, or the traceback.",
    "read_file": "Read a text file from the workspace.",
    "write_file": "Create or overwrite a file in the workspace with the given content.",
    "list_files": "List files under a workspace folder, recursively.",
    "submit": "Finish the task. Your output files are collected and scored; no further actions are possible.",
}


def _schema(tool: str) -> dict[str, Any]:
    schema = ARGUMENT_MODELS[tool].model_json_schema()
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


def tool_specs(fmt: ToolFormat = "openai") -> list[dict[str, Any]]:
    """The six tools in the given format."""
    specs = []
    for name, description in TOOL_DESCRIPTIONS.items():
        schema = _schema(name)
        if fmt == "openai":
            specs.append(
                {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}
            )
        elif fmt == "openai_responses":
            specs.append({"type": "function", "name": name, "description": description, "parameters": schema})
        elif fmt == "anthropic":
            specs.append({"name": name, "description": description, "input_schema": schema})
        elif fmt == "json_schema":
            specs.append({"name": name, "description": description, "parameters": schema})
        else:
            raise ValueError(
                f"unknown tool format {fmt!r}; use one of openai, openai_responses, anthropic, json_schema"
            )
    return specs
