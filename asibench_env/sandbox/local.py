"""LocalSandbox: a private workspace, a persistent bash and a persistent Python, isolated by namespaces.

With namespaces (the default where the kernel allows them) the processes run in new mount, pid,
network, ipc and uts namespaces (plus a user namespace when the host user is not root), chrooted into
a minimal root: /usr and /etc read-only, the task runtime, the base Python with its site-packages
hidden, the workspace at /workspace, and a private /tmp. Nothing else of the host is visible, there
is no network, and as host root the processes run as a dedicated unprivileged uid so that process
limits hold. Without namespaces the sandbox falls back to plain processes with rlimits and reports
isolation ``none``.

Lifecycle: our init (assets/init.py) is PID 1 of the pid namespace and the shell its child; closing or
restarting kills the init by its host pid, which ends every process of the namespace. The init also
watches a pipe only this process can write to, so the sandbox ends when this process dies. Each
sandbox folder records its owner (owner.py) for the sweeper (local_sweep.py). Whole-sandbox limits
(a cgroup for memory, processes and CPU, a tmpfs workspace) are set up by local_limits.py and
reported in ``isolation.details``; see docs/security.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from asibench_env.sandbox import fsops
from asibench_env.sandbox.aio import read_reply_line_async, shell_roundtrip_async, write_pipe
from asibench_env.sandbox.base import (
    AGENT_MEMORY_FILES,
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
from asibench_env.sandbox.environment import agent_env
from asibench_env.sandbox.local_limits import WholeLimitRequest, enforce_whole_limits
from asibench_env.sandbox.local_resources import LocalResources
from asibench_env.sandbox.local_sweep import FOLDER_PREFIX, sandbox_root, sweep_folders
from asibench_env.sandbox.notices import FRESH_INTERPRETER, interpreter_lost, shell_replaced
from asibench_env.sandbox.options import SandboxOptions, resolve_options
from asibench_env.sandbox.owner import FolderRecord, ProcessRef, current_owner, write_record
from asibench_env.sandbox.protocol import (
    ShellGone,
    describe_process,
    is_zombie,
    kill_until_gone,
    read_reply_line,
    reply_cap,
    shell_roundtrip,
)
from asibench_env.sandbox.warm import BackgroundWork, WarmPools
from asibench_env.tasks.runtime import base_python, ensure_runtime

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets"
WORKSPACE_IN_SANDBOX = "/workspace"
Isolation = Literal["auto", "namespaces", "none"]
WholeLimits = Literal["auto", "required", "off"]
_uid_counter = itertools.count()
INLINE_FILE_BYTES = 1024 * 1024
"""File reads and writes up to this size run on the event loop in the ``*_async`` methods."""


@cache
def namespaces_available() -> tuple[bool, str]:
    """Whether this host lets us create the sandbox namespaces (checked once per process)."""
    if not shutil.which("unshare") or not shutil.which("setpriv"):
        return False, "unshare or setpriv is not installed"
    command = ["unshare", "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "true"]
    if os.geteuid() != 0:
        command[1:1] = ["--user", "--map-root-user"]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if proc.returncode != 0:
        return False, proc.stderr.strip() or f"unshare exited with {proc.returncode}"
    return True, "ok"


def _sandbox_uid() -> int:
    """A host uid for this sandbox's processes, distinct per sandbox so process limits are per sandbox."""
    return 200_000 + (os.getpid() * 97 + next(_uid_counter)) % 100_000


class LocalSandboxOptions(SandboxOptions):
    """The local sandbox's options."""

    isolation: Isolation = "auto"
    """``namespaces`` (an error where the kernel refuses them), ``none`` (plain processes, with a
    warning), or ``auto`` (namespaces where available)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for the agent's processes."""
    warm_pool: int = Field(default=0, ge=0)
    """How many started sandboxes (shell and interpreter up) to keep ready for the next sandboxes of these
    options (0: none); taken once, never reused across episodes."""
    cpus: float | None = Field(default=2.0, gt=0)
    """CPU quota of the whole sandbox, in cores (a cgroup); None: no quota."""
    workspace_bytes: int | None = Field(default=10 * 1024**3, gt=0)
    """Size cap of the workspace (a tmpfs mounted on its host folder); None: no cap. Files the agent
    writes there count as the sandbox's memory."""
    whole_limits: WholeLimits = "auto"
    """Whole-sandbox limits (memory and process count from the sandbox limits, ``cpus``,
    ``workspace_bytes``): ``auto`` enforces what this host allows and reports the rest in
    ``isolation.details``, ``required`` refuses to start without all of them, ``off`` leaves
    per-process limits only."""


class LocalSandbox(Sandbox):
    """A sandbox on this machine (see the module docstring); its shared resources are the warm pools."""

    options_model = LocalSandboxOptions

    def __init__(
        self,
        seed_dir: Path,
        *,
        runtime_packages: Sequence[str] = (),
        limits: SandboxLimits | None = None,
        options: LocalSandboxOptions | None = None,
        **option_values: Any,
    ):
        """Start a sandbox seeded with ``seed_dir``; options as a model or keywords (see :class:`LocalSandboxOptions`).

        With ``warm_pool=N`` the sandbox is taken from the process's pool of started ones (shell and
        interpreter up, empty workspace) when one is ready, and the pool starts the next in the
        background; the seed files are then copied in exactly as for a fresh sandbox.

        Raises:
            SandboxOptionsError: an unknown or invalid option.
            SandboxError: the sandbox could not start, or namespaces were requested but are unavailable.
        """
        opts = resolve_options(LocalSandboxOptions, options, option_values, backend="local")
        limits = limits or SandboxLimits()
        runtime = ensure_runtime(runtime_packages)
        available, reason = namespaces_available()
        if opts.isolation == "namespaces" and not available:
            raise SandboxError(f"namespace isolation was requested but is not available here: {reason}")
        use_ns = available and opts.isolation != "none"
        if not use_ns:
            logger.warning(
                "LocalSandbox runs WITHOUT isolation (%s): the agent's code can read host files, including "
                "ground truth; use isolation='namespaces' or the docker sandbox for untrusted agents",
                reason if opts.isolation != "none" else "isolation='none' was requested",
            )
        _sweep_once()
        spec = _BootSpec(
            runtime,
            limits,
            use_ns,
            tuple(sorted((opts.env or {}).items())),
            opts.cpus,
            opts.workspace_bytes,
            opts.whole_limits,
        )
        warm = _POOLS.take(spec, opts.warm_pool, lambda: LocalSandbox._started(spec)) if opts.warm_pool else None
        if warm is not None:
            self._adopt(warm)
        else:
            self._setup(spec)
        self.options = opts
        try:
            if warm is None:
                self._boot()
            self._seed(seed_dir)
        except BaseException:
            self.close()
            raise
        self.isolation = IsolationInfo(
            backend="local",
            level="namespaces" if self._use_ns else "none",
            network=not self._use_ns,
            details={
                "namespaces": "mount,pid,net,ipc,uts" + ("" if self._root_host else ",user"),
                "uid": str(self._uid if self._uid is not None else os.geteuid()),
                "runtime": str(self._runtime),
                "warm_pool": str(opts.warm_pool),
                **self._limits_report,
            }
            if self._use_ns
            else {
                "reason": reason if opts.isolation != "none" else "requested",
                "warm_pool": str(opts.warm_pool),
                **self._limits_report,
            },
        )

    # ------------------------------------------------------------------ backend lifecycle
    @classmethod
    def start(cls) -> None:
        """Check once whether namespaces are available and sweep orphans (warm pools start with their first sandbox)."""
        namespaces_available()
        _sweep_once()

    @classmethod
    def sweep(cls, *, everything: bool = False) -> int:
        """End the local sandbox folders whose owner process is gone (every one with ``everything``).

        Kills what still runs in them, detaches their workspace mounts, removes their cgroups and
        folders; see :mod:`asibench_env.sandbox.local_sweep`. Returns how many were ended.
        """
        return sweep_folders(everything=everything)

    @classmethod
    def shutdown(cls, wait: bool = True) -> None:
        """Discard every warm-pooled sandbox of this process (open sandboxes stay usable).

        Args:
            wait: also wait until closed pooled sandboxes' folders are removed.
        """
        _POOLS.shutdown()
        if wait:
            _RELEASES.wait()

    # ------------------------------------------------------------------ set-up
    def _setup(self, spec: _BootSpec) -> None:
        """The sandbox's state before anything is started (its folder and owner record exist from here)."""
        self._spec = spec
        self.limits = spec.limits
        self._closed = False
        self._runtime = spec.runtime
        self._use_ns = spec.use_ns
        self._root_host = os.geteuid() == 0
        self._uid = _sandbox_uid() if (self._use_ns and self._root_host) else None
        self._base = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=sandbox_root()))
        self._res = LocalResources(self._base)
        self._finalizer = weakref.finalize(self, self._res.release)
        self._record = FolderRecord(owner=current_owner())
        write_record(self._base, self._record)
        if self._use_ns:
            self._res.watchdog = os.pipe()
        self._limits_report: dict[str, str | None] = {}
        self.workspace = self._base / "workspace"
        self._newroot = self._base / "root"
        self._ctl = self._base / "ctl"
        self._token = secrets.token_hex(8)
        self._extra_env = dict(spec.env)
        self._pid1: int | None = None
        self._shell_pid: int | None = None
        self._pidns: str | None = None
        self._kernel_lost = False
        self._warm_kernel: _WarmKernel | None = None

    @property
    def _shell(self) -> subprocess.Popen | None:
        """The process holding the sandbox: ``unshare`` with namespaces, else the shell itself."""
        return self._res.shell

    @_shell.setter
    def _shell(self, process: subprocess.Popen | None) -> None:
        self._res.shell = process

    @property
    def _kernel(self) -> subprocess.Popen | None:
        """The Python interpreter's process (``nsenter`` with namespaces)."""
        return self._res.kernel

    @_kernel.setter
    def _kernel(self, process: subprocess.Popen | None) -> None:
        self._res.kernel = process

    def _boot(self) -> None:
        """Start the sandbox with an empty workspace: folders, root, namespaces and shell."""
        self._prepare()
        self._start_shell()

    @classmethod
    def _started(cls, spec: _BootSpec) -> LocalSandbox:
        """A started sandbox for a warm pool: empty workspace, shell and interpreter up (not yet usable)."""
        box = cls.__new__(cls)
        box._setup(spec)
        try:
            box._boot()
            box._kernel = box._start_kernel()
            assert box._kernel.stdin is not None and box._kernel.stdout is not None
            box._kernel.stdin.write(b'{"code": "None"}\n')  # wait until the interpreter answers
            box._kernel.stdin.flush()
            line, timed_out = read_reply_line(box._kernel.stdout.fileno(), 30.0, reply_cap(box.limits.output_bytes))
            if timed_out or b'"ok": true' not in line:
                raise SandboxError(f"the pooled sandbox's interpreter did not start: {line[-500:]!r}")
            box._warm_kernel = _WarmKernel(box._kernel)
        except BaseException:
            box.close()
            raise
        return box

    def _adopt(self, warm: LocalSandbox) -> None:
        """Take over a pooled sandbox's processes and folders (the pooled object is left closed and empty)."""
        warm._finalizer.detach()
        state = dict(warm.__dict__)
        emptied = LocalResources(warm._base)
        emptied.released = True
        warm.__dict__.update(_closed=True, _res=emptied)
        self.__dict__.update(state)
        self._finalizer = weakref.finalize(self, self._res.release)

    def _alive(self) -> bool:
        return (
            not self._closed
            and self._shell is not None
            and self._shell.poll() is None
            and (self._kernel is None or self._kernel.poll() is None)
        )

    def _prepare(self) -> None:
        self.workspace.mkdir()
        self._ctl.mkdir()
        self._newroot.mkdir()
        shutil.copy(ASSETS / "shell_server.sh", self._ctl / "shell_server.sh")
        shutil.copy(ASSETS / "kernel.py", self._ctl / "kernel.py")
        shutil.copy(ASSETS / "init.py", self._ctl / "init.py")
        (self._ctl / "setup.sh").write_text(self._setup_script())
        self._limits_report = self._apply_whole_limits()
        if self._uid is not None:
            os.chown(self.workspace, self._uid, self._uid)
            os.chmod(self._base, 0o711)

    def _apply_whole_limits(self) -> dict[str, str | None]:
        """Create the sandbox's cgroup and workspace tmpfs as the options ask; report what holds and how."""
        enforced = enforce_whole_limits(self._spec.whole(), self._base.name, self.workspace, self._uid, self._use_ns)
        self._res.cgroup = enforced.cgroup
        self._res.workspace_mounted = enforced.workspace_mounted
        if enforced.cgroup is not None or enforced.workspace_mounted:
            self._record = self._record.model_copy(
                update={
                    "cgroups": [str(p) for p in enforced.cgroup.paths()] if enforced.cgroup else [],
                    "cgroup_version": enforced.cgroup.version if enforced.cgroup else None,
                    "workspace_mount": str(self.workspace) if enforced.workspace_mounted else None,
                }
            )
            write_record(self._base, self._record)
        return enforced.report

    def _seed(self, seed_dir: Path) -> None:
        """Copy the starting files into the (running) sandbox's workspace, owned by the agent."""
        try:
            shutil.copytree(seed_dir, self.workspace, symlinks=True, dirs_exist_ok=True)
        except OSError as exc:
            if not self._res.workspace_mounted:
                raise
            raise SandboxError(
                f"the starting files do not fit the workspace's {self._spec.workspace_bytes}-byte cap ({exc}); "
                "raise the workspace_bytes option"
            ) from exc
        for name in AGENT_MEMORY_FILES:
            target = self.workspace / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
        if self._uid is not None:
            for root, dirs, files in os.walk(self.workspace):
                for name in [*dirs, *files, "."]:
                    os.chown(os.path.join(root, name), self._uid, self._uid, follow_symlinks=False)

    def _env(self) -> dict[str, str]:
        home = WORKSPACE_IN_SANDBOX if self._use_ns else str(self.workspace)
        tmp = "/tmp" if self._use_ns else str(self._base / "tmp")
        env = agent_env(home=home, tmp=tmp, runtime=str(self._runtime), sandbox_id=self._token)
        env.update(self._extra_env)
        return env

    def _setup_script(self) -> str:
        python_prefix = base_python().parent.parent
        tmp_mb = max(64, self.limits.file_size_bytes // 2**20)
        masks = [python_prefix / "lib" / f"python{_py_version()}" / "site-packages"]
        masks += sorted(Path("/usr/local/lib").glob("python3*/*-packages"))
        lines = [
            "set -eu",
            f'R="{self._newroot}"',
            "mount --make-rprivate /",
            'mount -t tmpfs -o mode=755,size=16m asibench-root "$R"',
            'mkdir -p "$R/usr" "$R/etc" "$R/dev" "$R/proc" "$R/tmp" "$R/workspace" "$R/opt/asibench" "$R/run"',
            'for d in bin lib lib64 sbin; do [ -e "/$d" ] && ln -s "usr/$d" "$R/$d"; done',
            # /tmp first: binds below may land inside it (a runtime cache under the host's /tmp).
            f'mount -t tmpfs -o mode=1777,size={tmp_mb}m,nosuid,nodev tmp "$R/tmp"',
            'robind() { mkdir -p "$2"; mount --bind "$1" "$2"; mount -o remount,bind,ro,nosuid,nodev "$2"; }',
            'robind /usr "$R/usr"',
            'robind /etc "$R/etc"',
            f'robind "{python_prefix}" "$R{python_prefix}"',
            f'robind "{self._runtime}" "$R{self._runtime}"',
        ]
        for mask in masks:
            if mask.is_dir():
                lines.append(f'[ -d "$R{mask}" ] && mount -t tmpfs -o ro,size=4k,mode=755 mask "$R{mask}"')
        lines += [
            'mount -t tmpfs -o mode=755,size=1m,nosuid asibench-dev "$R/dev"',
            "for n in null zero full random urandom tty; do",
            '  touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"',
            "done",
            'ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"',
            'ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"',
            'mkdir -p "$R/dev/shm"; mount -t tmpfs -o mode=1777,size=256m,nosuid,nodev shm "$R/dev/shm"',
            'mount -t proc -o nosuid,nodev,noexec proc "$R/proc"',
            f'mount --bind "{self.workspace}" "$R/workspace"',
            f'cp "{self._ctl}/shell_server.sh" "{self._ctl}/kernel.py" "{self._ctl}/init.py" "$R/opt/asibench/"',
            'mount -o remount,ro "$R"',
        ]
        return "\n".join(lines) + "\n"

    def _ulimits(self) -> str:
        lim = self.limits
        return (
            f"ulimit -t {lim.cpu_seconds} -v {lim.memory_bytes // 1024} -f {lim.file_size_bytes // 1024} "
            f"-u {lim.max_processes} 2>/dev/null || ulimit -t {lim.cpu_seconds} -v {lim.memory_bytes // 1024}; "
        )

    def _privilege_drop(self) -> list[str]:
        if self._uid is not None:
            ids = [f"--reuid={self._uid}", f"--regid={self._uid}", "--clear-groups"]
        else:
            ids = ["--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,+keep_caps_locked"]
        return ["setpriv", *ids, "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]

    def _env_args(self) -> list[str]:
        return ["env", "-i", *(f"{k}={v}" for k, v in self._env().items())]

    def _enter_cgroup(self, command: list[str]) -> list[str]:
        """``command`` made to join the sandbox's cgroup first (unchanged without one)."""
        return self._res.cgroup.enter_command(command) if self._res.cgroup is not None else command

    def _start_shell(self) -> None:
        if self._use_ns:
            assert self._res.watchdog is not None
            watchdog = self._res.watchdog[0]
            init = f"{base_python()} -I -S /opt/asibench/init.py {watchdog}"
            inner = (
                f'exec chroot "{self._newroot}" {init} {" ".join(self._privilege_drop())} '
                f"{' '.join(_quote(a) for a in self._env_args())} /bin/bash --noprofile --norc -c "
                f"{_quote(self._ulimits() + 'exec /bin/bash --noprofile --norc /opt/asibench/shell_server.sh')}"
            )
            command = ["unshare", "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"]
            if not self._root_host:
                command[1:1] = ["--user", "--map-root-user"]
            command += ["/bin/bash", "-c", f'. "{self._ctl}/setup.sh" && {inner}']
            self._shell = subprocess.Popen(
                self._enter_cgroup(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                start_new_session=True,
                pass_fds=(watchdog,),
            )
            self._pid1 = self._find_child(self._shell.pid)
            self._res.init = ProcessRef.of(self._pid1)
            self._pidns = os.readlink(f"/proc/{self._pid1}/ns/pid")
        else:
            (self._base / "tmp" / "matplotlib").mkdir(parents=True, exist_ok=True)
            self._shell = subprocess.Popen(
                [
                    "/bin/bash",
                    "--noprofile",
                    "--norc",
                    "-c",
                    self._ulimits() + f'exec /bin/bash --noprofile --norc "{self._ctl}/shell_server.sh"',
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.workspace,
                start_new_session=True,
            )
            self._pid1 = self._shell.pid
        probe = self._roundtrip("true", 30.0)
        if probe.exit_code != 0:
            raise SandboxError(f"the sandbox shell did not start: {probe.output[-2000:]}")
        self._shell_pid = self._find_child(self._pid1) if self._use_ns else self._pid1
        if self._use_ns:
            self._record = self._record.model_copy(update={"init": self._res.init})
            write_record(self._base, self._record)

    def _find_child(self, parent: int) -> int:
        """The first child of ``parent`` (the init of ``unshare``, the shell of the init), waiting up to 10 s."""
        deadline = time.monotonic() + 10
        path = Path(f"/proc/{parent}/task/{parent}/children")
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                children = path.read_text().split()
                if children:
                    return int(children[0])
            if self._shell is not None and self._shell.poll() is not None:
                output = self._shell.stdout.read().decode(errors="replace") if self._shell.stdout else ""
                raise SandboxError(f"the sandbox could not start: {output[-2000:]}")
            time.sleep(0.001)
        raise SandboxError("the sandbox did not start within 10 s")

    # ------------------------------------------------------------------ processes
    def processes(self) -> list[ProcessInfo]:
        """Every process the agent started (host pids; init and shell excluded); see :meth:`Sandbox.processes`."""
        self._check_open()
        idle = self._warm_kernel is not None and self._warm_kernel.idle(self._kernel)
        return [
            describe_process(pid)
            for pid in self._pids()
            if not is_zombie(pid) and not (idle and self._is_kernel(pid))  # a pooled, unused interpreter
        ]

    def _pids(self) -> list[int]:
        """Host pids of every process in the sandbox except its init and its shell."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if pid in (self._pid1, self._shell_pid):
                continue
            try:
                if self._use_ns:
                    if os.readlink(f"/proc/{pid}/ns/pid") == self._pidns:
                        found.append(pid)
                elif f"ASB_SANDBOX_ID={self._token}".encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    found.append(pid)
            except OSError:
                continue
        return found

    def stop_processes(self, keep_kernel: bool = False) -> int:
        """Kill every process the agent started (the init and the shell stay); see :meth:`Sandbox.stop_processes`.

        Args:
            keep_kernel: spare the Python interpreter (what a shell command's timeout does).

        Raises:
            SandboxError: the sandbox is closed.
        """
        self._check_open()
        return self._stop(keep_kernel)

    def _stop(self, keep_kernel: bool = False) -> int:
        killed = kill_until_gone(lambda: [p for p in self._pids() if not (keep_kernel and self._is_kernel(p))])
        if not keep_kernel:
            self._stop_kernel()
        return killed

    def _is_kernel(self, pid: int) -> bool:
        """Whether ``pid`` is the interpreter itself (known by its host pid, never by its name)."""
        if self._kernel is None:
            return False
        if pid == self._kernel.pid:
            return True
        try:  # with namespaces the interpreter is the child that nsenter forked
            children = Path(f"/proc/{self._kernel.pid}/task/{self._kernel.pid}/children").read_text().split()
        except OSError:
            return False
        return str(pid) in children

    # ------------------------------------------------------------------ shell
    def _shell_pipe(self) -> tuple[Callable[[bytes], None], int]:
        shell = self._shell
        assert shell is not None and shell.stdin is not None and shell.stdout is not None
        stdin = shell.stdin

        def write(data: bytes) -> None:
            stdin.write(data)
            stdin.flush()

        return write, shell.stdout.fileno()

    def _roundtrip(self, command: str, timeout: float) -> ExecResult:
        write, read_fd = self._shell_pipe()
        return shell_roundtrip(
            write,
            read_fd,
            command,
            timeout,
            self.limits.output_bytes,
            kill_command=lambda: self._stop(keep_kernel=True),
        )

    def _shell_dead(self) -> bool:
        return self._shell is None or self._shell.poll() is not None

    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        self._check_open()
        timeout = float(timeout or self.limits.default_timeout_s)
        restarted = self._shell_dead()
        if restarted:
            self._restart_shell()
        started = time.monotonic()
        try:
            result = self._roundtrip(command, timeout)
        except ShellGone as exc:
            self._restart_shell()
            return shell_replaced(str(exc), time.monotonic() - started)
        return _restarted(result) if restarted else result

    async def exec_async(self, command: str, timeout: float | None = None) -> ExecResult:
        """:meth:`exec` on the event loop: the shell's pipe is watched by the loop, no thread waits.

        Restarting a lost shell and killing a timed-out command run in a worker thread.
        """
        self._check_open()
        timeout = float(timeout or self.limits.default_timeout_s)
        restarted = self._shell_dead()
        if restarted:
            await asyncio.to_thread(self._restart_shell)
        started = time.monotonic()
        write, read_fd = self._shell_pipe()
        try:
            result = await shell_roundtrip_async(
                write,
                read_fd,
                command,
                timeout,
                self.limits.output_bytes,
                kill_command=lambda: asyncio.to_thread(self._stop, True),
            )
        except ShellGone as exc:
            await asyncio.to_thread(self._restart_shell)
            return shell_replaced(str(exc), time.monotonic() - started)
        return _restarted(result) if restarted else result

    def _restart_shell(self) -> None:
        """A new namespace with a new shell on the same workspace (the old namespace is killed whole)."""
        if not self._use_ns and self._shell is not None:
            with contextlib.suppress(Exception):
                self._stop()
        self._res.end_namespace()
        self._start_shell()

    # ------------------------------------------------------------------ python
    def _start_kernel(self) -> subprocess.Popen:
        lim = self.limits
        env_extra = {
            "ASB_OUTPUT_BYTES": str(lim.output_bytes),
            "ASB_RLIMIT_AS": str(lim.memory_bytes),
            "ASB_RLIMIT_FSIZE": str(lim.file_size_bytes),
            "ASB_RLIMIT_CPU": str(lim.cpu_seconds),
        }
        if self._uid is not None:
            env_extra["ASB_RLIMIT_NPROC"] = str(lim.max_processes)
        python = str(self._runtime / "bin" / "python")
        env_args = [*self._env_args(), *(f"{k}={v}" for k, v in env_extra.items())]
        if self._use_ns:
            # --wd: start in the shell's working directory, inside the new root (not the caller's, outside it).
            enter = [
                "nsenter",
                "-t",
                str(self._shell_pid),
                "--mount",
                "--pid",
                "--net",
                "--ipc",
                "--uts",
                "--root",
                "--wd",
            ]
            if not self._root_host:
                enter[1:1] = ["--user", "--preserve-credentials"]
            command = self._enter_cgroup(
                [*enter, *self._privilege_drop(), *env_args, python, "-u", "/opt/asibench/kernel.py"]
            )
            cwd = None
        else:
            command = [*env_args, python, "-u", str(self._ctl / "kernel.py")]
            cwd = self.workspace
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )

    def _stop_kernel(self) -> None:
        self._res.stop_kernel()

    def _kernel_stale(self) -> bool:
        return self._kernel is None or self._kernel.poll() is not None

    def _renew_kernel(self) -> None:
        """Start a fresh interpreter in place of a missing or dead one."""
        self._stop_kernel()
        self._kernel = self._start_kernel()

    def _python_request(self, code: str) -> tuple[subprocess.Popen, bytes]:
        kernel = self._kernel
        assert kernel is not None and kernel.stdin is not None and kernel.stdout is not None
        return kernel, (json.dumps({"code": code}) + "\n").encode()

    def _python_reply(
        self, line: bytes, timed_out: bool, duration: float, restarted: bool, timeout: float
    ) -> ExecResult | None:
        """The cell's result from the interpreter's reply line; None when the interpreter is lost."""
        try:
            reply = json.loads(line) if line and not timed_out else None
        except ValueError:
            reply = None  # the cell wrote into the reply channel: treat the interpreter as lost
        if not isinstance(reply, dict) or "output" not in reply:
            return None
        output = str(reply["output"])
        if restarted:
            output = FRESH_INTERPRETER + output
        return ExecResult(
            exit_code=0 if reply["ok"] else 1,
            output=output,
            duration_s=duration,
            truncated_bytes=reply.get("truncated", 0),
            restarted=restarted,
        )

    def _python_lost(self, timeout: float, timed_out: bool, duration: float, restarted: bool) -> ExecResult:
        self._stop_kernel()
        self._stop(keep_kernel=False)
        self._kernel_lost = True
        return interpreter_lost(timeout, timed_out, duration, restarted)

    def run_python(self, code: str, timeout: float | None = None) -> ExecResult:
        self._check_open()
        timeout = float(timeout or self.limits.default_timeout_s)
        restarted = self._kernel_lost
        if self._kernel_stale():
            restarted = restarted or self._kernel is not None
            self._renew_kernel()
        self._kernel_lost = False
        kernel, request = self._python_request(code)
        assert kernel.stdin is not None and kernel.stdout is not None
        started = time.monotonic()
        timed_out = False
        try:
            kernel.stdin.write(request)
            kernel.stdin.flush()
            line, timed_out = read_reply_line(kernel.stdout.fileno(), timeout, reply_cap(self.limits.output_bytes))
        except (BrokenPipeError, OSError):
            line = b""
        duration = time.monotonic() - started
        result = self._python_reply(line, timed_out, duration, restarted, timeout)
        return result if result is not None else self._python_lost(timeout, timed_out, duration, restarted)

    async def run_python_async(self, code: str, timeout: float | None = None) -> ExecResult:
        """:meth:`run_python` on the event loop: the interpreter's pipe is watched by the loop.

        Starting an interpreter and cleaning up after a lost one run in a worker thread.
        """
        self._check_open()
        timeout = float(timeout or self.limits.default_timeout_s)
        restarted = self._kernel_lost
        if self._kernel_stale():
            restarted = restarted or self._kernel is not None
            await asyncio.to_thread(self._renew_kernel)
        self._kernel_lost = False
        kernel, request = self._python_request(code)
        assert kernel.stdin is not None and kernel.stdout is not None
        stdin = kernel.stdin

        def write(data: bytes) -> None:
            stdin.write(data)
            stdin.flush()

        started = time.monotonic()
        timed_out = False
        try:
            await write_pipe(write, request)
            line, timed_out = await read_reply_line_async(
                kernel.stdout.fileno(), timeout, reply_cap(self.limits.output_bytes)
            )
        except (BrokenPipeError, OSError):
            line = b""
        duration = time.monotonic() - started
        result = self._python_reply(line, timed_out, duration, restarted, timeout)
        if result is not None:
            return result
        return await asyncio.to_thread(self._python_lost, timeout, timed_out, duration, restarted)

    # ------------------------------------------------------------------ files
    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        self._check_open()
        return fsops.read_bytes(self.workspace, path, max_bytes or self.limits.collect_max_file_bytes)

    def write_file(self, path: str, content: str | bytes) -> int:
        self._check_open()
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return fsops.write_bytes(self.workspace, path, data, self._uid, self.limits.file_size_bytes)

    def list_files(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        self._check_open()
        return fsops.list_entries(self.workspace, path, max_entries)

    # The workspace is a host folder: small file operations run on the loop (they take microseconds).
    async def read_file_async(self, path: str, max_bytes: int | None = None) -> bytes:
        """:meth:`read_file`; reads of at most 1 MiB run on the loop, larger ones in a worker thread."""
        if max_bytes is not None and max_bytes <= INLINE_FILE_BYTES:
            return self.read_file(path, max_bytes)
        return await asyncio.to_thread(self.read_file, path, max_bytes)

    async def write_file_async(self, path: str, content: str | bytes) -> int:
        """:meth:`write_file`; writes of at most 1 MiB run on the loop, larger ones in a worker thread."""
        if len(content) <= INLINE_FILE_BYTES:
            return self.write_file(path, content)
        return await asyncio.to_thread(self.write_file, path, content)

    async def list_files_async(self, path: str = ".", max_entries: int = 1000) -> list[FileEntry]:
        """:meth:`list_files`; runs on the loop when it lists at most 1000 entries."""
        if max_entries <= 1000:
            return self.list_files(path, max_entries)
        return await asyncio.to_thread(self.list_files, path, max_entries)

    def collect(self, paths: list[str], dest: Path) -> CollectReport:
        self._check_open()
        self._stop()
        dest.mkdir(parents=True, exist_ok=True)
        return fsops.collect_files(
            self.workspace, paths, dest, self.limits.collect_max_file_bytes, self.limits.collect_max_total_bytes
        )

    # ------------------------------------------------------------------ teardown
    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("the sandbox is closed")

    def close(self) -> None:
        """Stop every process and remove the sandbox's folders; see :meth:`Sandbox.close`.

        A sandbox of a warm pool (``warm_pool`` > 0, with namespaces) is killed at once and its
        folders are removed in the background, like a Docker sandbox's container;
        :meth:`shutdown` waits for those removals.
        """
        if self._closed:
            return
        self._closed = True
        if self._use_ns and getattr(self, "options", None) is not None and self.options.warm_pool:
            self._res.kill_now()  # the whole namespace dies with its init
            self._finalizer.detach()
            _RELEASES.submit(self._res.release)
            return
        if not self._use_ns and self._shell is not None:
            with contextlib.suppress(Exception):
                self._stop()
        self._finalizer()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


@dataclass(frozen=True)
class _BootSpec:
    """What makes two started sandboxes interchangeable (the key of a warm pool)."""

    runtime: Path
    limits: SandboxLimits
    use_ns: bool
    env: tuple[tuple[str, str], ...]
    cpus: float | None = None
    workspace_bytes: int | None = None
    whole_limits: WholeLimits = "auto"

    def whole(self) -> WholeLimitRequest:
        """The whole-sandbox limits these options ask for."""
        return WholeLimitRequest(self.limits, self.cpus, self.workspace_bytes, self.whole_limits)


class _WarmKernel:
    """Tells whether the agent has used a pooled interpreter yet (its first request flips it)."""

    def __init__(self, kernel: subprocess.Popen):
        self.kernel = kernel
        self.used = False
        stdin: Any = kernel.stdin
        warm = self

        class _Stdin:
            def __getattr__(self, name: str) -> Any:
                return getattr(stdin, name)

            def write(self, data: bytes) -> int:
                warm.used = True
                return stdin.write(data)

        kernel.stdin = _Stdin()  # type: ignore[assignment]

    def idle(self, current: subprocess.Popen | None) -> bool:
        """Whether ``current`` is this pooled interpreter and the agent never sent it a cell."""
        return current is self.kernel and not self.used


def _alive(box: LocalSandbox) -> bool:
    return box._alive()


def _discard(box: LocalSandbox) -> None:
    box.close()


_POOLS: WarmPools[LocalSandbox] = WarmPools(_alive, _discard, "asibench-local-pool")
_RELEASES = BackgroundWork("asibench-local-release")


def _restarted(result: ExecResult) -> ExecResult:
    return ExecResult(**{**result.__dict__, "restarted": True})


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _py_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


_sweep_lock = threading.Lock()
_swept = False


def _sweep_once() -> None:
    """Sweep orphaned sandbox folders the first time this process starts a local sandbox (never raises)."""
    global _swept
    with _sweep_lock:
        if _swept:
            return
        _swept = True
    try:
        sweep_folders()
    except Exception:  # noqa: BLE001 - a failed sweep must not stop a sandbox from starting
        logger.exception("could not sweep orphaned local sandbox folders")


__all__ = ["LocalSandbox", "LocalSandboxOptions", "SandboxPathError", "namespaces_available"]
