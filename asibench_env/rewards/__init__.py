"""Rewards: a native implementation of the ASI-Bench scoring contract."""

from asibench_env.rewards.engine import evaluate
from asibench_env.rewards.isolation import ScoringWorker, ScoringWorkerError, score_outputs
from asibench_env.rewards.judge import JudgeConfigError, JudgeSettings, judge_unavailable, needs_judge
from asibench_env.rewards.results import ScoreReport, ScorerResult
from asibench_env.rewards.scorers import NATIVE_SCORERS
from asibench_env.rewards.templates import resolve_templates


def list_native_scorers() -> list[str]:
    """Names of the scorers implemented natively (custom task scorers come on top)."""
    return sorted([*NATIVE_SCORERS, "composite"])


__all__ = [
    "JudgeConfigError",
    "JudgeSettings",
    "ScoreReport",
    "ScorerResult",
    "ScoringWorker",
    "ScoringWorkerError",
    "evaluate",
    "judge_unavailable",
    "list_native_scorers",
    "needs_judge",
    "resolve_templates",
    "score_outputs",
]
