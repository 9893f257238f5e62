"""Baseline run configurations (``baselines/*.yaml``): agent, model, request settings, budgets, levels, seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class BaselineConfig(BaseModel):
    """One official baseline: everything needed to reproduce its run."""

    model_config = ConfigDict(extra="forbid")

    name: str
    agent: Literal["oracle", "null", "openai", "openai-responses", "anthropic"]
    model: str | None = None
    base_url: str | None = None
    temperature: float | None = None
    seed: int | None = Field(default=None, description="The model's sampling seed, where the API has one.")
    max_tokens: int | None = None
    reasoning_effort: str | None = None
    max_steps: int = 100
    max_wall_time_s: float = 3600.0
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None
    tasks: str = "all"
    levels: str = "B1,B2,B3,B4"
    seeds: str = "0-4"
    concurrency: int = 1


def load_baseline(path: Path) -> BaselineConfig:
    """Read and validate a baseline file; errors name the file and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot be read as YAML ({exc})") from exc
    try:
        return BaselineConfig.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: field '{field}': {first['msg']}") from exc
