"""Native implementations of the official built-in scorers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers.code_analysis import score_code_analysis
from asibench_env.rewards.scorers.file_match import score_file_match
from asibench_env.rewards.scorers.numerical import score_numerical
from asibench_env.tasks.runnability import JUDGE_SCORERS

ScorerFn = Callable[[Path, Path, dict[str, Any]], ScorerResult]

NATIVE_SCORERS: dict[str, ScorerFn] = {
    "file_match": score_file_match,
    "numerical": score_numerical,
    "code_analysis": score_code_analysis,
}


__all__ = ["JUDGE_SCORERS", "NATIVE_SCORERS", "ScorerFn"]
