"""The agent protocol the batch runner drives."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Agent(Protocol):
    """An agent: sees the observation and info, returns the next action, hears the final reward.

    ``act`` may return anything the env's action parser accepts: a dict, a JSON string, a
    :class:`~asibench_env.actions.ToolCall` or raw completion text.
    """

    name: str

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """A new episode starts with this observation (the prompt) and info."""

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        """Return the next action."""

    def end(self, reward: float, info: dict[str, Any]) -> None:
        """The episode ended with this reward and final info."""
