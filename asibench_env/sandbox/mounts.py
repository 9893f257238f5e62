"""The size-capped workspace of a local sandbox: a tmpfs mounted on its host folder (root only).

The tmpfs is mounted in the host's mount namespace, on the sandbox's workspace folder: the host reads
and writes the workspace as before (seeding, file tools, collection), the sandbox bind-mounts it at
``/workspace``, and a restarted shell finds its files. Writes beyond the size fail with ENOSPC.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
from functools import cache
from pathlib import Path

MS_NOSUID = 2
MS_NODEV = 4
MNT_DETACH = 2


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def mount_tmpfs(target: Path, size_bytes: int, owner: int | None) -> None:
    """Mount a tmpfs of ``size_bytes`` on ``target`` (mode 0755, owned by ``owner``), nosuid and nodev.

    Raises:
        OSError: the mount failed (e.g. not root).
    """
    options = f"size={size_bytes},mode=0755" + (f",uid={owner},gid={owner}" if owner is not None else "")
    result = _libc().mount(b"asibench-workspace", os.fsencode(target), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode())
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"cannot mount a tmpfs on {target}: {os.strerror(code)}")


def unmount(target: Path) -> None:
    """Detach the mount at ``target`` (lazily: busy mounts go once unused); nothing when none is there."""
    if _libc().umount2(os.fsencode(target), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):
            raise OSError(code, f"cannot unmount {target}: {os.strerror(code)}")


def mounts_under(folder: Path) -> list[Path]:
    """The mount points at or below ``folder`` in this mount namespace, deepest first."""
    prefix = str(folder).rstrip("/")
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            point = line.split()[4]
            for code in ("\\040", "\\011", "\\012", "\\134"):
                point = point.replace(code, chr(int(code[1:], 8)))
            if point == prefix or point.startswith(prefix + "/"):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_all(folder: Path) -> None:
    """Detach every mount at or below ``folder`` (what a sandbox or the sweeper leaves before removing it)."""
    for point in mounts_under(folder):
        with contextlib.suppress(OSError):
            unmount(point)
