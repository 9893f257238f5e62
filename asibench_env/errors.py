"""Exceptions shared across asibench-env."""

from __future__ import annotations


class InfraError(RuntimeError):
    """A failure of the infrastructure (model API, sandbox, generator), not of the agent.

    Episodes that end this way get status ``infra_error``: they are retried or reported apart,
    never counted as a score of 0.
    """
