"""Build the agent's starting workspace (data/, prompt.md, task_info.json) from an instance."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from asibench_env.sandbox.base import AGENT_MEMORY_FILES
from asibench_env.tasks.loading import Task
from asibench_env.tasks.registry import InstanceRef

TASK_INFO_SCHEMA_VERSION = 3
SHM_DIR = Path("/dev/shm")
SEED_IN_MEMORY_MAX_BYTES = 64 * 1024**2
"""A starting workspace up to this size is staged in memory (/dev/shm) rather than on disk."""


def anonymous_task_id(task_id: str) -> str:
    """The id the agent sees: a hash, so a task's name does not hint at its method."""
    return "task_" + hashlib.sha256(task_id.encode()).hexdigest()[:12]


def prompt_path(task: Task, instance: InstanceRef, level: str) -> Path:
    """The instance's rendered prompt for a level, else the task's template."""
    rendered = instance.path / f"prompt_{level.lower()}.md"
    if rendered.is_file():
        return rendered
    template = task.prompt_template(level)
    if template.is_file():
        return template
    raise FileNotFoundError(
        f"no {level} prompt for instance {instance.instance_id}: neither {rendered} nor {template} exists"
    )


def task_info(task: Task, level: str, timeout_seconds: int) -> dict:
    """The agent-facing task_info.json (schema 3): no scoring detail, no real task id."""
    return {
        "schema_version": TASK_INFO_SCHEMA_VERSION,
        "task_id": anonymous_task_id(task.id),
        "prompt_level": level.lower(),
        "expected_outputs": task.expected_outputs(),
        "timeout_seconds": int(timeout_seconds),
    }


def build_seed_dir(task: Task, instance: InstanceRef, level: str, dest: Path, timeout_seconds: int) -> str:
    """Fill ``dest`` with the workspace's starting files; return the prompt text."""
    dest.mkdir(parents=True, exist_ok=True)
    data = instance.path / "data"
    if data.is_dir():
        shutil.copytree(data, dest / "data", symlinks=False, dirs_exist_ok=True)
    else:
        (dest / "data").mkdir()
    prompt = prompt_path(task, instance, level).read_text(encoding="utf-8")
    (dest / "prompt.md").write_text(prompt, encoding="utf-8")
    info = task_info(task, level, timeout_seconds)
    (dest / "task_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    for name in AGENT_MEMORY_FILES:
        target = dest / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    return prompt


def make_seed_dir(instance: InstanceRef) -> Path:
    """A new empty folder to build an episode's starting files in (the caller removes it).

    It is on ``/dev/shm`` (memory) when that is writable and the instance's data is at most
    :data:`SEED_IN_MEMORY_MAX_BYTES`: the files only pass through it on their way into the sandbox,
    and a busy disk makes creating and removing them cost milliseconds per file. Else the system's
    temporary folder.
    """
    parent: Path | None = None
    if SHM_DIR.is_dir() and os.access(SHM_DIR, os.W_OK | os.X_OK):
        size = 0
        for folder, _dirs, files in os.walk(instance.path / "data"):
            size += sum(os.lstat(os.path.join(folder, name)).st_size for name in files)
            if size > SEED_IN_MEMORY_MAX_BYTES:
                break
        parent = SHM_DIR if size <= SEED_IN_MEMORY_MAX_BYTES else None
    return Path(tempfile.mkdtemp(prefix="asibench-seed-", dir=parent))
