"""Race-safe file operations on a workspace from the host side.

Every path is resolved component by component from a directory file descriptor with O_NOFOLLOW, so a
symlink the agent planted (at any level, at any moment) is refused instead of followed out of the
workspace.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from asibench_env.sandbox.base import CollectedFile, CollectReport, FileEntry, FileKind, SandboxPathError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def split_relative(path: str) -> list[str]:
    """The components of a workspace-relative path; anything that could leave the workspace is refused."""
    text = str(path).strip()
    if not text or text in (".", "./"):
        return []
    if text.startswith("/") or text.startswith("~"):
        raise SandboxPathError(f"{path!r} is an absolute path; give a path relative to the workspace root")
    parts: list[str] = []
    for part in PurePosixPath(text).parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise SandboxPathError(f"{path!r} points outside the workspace")
            parts.pop()
            continue
        if "\x00" in part:
            raise SandboxPathError(f"{path!r} contains a NUL byte")
        parts.append(part)
    return parts


@contextlib.contextmanager
def open_parent(root: Path, parts: list[str], create: bool = False, owner: int | None = None) -> Iterator[int]:
    """A descriptor of the folder holding ``parts[-1]``, walked without following symlinks."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for name in parts[:-1]:
            try:
                next_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(name, 0o755, dir_fd=fd)
                if owner is not None:
                    os.chown(name, owner, owner, dir_fd=fd, follow_symlinks=False)
                next_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SandboxPathError(f"{'/'.join(parts)}: {name} is a symlink or not a folder") from exc
                raise
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


def _open_regular(dir_fd: int, name: str, display: str) -> tuple[int, os.stat_result]:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SandboxPathError(f"{display} is a symlink; symlinks are not followed") from exc
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(display)
        raise SandboxPathError(f"{display} is not a regular file")
    return fd, info


def read_bytes(root: Path, path: str, max_bytes: int) -> bytes:
    parts = split_relative(path)
    if not parts:
        raise IsADirectoryError(path)
    with open_parent(root, parts) as dir_fd:
        fd, _ = _open_regular(dir_fd, parts[-1], path)
        with os.fdopen(fd, "rb") as handle:
            return handle.read(max_bytes)


def write_bytes(root: Path, path: str, data: bytes, owner: int | None, max_bytes: int) -> int:
    parts = split_relative(path)
    if not parts:
        raise SandboxPathError(f"{path!r} names the workspace itself, not a file")
    if len(data) > max_bytes:
        raise SandboxPathError(f"{path}: {len(data)} bytes is over the {max_bytes}-byte file limit")
    with open_parent(root, parts, create=True, owner=owner) as dir_fd:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(parts[-1], flags, 0o644, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise SandboxPathError(f"{path} is a symlink; write to a real file") from exc
            if exc.errno == errno.EISDIR:
                raise SandboxPathError(f"{path} is a folder") from exc
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SandboxPathError(f"{path} is not a regular file")
            if owner is not None:
                os.fchown(fd, owner, owner)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    return len(data)


def list_entries(root: Path, path: str, max_entries: int) -> list[FileEntry]:
    parts = split_relative(path)
    entries: list[FileEntry] = []
    with open_parent(root, [*parts, "x"]) as start_fd:
        stack = [(os.dup(start_fd), "/".join(parts))]
        while stack and len(entries) < max_entries:
            fd, prefix = stack.pop()
            try:
                names = sorted(os.listdir(fd))
                for name in names:
                    rel = f"{prefix}/{name}" if prefix else name
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    kind: FileKind = (
                        "dir"
                        if stat.S_ISDIR(info.st_mode)
                        else "file"
                        if stat.S_ISREG(info.st_mode)
                        else "symlink"
                        if stat.S_ISLNK(info.st_mode)
                        else "other"
                    )
                    entries.append(FileEntry(path=rel, kind=kind, size=info.st_size if kind == "file" else 0))
                    if len(entries) >= max_entries:
                        break
                    if kind == "dir":
                        with contextlib.suppress(OSError):
                            stack.append((os.open(name, _DIR_FLAGS, dir_fd=fd), rel))
            finally:
                os.close(fd)
        for fd, _ in stack:
            os.close(fd)
    return entries


@dataclass
class OpenOutput:
    """An output file opened for copying: its descriptor, workspace-relative path and size when opened."""

    fd: int
    path: str
    size: int
    requested: str


def open_outputs(root: Path, paths: list[str], max_file: int, max_total: int) -> tuple[CollectReport, list[OpenOutput]]:
    """Open the named outputs that may be collected (regular, singly linked, under the caps).

    The report lists what was refused and why, and what is missing; the caller copies the opened
    files (and fills ``report.collected``) and closes their descriptors.
    """
    report = CollectReport()
    opened: list[OpenOutput] = []
    total = 0
    for path in paths:
        try:
            parts = split_relative(path)
            if not parts:
                raise SandboxPathError("not a file path")
            with open_parent(root, parts) as dir_fd:
                fd, info = _open_regular(dir_fd, parts[-1], path)
        except FileNotFoundError:
            report.missing.append(path)
            continue
        except (SandboxPathError, IsADirectoryError, OSError) as exc:
            report.refused[path] = f"not collected: {exc}"
            continue
        refusal = None
        if info.st_nlink > 1:
            refusal = "not collected: the file is hardlinked"
        elif info.st_size > max_file:
            refusal = f"not collected: {info.st_size} bytes is over the {max_file}-byte cap"
        elif total + info.st_size > max_total:
            refusal = f"not collected: the outputs exceed the {max_total}-byte total cap"
        if refusal:
            os.close(fd)
            report.refused[path] = refusal
            continue
        total += info.st_size
        opened.append(OpenOutput(fd=fd, path="/".join(parts), size=info.st_size, requested=path))
    return report, opened


def collect_files(root: Path, paths: list[str], dest: Path, max_file: int, max_total: int) -> CollectReport:
    """Copy regular, singly-linked files under the size caps; report the rest."""
    report, opened = open_outputs(root, paths, max_file, max_total)
    for item in opened:
        with os.fdopen(item.fd, "rb") as handle:
            target = dest.joinpath(*item.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            copied = 0
            with open(target, "wb") as out:
                while chunk := handle.read(1 << 20):
                    copied += len(chunk)
                    if copied > max_file:
                        break
                    out.write(chunk)
            if copied > max_file:
                target.unlink()
                report.refused[item.requested] = f"not collected: it grew over the {max_file}-byte cap"
                continue
            report.collected.append(CollectedFile(path=item.path, size=copied))
    return report
