"""Sandboxes: where the agent's tool calls run."""

from asibench_env.sandbox.base import (
    CollectReport,
    ExecResult,
    FileEntry,
    IsolationInfo,
    Sandbox,
    SandboxError,
    SandboxLimits,
    SandboxPathError,
)
from asibench_env.sandbox.factory import backend_names, open_sandbox, register_backend

__all__ = [
    "CollectReport",
    "ExecResult",
    "FileEntry",
    "IsolationInfo",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxPathError",
    "backend_names",
    "open_sandbox",
    "register_backend",
]
