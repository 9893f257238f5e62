"""Score result models (pydantic), shaped like the official ScoreDetail and evaluation output."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, field_validator


def json_safe(value: Any) -> Any:
    """Turn numpy scalars, arrays, tuples and paths into plain JSON values (NaN and inf become strings)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


class ScorerResult(BaseModel):
    """What one gate or scorer gave."""

    scorer_name: str
    score: float
    max_score: float
    passed: bool
    details: dict[str, Any] = Field(default_factory=dict)
    message: str = ""
    severity: str | None = None

    @field_validator("details", mode="before")
    @classmethod
    def _plain_details(cls, value: Any) -> Any:
        return json_safe(value or {})

    @field_validator("score", "max_score", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        return float(value)


class ScoreReport(BaseModel):
    """The whole evaluation of one set of outputs."""

    gate_results: list[ScorerResult] = Field(default_factory=list)
    score_results: list[ScorerResult] = Field(default_factory=list)
    gates_passed: bool = False
    hard_gates_passed: bool = False
    soft_gate_failures: int = 0
    final_score: float = 0.0
    """Normalised to the task's scale (0-100 for weights summing to 100)."""
    max_possible_score: float = 100.0
    error: str | None = None
    """Set when scoring itself failed (timeout, crash, invalid contract); final_score is then 0."""
    infra_error: str | None = None
    """Set when a model judge could not be reached (the official "evaluator unavailable" result) or the
    task's custom scorer needs a module this environment lacks: the score is not the outputs' and the
    episode is an infrastructure failure, never a 0."""
    missing_module: str | None = None
    """The module a task's custom scorer could not import (scoring then retries with the task runtime)."""
    duration_s: float = 0.0
    judge_calls: int | None = None
    """Model judge calls made while scoring (None when no judge ran); judge usage is never the agent's cost."""
    judge_input_tokens: int | None = None
    judge_output_tokens: int | None = None
    judge_cost_usd: float | None = None
    """Dollars the judges cost, when the official scorer reports it."""
