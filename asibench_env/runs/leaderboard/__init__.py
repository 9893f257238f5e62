"""Leaderboards over run folders: one row per agent configuration, with intervals and trust labels.

``build_leaderboard(run_dirs, ...)`` (aggregate.py) reads run folders and returns a
:class:`~asibench_env.runs.leaderboard.model.Leaderboard` (model.py, the JSON contract a static site
reads); bootstrap.py computes the intervals, trust.py the labels, render.py the table, CSV, Markdown and
HTML. docs/leaderboard.md describes the rules.
"""

from asibench_env.runs.leaderboard.aggregate import LeaderboardError, build_leaderboard
from asibench_env.runs.leaderboard.model import Leaderboard, Row

__all__ = ["Leaderboard", "LeaderboardError", "Row", "build_leaderboard"]
