"""Native implementations of the official built-in scorers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers.code_analysis import score_code_analysis
from asibench_env.rewards.scorers.file_match import score_file_match
from asibench_env.rewards.scorers.numerical import score_numerical

ScorerFn = Callable[[Path, Path, dict[str, Any]], ScorerResult]

NATIVE_SCORERS: dict[str, ScorerFn] = {
    "file_match": score_file_match,
    "numerical": score_numerical,
    "code_analysis": score_code_analysis,
}

JUDGE_SCORERS = frozenset({"llm_judge", "agent_judge", "multimodal"})
"""Scorers that call a model judge; they run through the official ones when a judge is configured
(:mod:`asibench_env.rewards.judge`), else they score 0 with a message saying how to configure one."""

__all__ = ["JUDGE_SCORERS", "NATIVE_SCORERS", "ScorerFn"]
