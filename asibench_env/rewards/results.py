"""Pydantic result models: one scorer's result and the report for a whole set of outputs."""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, field_validator


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become Python numbers and lists.

    Non-finite floats become the strings ``"nan"``, ``"inf"`` and ``"-inf"`` so the result is strict JSON.
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, PurePath):
        return value.as_posix()
    return str(value)


class ScorerResult(BaseModel):
    """What one gate or weighted scorer gave (the official ``ScoreDetail`` fields)."""

    scorer_name: str
    score: float
    max_score: float
    passed: bool
    details: dict[str, Any] = Field(default_factory=dict)
    message: str = ""
    severity: str | None = None
    """``hard`` or ``soft`` for gates, None for weighted scorers."""

    @field_validator("details", mode="before")
    @classmethod
    def _plain_details(cls, value: Any) -> Any:
        return json_safe(dict(value or {}))

    @field_validator("score", "max_score", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> float:
        return float(value)

    @field_validator("passed", mode="before")
    @classmethod
    def _truthy(cls, value: Any) -> bool:
        return bool(value)  # the official engine tests ``if result.passed``

    @field_validator("message", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class ScoreReport(BaseModel):
    """The evaluation of one set of outputs against one instance's reference."""

    gate_results: list[ScorerResult] = Field(default_factory=list)
    score_results: list[ScorerResult] = Field(default_factory=list)
    gates_passed: bool = False
    """Same as ``hard_gates_passed`` (the official field of that name)."""
    hard_gates_passed: bool = False
    soft_gate_failures: int = 0
    final_score: float = 0.0
    """Sum of scorer scores divided by the task's ``score_divisor`` (0-100 when weights sum to 100)."""
    max_possible_score: float = 100.0
    """Sum of scorer weights divided by the task's ``score_divisor``."""
    error: str | None = None
    """Why scoring itself failed (timeout, crash, invalid contract); ``final_score`` is then 0."""
    duration_s: float = 0.0
