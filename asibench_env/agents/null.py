"""The null agent: submits at once. Its score is the floor a task must give an empty workspace."""

from __future__ import annotations

from typing import Any


class NullAgent:
    """Submits immediately, producing no outputs."""

    name = "null"

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        pass

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        return {"tool": "submit", "arguments": {}}

    def end(self, reward: float, info: dict[str, Any]) -> None:
        pass
