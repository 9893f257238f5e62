"""The agent protocol the batch runner drives, and the optional protocols it reads when an agent has them.

An agent needs only ``name``, ``reset``, ``act`` and ``end``. The runner also checks, with ``isinstance``:

- :class:`ReportsUsage`: token and cost totals, copied into the episode's result;
- :class:`ReportsTurns`: per-turn model metadata, written into the trajectory's step rows;
- :class:`Describable`: request settings, written into run_metadata.json (never an API key);
- :class:`DescribesConversation`: the episode's system prompt and tools as sent, written into the
  trajectory's episode row.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from functools import cache
from typing import Any, Protocol, runtime_checkable

from asibench_env.agents.pricing import Usage


@runtime_checkable
class Agent(Protocol):
    """An agent: sees the observation and info, returns the next action, hears the final reward.

    ``act`` may return anything the env's action parser accepts: a dict, a JSON string, a
    :class:`~asibench_env.envs.actions.ToolCall` or raw completion text.
    """

    name: str

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """A new episode starts with this observation (the prompt) and info."""

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        """Return the next action."""

    def end(self, reward: float, info: dict[str, Any]) -> None:
        """The episode ended with this reward and final info."""


@runtime_checkable
class AsyncAgent(Protocol):
    """The same protocol with coroutines, for agents built on async clients."""

    name: str

    async def reset(self, observation: str, info: dict[str, Any]) -> None: ...

    async def act(self, observation: str, info: dict[str, Any]) -> Any: ...

    async def end(self, reward: float, info: dict[str, Any]) -> None: ...


@runtime_checkable
class ReportsUsage(Protocol):
    """An agent that counts its tokens and cost for the episode (reset by ``reset``)."""

    @property
    def usage(self) -> Usage:
        """Tokens used so far in this episode."""

    @property
    def cost_usd(self) -> float | None:
        """Dollars spent so far in this episode (None when the model has no price)."""


@runtime_checkable
class ReportsTurns(Protocol):
    """An agent that describes its last model call, for the trajectory's step rows."""

    def pop_turn(self) -> dict[str, Any]:
        """Return the last turn's model metadata (keys of the step schema, e.g. ``input_tokens``) and clear it.

        Returns an empty dict when no model was called since the last pop.
        """


@runtime_checkable
class Describable(Protocol):
    """An agent that can describe its request settings for the run's metadata."""

    def config(self) -> dict[str, Any]:
        """JSON-able settings (model, base URL, sampling parameters); never an API key."""


@runtime_checkable
class DescribesConversation(Protocol):
    """An agent that can say how it framed the episode's conversation (after ``reset``)."""

    def conversation_setup(self) -> dict[str, Any]:
        """``system_prompt``, ``tools`` (as sent), ``tool_format`` and ``message_format`` of this episode."""


def is_async_agent(agent: object) -> bool:
    """Whether ``agent.act`` is a coroutine function (the agent needs a :class:`SyncAdapter`)."""
    return inspect.iscoroutinefunction(getattr(agent, "act", None))


class SyncAdapter:
    """Drives an :class:`AsyncAgent` from synchronous code on one private event loop.

    The loop lives in a daemon thread for the adapter's lifetime, so clients the agent creates stay
    bound to the loop they were made on. The adapter implements the optional protocols
    (:class:`ReportsUsage`, :class:`ReportsTurns`, :class:`Describable`) exactly when the wrapped agent
    does: ``SyncAdapter(agent)`` returns an instance of a subclass that forwards them.
    """

    agent: AsyncAgent

    def __new__(cls, agent: AsyncAgent) -> SyncAdapter:
        if cls is SyncAdapter:
            forwarders = tuple(mixin for protocol, mixin in _FORWARDERS if isinstance(agent, protocol))
            cls = _adapter_class(forwarders)
        return super().__new__(cls)

    def __init__(self, agent: AsyncAgent):
        self.agent = agent
        self.name = agent.name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        """Run the agent's ``reset`` on the adapter's loop."""
        self._run(self.agent.reset(observation, info))

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        """Run the agent's ``act`` on the adapter's loop and return its action."""
        return self._run(self.agent.act(observation, info))

    def end(self, reward: float, info: dict[str, Any]) -> None:
        """Run the agent's ``end``, then stop the loop."""
        try:
            self._run(self.agent.end(reward, info))
        finally:
            self.close()

    def close(self) -> None:
        """Stop the loop and its thread (idempotent)."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


class _ForwardsUsage:
    agent: Any

    @property
    def usage(self) -> Usage:
        return self.agent.usage

    @property
    def cost_usd(self) -> float | None:
        return self.agent.cost_usd


class _ForwardsTurns:
    agent: Any

    def pop_turn(self) -> dict[str, Any]:
        return self.agent.pop_turn()


class _ForwardsConversation:
    agent: Any

    def conversation_setup(self) -> dict[str, Any]:
        return self.agent.conversation_setup()


class _ForwardsConfig:
    agent: Any

    def config(self) -> dict[str, Any]:
        return self.agent.config()


_FORWARDERS: tuple[tuple[type, type], ...] = (
    (ReportsUsage, _ForwardsUsage),
    (ReportsTurns, _ForwardsTurns),
    (Describable, _ForwardsConfig),
    (DescribesConversation, _ForwardsConversation),
)


@cache
def _adapter_class(forwarders: tuple[type, ...]) -> type[SyncAdapter]:
    if not forwarders:
        return SyncAdapter
    return type("SyncAdapter", (*forwarders, SyncAdapter), {"__doc__": SyncAdapter.__doc__})
