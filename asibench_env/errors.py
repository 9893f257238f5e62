"""Exceptions shared across asibench-env."""

from __future__ import annotations


class InfraError(RuntimeError):
    """A failure of the infrastructure (model API, sandbox, generator), not of the agent.

    Episodes that end this way get status ``infra_error``: they are retried or reported apart,
    never counted as a score of 0. Every infrastructure failure derives from it (the sandbox's
    :class:`~asibench_env.sandbox.base.SandboxError` and its Docker and image errors, the
    generator's :class:`~asibench_env.tasks.instances.InstanceGenerationError`, the scoring
    worker's :class:`~asibench_env.rewards.isolation.ScoringWorkerError`), so a caller catches one type.
    This module imports nothing: it is bundled into the Docker sandbox's supervisor.
    """
