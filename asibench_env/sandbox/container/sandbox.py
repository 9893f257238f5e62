"""DockerSandbox: one hardened container per episode, with a persistent shell and Python inside it.

Steps never pay a ``docker exec``: each call is one message to the container's supervisor over the
attach stream (see launcher.py and assets/supervisor.py). Data goes in as a tar stream; outputs come
out as a tar stream that the host extracts with :mod:`asibench_env.sandbox.tarsafe`, trusting
nothing in it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asibench_env.sandbox import fsops
from asibench_env.sandbox.base import (
    CollectedFile,
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
from asibench_env.sandbox.container import images
from asibench_env.sandbox.container.channel import ChannelClosed, ChannelTimeout
from asibench_env.sandbox.container.launcher import AGENT_UID, ContainerSpec, Launched, docker_client, sweep_orphans
from asibench_env.sandbox.container.options import DockerSandboxOptions
from asibench_env.sandbox.container.pool import ContainerPools
from asibench_env.sandbox.notices import FRESH_INTERPRETER, interpreter_lost, shell_replaced
from asibench_env.sandbox.options import resolve_options
from asibench_env.sandbox.tarsafe import safe_extract, seed_tar

logger = logging.getLogger(__name__)

CONTROL_TIMEOUT_S = 120.0
"""Deadline for file operations and process control."""
GRACE_S = 30.0
"""How long past a command's own timeout the host waits for the supervisor before giving up on it."""
_ERRORS = {"SandboxPathError": SandboxPathError, "FileNotFoundError": FileNotFoundError}


class DockerSandbox(Sandbox):
    """A sandbox in a Docker container (see the module docstring)."""

    options_model = DockerSandboxOptions

    def __init__(
        self,
        seed_dir: Path,
        *,
        runtime_packages: Sequence[str] = (),
        limits: SandboxLimits | None = None,
        options: DockerSandboxOptions | None = None,
        client: Any = None,
        **option_values: Any,
    ):
        """Start a sandbox seeded with ``seed_dir`` (options as a model or keywords: :class:`DockerSandboxOptions`).

        ``client`` is a Docker SDK client (default: the process's shared one, from the environment).

        Raises:
            SandboxOptionsError: an unknown or invalid option.
            SandboxError: no Docker engine or SDK, no image, unmet runtime requirements, or the
                container could not start.
        """
        opts = resolve_options(DockerSandboxOptions, options, option_values, backend="docker")
        image, cpus, warm_pool = opts.image, opts.cpus, opts.warm_pool
        workspace_bytes, tmp_bytes, env = opts.workspace_bytes, opts.tmp_bytes, opts.env
        self.options = opts
        self.limits = limits or SandboxLimits()
        self._closed = False
        self._client = client or docker_client()
        image_info = images.resolve_image(self._client, image)
        spec = ContainerSpec(
            image=image_info.image_id,
            limits=self.limits,
            cpus=cpus,
            workspace_bytes=workspace_bytes,
            tmp_bytes=tmp_bytes,
            extra_env=tuple(sorted((env or {}).items())),
        )
        self._box: Launched | None = ContainerPools.default().acquire(self._client, spec, warm_pool)
        try:
            images.check_requirements(image_info, self._box.manifest, runtime_packages)
            self._call({"op": "put_tar"}, seed_tar(seed_dir), timeout=CONTROL_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        self.container_id = self._box.container_id
        self.isolation = IsolationInfo(
            backend="docker",
            level="container",
            network=False,
            details={
                "image": image_info.reference,
                "image_id": image_info.image_id,
                "image_digest": image_info.digest,
                "container": self.container_id[:12],
                "user": str(AGENT_UID),
                "memory_bytes": str(self.limits.memory_bytes),
                "cpus": str(cpus),
                "pids_limit": str(self.limits.max_processes),
                "workspace_bytes": str(workspace_bytes),
                "warm_pool": str(warm_pool),
            },
        )

    # ------------------------------------------------------------------ backend lifecycle
    @classmethod
    def start(cls) -> None:
        """Connect to the Docker engine and sweep orphans once (sandboxes do this lazily anyway).

        Raises:
            SandboxError: no Docker SDK or no engine to talk to.
        """
        ContainerPools.default().sweep_once(docker_client())

    @classmethod
    def shutdown(cls, wait: bool = True) -> None:
        """Discard every warm-pooled container (and, with ``wait``, finish pending releases)."""
        pools = ContainerPools.current()
        if pools is not None:
            pools.shutdown(wait)

    @classmethod
    def sweep(cls, *, everything: bool = False) -> int:
        """Remove containers whose owner process is gone (every one of ours with ``everything``).

        Raises:
            SandboxError: no Docker SDK or no engine to talk to.
        """
        return sweep_orphans(docker_client(), everything=everything)

    # ------------------------------------------------------------------ channel
    def _call(
        self, request: dict[str, Any], payload: bytes = b"", *, timeout: float, max_payload: int = 0
    ) -> tuple[dict[str, Any], bytes]:
        if self._closed or self._box is None:
            raise SandboxError("the sandbox is closed")
        try:
            self._box.channel.send(request, payload)
            reply, body = self._box.channel.receive(timeout, max_payload)
        except (ChannelClosed, ChannelTimeout) as exc:
            self._lose(str(exc))
            raise
        self._raise_error(reply)
        return reply, body

    async def _call_async(
        self, request: dict[str, Any], payload: bytes = b"", *, timeout: float, max_payload: int = 0
    ) -> tuple[dict[str, Any], bytes]:
        """:meth:`_call` on the event loop: waiting for the supervisor holds no thread."""
        if self._closed or self._box is None:
            raise SandboxError("the sandbox is closed")
        try:
            await self._box.channel.send_async(request, payload)
            reply, body = await self._box.channel.receive_async(timeout, max_payload)
        except (ChannelClosed, ChannelTimeout) as exc:
            self._lose(str(exc))
            raise
        self._raise_error(reply)
        return reply, body

    @staticmethod
    def _raise_error(reply: dict[str, Any]) -> None:
        if reply.get("status") != "error":
            return
        kind, message = reply.get("type"), str(reply.get("message", "unknown error"))
        if kind == "IsADirectoryError":
            raise IsADirectoryError(message)
        raise _ERRORS.get(str(kind), OSError)(message)

    def _lose(self, reason: str) -> None:
        """The container or its supervisor is gone: an infrastructure failure, the sandbox is over."""
        logger.error("docker sandbox lost: %s", reason)
        self.close()

    def _output_cap(self) -> int:
        return 4 * self.limits.output_bytes + 65536

    # ------------------------------------------------------------------ tools
    # Each tool is a request (built by a _*_request method), one channel call, and a reply decoded by
    # a shared helper: the sync and async methods differ only in how they wait for the call.
    def _shell_request(self, command: str, timeout: float | None) -> tuple[dict[str, Any], dict[str, Any]]:
        timeout = float(timeout or self.limits.default_timeout_s)
        request = {"op": "shell", "command": command, "timeout": timeout}
        return request, {"timeout": timeout + GRACE_S, "max_payload": self._output_cap()}

    @staticmethod
    def _shell_result(reply: dict[str, Any], body: bytes, started: float) -> ExecResult:
        if reply["status"] == "shell_died":
            return shell_replaced(str(reply.get("reason")), time.monotonic() - started)
        return ExecResult(
            exit_code=int(reply["exit_code"]),
            output=body.decode("utf-8", errors="replace"),
            duration_s=float(reply["duration"]),
            timed_out=bool(reply["timed_out"]),
            truncated_bytes=int(reply["truncated"]),
            restarted=bool(reply.get("restarted")),
        )

    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        started = time.monotonic()
        request, call = self._shell_request(command, timeout)
        reply, body = self._call(request, **call)
        return self._shell_result(reply, body, started)

    async def exec_async(self, command: str, timeout: float | None = None) -> ExecResult:
        """:meth:`exec` over the supervisor channel, watched by the event loop (no thread waits)."""
        started = time.monotonic()
        request, call = self._shell_request(command, timeout)
        reply, body = await self._call_async(request, **call)
        return self._shell_result(reply, body, started)

    def _python_request(self, code: str, timeout: float | None) -> tuple[dict[str, Any], dict[str, Any]]:
        timeout = float(timeout or self.limits.default_timeout_s)
        request = {"op": "python", "code": code, "timeout": timeout}
        return request, {"timeout": timeout + GRACE_S, "max_payload": self._output_cap()}

    @staticmethod
    def _python_result(reply: dict[str, Any], body: bytes, timeout: float) -> ExecResult:
        restarted = bool(reply.get("restarted"))
        if reply["status"] != "ok":
            return interpreter_lost(timeout, reply["status"] == "timeout", float(reply["duration"]), restarted)
        output = body.decode("utf-8", errors="replace")
        return ExecResult(
            exit_code=0 if reply["ok"] else 1,
            output=(FRESH_INTERPRETER + output) if restarted else output,
            duration_s=float(reply["duration"]),
            truncated_bytes=int(reply["truncated"]),
            restarted=restarted,
        )

    def run_python(self, code: str, timeout: float | None = None) -> ExecResult:
        request, call = self._python_request(code, timeout)
        reply, body = self._call(request, **call)
        return self._python_result(reply, body, request["timeout"])

    async def run_python_async(self, code: str, timeout: float | None = None) -> ExecResult:
        """:meth:`run_python` over the supervisor channel, watched by the event loop (no thread waits)."""
        request, call = self._python_request(code, timeout)
        reply, body = await self._call_async(request, **call)
        return self._python_result(reply, body, request["timeout"])

    def _read_request(self, path: str, max_bytes: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
        limit = int(max_bytes or self.limits.collect_max_file_bytes)
        fsops.split_relative(path)  # refuse escaping paths before they reach the container
        return {"op": "read", "path": path, "max_bytes": limit}, {"timeout": CONTROL_TIMEOUT_S, "max_payload": limit}

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        request, call = self._read_request(path, max_bytes)
        return self._call(request, **call)[1]

    async def read_file_async(self, path: str, max_bytes: int | None = None) -> bytes:
        """:meth:`read_file` over the supervisor channel, on the event loop."""
        request, call = self._read_request(path, max_bytes)
        return (await self._call_async(request, **call))[1]

    def _write_request(self, path: str, content: str | bytes) -> tuple[dict[str, Any], bytes]:
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if not fsops.split_relative(path):
            raise SandboxPathError(f"{path!r} names the workspace itself, not a file")
        if len(data) > self.limits.file_size_bytes:
            limit = self.limits.file_size_bytes
            raise SandboxPathError(f"{path}: {len(data)} bytes is over the {limit}-byte file limit")
        return {"op": "write", "path": path}, data

    def write_file(self, path: str, content: str | bytes) -> int:
        request, data = self._write_request(path, content)
        reply, _ = self._call(request, data, timeout=CONTROL_TIMEOUT_S)
        return int(reply["written"])

    async def write_file_async(self, path: str, content: str | bytes) -> int:
        """:meth:`write_file` over the supervisor channel, on the event loop."""
        request, data = self._write_request(path, content)
        reply, _ = await self._call_async(request, data, timeout=CONTROL_TIMEOUT_S)
        return int(reply["written"])

    @staticmethod
    def _list_request(path: str, max_entries: int) -> dict[str, Any]:
        fsops.split_relative(path)
        return {"op": "list", "path": path, "max_entries": max_entries}

    @staticmethod
    def _entries(reply: dict[str, Any]) -> list[FileEntry]:
        return [FileEntry(path=p, kind=k, size=int(s)) for p, k, s in reply["entries"]]

    def list_files(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        reply, _ = self._call(self._list_request(path, max_entries), timeout=CONTROL_TIMEOUT_S)
        return self._entries(reply)

    async def list_files_async(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        """:meth:`list_files` over the supervisor channel, on the event loop."""
        reply, _ = await self._call_async(self._list_request(path, max_entries), timeout=CONTROL_TIMEOUT_S)
        return self._entries(reply)

    def collect(self, paths: list[str], dest: Path) -> CollectReport:
        lim = self.limits
        if self._closed or self._box is None:
            raise SandboxError("the sandbox is closed")
        request = {
            "op": "pack",
            "paths": list(paths),
            "max_file": lim.collect_max_file_bytes,
            "max_total": lim.collect_max_total_bytes,
        }
        channel = self._box.channel
        try:
            channel.send(request)
            # Tar overhead is a 512-byte header (plus PAX records) per file and padding: allow for it.
            cap = lim.collect_max_total_bytes + 4096 * (len(paths) + 4)
            reply, spool = channel.receive_to_file(CONTROL_TIMEOUT_S + lim.collect_max_total_bytes / 50e6, cap)
        except (ChannelClosed, ChannelTimeout) as exc:
            self._lose(str(exc))
            raise
        with spool:
            self._raise_error(reply)
            report = CollectReport(refused=dict(reply.get("refused", {})), missing=list(reply.get("missing", [])))
            announced = {str(p): int(s) for p, s in reply.get("collected", [])}
            spool.seek(0)
            dest.mkdir(parents=True, exist_ok=True)
            extracted = safe_extract(
                spool,
                dest,
                allowed=announced,
                max_file=lim.collect_max_file_bytes,
                max_total=lim.collect_max_total_bytes,
            )
        for name, reason in extracted.refused.items():
            report.refused[name] = reason
        report.collected = [CollectedFile(path=p, size=s) for p, s in extracted.files.items()]
        for name in announced.keys() - extracted.files.keys() - extracted.refused.keys():
            report.refused[name] = "not collected: it was announced but not in the archive"
        return report

    # ------------------------------------------------------------------ processes
    def processes(self) -> list[ProcessInfo]:
        """Every process the agent started (container pids; the supervisor and the shell excluded).

        See :meth:`Sandbox.processes`.
        """
        reply, _ = self._call({"op": "ps"}, timeout=CONTROL_TIMEOUT_S)
        return [ProcessInfo(pid=int(pid), command=str(command)) for pid, command in reply["processes"]]

    def stop_processes(self, keep_kernel: bool = False) -> int:
        """Kill every process the agent started (the shell stays); see :meth:`Sandbox.stop_processes`.

        Args:
            keep_kernel: spare the Python interpreter.
        """
        reply, _ = self._call({"op": "kill", "keep_kernel": keep_kernel}, timeout=CONTROL_TIMEOUT_S)
        return int(reply["killed"])

    # ------------------------------------------------------------------ teardown
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        box, self._box = self._box, None
        if box is not None:
            ContainerPools.default().release(box)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()
