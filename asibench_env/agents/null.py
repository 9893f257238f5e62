"""The null agent: submits at once. Its score is the floor a task must give an empty workspace."""

from __future__ import annotations

from typing import Any, Self

from asibench_env.agents.settings import AgentSettings
from asibench_env.tasks.registry import TaskRegistry


class NullAgent:
    """Submits immediately, producing no outputs."""

    name = "null"

    @classmethod
    def from_settings(cls, settings: AgentSettings, *, registry: TaskRegistry | None = None) -> Self:
        """The null agent; model settings are ignored.

        Raises :class:`~asibench_env.agents.settings.AgentSettingsError` for any agent option.
        """
        settings.refuse_options()
        return cls()

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """Nothing to prepare."""

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        """Submit."""
        return {"tool": "submit", "arguments": {}}

    def end(self, reward: float, info: dict[str, Any]) -> None:
        """Nothing to clean up."""
