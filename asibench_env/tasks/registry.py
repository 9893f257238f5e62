"""Find tasks: built-in ones, any directory in the official layout, and downloaded instances."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from asibench_env.paths import BUILTIN_TASKS_DIR
from asibench_env.tasks.loading import COMBINED_FILE, META_FILE, Task, TaskFileError, load_task
from asibench_env.tasks.models import InstanceMeta
from asibench_env.tasks.runnability import Runnability, runnability

logger = logging.getLogger(__name__)

DEFAULT_STATUSES = frozenset({"final", "sample", "test"})


class UnknownTaskError(KeyError):
    """No task with that id was found; the message lists where we looked and what exists."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class InstanceRef:
    """A ready instance directory: prompts, data/, instance_meta.json and (public split) reference/."""

    instance_id: str
    task_id: str
    path: Path
    params: dict[str, Any]

    @property
    def reference_dir(self) -> Path:
        """The instance's ground truth folder (host only, never in a sandbox)."""
        return self.path / "reference"

    @property
    def has_reference(self) -> bool:
        """Whether the instance has ground truth here (a private-split instance has none)."""
        ref = self.reference_dir
        return ref.is_dir() and any(ref.iterdir())


def task_dirs_under(root: Path) -> Iterable[Path]:
    """Every task folder below ``root`` (or ``root`` itself), skipping ``_``-folders and solutions."""
    found = {p.parent for p in root.rglob(META_FILE)} | {p.parent for p in root.rglob(COMBINED_FILE)}
    for task_dir in sorted(found):
        if task_dir.name.startswith("_") or "solution" in task_dir.relative_to(root).parts:
            continue
        yield task_dir


INSTANCE_META_FILE = "instance_meta.json"
FRAMEWORK_TASK_INFO_FILE = "framework_task_info.json"


def is_instance_dir_name(name: str) -> bool:
    """Whether a folder name is an official instance id, ``<domain>.<name>__<params/seed>``."""
    task_part, sep, rest = name.partition("__")
    return bool(sep and rest and "." in task_part and not name.startswith("."))


def looks_like_instance(path: Path) -> bool:
    """An instance folder of the official pulled layout: ``<task_id>__*`` holding data/ or prompts."""
    return (
        path.is_dir()
        and is_instance_dir_name(path.name)
        and ((path / "data").is_dir() or any(path.glob("prompt_b*.md")))
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise TaskFileError(path, f"is not valid JSON ({exc})", "pull or regenerate the instance again") from exc


def read_instance(path: Path) -> InstanceRef:
    """Describe one downloaded or generated instance directory.

    Parameters come from ``instance_meta.json`` (generated and demo instances) or, in the official
    fixed-seed datasets that ship none, from ``framework_task_info.json``'s ``parameters``; the task id
    from the metadata or the folder name (``<task_id>__...``).
    """
    meta_path = path / INSTANCE_META_FILE
    meta = InstanceMeta()
    if meta_path.is_file():
        try:
            meta = InstanceMeta.model_validate(_read_json(meta_path))
        except ValueError as exc:
            raise TaskFileError(
                meta_path, f"is not valid instance metadata ({exc})", "regenerate the instance"
            ) from exc
    params = dict(meta.params_used)
    info_path = path / FRAMEWORK_TASK_INFO_FILE
    if not params and info_path.is_file():
        info = _read_json(info_path)
        if isinstance(info, dict) and isinstance(info.get("parameters"), dict):
            params = dict(info["parameters"])
    task_id = meta.task_id or path.name.split("__", 1)[0]
    return InstanceRef(instance_id=path.name, task_id=task_id, path=path.resolve(), params=params)


def instance_dirs_under(root: Path) -> list[Path]:
    """Instance folders below ``root``: any with an ``instance_meta.json`` (generated, demo), and the
    official pulled layout, ``root/<task_id>__*/`` with data/ or prompts (no metadata file needed)."""
    found = {p.parent for p in root.rglob(INSTANCE_META_FILE)}
    found |= {p for p in root.iterdir() if looks_like_instance(p)} if root.is_dir() else set()
    return sorted(found)


class TaskRegistry:
    """Every task asibench-env can see, by id.

    Broken task directories do not hide the others: they are kept in :attr:`errors` and raised when
    their task is asked for by id.
    """

    def __init__(
        self,
        tasks_dirs: Sequence[str | Path] = (),
        instances_dirs: Sequence[str | Path] = (),
        *,
        include_builtin: bool = True,
        statuses: Iterable[str] = DEFAULT_STATUSES,
    ):
        self.tasks_dirs = [Path(d).expanduser().resolve() for d in tasks_dirs]
        self.instances_dirs = [Path(d).expanduser().resolve() for d in instances_dirs]
        self.statuses = frozenset(statuses)
        self.include_builtin = include_builtin
        self.errors: dict[Path, TaskFileError] = {}
        self._tasks: dict[str, Task] = {}
        for directory in [*self.tasks_dirs, *self.instances_dirs]:
            if not directory.is_dir():
                raise FileNotFoundError(f"{directory} is not a directory; pass an existing tasks or instances folder")
        if include_builtin:
            self._scan(BUILTIN_TASKS_DIR, "builtin")
        for directory in self.tasks_dirs:
            self._scan(directory, "tasks_dir")
        self._instances = self._scan_instances()

    def _scan(self, root: Path, source: str) -> None:
        for task_dir in task_dirs_under(root):
            try:
                task = load_task(task_dir, source=source)
            except TaskFileError as exc:
                self.errors[task_dir] = exc
                logger.warning("skipping broken task %s: %s", task_dir, exc)
                continue
            if task.meta.status not in self.statuses:
                continue
            # Later sources override earlier ones, so a checkout can shadow a built-in task.
            self._tasks[task.id] = task

    def _scan_instances(self) -> dict[str, list[InstanceRef]]:
        found: dict[str, list[InstanceRef]] = {}
        for root in self.instances_dirs:
            for path in instance_dirs_under(root):
                try:
                    ref = read_instance(path)
                except TaskFileError as exc:
                    self.errors[path] = exc
                    continue
                found.setdefault(ref.task_id, []).append(ref)
        return found

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as the folders it reads: unpickled on another machine, it reads that machine's copies.

        (Ray ships registries to the nodes of a cluster this way; built-in tasks are found wherever the
        package is installed there.)
        """
        recipe = (
            tuple(str(d) for d in self.tasks_dirs),
            tuple(str(d) for d in self.instances_dirs),
            self.include_builtin,
            tuple(sorted(self.statuses)),
        )
        return _reopen_registry, recipe

    def ids(self) -> list[str]:
        """Ids of every loadable task, sorted."""
        return sorted(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks[i] for i in self.ids())

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def get(self, task_id: str) -> Task:
        """The task with this id, or a clear error saying what exists."""
        if task_id in self._tasks:
            return self._tasks[task_id]
        for path, error in self.errors.items():
            if path.name == task_id.split(".")[-1]:
                raise error
        known = ", ".join(self.ids()) or "none"
        raise UnknownTaskError(
            f"unknown task {task_id!r}. Known tasks: {known}. "
            "Pass tasks_dir=... (--tasks-dir) to add a directory in the official layout."
        )

    def instances(self, task_id: str) -> list[InstanceRef]:
        """Downloaded instances of a task found under the instances directories."""
        return list(self._instances.get(task_id, []))

    def instance_task_ids(self) -> list[str]:
        """Ids of the tasks with downloaded instances, sorted (whether or not the task itself is known)."""
        return sorted(self._instances)

    def instance(self, instance_id: str) -> InstanceRef:
        """The downloaded instance with this id; raises :class:`UnknownTaskError` when there is none."""
        for refs in self._instances.values():
            for ref in refs:
                if ref.instance_id == instance_id:
                    return ref
        raise UnknownTaskError(
            f"no downloaded instance {instance_id!r} under {self.instances_dirs or 'no --instances-dir'}"
        )

    def runnability(self, task_id: str) -> Runnability:
        """Whether and how the task runs here: from its generator, downloaded instances, or not at all."""
        return runnability(self.get(task_id), len(self.instances(task_id)))

    def select(self, spec: str) -> list[Task]:
        """Tasks named by a CLI spec: 'all', or ids separated by commas."""
        if spec.strip() == "all":
            return list(self)
        return [self.get(part.strip()) for part in spec.split(",") if part.strip()]


@lru_cache(maxsize=8)
def _reopen_registry(
    tasks_dirs: tuple[str, ...], instances_dirs: tuple[str, ...], include_builtin: bool, statuses: tuple[str, ...]
) -> TaskRegistry:
    """A registry read from these folders (cached: a worker unpickles the same registry for every episode)."""
    return TaskRegistry(tasks_dirs, instances_dirs, include_builtin=include_builtin, statuses=statuses)


@cache
def builtin_registry() -> TaskRegistry:
    """The registry of built-in tasks only (cached)."""
    return TaskRegistry()
