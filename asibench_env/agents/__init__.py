"""Agents: the protocol, plus the oracle and null reference agents."""

from asibench_env.agents.base import Agent
from asibench_env.agents.null import NullAgent
from asibench_env.agents.oracle import OracleAgent

__all__ = ["Agent", "NullAgent", "OracleAgent", "make_agent"]


def make_agent(name: str, **kwargs) -> Agent:
    """An agent by its CLI name."""
    agents = {"oracle": OracleAgent, "null": NullAgent}
    if name not in agents:
        raise ValueError(f"unknown agent {name!r}; choose one of: {', '.join(sorted(agents))}")
    return agents[name](**kwargs)
