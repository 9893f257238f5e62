"""Baseline run configurations (``baselines/*.yaml``): the agent's settings plus what the run covers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from asibench_env.agents.settings import AgentSettings, validation_message
from asibench_env.paths import PACKAGE_DIR
from asibench_env.runs.metadata import BaselineProvenance
from asibench_env.tasks.hashing import file_sha256

REPO_BASELINES_DIR = PACKAGE_DIR.parent / "baselines"
"""The baseline files pinned in this repository (present when running from a checkout)."""


class BaselineConfig(AgentSettings):
    """One baseline: the agent's settings (:class:`AgentSettings`, flat in the file) and the run's own.

    ``agent`` is any name :func:`~asibench_env.agents.registry.resolve_agent` accepts; it is checked
    when the run starts, so a plug-in need not be installed to read the file.
    """

    name: str = Field(min_length=1)
    tasks: str = "all"
    levels: str = "B1,B2,B3,B4"
    seeds: str = "0-4"
    max_steps: int = Field(default=100, gt=0)
    max_wall_time_s: float = Field(default=3600.0, gt=0)
    concurrency: int = Field(default=1, ge=1)


class BaselineError(ValueError):
    """A baseline file or an override of it is invalid; ``field`` names the setting."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def load_baseline(path: Path) -> BaselineConfig:
    """Read and validate a baseline file.

    Raises :class:`BaselineError` naming the file and the field (``field`` is ``"(file)"`` when the
    file cannot be read as YAML).
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise BaselineError(
            f"{path}: cannot be read as YAML ({reason}); fix it or give another --config", field="(file)"
        ) from exc
    try:
        return BaselineConfig.model_validate(data or {})
    except ValidationError as exc:
        field, message = validation_message(exc, known=BaselineConfig.model_fields)
        raise BaselineError(f"{path}: field '{field}': {message}", field=field) from exc


def with_overrides(base: BaselineConfig, overrides: dict[str, Any]) -> BaselineConfig:
    """``base`` with the non-None ``overrides`` applied and the result validated again.

    Raises :class:`BaselineError` naming the first invalid field.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return BaselineConfig.model_validate({**base.model_dump(exclude_unset=True), **given})
    except ValidationError as exc:
        field, message = validation_message(exc, known=BaselineConfig.model_fields)
        raise BaselineError(f"{field}: {message}", field=field) from exc


def baseline_provenance(path: Path, config: BaselineConfig, overrides: list[str]) -> BaselineProvenance:
    """What ``run_metadata.json`` records of the baseline file a run started from; raises ``OSError``."""
    return BaselineProvenance(
        name=config.name,
        path=str(Path(path).resolve()),
        file_name=Path(path).name,
        sha256=file_sha256(path),
        overrides=sorted(overrides),
    )
