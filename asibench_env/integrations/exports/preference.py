"""DPO preference pairs: two episodes of the same instance and level, the chosen above the rejected.

Pairs are formed within each (task, instance, level): every two episodes whose scores (on the final
score or one dimension) differ by more than zero and by at least ``margin``, and whose prompts (system
messages and task prompt) are the same. Each instance's pairs are ordered by the score difference
(largest first), then the chosen and the rejected episode ids, and ``max_pairs`` keeps the first of them.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from asibench_env.integrations.exports.dialogue import conversation, split_prompt, tools_json
from asibench_env.integrations.exports.dimensions import FINAL_SCORE, check_dimension, score_on
from asibench_env.integrations.exports.models import ChatMessage, DpoRow
from asibench_env.integrations.exports.report import (
    SKIP_ALONE,
    SKIP_CAP,
    SKIP_MARGIN,
    SKIP_NO_DIMENSION,
    SKIP_PROMPT_MISMATCH,
    ExportReport,
)
from asibench_env.integrations.exports.source import RunEpisode, read_episodes

Scored = tuple[RunEpisode, float, list[ChatMessage], list[ChatMessage]]


def _pair_row(dimension: str, chosen: Scored, rejected: Scored) -> DpoRow:
    row = chosen[0].row
    return DpoRow(
        task_id=row["task_id"],
        instance_id=row["instance_id"],
        prompt_level=row["prompt_level"],
        seed=row["seed"],
        prompt=chosen[2],
        chosen=chosen[3],
        rejected=rejected[3],
        tools=tools_json(chosen[0]),
        dimension=dimension,
        score_chosen=chosen[1],
        score_rejected=rejected[1],
        chosen_episode_id=chosen[0].episode_id,
        rejected_episode_id=rejected[0].episode_id,
        chosen_run_id=row["run_id"],
        rejected_run_id=rejected[0].row["run_id"],
    )


def _instance_pairs(
    group: list[Scored], dimension: str, margin: float, max_pairs: int | None, report: ExportReport
) -> list[DpoRow]:
    candidates = []
    for a, b in itertools.combinations(group, 2):
        chosen, rejected = (a, b) if a[1] >= b[1] else (b, a)
        difference = chosen[1] - rejected[1]
        if difference <= 0 or difference < margin:
            report.skip(SKIP_MARGIN)
        elif chosen[2] != rejected[2]:
            report.skip(SKIP_PROMPT_MISMATCH)
        else:
            candidates.append((-difference, chosen[0].episode_id, rejected[0].episode_id, chosen, rejected))
    candidates.sort(key=lambda c: c[:3])
    if max_pairs is not None and len(candidates) > max_pairs:
        report.skip(SKIP_CAP, len(candidates) - max_pairs)
        candidates = candidates[:max_pairs]
    return [_pair_row(dimension, c[3], c[4]) for c in candidates]


def dpo_rows_of(
    episodes: Sequence[RunEpisode],
    report: ExportReport,
    *,
    margin: float = 0.0,
    dimension: str = FINAL_SCORE,
    max_pairs: int | None = None,
) -> list[DpoRow]:
    """The preference pairs of eligible episodes (see the module's docstring for how they are formed)."""
    groups: dict[tuple[str, str, str], list[Scored]] = defaultdict(list)
    for episode in episodes:
        score = score_on(episode, dimension)
        if score is None:
            report.skip(SKIP_NO_DIMENSION)
            continue
        messages = conversation(episode, report)
        if messages is None:
            continue
        prompt, rest = split_prompt(messages)
        row = episode.row
        groups[(row["task_id"], row["instance_id"], row["prompt_level"])].append((episode, score, prompt, rest))
    rows: list[DpoRow] = []
    for key in sorted(groups):
        if len(groups[key]) < 2:
            report.skip(SKIP_ALONE)
            continue
        rows += _instance_pairs(groups[key], dimension, margin, max_pairs, report)
    return rows


def dpo_rows(
    run_dirs: Sequence[Path], *, margin: float = 0.0, dimension: str = FINAL_SCORE, max_pairs: int | None = None
) -> tuple[list[DpoRow], ExportReport]:
    """Preference pairs of the run folders and the report.

    Raises :class:`ExportError` for an unknown ``dimension``, listing the ones the episodes have.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    report = ExportReport("dpo")
    episodes = read_episodes(run_dirs, report, scored_only=False)
    check_dimension(dimension, episodes)
    rows = dpo_rows_of(episodes, report, margin=margin, dimension=dimension, max_pairs=max_pairs)
    report.rows = len(rows)
    return rows, report
