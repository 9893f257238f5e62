"""The tools an environment offers: an ordered collection, name -> :class:`Tool`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pydantic import BaseModel

from asibench_env.envs.tools.base import Tool

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolRegistry:
    """Tools by name, in registration order (the order the model APIs and error messages list them)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        """Register ``tools`` in order; raises like :meth:`register`."""
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> Tool:
        """Add ``tool`` after the others and return it.

        Raises ``TypeError`` when it is not a :class:`Tool` with a pydantic ``args_model`` and a string
        ``description``; ``ValueError`` when its name is invalid or already registered.
        """
        if not isinstance(tool, Tool):
            raise TypeError(f"a tool must be an instance of asibench_env.envs.tools.Tool, got {tool!r}")
        name = getattr(tool, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"invalid tool name {name!r}: use 1-64 letters, digits, '_' or '-'")
        model = getattr(tool, "args_model", None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or model is BaseModel:
            raise TypeError(
                f"tool {name!r}: args_model must be a subclass of pydantic's BaseModel (an empty one for no "
                f"arguments), got {model!r}"
            )
        if not isinstance(getattr(tool, "description", None), str):
            raise TypeError(f"tool {name!r}: description must be a string")
        if name in self._tools:
            raise ValueError(f"a tool named {name!r} is already registered ({self._tools[name]!r})")
        self._tools[name] = tool
        return tool

    def unregister(self, name: str) -> Tool:
        """Remove and return the tool called ``name``; raises ``KeyError`` when there is none."""
        return self._tools.pop(self.get(name).name)

    def get(self, name: str) -> Tool:
        """The tool called ``name``; raises ``KeyError`` (listing the registered names) when there is none."""
        try:
            return self._tools[name]
        except KeyError:
            raise KeyError(f"no tool named {name!r}; registered: {', '.join(self._tools) or 'none'}") from None

    def names(self) -> tuple[str, ...]:
        """The registered names, in order."""
        return tuple(self._tools)

    def copy(self) -> ToolRegistry:
        """A new registry holding the same tools (changing one leaves the other alone)."""
        return ToolRegistry(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({list(self._tools)})"
