"""Tar streams in and out of a sandbox: building the seed archive, and extracting outputs safely.

An archive that comes out of a sandbox is hostile input. :func:`safe_extract` writes only regular
files, under names that stay inside the destination, within per-file, total and member-count caps;
it refuses absolute names, ``..``, symlinks, hardlinks, devices, FIFOs, sparse members and
duplicates, and says why for each.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from asibench_env.sandbox.base import AGENT_MEMORY_FILES

MAX_MEMBERS = 10_000


@dataclass
class ExtractReport:
    """What :func:`safe_extract` wrote (path -> bytes) and what it refused (name -> reason)."""

    files: dict[str, int] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def seed_tar(seed_dir: Path) -> bytes:
    """The seed folder as a tar: folders and regular files only, without coding-agent instruction files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as archive:
        for root, dirs, files in os.walk(seed_dir):
            rel_root = Path(root).relative_to(seed_dir)
            if rel_root == Path("."):
                dirs[:] = [d for d in dirs if d not in AGENT_MEMORY_FILES]
                files = [f for f in files if f not in AGENT_MEMORY_FILES]
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                path = Path(root) / name
                if path.is_symlink() or not (path.is_dir() or path.is_file()):
                    continue
                info = archive.gettarinfo(str(path), arcname=str(rel_root / name))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isdir():
                    archive.addfile(info)
                else:
                    with open(path, "rb") as handle:
                        archive.addfile(info, handle)
    return buffer.getvalue()


def _member_parts(name: str) -> list[str] | None:
    """The parts of a safe member name, or None when the name could leave the destination."""
    if not name or name.startswith("/") or "\x00" in name or "\\" in name:
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return parts


def _refusal(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return "a symlink"
    if member.islnk():
        return "a hardlink"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a FIFO"
    if member.issparse():
        return "a sparse file"
    if not member.isreg():
        return "not a regular file"
    return None


def _create(dest: Path, parts: list[str]) -> int:
    """Open a new file below ``dest`` for writing, never following a link at any level."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(dest, flags)
    try:
        for name in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=fd)
            next_fd = os.open(name, flags, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        return os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd)
    finally:
        os.close(fd)


def safe_extract(
    source: IO[bytes],
    dest: Path,
    *,
    max_file: int,
    max_total: int,
    allowed: dict[str, int] | None = None,
) -> ExtractReport:
    """Extract the regular files of an untrusted tar into ``dest`` (see the module docstring).

    ``allowed`` (name -> announced size), when given, is the set of names that may appear; anything
    else in the archive is refused.
    """
    report = ExtractReport()
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    try:
        archive = tarfile.open(fileobj=source, mode="r|")  # noqa: SIM115 - closed below
    except tarfile.TarError as exc:
        report.refused["<archive>"] = f"not collected: the archive is unreadable ({exc})"
        return report
    with archive:
        try:
            for count, member in enumerate(archive):
                name = member.name
                if count >= MAX_MEMBERS:
                    report.refused["<archive>"] = f"not collected: more than {MAX_MEMBERS} members"
                    break
                if member.isdir():
                    continue
                parts = _member_parts(name)
                kind = _refusal(member)
                if parts is None:
                    report.refused[name] = "not collected: the name leaves the output folder"
                elif kind:
                    report.refused[name] = f"not collected: it is {kind}"
                elif allowed is not None and "/".join(parts) not in allowed:
                    report.refused[name] = "not collected: it was not asked for"
                elif "/".join(parts) in report.files:
                    report.refused[name] = "not collected: it appears twice in the archive"
                elif member.size > max_file:
                    report.refused[name] = f"not collected: {member.size} bytes is over the {max_file}-byte cap"
                elif total + member.size > max_total:
                    report.refused[name] = f"not collected: the outputs exceed the {max_total}-byte total cap"
                else:
                    total += _copy_member(archive, member, dest, parts)
                    report.files["/".join(parts)] = member.size
        except (tarfile.TarError, OSError, EOFError) as exc:
            report.refused["<archive>"] = f"not collected: the archive is damaged ({exc})"
    return report


def _copy_member(archive: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, parts: list[str]) -> int:
    source = archive.extractfile(member)
    assert source is not None  # regular files always have a stream
    fd = _create(dest, parts)
    written = 0
    with os.fdopen(fd, "wb") as out:
        while written < member.size:
            chunk = source.read(min(1 << 20, member.size - written))
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
    return written
