"""Content hashes of task folders: what a run recorded of the task files it used, to compare later."""

from __future__ import annotations

import hashlib
from pathlib import Path

from asibench_env.tasks.loading import Task

_SKIPPED_PARTS = {"__pycache__", ".git", ".pytest_cache"}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks; raises ``OSError``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> str:
    """SHA-256 over a folder's regular files: each relative path (POSIX) and its bytes, in sorted order.

    Caches (``__pycache__``, ``.git``) and symbolic links are left out, so the hash depends only on the
    task's own files.
    """
    digest = hashlib.sha256()
    root = Path(folder)
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and not (_SKIPPED_PARTS & set(p.parts))
    )
    for path in files:
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def task_sha256(task: Task) -> str:
    """The content hash of a task's folder (metadata, contract, generator, prompts, scorer, solution)."""
    return folder_sha256(task.task_dir)


def task_set_sha256(task_hashes: dict[str, str]) -> str:
    """One hash for a set of tasks: SHA-256 over the sorted ``task_id=hash`` lines."""
    text = "\n".join(f"{task_id}={sha}" for task_id, sha in sorted(task_hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()
