"""Agents: the protocol, the oracle and null reference agents, and the model (API) agents."""

from __future__ import annotations

from typing import Any

from asibench_env.agents.base import Agent, AsyncAgent, SyncAdapter
from asibench_env.agents.naive import NaiveAgent
from asibench_env.agents.null import NullAgent
from asibench_env.agents.oracle import OracleAgent

AGENT_NAMES = ("oracle", "null", "openai", "openai-responses", "anthropic")

__all__ = ["AGENT_NAMES", "Agent", "AsyncAgent", "NaiveAgent", "NullAgent", "OracleAgent", "SyncAdapter", "make_agent"]


def make_agent(name: str, **kwargs: Any) -> Agent:
    """An agent by its CLI name; model agents take ``model`` and their request settings."""
    if name == "oracle":
        return OracleAgent(**kwargs)
    if name == "null":
        return NullAgent()
    if name == "openai":
        from asibench_env.agents.openai_agent import OpenAIChatAgent

        return OpenAIChatAgent(**kwargs)
    if name == "openai-responses":
        from asibench_env.agents.openai_responses_agent import OpenAIResponsesAgent

        return OpenAIResponsesAgent(**kwargs)
    if name == "anthropic":
        from asibench_env.agents.anthropic_agent import AnthropicAgent

        return AnthropicAgent(**kwargs)
    raise ValueError(f"unknown agent {name!r}; choose one of: {', '.join(AGENT_NAMES)}")
