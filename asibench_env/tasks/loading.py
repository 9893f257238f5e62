"""Read one task directory in the official layout into a :class:`Task`."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from asibench_env.tasks.models import (
    CombinedTask,
    FileSpec,
    Generation,
    TaskEval,
    TaskMeta,
)

COMBINED_FILE = "task.yaml"
META_FILE = "task_meta.yaml"
EVAL_FILE = "task_eval.yaml"


class TaskFileError(ValueError):
    """A task file is missing or invalid; the message names the file, the field and the fix."""

    def __init__(self, path: Path, problem: str, fix: str, field_name: str | None = None):
        self.path = path
        self.field_name = field_name
        where = f"{path}" + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}")


@dataclass(frozen=True)
class Task:
    """A task: its public metadata, its scoring contract and where its files live."""

    meta: TaskMeta
    task_dir: Path
    evaluation: dict[str, Any]
    """The raw evaluation mapping (gates, scoring, ...), passed to the scorer as written."""
    generation: Generation | None
    outputs: tuple[FileSpec, ...]
    """Declared outputs, with the eval file's hidden shape/dtype merged in by name."""
    source: str = "tasks_dir"
    eval_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The task id, e.g. ``physics.damped_oscillator_fit``."""
        return self.meta.id

    @property
    def version(self) -> str:
        """The task's version string (part of the instance cache key)."""
        return self.meta.version

    @property
    def runtime_packages(self) -> list[str]:
        """The requirements the task's runtime must meet."""
        return list(self.meta.runtime.packages)

    @property
    def has_generator(self) -> bool:
        """Whether the task folder holds its generator script (unlimited seeded instances)."""
        script = self.generation.script if self.generation else "generate_gt.py"
        return (self.task_dir / script).is_file()

    @property
    def generator_path(self) -> Path:
        """Where the generator script is (or would be)."""
        script = self.generation.script if self.generation else "generate_gt.py"
        return self.task_dir / script

    @property
    def solution_path(self) -> Path:
        """The reference solver the oracle runs (``solution/solve.py``)."""
        return self.task_dir / "solution" / "solve.py"

    @property
    def summary(self) -> str:
        """The task's one-line public summary (its name when it has none)."""
        return self.meta.summary or self.meta.name

    def prompt_template(self, level: str) -> Path:
        """The prompt template of ``level`` in the task folder."""
        return self.task_dir / self.meta.prompts.for_level(level)

    def expected_outputs(self) -> list[dict[str, str]]:
        """The agent-visible output list: names and types only (shapes and dtypes stay hidden)."""
        return [{"name": spec.name, "type": spec.type} for spec in self.outputs]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(path, f"cannot be read ({exc.strerror})", "check the file exists and is readable") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TaskFileError(path, f"is not valid YAML{where}", "correct the YAML syntax") from exc
    if not isinstance(data, dict):
        raise TaskFileError(path, "does not hold a mapping at the top level", "write the task keys as a mapping")
    return data


def _validate(model: type[BaseModel], data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(part) for part in first["loc"]) or None
        problem = first["msg"]
        if first["type"] == "missing":
            fix = f"add the required field '{field_name}'"
        else:
            fix = f"give '{field_name}' a valid value (got {first.get('input')!r})"
        raise TaskFileError(path, problem, fix, field_name) from exc


def _merge_outputs(meta_files: list[FileSpec], eval_files: list[FileSpec]) -> tuple[FileSpec, ...]:
    by_name = {spec.name: spec.model_dump(exclude_none=True) for spec in meta_files}
    for spec in eval_files:
        by_name.setdefault(spec.name, {}).update(spec.model_dump(exclude_none=True))
    return tuple(FileSpec.model_validate(item) for item in by_name.values())


def is_task_dir(path: Path) -> bool:
    """Whether ``path`` holds a task in the official layout (``task.yaml`` or ``task_meta.yaml``)."""
    return (path / COMBINED_FILE).is_file() or (path / META_FILE).is_file()


def load_task(task_dir: Path, source: str = "tasks_dir") -> Task:
    """Load and validate a task directory (split task_meta/task_eval files, or one task.yaml)."""
    task_dir = Path(task_dir).resolve()
    combined = task_dir / COMBINED_FILE
    if combined.is_file():
        raw = _read_yaml(combined)
        model: CombinedTask = _validate(CombinedTask, raw, combined)
        meta = _validate(TaskMeta, {k: v for k, v in raw.items() if k not in ("evaluation", "generation")}, combined)
        evaluation = copy.deepcopy(raw.get("evaluation") or {})
        generation = model.generation
        outputs = _merge_outputs(meta.output.files, [])
        eval_path = combined
    else:
        meta_path = task_dir / META_FILE
        if not meta_path.is_file():
            raise TaskFileError(
                meta_path, "is missing", f"add {META_FILE} and {EVAL_FILE}, or a combined {COMBINED_FILE}"
            )
        meta = _validate(TaskMeta, _read_yaml(meta_path), meta_path)
        eval_path = task_dir / EVAL_FILE
        if not eval_path.is_file():
            raise TaskFileError(
                eval_path, "is missing, so the task cannot be scored", f"add {EVAL_FILE} with an 'evaluation' block"
            )
        raw_eval = _read_yaml(eval_path)
        task_eval: TaskEval = _validate(TaskEval, raw_eval, eval_path)
        if task_eval.task_id and task_eval.task_id != meta.id:
            raise TaskFileError(
                eval_path,
                f"task_id {task_eval.task_id!r} does not match {META_FILE} id {meta.id!r}",
                "make both files name the same task",
                "task_id",
            )
        evaluation = copy.deepcopy(raw_eval.get("evaluation") or {})
        generation = task_eval.generation
        outputs = _merge_outputs(meta.output.files, task_eval.output.files)
    if not evaluation.get("scoring") and not evaluation.get("gates"):
        raise TaskFileError(
            eval_path, "has no gates and no scorers", "add 'evaluation.gates' and 'evaluation.scoring'", "evaluation"
        )
    _validate(TaskEval, {"evaluation": evaluation}, eval_path)  # checks every gate and scorer entry
    task = Task(
        meta=meta,
        task_dir=task_dir,
        evaluation=evaluation,
        generation=generation,
        outputs=outputs,
        source=source,
        eval_path=eval_path,
    )
    return task
