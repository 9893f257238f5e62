"""Find local sandbox folders whose owner process died, and end what is left of them.

A folder ``asibench-sbx-*`` in the temporary directory is an orphan when its ``owner.json`` names a
process that is gone (pid and start time, see :mod:`asibench_env.sandbox.owner`). A folder without a
record (made by an older version) is an orphan once it is older than :data:`UNRECORDED_GRACE_S` and no
running process names it on its command line. Ending one kills its init (which ends its pid
namespace), every process still chrooted into it and every process of its cgroup, detaches its
workspace mount, removes its cgroup and finally the folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from asibench_env.sandbox.cgroups import SandboxCgroup
from asibench_env.sandbox.mounts import unmount_all
from asibench_env.sandbox.owner import FolderRecord, read_record

logger = logging.getLogger(__name__)

FOLDER_PREFIX = "asibench-sbx-"
UNRECORDED_GRACE_S = 600.0
"""A folder without an owner record is left alone this long after its last change."""


def sandbox_root() -> Path:
    """Where local sandbox folders are made: the temporary directory (``$TMPDIR``)."""
    return Path(tempfile.gettempdir())


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def chrooted_into(root: Path) -> list[int]:
    """Host pids of the processes whose root directory is ``root`` (a sandbox's processes)."""
    target = str(root)
    found = []
    for pid in _pids():
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/root") == target:
                found.append(pid)
    return found


def _named_by_a_process(folder: Path) -> bool:
    needle = os.fsencode(f"{folder}/")
    for pid in _pids():
        with contextlib.suppress(OSError):
            if needle in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
    return False


def kill_chrooted(root: Path, timeout: float = 10.0) -> None:
    """SIGKILL every process chrooted into ``root``, again until none is left (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while (pids := chrooted_into(root)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def end_folder(folder: Path, record: FolderRecord | None) -> None:
    """Kill whatever still runs in a sandbox folder, then remove its mounts, cgroup and files. Never raises."""
    if record is not None and record.init is not None and record.init.alive():
        with contextlib.suppress(OSError):
            os.kill(record.init.pid, signal.SIGKILL)
    kill_chrooted(folder / "root")
    group = None
    if record is not None and record.cgroups and record.cgroup_version is not None:
        group = SandboxCgroup.from_paths(record.cgroups, record.cgroup_version)
        group.kill()
    unmount_all(folder)
    if group is not None:
        group.remove()
    shutil.rmtree(folder, ignore_errors=True)


def _orphan(folder: Path, record: FolderRecord | None) -> bool:
    if record is not None:
        return record.owned_here() and not record.owner.alive()
    try:
        age = time.time() - folder.stat().st_mtime
    except OSError:
        return False
    return age > UNRECORDED_GRACE_S and not _named_by_a_process(folder)


def sweep_folders(root: Path | None = None, *, everything: bool = False) -> int:
    """End the local sandbox folders under ``root`` (default :func:`sandbox_root`) whose owner is gone.

    Args:
        root: the folder holding the sandbox folders.
        everything: end every local sandbox folder there, live owners' included.

    Returns:
        How many folders were ended.
    """
    root = root or sandbox_root()
    ended = 0
    try:
        candidates = sorted(p for p in root.iterdir() if p.name.startswith(FOLDER_PREFIX))
    except OSError:
        return 0
    for folder in candidates:
        if folder.is_symlink() or not folder.is_dir():
            continue
        record = read_record(folder)
        if everything or _orphan(folder, record):
            end_folder(folder, record)
            ended += 1
    if ended:
        logger.warning("removed %d local sandbox folder(s) left behind under %s", ended, root)
    return ended
