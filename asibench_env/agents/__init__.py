"""Agents: the protocol, the registry, the oracle, null and naive reference agents, and the model (API) agents.

The model agents live in their own modules (``openai_agent``, ``openai_responses_agent``,
``anthropic_agent``) and are imported only when used, so this package imports without their SDKs.
"""

from __future__ import annotations

from typing import Any

from asibench_env.agents.base import (
    Agent,
    AsyncAgent,
    Describable,
    DescribesConversation,
    ReportsTurns,
    ReportsUsage,
    SyncAdapter,
)
from asibench_env.agents.naive import NaiveAgent
from asibench_env.agents.null import NullAgent
from asibench_env.agents.oracle import OracleAgent
from asibench_env.agents.registry import (
    ENTRY_POINT_GROUP,
    AgentEntry,
    AgentFactory,
    AgentSpecError,
    UnknownAgentError,
    plugin_agents,
    register_agent,
    registered_agents,
    resolve_agent,
)
from asibench_env.agents.settings import AgentSettings, AgentSettingsError

AGENT_NAMES = tuple(registered_agents())
"""The built-in agents' names (plug-ins and later registrations are in :func:`registered_agents`)."""

__all__ = [
    "AGENT_NAMES",
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentEntry",
    "AgentFactory",
    "AgentSettings",
    "AgentSettingsError",
    "AgentSpecError",
    "AsyncAgent",
    "Describable",
    "DescribesConversation",
    "NaiveAgent",
    "NullAgent",
    "OracleAgent",
    "ReportsTurns",
    "ReportsUsage",
    "SyncAdapter",
    "UnknownAgentError",
    "make_agent",
    "plugin_agents",
    "register_agent",
    "registered_agents",
    "resolve_agent",
]


def make_agent(name: str, **kwargs: Any) -> Agent | AsyncAgent:
    """An agent by name, built by calling its class with ``kwargs`` (the constructor's own arguments).

    Prefer ``resolve_agent(name).build(AgentSettings(...), registry=...)``. Raises
    :class:`AgentSpecError` for an unknown name or a target that is not a class.
    """
    target = resolve_agent(name).factory()
    cls = getattr(target, "__self__", target)  # a from_settings classmethod's class
    if not isinstance(cls, type):
        raise AgentSpecError(f"agent {name!r} is built by a factory function; use resolve_agent(name).build(settings)")
    return cls(**kwargs)
