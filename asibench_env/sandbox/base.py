"""The sandbox interface every backend (local, Docker) implements.

The environment only talks to a sandbox through :class:`Sandbox`; it never touches a host path inside
it. Paths given to the file operations are relative to the workspace root (the agent's working
directory); a path that escapes the workspace raises :class:`SandboxPathError`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

IsolationLevel = Literal["namespaces", "container", "none"]
AGENT_MEMORY_FILES = ("CLAUDE.md", "CLAUDE.local.md", "AGENTS.md", ".claude")
"""Instruction files of coding agents: never placed in a workspace, whoever wrote them."""


class SandboxError(RuntimeError):
    """An infrastructure failure of the sandbox itself (not of the agent's code)."""


class SandboxPathError(ValueError):
    """A path given by the agent points outside the workspace or at something that is not allowed."""


@dataclass(frozen=True)
class ExecResult:
    """What one command or one Python cell produced."""

    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False
    truncated_bytes: int = 0
    """How many bytes of output were cut from the middle (0 when nothing was cut)."""
    restarted: bool = False
    """True when the interpreter or shell had died and was started again before this call."""


@dataclass(frozen=True)
class FileEntry:
    """One entry of a workspace listing."""

    path: str
    kind: Literal["file", "dir", "symlink", "other"]
    size: int


@dataclass(frozen=True)
class CollectedFile:
    """One output copied from the sandbox to the host."""

    path: str
    size: int


@dataclass
class CollectReport:
    """What :meth:`Sandbox.collect` copied, and what it refused and why."""

    collected: list[CollectedFile] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IsolationInfo:
    """The isolation an episode really got, reported in episode info and run metadata."""

    backend: str
    level: IsolationLevel
    network: bool
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits applied to everything the agent runs."""

    cpu_seconds: int = 3600
    memory_bytes: int = 8 * 1024**3
    file_size_bytes: int = 1024**3
    max_processes: int = 256
    output_bytes: int = 64 * 1024
    """Output kept per call: head and tail halves, with a marker for the cut middle."""
    default_timeout_s: float = 600.0
    collect_max_file_bytes: int = 512 * 1024**2
    collect_max_total_bytes: int = 2 * 1024**3


class Sandbox(abc.ABC):
    """A private workspace plus a persistent shell and a persistent Python interpreter."""

    isolation: IsolationInfo
    limits: SandboxLimits

    @abc.abstractmethod
    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run ``command`` in the persistent bash session (cwd and exports persist)."""

    @abc.abstractmethod
    def run_python(self, code: str, timeout: float | None = None) -> ExecResult:
        """Run ``code`` in the persistent Python interpreter (variables persist)."""

    @abc.abstractmethod
    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Return the bytes of a workspace file."""

    @abc.abstractmethod
    def write_file(self, path: str, content: str | bytes) -> int:
        """Create or replace a workspace file (parents are created); return the bytes written."""

    @abc.abstractmethod
    def list_files(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        """List a workspace directory recursively, without following symlinks."""

    @abc.abstractmethod
    def collect(self, paths: list[str], dest: Path) -> CollectReport:
        """Copy the named workspace files to ``dest`` on the host, safely.

        Only regular files are copied; symlinks, hardlinked files, devices, FIFOs and sockets are
        refused, as are files over the size caps.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Stop every process and remove every temporary file. Safe to call twice."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
