"""The scores a preference can be taken on: the final score, or one scorer's dimension.

A dimension is a scorer's ``scorer_name`` in the episode's ``score_results_json`` (e.g. ``file_match``,
``numerical:relative_l2``); its value is ``100 * score / max_score`` (entries of the same name summed), so
a margin means points out of 100 on any dimension. A scored episode whose hard gates failed has no
scorer results: every dimension counts 0 there, as its final score does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from asibench_env.integrations.exports.errors import UnknownDimensionError
from asibench_env.integrations.exports.source import RunEpisode

FINAL_SCORE = "final_score"


def dimension_scores(episode: RunEpisode) -> dict[str, float]:
    """Each scorer's share of its maximum, in points out of 100, by scorer name."""
    totals: dict[str, list[float]] = {}
    for entry in json.loads(episode.row["score_results_json"] or "[]"):
        got = totals.setdefault(str(entry["scorer_name"]), [0.0, 0.0])
        got[0] += float(entry.get("score") or 0.0)
        got[1] += float(entry.get("max_score") or 0.0)
    return {name: (100.0 * score / peak if peak else 0.0) for name, (score, peak) in totals.items()}


def available_dimensions(episodes: Iterable[RunEpisode]) -> list[str]:
    """``final_score`` and every scorer name the episodes were scored on, sorted."""
    names = {name for episode in episodes for name in dimension_scores(episode)}
    return [FINAL_SCORE, *sorted(names)]


def check_dimension(name: str, episodes: list[RunEpisode]) -> None:
    """Raise :class:`UnknownDimensionError` listing the available dimensions when no episode has ``name``."""
    available = available_dimensions(episodes)
    if name not in available:
        raise UnknownDimensionError(f"unknown dimension {name!r}; the episodes were scored on: {', '.join(available)}")


def score_on(episode: RunEpisode, dimension: str) -> float | None:
    """The episode's score on ``dimension`` (0 to 100); None when it was not scored on it."""
    if dimension == FINAL_SCORE:
        return float(episode.row["final_score"])
    scores = dimension_scores(episode)
    if dimension in scores:
        return scores[dimension]
    if episode.row["hard_gates_passed"] is False:
        return 0.0
    return None
