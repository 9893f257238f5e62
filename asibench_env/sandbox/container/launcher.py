"""Start hardened sandbox containers, and sweep away the ones a crashed run left behind.

A container gets no network, no capabilities, no-new-privileges, a non-root user, memory, CPU and
process limits, a read-only root with size-capped tmpfs mounts for /workspace and /tmp, no host
mounts, no logging of its streams, and labels that name its owner process. Its PID 1 is the
supervisor (see assets/supervisor.py); the host talks to it over the attach stream. When that
stream closes (the owner closed the sandbox, or died) the supervisor exits, the container stops and
Docker removes it (auto-remove): nothing needs the owner to be alive to be cleaned up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from asibench_env.sandbox.base import SandboxError, SandboxLimits
from asibench_env.sandbox.container.bundle import kernel_source, shell_source, supervisor_source
from asibench_env.sandbox.container.channel import SupervisorChannel
from asibench_env.sandbox.environment import agent_env
from asibench_env.sandbox.protocol import wait_fd

logger = logging.getLogger(__name__)

LABEL = "org.asibench-env.sandbox"
OWNER_LABEL = "org.asibench-env.owner"
RUNTIME_DIR = "/opt/runtime"
AGENT_UID = 1000
HELLO_TIMEOUT_S = 60.0


_client_lock = threading.Lock()
_shared_client: Any = None


def docker_client() -> Any:
    """The process's Docker client, from the environment (DOCKER_HOST etc.), or a clear error.

    One client is shared (it is thread-safe and pools its connections), so that every sandbox of a
    process shares its warm pools.
    """
    global _shared_client
    with _client_lock:
        if _shared_client is None:
            _shared_client = _connect()
        return _shared_client


def _connect() -> Any:
    try:
        import docker
    except ImportError as exc:
        raise SandboxError("the docker sandbox needs the docker SDK: pip install 'asibench-env[docker]'") from exc
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means no engine to talk to
        raise SandboxError(
            f"cannot reach the Docker engine ({exc}); start it, or set DOCKER_HOST, or use --sandbox local"
        ) from exc
    return client


@cache
def _process_start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "0"


def owner_id(pid: int | None = None) -> str:
    """``host:pid:start-time`` of a process: what the sweeper checks to tell a live owner from a dead one."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_process_start_time(pid)}"


def _owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine's container: not ours to judge
    pid = int(pid_text)
    if not os.path.exists(f"/proc/{pid}"):
        return False
    _process_start_time.cache_clear()
    return _process_start_time(pid) == started


@dataclass(frozen=True)
class ContainerRecord:
    """One of our containers as the engine lists it."""

    id: str
    labels: dict[str, str]

    @property
    def owner(self) -> str:
        return self.labels.get(OWNER_LABEL, "")


def our_containers(client: Any) -> list[ContainerRecord]:
    """Every container (running or not) that asibench-env started on this engine."""
    listed = client.api.containers(all=True, filters={"label": LABEL})
    return [ContainerRecord(id=str(c["Id"]), labels=dict(c.get("Labels") or {})) for c in listed]


def sweep_orphans(client: Any, *, everything: bool = False) -> int:
    """Remove our containers whose owner process is gone (all of ours with ``everything``)."""
    removed = 0
    for record in our_containers(client):
        if everything or not _owner_alive(record.owner):
            with contextlib.suppress(Exception):
                client.api.remove_container(record.id, force=True)
                removed += 1
    if removed:
        logger.warning("removed %d sandbox container(s) left behind by an earlier run", removed)
    return removed


def wait_until_gone(client: Any, ids: set[str], timeout: float = 30.0) -> set[str]:
    """Wait for Docker's auto-remove to take the given containers; return the ids still present."""
    deadline = time.monotonic() + timeout
    while True:
        left = {c.id for c in our_containers(client)} & ids
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@dataclass(frozen=True)
class ContainerSpec:
    """Everything that decides how a sandbox container is created (equal specs share a warm pool)."""

    image: str
    limits: SandboxLimits
    cpus: float = 2.0
    workspace_bytes: int = 2 * 1024**3
    tmp_bytes: int = 1024**3
    extra_env: tuple[tuple[str, str], ...] = ()

    def agent_environment(self, sandbox_id: str) -> dict[str, str]:
        env = agent_env(home="/workspace", tmp="/tmp", runtime=RUNTIME_DIR, sandbox_id=sandbox_id)
        env.update(dict(self.extra_env))
        return env

    def ulimits(self) -> str:
        # Memory and process counts are the container's cgroup limits (RLIMIT_NPROC is per uid across
        # the whole machine, so it is not used here); CPU time and file size stay per process.
        return f"ulimit -t {self.limits.cpu_seconds} -f {self.limits.file_size_bytes // 1024}"

    def check(self) -> None:
        needed = self.workspace_bytes + self.tmp_bytes + 256 * 1024**2
        if self.limits.memory_bytes < needed:
            raise SandboxError(
                f"the memory limit ({self.limits.memory_bytes} bytes) must exceed the workspace and /tmp caps "
                f"plus 256 MiB ({needed} bytes): files in them count as the container's memory"
            )


@dataclass
class Launched:
    """A started container with its supervisor ready."""

    client: Any
    container_id: str
    channel: SupervisorChannel
    manifest: dict[str, Any] | None
    sandbox_id: str
    started_at: float = field(default_factory=time.monotonic)

    def alive(self) -> bool:
        """False when the container's stream has already ended (it stopped while waiting in a pool)."""
        if not wait_fd(self.channel.sock.fileno(), 0):
            return True
        try:
            return bool(self.channel.sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return True
        except OSError:
            return False

    def discard(self) -> None:
        """Close the stream (the supervisor exits and Docker removes the container), then make sure."""
        self.channel.close()
        self.kill()

    def kill(self) -> None:
        """Stop the container from outside (a no-op when it has already gone)."""
        with contextlib.suppress(Exception):
            self.client.api.kill(self.container_id)


def _create_container(client: Any, spec: ContainerSpec, sandbox_id: str) -> str:
    """Create (not start) the container; returns its id."""
    lim = spec.limits
    host_config = client.api.create_host_config(
        network_mode="none",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        read_only=True,
        tmpfs={
            "/workspace": f"rw,nosuid,nodev,size={spec.workspace_bytes // 1024}k,uid={AGENT_UID},gid={AGENT_UID},"
            "mode=0755",
            "/tmp": f"rw,nosuid,nodev,size={spec.tmp_bytes // 1024}k,mode=1777",
        },
        mem_limit=lim.memory_bytes,
        memswap_limit=lim.memory_bytes,
        pids_limit=lim.max_processes,
        nano_cpus=int(spec.cpus * 1e9),
        ipc_mode="private",
        auto_remove=True,
        log_config={"Type": "none", "Config": {}},
    )
    created = client.api.create_container(
        image=spec.image,
        command=["python3", "-I", "-c", supervisor_source()],
        user=f"{AGENT_UID}:{AGENT_UID}",
        working_dir="/workspace",
        hostname="sandbox",
        stdin_open=True,  # with detach=False this also sets StdinOnce: closing our stream ends the container
        detach=False,
        tty=False,
        labels={
            LABEL: "1",
            OWNER_LABEL: owner_id(),
            "org.asibench-env.created": datetime.now(UTC).isoformat(timespec="seconds"),
            "org.asibench-env.sandbox-id": sandbox_id,
        },
        environment={"PATH": f"{RUNTIME_DIR}/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
        host_config=host_config,
    )
    return str(created["Id"])


def launch(client: Any, spec: ContainerSpec) -> Launched:
    """Create, attach to and start a container, and hand its supervisor its configuration."""
    sandbox_id = secrets.token_hex(8)
    spec.check()
    try:
        container_id = _create_container(client, spec, sandbox_id)
    except Exception as exc:  # noqa: BLE001 - the SDK raises several types; all mean "no container"
        raise SandboxError(f"could not create the sandbox container from {spec.image}: {exc}") from exc
    channel = None
    try:
        raw = client.api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        channel = SupervisorChannel(getattr(raw, "_sock", raw))
        channel.keepalive = raw  # the SDK's response object owns the socket: keep it alive with the channel
        client.api.start(container_id)
        lim = spec.limits
        config = {
            "env": spec.agent_environment(sandbox_id),
            "ulimits": spec.ulimits(),
            "shell_src": shell_source(),
            "kernel_src": kernel_source(),
            "python": f"{RUNTIME_DIR}/bin/python",
            "kernel_env": {
                "ASB_OUTPUT_BYTES": str(lim.output_bytes),
                "ASB_RLIMIT_FSIZE": str(lim.file_size_bytes),
                "ASB_RLIMIT_CPU": str(lim.cpu_seconds),
            },
            "output_bytes": lim.output_bytes,
            "file_size_bytes": lim.file_size_bytes,
        }
        channel.send({"op": "hello", "config": config})
        reply, _ = channel.receive(HELLO_TIMEOUT_S, max_payload=0)
        if reply.get("status") != "ok":
            raise SandboxError(f"the sandbox supervisor did not start: {reply.get('message', reply)}")
    except BaseException:
        if channel is not None:
            channel.close()
        with contextlib.suppress(Exception):
            client.api.remove_container(container_id, force=True)
        raise
    return Launched(
        client=client, container_id=container_id, channel=channel, manifest=reply.get("manifest"), sandbox_id=sandbox_id
    )
