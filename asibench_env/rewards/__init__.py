"""Rewards: a native implementation of the ASI-Bench scoring contract."""

from asibench_env.rewards.engine import evaluate
from asibench_env.rewards.isolation import ScoringWorker, ScoringWorkerError, score_outputs
from asibench_env.rewards.results import ScoreReport, ScorerResult
from asibench_env.rewards.scorers import NATIVE_SCORERS
from asibench_env.rewards.templates import resolve_templates


def list_native_scorers() -> list[str]:
    """Names of the scorers implemented natively (custom task scorers come on top)."""
    return sorted([*NATIVE_SCORERS, "composite"])


__all__ = [
    "ScoreReport",
    "ScorerResult",
    "ScoringWorker",
    "ScoringWorkerError",
    "evaluate",
    "list_native_scorers",
    "resolve_templates",
    "score_outputs",
]
