"""Per-sandbox cgroups: memory, process-count and CPU limits on a whole local sandbox.

A sandbox's cgroup is created inside the owning process's own cgroup (so the owner's limits still
hold above it): one group in the unified (v2) hierarchy when its ``memory``, ``pids`` and ``cpu``
controllers are enabled for children there, else one group per v1 controller hierarchy
(``/sys/fs/cgroup/<controller>/...``) that this process may write. Every process of the sandbox
enters it before it forks anything (:meth:`SandboxCgroup.enter_command`), and :meth:`SandboxCgroup.kill`
then reaches all of them. What cannot be enforced is reported, never assumed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupSupport:
    """Where this process can create sandbox cgroups, per controller (empty: nowhere, see ``reason``)."""

    version: int | None
    parents: dict[str, Path] = field(default_factory=dict)
    """Controller name to the folder new groups are created in (v2: the same folder for all)."""
    reason: str = ""
    """Why a controller is missing (empty when all are available)."""


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, super options) of every cgroup mount, from /proc/self/mountinfo."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fstype, _, options = (right.split() + ["", "", ""])[:3]
            if fstype in ("cgroup", "cgroup2"):
                point = left.split()[4].replace("\\040", " ")
                found.append((point, fstype, set(options.split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under ``""`` its v2 path."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup", encoding="utf-8") as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def _v2_support(point: str, own: str) -> CgroupSupport | None:
    parent = Path(point) / own.lstrip("/")
    try:
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        available = set((parent / "cgroup.controllers").read_text().split())
    except OSError:
        return None
    if not set(CONTROLLERS) <= enabled & available or not _writable(parent):
        return None  # not delegated to us: enabling them is the host's decision, not ours
    return CgroupSupport(version=2, parents=dict.fromkeys(CONTROLLERS, parent))


@cache
def cgroup_support() -> CgroupSupport:
    """Where sandbox cgroups can be created on this host (checked once per process)."""
    mounts = _mounts()
    own = _own_paths()
    for point, fstype, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            support = _v2_support(point, own[""])
            if support is not None:
                return support
    parents: dict[str, Path] = {}
    for point, fstype, options in mounts:
        if fstype != "cgroup":
            continue
        for name in CONTROLLERS:
            if name in options and name in own and name not in parents:
                folder = Path(point) / own[name].lstrip("/")
                if _writable(folder):
                    parents[name] = folder
    missing = [c for c in CONTROLLERS if c not in parents]
    if not missing:
        return CgroupSupport(version=1, parents=parents)
    v2_note = "cgroup v2 controllers are not delegated to this process's group"
    reason = f"cgroups not writable for {', '.join(missing)} ({v2_note}, and no writable v1 hierarchy)"
    if os.geteuid() != 0:
        reason = f"cgroups not writable ({v2_note}; not root)"
    return CgroupSupport(version=1 if parents else None, parents=parents, reason=reason)


@dataclass(frozen=True)
class CgroupLimits:
    """What a sandbox's cgroup caps (None: not capped)."""

    memory_bytes: int
    max_processes: int
    cpus: float | None


class SandboxCgroup:
    """One sandbox's cgroup folders (one per v1 controller, or one v2 folder)."""

    def __init__(self, folders: dict[str, Path], version: int):
        self.folders = folders
        self.version = version

    @classmethod
    def create(cls, name: str, limits: CgroupLimits, support: CgroupSupport | None = None) -> SandboxCgroup:
        """Create the group ``name`` with ``limits`` on every available controller.

        Raises:
            OSError: a folder or limit file could not be written (what was created is removed).
        """
        support = support or cgroup_support()
        if not support.parents or support.version is None:
            raise OSError(errno.EACCES, support.reason or "no cgroup hierarchy is writable")
        folders = {c: parent / name for c, parent in support.parents.items()}
        group = cls(folders, support.version)
        try:
            for folder in group.paths():
                folder.mkdir()
            group._apply(limits)
        except BaseException:
            group.remove()
            raise
        return group

    @classmethod
    def from_paths(cls, paths: list[str], version: int) -> SandboxCgroup:
        """The group recorded as these folders (by the sweeper, for a dead owner's sandbox)."""
        return cls({str(i): Path(p) for i, p in enumerate(paths)}, version)

    def paths(self) -> list[Path]:
        """The group's distinct folders."""
        return sorted(set(self.folders.values()))

    def controllers(self) -> list[str]:
        """The controllers this group limits."""
        return [c for c in CONTROLLERS if c in self.folders]

    def _apply(self, limits: CgroupLimits) -> None:
        if self.version == 2:
            folder = self.folders["memory"]
            (folder / "memory.max").write_text(str(limits.memory_bytes))
            with contextlib.suppress(OSError):
                (folder / "memory.swap.max").write_text("0")
            (folder / "pids.max").write_text(str(limits.max_processes))
            if limits.cpus is not None:
                (folder / "cpu.max").write_text(f"{int(limits.cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            return
        if "memory" in self.folders:
            memory = self.folders["memory"]
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            with contextlib.suppress(OSError):  # absent without swap accounting
                (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_bytes))
        if "pids" in self.folders:
            (self.folders["pids"] / "pids.max").write_text(str(limits.max_processes))
        if "cpu" in self.folders and limits.cpus is not None:
            cpu = self.folders["cpu"]
            (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * CPU_PERIOD_US)))

    def enter_command(self, command: list[str]) -> list[str]:
        """``command`` prefixed so that it joins this group before it starts (and so do all its children)."""
        script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; exec "$@"'
        procs = [str(folder / "cgroup.procs") for folder in self.paths()]
        return ["/bin/sh", "-c", script, "asibench-cgroup-enter", *procs, "--", *command]

    def pids(self) -> set[int]:
        """Every process in the group."""
        found: set[int] = set()
        for folder in self.paths():
            with contextlib.suppress(OSError, ValueError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return found

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in the group, again until it is empty (or ``timeout`` passes)."""
        if self.version == 2:
            for folder in self.paths():
                with contextlib.suppress(OSError):
                    (folder / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + timeout
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def memory_peak(self) -> int | None:
        """The most memory the group has used (bytes), where the kernel reports it."""
        folder = self.folders.get("memory")
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((folder / name).read_text()) if folder is not None else None
        except (OSError, ValueError):
            return None

    def remove(self, timeout: float = 10.0) -> None:
        """Remove the group's folders (they must be empty of processes; retried while the kernel frees them)."""
        deadline = time.monotonic() + timeout
        for folder in self.paths():
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
