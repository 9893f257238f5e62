"""Update logged episode rows in place: scores given after the run (``asibench-env score``) and group statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from asibench_env.atomic import atomic_path
from asibench_env.trajectories.schema import TABLES

SCORE_COLUMNS = frozenset(
    {
        "status",
        "end_reason",
        "final_score",
        "max_possible_score",
        "hard_gates_passed",
        "soft_gate_failures",
        "gate_results_json",
        "score_results_json",
        "score_error",
        "error",
        "judge_calls",
        "judge_input_tokens",
        "judge_output_tokens",
        "judge_cost_usd",
        "reward",
    }
)
"""The columns a later scoring may change; everything else of an episode stays as it was logged."""


def score_columns(result: Any) -> dict[str, Any]:
    """The episode table's :data:`SCORE_COLUMNS` of an :class:`~asibench_env.envs.episode.EpisodeResult`."""
    return {
        "status": result.status,
        "end_reason": result.end_reason,
        "final_score": result.final_score,
        "max_possible_score": result.max_possible_score,
        "hard_gates_passed": result.hard_gates_passed,
        "soft_gate_failures": result.soft_gate_failures,
        "gate_results_json": json.dumps(result.gate_results, default=str),
        "score_results_json": json.dumps(result.score_results, default=str),
        "score_error": result.score_error,
        "error": result.error,
        "judge_calls": result.judge_calls,
        "judge_input_tokens": result.judge_input_tokens,
        "judge_output_tokens": result.judge_output_tokens,
        "judge_cost_usd": result.judge_cost_usd,
        "reward": None if result.final_score is None else result.final_score / 100.0,
    }


def update_episode(
    run_dir: str | Path, task_id: str, prompt_level: str, instance_id: str, updates: dict[str, Any]
) -> int:
    """Set ``updates`` on the logged episodes of this instance and level whose status is ``produced``.

    Each file is rewritten atomically. Returns how many rows changed (0 when the run has no such
    episode, e.g. it was not logged). Raises ``ValueError`` for a column outside :data:`SCORE_COLUMNS`
    and ``OSError`` when a file cannot be rewritten.
    """
    unknown = set(updates) - SCORE_COLUMNS
    if unknown:
        raise ValueError(f"only scoring columns can be updated, not {sorted(unknown)}")
    folder = (
        Path(run_dir)
        / "trajectories"
        / "episodes"
        / f"task_id={quote(task_id, safe='')}"
        / f"prompt_level={quote(prompt_level, safe='')}"
    )
    changed = 0
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path, partitioning=None)
        rows = table.to_pylist()
        hits = [r for r in rows if r.get("instance_id") == instance_id and r.get("status") == "produced"]
        if not hits:
            continue
        for row in hits:
            row.update(updates)
        schema = pa.schema([f for f in TABLES["episodes"] if f.name in table.schema.names])
        with atomic_path(path) as tmp:
            pq.write_table(
                pa.Table.from_pylist(rows, schema=schema).replace_schema_metadata(table.schema.metadata),
                tmp,
                compression="zstd",
            )
        changed += len(hits)
    return changed


GROUP_STAT_COLUMNS = frozenset(
    {"group_complete", "group_scored", "group_mean", "group_std", "advantage", "advantage_centered"}
)
"""The columns a rollout group's statistics set once the group has ended."""


def set_group_stats(
    run_dir: str | Path, task_id: str, prompt_level: str, episode_id: str, stats: dict[str, Any]
) -> bool:
    """Set a rollout group's statistics (:data:`GROUP_STAT_COLUMNS`) on one logged episode's row.

    The file is rewritten atomically. Returns False when the episode's file does not exist. Raises
    ``ValueError`` for another column and ``OSError`` when the file cannot be rewritten.
    """
    unknown = set(stats) - GROUP_STAT_COLUMNS
    if unknown:
        raise ValueError(f"only group statistics columns can be set, not {sorted(unknown)}")
    path = (
        Path(run_dir)
        / "trajectories"
        / "episodes"
        / f"task_id={quote(task_id, safe='')}"
        / f"prompt_level={quote(prompt_level, safe='')}"
        / f"{quote(episode_id, safe='')}.parquet"
    )
    if not path.is_file():
        return False
    table = pq.read_table(path, partitioning=None)
    rows = [{**row, **stats} for row in table.to_pylist()]
    schema = pa.schema([f for f in TABLES["episodes"] if f.name in table.schema.names])
    with atomic_path(path) as tmp:
        pq.write_table(
            pa.Table.from_pylist(rows, schema=schema).replace_schema_metadata(table.schema.metadata),
            tmp,
            compression="zstd",
        )
    return True
