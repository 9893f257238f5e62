"""The sandbox contract every backend (local, Docker, a third party's) implements.

The environment only talks to a sandbox through :class:`Sandbox`; it never touches a host path inside
it. Paths given to the file operations are relative to the workspace root (the agent's working
directory); a path that escapes the workspace raises :class:`SandboxPathError`.

Two kinds of failure, two exception types:

* :class:`SandboxPathError` (a :class:`ValueError`): the *agent* named a bad path (outside the
  workspace, through a symlink, over a size cap). The environment reports it to the agent as a
  tool error; the episode goes on.
* :class:`SandboxError` (an :class:`~asibench_env.errors.InfraError`): the *sandbox itself* failed
  (it could not start, its container is gone, it is closed). The episode ends with status
  ``infra_error`` and is never scored as 0.

The agent's own failures (a non-zero exit, a timeout, a crashed interpreter) are not exceptions:
they are reported in the :class:`ExecResult`. Backend-wide resources (warm pools, orphan sweeping)
are managed by the lifecycle classmethods :meth:`Sandbox.start`, :meth:`Sandbox.shutdown` and
:meth:`Sandbox.sweep`; options are validated into :attr:`Sandbox.options_model`.
The conformance suite every backend must pass is :mod:`asibench_env.sandbox.conformance`.

Async counterparts (:meth:`Sandbox.exec_async`, :meth:`Sandbox.run_python_async`,
:meth:`Sandbox.read_file_async`, :meth:`Sandbox.write_file_async`, :meth:`Sandbox.list_files_async`)
serve the env's ``reset_async``/``step_async``. Their default runs the sync method in a worker thread
(:func:`asyncio.to_thread`), so a third-party backend works unchanged; a backend whose shell and
interpreter are streams overrides them natively, so that an idle episode holds no thread (the local
and Docker backends do). They have the sync methods' semantics, results and exceptions exactly.

This module imports only the standard library and :mod:`asibench_env.errors`: it is bundled into the
Docker sandbox's supervisor (see container/bundle.py).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from asibench_env.errors import InfraError

if TYPE_CHECKING:
    from asibench_env.sandbox.options import SandboxOptions

IsolationLevel = Literal["namespaces", "container", "none"]
FileKind = Literal["file", "dir", "symlink", "other"]
AGENT_MEMORY_FILES = ("CLAUDE.md", "CLAUDE.local.md", "AGENTS.md", ".claude")
"""Instruction files of coding agents: never placed in a workspace, whoever wrote them."""


class SandboxError(InfraError):
    """An infrastructure failure of the sandbox itself (not of the agent's code).

    The base of every sandbox, Docker engine, image and container-channel error.
    """


class SandboxPathError(ValueError):
    """A path given by the agent points outside the workspace or at something that is not allowed.

    The agent's mistake, not an infrastructure failure: deliberately *not* an :class:`InfraError`.
    """


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
    kind: FileKind
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
    details: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessInfo:
    """One process the agent started inside a sandbox."""

    pid: int
    """The process id as the backend sees it (a host pid locally, a container pid in Docker)."""
    command: str
    """Its command line (arguments joined by spaces), or its name when the command line is unreadable."""


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
    """A private workspace plus a persistent shell and a persistent Python interpreter.

    A backend subclasses this, sets :attr:`options_model`, and takes
    ``(seed_dir, *, runtime_packages=(), limits=None, options=None, **option_values)`` in its
    constructor: the files of ``seed_dir`` are copied to the workspace (minus
    :data:`AGENT_MEMORY_FILES`), ``runtime_packages`` are requirements the task's Python must meet.
    A constructor raises :class:`SandboxError` when the sandbox cannot start (and leaves nothing
    behind), and :class:`~asibench_env.sandbox.options.SandboxOptionsError` for an unknown or invalid
    option. Every method but :meth:`close` raises :class:`SandboxError` once the sandbox is closed or
    lost. A sandbox is used by one thread (or one asyncio task) at a time.
    """

    options_model: ClassVar[type[SandboxOptions]]
    """The pydantic model of this backend's options (``extra="forbid"``)."""
    isolation: IsolationInfo
    """The isolation this sandbox really got (set by the constructor)."""
    limits: SandboxLimits
    """The resource limits applied to everything the agent runs."""

    @abc.abstractmethod
    def __init__(
        self,
        seed_dir: Path,
        *,
        runtime_packages: Sequence[str] = (),
        limits: SandboxLimits | None = None,
        options: SandboxOptions | None = None,
        **option_values: Any,
    ) -> None:
        """Start the sandbox with the files of ``seed_dir`` (the constructor contract above)."""

    # ------------------------------------------------------------------ backend lifecycle
    @classmethod
    def start(cls) -> None:
        """Start the backend's shared resources ahead of the first sandbox (idempotent; optional).

        Backends start them lazily anyway; the default has none.

        Raises:
            SandboxError: the shared resources could not be started (e.g. no container engine).
        """
        return None

    @classmethod
    def shutdown(cls, wait: bool = True) -> None:
        """Release the backend's shared resources (warm pools, pending releases); idempotent.

        Open sandboxes stay usable, and the next sandbox starts the resources again. Registered to
        run at interpreter exit by backends that have any. Never raises.

        Args:
            wait: also wait for background clean-up to finish.
        """
        return None

    @classmethod
    def sweep(cls, *, everything: bool = False) -> int:
        """Remove resources left behind by processes that died (orphans); return how many.

        Args:
            everything: remove every resource of this backend, including those of live processes.

        Raises:
            SandboxError: the backend's engine cannot be reached.
        """
        return 0

    # ------------------------------------------------------------------ tools
    @abc.abstractmethod
    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        """Run ``command`` in the persistent bash session (cwd and exports persist).

        Stdin is empty. At ``timeout`` seconds (default ``limits.default_timeout_s``) every process
        the command started is killed, double forks and signal-ignorers included, and the result
        has ``timed_out`` (exit code 124). Output beyond ``limits.output_bytes`` is cut from the
        middle (``truncated_bytes``). When the shell itself ended (``exit``, killed) a new one
        is started and the result has ``restarted``.

        Raises:
            SandboxError: the sandbox is closed or was lost.
        """

    @abc.abstractmethod
    def run_python(self, code: str, timeout: float | None = None) -> ExecResult:
        """Run ``code`` in the persistent Python interpreter (variables persist); echo a last expression.

        A cell that raises has exit code 1 and the traceback in its output. At ``timeout`` the
        interpreter is killed (``timed_out``); after a crash or a timeout the next call starts a
        fresh one and says so (``restarted``).

        Raises:
            SandboxError: the sandbox is closed or was lost.
        """

    # ------------------------------------------------------------------ async tools
    # asyncio is imported in these methods, not at the top: this module is bundled into the Docker
    # sandbox's in-container supervisor, which must not pay for importing it.
    async def exec_async(self, command: str, timeout: float | None = None) -> ExecResult:
        """:meth:`exec` for an event loop (same semantics); the default runs it in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.exec, command, timeout)

    async def run_python_async(self, code: str, timeout: float | None = None) -> ExecResult:
        """:meth:`run_python` for an event loop (same semantics); the default runs it in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.run_python, code, timeout)

    async def read_file_async(self, path: str, max_bytes: int | None = None) -> bytes:
        """:meth:`read_file` for an event loop (same semantics); the default runs it in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.read_file, path, max_bytes)

    async def write_file_async(self, path: str, content: str | bytes) -> int:
        """:meth:`write_file` for an event loop (same semantics); the default runs it in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.write_file, path, content)

    async def list_files_async(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        """:meth:`list_files` for an event loop (same semantics); the default runs it in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.list_files, path, max_entries)

    # ------------------------------------------------------------------ files
    @abc.abstractmethod
    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """Return the bytes of a workspace file (at most ``max_bytes``, default the collect cap).

        Raises:
            SandboxPathError: ``path`` escapes the workspace or goes through a symlink.
            FileNotFoundError: there is no such file.
            IsADirectoryError: ``path`` is a folder.
            SandboxError: the sandbox is closed or was lost.
        """

    @abc.abstractmethod
    def write_file(self, path: str, content: str | bytes) -> int:
        """Create or replace a workspace file (parents are created); return the bytes written.

        The file is owned by the agent (its code may change it afterwards).

        Raises:
            SandboxPathError: ``path`` escapes the workspace, names a symlink or a folder, or the
                content is over ``limits.file_size_bytes``.
            SandboxError: the sandbox is closed or was lost.
        """

    @abc.abstractmethod
    def list_files(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        """List a workspace directory recursively, without following symlinks.

        Raises:
            SandboxPathError: ``path`` escapes the workspace.
            FileNotFoundError: there is no such folder.
            SandboxError: the sandbox is closed or was lost.
        """

    @abc.abstractmethod
    def collect(self, paths: list[str], dest: Path) -> CollectReport:
        """Stop every process, then copy the named workspace files to ``dest`` on the host, safely.

        Only regular files are copied; symlinks, hardlinked files, devices, FIFOs and sockets are
        refused, as are paths that escape the workspace and files over the size caps
        (``limits.collect_max_file_bytes``, ``collect_max_total_bytes``). Refusals and missing files
        are reported, not raised.

        Raises:
            SandboxError: the sandbox is closed or was lost.
            OSError: ``dest`` cannot be written.
        """

    # ------------------------------------------------------------------ processes
    @abc.abstractmethod
    def processes(self) -> list[ProcessInfo]:
        """Every process the agent started and that is still running, the interpreter included.

        The sandbox's own processes (its init, the persistent shell, a supervisor) are not listed.

        Raises:
            SandboxError: the sandbox is closed or was lost.
        """

    @abc.abstractmethod
    def stop_processes(self) -> int:
        """Kill every process the agent started; return how many kill signals were sent.

        The persistent shell stays (its working directory and variables persist); the interpreter is
        killed too (its variables are lost; the next :meth:`run_python` starts a fresh one).
        Afterwards :meth:`processes` is empty.

        Raises:
            SandboxError: the sandbox is closed or was lost.
        """

    # ------------------------------------------------------------------ teardown
    @abc.abstractmethod
    def close(self) -> None:
        """Stop every process and remove every temporary file. Safe to call twice; never raises."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
