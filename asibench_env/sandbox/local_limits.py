"""Whole-sandbox limits of a local sandbox: a cgroup (memory, processes, CPU) and a size-capped workspace.

:func:`enforce_whole_limits` creates what the host allows and says, limit by limit, what is enforced and
how, or why it is not. With ``mode="required"`` a limit that cannot be enforced is an error; it is
never silently assumed. The per-process rlimits (address space, CPU time, file size, processes per uid)
apply in every case.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from asibench_env.sandbox.base import SandboxError, SandboxLimits
from asibench_env.sandbox.cgroups import CgroupLimits, SandboxCgroup, cgroup_support
from asibench_env.sandbox.mounts import mount_tmpfs, unmount

UNTRUSTED_NOTE = "limits are per process; use the Docker sandbox for untrusted agents"


@dataclass(frozen=True)
class WholeLimitRequest:
    """What the options ask for."""

    limits: SandboxLimits
    cpus: float | None
    workspace_bytes: int | None
    mode: Literal["auto", "required", "off"]


@dataclass
class EnforcedLimits:
    """What was set up, and the report for ``isolation.details``."""

    cgroup: SandboxCgroup | None = None
    workspace_mounted: bool = False
    report: dict[str, str | None] = field(default_factory=dict)


def _per_process(request: WholeLimitRequest, owner_uid: int | None) -> dict[str, str]:
    lim = request.limits
    processes = f"{lim.max_processes} for the sandbox's own uid (RLIMIT_NPROC)" if owner_uid is not None else "none"
    return {
        "memory": f"{lim.memory_bytes} bytes per process (RLIMIT_AS)",
        "processes": processes,
        "cpu": f"{lim.cpu_seconds} s of CPU time per process (RLIMIT_CPU), no quota",
        "workspace": f"not capped: a host folder; each file at most {lim.file_size_bytes} bytes (RLIMIT_FSIZE)",
    }


def enforce_whole_limits(
    request: WholeLimitRequest, name: str, workspace: Path, owner_uid: int | None, namespaces: bool
) -> EnforcedLimits:
    """Create the sandbox's cgroup ``name`` and mount its workspace tmpfs, as far as the host allows.

    Raises:
        SandboxError: ``mode="required"`` and a limit cannot be enforced (nothing is left behind).
    """
    report: dict[str, str | None] = {**_per_process(request, owner_uid)}
    if request.mode == "off" or not namespaces:
        why = "whole_limits='off'" if request.mode == "off" else "no namespace isolation"
        if request.mode == "required":
            raise SandboxError(f"whole-sandbox limits were required but cannot be enforced: {why}")
        return EnforcedLimits(report={**report, "limits": f"per process ({why}): {UNTRUSTED_NOTE}"})
    lim = request.limits
    problems: list[str] = []
    enforced = EnforcedLimits()
    support = cgroup_support()
    if support.parents:
        try:
            enforced.cgroup = SandboxCgroup.create(
                name, CgroupLimits(lim.memory_bytes, lim.max_processes, request.cpus), support
            )
        except OSError as exc:
            problems.append(f"cgroup not created ({exc})")
    if support.reason:
        problems.append(support.reason)
    group = enforced.cgroup
    if group is not None:
        how = f"cgroup v{group.version}"
        if "memory" in group.folders:
            report["memory"] = f"{lim.memory_bytes} bytes for the whole sandbox ({how} memory, no swap)"
        if "pids" in group.folders:
            report["processes"] = f"{lim.max_processes} tasks for the whole sandbox ({how} pids)"
        if "cpu" in group.folders:
            quota = (
                f"{request.cpus:g} cores for the whole sandbox" if request.cpus is not None else "no quota (cpus=None)"
            )
            report["cpu"] = f"{quota} ({how} cpu); {lim.cpu_seconds} s of CPU time per process"
        report["cgroup"] = ", ".join(str(p) for p in group.paths())
    if request.workspace_bytes is not None:
        if os.geteuid() != 0:
            problems.append("workspace not size-capped (mounting a tmpfs needs root)")
        else:
            try:
                mount_tmpfs(workspace, request.workspace_bytes, owner_uid)
                enforced.workspace_mounted = True
                report["workspace"] = f"{request.workspace_bytes} bytes (tmpfs; the agent's files count as its memory)"
            except OSError as exc:
                problems.append(f"workspace not size-capped ({exc})")
    else:
        report["workspace"] = f"not capped (workspace_bytes=None); each file at most {lim.file_size_bytes} bytes"
    if problems and request.mode == "required":
        if enforced.workspace_mounted:
            with contextlib.suppress(OSError):
                unmount(workspace)
        if group is not None:
            group.remove()
        raise SandboxError(
            f"whole-sandbox limits were required but cannot be enforced here: {'; '.join(problems)}; "
            "run as root on a host with writable cgroups, or use the Docker sandbox"
        )
    if not problems:
        report["limits"] = "whole sandbox"
    elif group is None:
        report["limits"] = f"per process ({'; '.join(problems)}): {UNTRUSTED_NOTE}"
    else:
        report["limits"] = f"partly whole sandbox ({'; '.join(problems)}): {UNTRUSTED_NOTE}"
    enforced.report = report
    return enforced
