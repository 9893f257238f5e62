"""Which process owns a local sandbox folder: a pid plus its start time, so that a reused pid is not mistaken.

Every local sandbox folder holds an ``owner.json`` (:class:`FolderRecord`): the owning host process,
the sandbox's init process, its cgroups and its workspace mount. The sweeper reads it to tell a
folder of a live process from one a dead process left behind, and to know what to kill and remove.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from asibench_env.atomic import write_text_atomic

RECORD_NAME = "owner.json"


def process_start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot, field 22 of /proc/PID/stat); None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class ProcessRef(BaseModel):
    """A process named so that it cannot be confused with a later one of the same pid."""

    model_config = ConfigDict(frozen=True)

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        """The reference of a running process, or None when it is gone."""
        started = process_start_time(pid)
        return None if started is None else cls(pid=pid, start_time=started)

    def alive(self) -> bool:
        """Whether this very process still exists (a zombie counts as gone)."""
        if process_start_time(self.pid) != self.start_time:
            return False
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as handle:
                return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except (OSError, IndexError):
            return False


class FolderRecord(BaseModel):
    """``owner.json`` of a local sandbox folder."""

    model_config = ConfigDict(extra="ignore")

    format: Literal[1] = 1
    hostname: str = Field(default_factory=socket.gethostname)
    owner: ProcessRef
    """The host process that created the sandbox (the folder is an orphan once it is gone)."""
    init: ProcessRef | None = None
    """The sandbox's init (PID 1 of its pid namespace) by its host pid; killing it ends the namespace."""
    cgroups: list[str] = Field(default_factory=list)
    """The sandbox's cgroup folders (one per v1 controller, or one v2 group)."""
    cgroup_version: int | None = None
    workspace_mount: str | None = None
    """The tmpfs mounted on the workspace folder, when the workspace is size-capped."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def owned_here(self) -> bool:
        """Whether the owner ran on this machine (another machine's folder is not ours to judge)."""
        return self.hostname == socket.gethostname()


def current_owner() -> ProcessRef:
    """This process's reference."""
    ref = ProcessRef.of(os.getpid())
    assert ref is not None  # this process exists
    return ref


def write_record(folder: Path, record: FolderRecord) -> None:
    """Write ``owner.json`` atomically. Raises :class:`OSError`."""
    write_text_atomic(folder / RECORD_NAME, record.model_dump_json(indent=2) + "\n")


def read_record(folder: Path) -> FolderRecord | None:
    """The folder's record, or None when it has none or an unreadable one."""
    try:
        return FolderRecord.model_validate_json((folder / RECORD_NAME).read_bytes())
    except (OSError, ValidationError):
        return None
