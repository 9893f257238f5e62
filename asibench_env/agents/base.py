"""The agent protocol the batch runner drives."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Protocol, runtime_checkable


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


def is_async_agent(agent: object) -> bool:
    return inspect.iscoroutinefunction(getattr(agent, "act", None))


class SyncAdapter:
    """Drives an :class:`AsyncAgent` from synchronous code on one private event loop.

    The loop lives in a daemon thread for the adapter's lifetime, so clients the agent creates stay
    bound to the loop they were made on.
    """

    def __init__(self, agent: AsyncAgent):
        self.agent = agent
        self.name = agent.name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self._run(self.agent.reset(observation, info))

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        return self._run(self.agent.act(observation, info))

    def end(self, reward: float, info: dict[str, Any]) -> None:
        try:
            self._run(self.agent.end(reward, info))
        finally:
            self.close()

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __getattr__(self, name: str) -> Any:  # usage, cost_usd, last_turn, ... of the wrapped agent
        return getattr(self.agent, name)
