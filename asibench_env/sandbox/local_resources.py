"""What a local sandbox holds on the host, and how it is all let go (on close, restart, or garbage collection).

The processes (the ``unshare`` that holds the namespace, its init, the interpreter's ``nsenter``), the
watchdog pipe whose far end the init watches, the cgroup and the workspace mount. Releasing kills the
init by its host pid first: the kernel then kills every process of the sandbox's pid namespace, so
nothing the agent started survives, whatever session, process group or uid it moved to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from asibench_env.sandbox.cgroups import SandboxCgroup
from asibench_env.sandbox.local_sweep import kill_chrooted
from asibench_env.sandbox.mounts import unmount_all
from asibench_env.sandbox.owner import ProcessRef

GONE_TIMEOUT_S = 10.0


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process and its process group, wait for it, and close our ends of its pipes."""
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()
    with contextlib.suppress(Exception):
        process.wait(5)
    for stream in (process.stdin, process.stdout):
        with contextlib.suppress(Exception):
            if stream:
                stream.close()


def wait_gone(ref: ProcessRef, timeout: float = GONE_TIMEOUT_S) -> bool:
    """Wait until ``ref`` has exited (zombie or reaped); False when it is still running at ``timeout``."""
    deadline = time.monotonic() + timeout
    while ref.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@dataclass
class LocalResources:
    """The host-side resources of one local sandbox (moved as a whole when a pooled sandbox is taken)."""

    base: Path
    cgroup: SandboxCgroup | None = None
    workspace_mounted: bool = False
    watchdog: tuple[int, int] | None = None
    """(read end, write end) of the watchdog pipe: the init gets the read end, this process keeps both."""
    shell: subprocess.Popen | None = None
    """The ``unshare`` process holding the sandbox (or the plain shell without namespaces)."""
    kernel: subprocess.Popen | None = None
    init: ProcessRef | None = None
    released: bool = field(default=False, init=False)

    def end_namespace(self) -> None:
        """Kill the init (the whole pid namespace with it) and the processes that held it; wait until they are gone."""
        init, self.init = self.init, None
        if init is not None and init.alive():
            with contextlib.suppress(OSError):
                os.kill(init.pid, signal.SIGKILL)
        shell, self.shell = self.shell, None
        if shell is not None:
            if init is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    shell.wait(GONE_TIMEOUT_S)  # unshare exits once the namespace is empty
            kill_tree(shell)
        if init is not None:
            wait_gone(init)
        self.stop_kernel()

    def stop_kernel(self) -> None:
        """Kill the interpreter's process tree (outside a namespace it is its own process group)."""
        kernel, self.kernel = self.kernel, None
        if kernel is not None:
            kill_tree(kernel)

    def kill_now(self) -> None:
        """Kill every process at once, without waiting (the rest of :meth:`release` may run later)."""
        if self.init is not None and self.init.alive():
            with contextlib.suppress(OSError):
                os.kill(self.init.pid, signal.SIGKILL)
        for process in (self.kernel, self.shell):
            if process is not None:
                with contextlib.suppress(OSError):
                    os.killpg(process.pid, signal.SIGKILL)

    def release(self) -> None:
        """Kill everything, then remove the mount, the cgroup and the folder. Idempotent; never raises."""
        if self.released:
            return
        self.released = True
        with contextlib.suppress(Exception):
            self.end_namespace()
        with contextlib.suppress(Exception):
            kill_chrooted(self.base / "root", timeout=2.0)
        if self.cgroup is not None:
            with contextlib.suppress(Exception):
                self.cgroup.kill()
        if self.watchdog is not None:
            for fd in self.watchdog:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.watchdog = None
        with contextlib.suppress(Exception):
            unmount_all(self.base)
        if self.cgroup is not None:
            with contextlib.suppress(Exception):
                self.cgroup.remove()
        shutil.rmtree(self.base, ignore_errors=True)
