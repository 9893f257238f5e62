"""Runs: whole episodes and batches of them, their result files, reports and metadata, and task validation."""

from asibench_env.runs.batch import BatchOutcome, RunDirError, run_batch
from asibench_env.runs.runner import EpisodeSpec, parse_seeds, plan_episodes, run_episode

__all__ = ["BatchOutcome", "EpisodeSpec", "RunDirError", "parse_seeds", "plan_episodes", "run_batch", "run_episode"]
