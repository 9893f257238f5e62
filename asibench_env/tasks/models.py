"""Pydantic models of the ASI-Bench task files: task_meta.yaml, task_eval.yaml, task.yaml, instance_meta.json.

The models accept the official files as they are (unknown keys are kept, not rejected) and check the
fields asibench-env relies on, so a broken file fails with the file, the field and the fix.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TASK_ID_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
LEVELS: tuple[str, ...] = ("B1", "B2", "B3", "B4")


def normalize_level(level: str) -> str:
    """``"b3"`` -> ``"B3"``. Raises :class:`ValueError` naming the valid levels for anything else."""
    normalised = str(level).strip().upper()
    if normalised not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    return normalised


def parse_levels(text: str) -> list[str]:
    """``"b1, B3"`` -> ``["B1", "B3"]``. Raises :class:`ValueError` for an empty list or an unknown level."""
    parts = [part for part in str(text).split(",") if part.strip()]
    if not parts:
        raise ValueError(f"no levels in {text!r}; write e.g. B1,B3 (levels are {', '.join(LEVELS)})")
    try:
        return [normalize_level(part) for part in parts]
    except ValueError:
        raise ValueError(f"levels must be among {', '.join(LEVELS)}; got {text!r}") from None


TaskStatus = Literal["in_development", "test", "sample", "final", "abandoned"]


class _Open(BaseModel):
    """A model that keeps keys it does not know (the official format grows)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SourceInfo(_Open):
    """Where the task comes from: a paper and a code repository."""

    paper: str | None = None
    repo: str | None = None


class Difficulty(_Open):
    """The task author's estimate of the work and the resources it needs."""

    estimated_lines: str | int | None = None
    estimated_time_minutes: str | int | None = None
    requires_gpu: bool = False
    requires_network: bool = False


class RuntimeSpec(_Open):
    """The Python version and the packages (requirement strings) the task's code needs."""

    python: str | None = None
    packages: list[str] = Field(default_factory=list)

    @field_validator("packages", mode="before")
    @classmethod
    def _packages_are_strings(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("must be a list of pip requirement strings, e.g. ['numpy>=2.0']")
        return [str(item).strip() for item in value if str(item).strip()]


class FileSpec(_Open):
    """One declared input or output file."""

    name: str
    type: str = "data"
    description: str | None = None
    shape: Any = None
    dtype: str | None = None

    @field_validator("name")
    @classmethod
    def _relative_name(cls, value: str) -> str:
        if not value or value.startswith("/") or ".." in value.split("/"):
            raise ValueError(f"file name {value!r} must be a relative path inside the workspace")
        return value


class FileList(_Open):
    """A list of declared files (the task's inputs or outputs)."""

    files: list[FileSpec] = Field(default_factory=list)


class PromptFiles(_Open):
    """The prompt template file of each level, relative to the task folder."""

    b1: str = "prompt_b1.md"
    b2: str = "prompt_b2.md"
    b3: str = "prompt_b3.md"
    b4: str = "prompt_b4.md"

    def for_level(self, level: str) -> str:
        """The file name of ``level`` (B1-B4); ``AttributeError`` for another level."""
        return str(getattr(self, level.lower()))


class GateSpec(_Open):
    """A gate: a scorer that must pass (``hard``: else the score is 0) or is noted (``soft``)."""

    scorer: str
    severity: Literal["hard", "soft"] = "hard"
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("severity", mode="before")
    @classmethod
    def _normalise_severity(cls, value: Any) -> Any:
        return str(value).strip().lower() if value is not None else "hard"


class ScoringSpec(_Open):
    """A weighted scorer; the task's score is the weighted sum over its scorers."""

    scorer: str
    weight: float = 1.0
    config: dict[str, Any] = Field(default_factory=dict)


class Evaluation(_Open):
    """The evaluation contract of ``task_eval.yaml``: gates, then weighted scorers."""

    gates: list[GateSpec] = Field(default_factory=list)
    scoring: list[ScoringSpec] = Field(default_factory=list)


class ParameterSpec(_Open):
    """One generator parameter: its type, range or options, and default."""

    type: Literal["int", "float", "choice", "bool", "str"] = "float"
    range: list[float] | None = None
    options: list[Any] | None = None
    default: Any = None

    @model_validator(mode="after")
    def _range_or_options(self) -> ParameterSpec:
        bad_range = self.range is not None and (len(self.range) != 2 or self.range[0] > self.range[1])
        if self.type in ("int", "float") and bad_range:
            raise ValueError(f"range must be [low, high] with low <= high, got {self.range}")
        if self.type == "choice" and not self.options:
            raise ValueError("a 'choice' parameter needs a non-empty 'options' list")
        return self


class Generation(_Open):
    """How instances are generated: the script, finite or infinite mode, and the parameters."""

    script: str = "generate_gt.py"
    mode: Literal["infinite", "finite"] = "infinite"
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    settings: list[dict[str, Any]] = Field(default_factory=list)
    timeout_seconds: float | None = None


class TaskMeta(_Open):
    """task_meta.yaml: the public description of a task."""

    id: str
    name: str
    summary: str | None = None
    """One public sentence on what the agent does (shown by `tasks list` and in docs/tasks.md)."""
    version: str = "1.0"
    status: TaskStatus = "in_development"
    domain: str
    subdomain: str | None = None
    source: SourceInfo = Field(default_factory=SourceInfo)
    difficulty: Difficulty = Field(default_factory=Difficulty)
    tags: list[str] = Field(default_factory=list)
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    prompts: PromptFiles = Field(default_factory=PromptFiles)
    input: FileList = Field(default_factory=FileList)
    output: FileList = Field(default_factory=FileList)

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not TASK_ID_PATTERN.match(value):
            raise ValueError(f"task id {value!r} must look like 'domain.name' (lowercase letters, digits, underscores)")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class TaskEval(_Open):
    """task_eval.yaml: the scoring contract (never shown to the agent)."""

    task_id: str | None = None
    output: FileList = Field(default_factory=FileList)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    generation: Generation | None = None


class CombinedTask(TaskMeta):
    """The single-file task.yaml of the public samples: task_meta and task_eval keys together."""

    evaluation: Evaluation = Field(default_factory=Evaluation)
    generation: Generation | None = None


class InstanceMeta(_Open):
    """instance_meta.json, written by a generator next to data/ and reference/."""

    params_used: dict[str, Any] = Field(default_factory=dict)
    task_id: str | None = None
