"""Sandboxes: where the agent's tool calls run."""

from asibench_env.sandbox.base import (
    CollectReport,
    ExecResult,
    FileEntry,
    IsolationInfo,
    ProcessInfo,
    Sandbox,
    SandboxError,
    SandboxLimits,
    SandboxPathError,
)
from asibench_env.sandbox.factory import backend_class, backend_names, open_sandbox, options_model, register_backend
from asibench_env.sandbox.options import SandboxOptions, SandboxOptionsError

__all__ = [
    "CollectReport",
    "ExecResult",
    "FileEntry",
    "IsolationInfo",
    "ProcessInfo",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxOptions",
    "SandboxOptionsError",
    "SandboxPathError",
    "backend_class",
    "backend_names",
    "open_sandbox",
    "options_model",
    "register_backend",
]
