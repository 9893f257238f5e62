"""Read the episodes of run folders that may enter a dataset, with their steps, counting what is left out.

Left out, by reason: ``infra_error`` episodes, ``produced`` ones (outputs kept, not scored), episodes
without a final score, and duplicates (the same episode id twice, e.g. a folder given twice or copied;
or two finished episodes of the same task, level, instance and rollout in one folder, as a resumed run
can leave: the one that finished last is kept).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from asibench_env.integrations.exports.errors import ExportError
from asibench_env.integrations.exports.report import (
    SKIP_DUPLICATE,
    SKIP_INFRA_ERROR,
    SKIP_NO_SCORE,
    SKIP_NOT_SCORED_STATUS,
    SKIP_UNSCORED,
    ExportReport,
)
from asibench_env.trajectories import load

EPISODE_COLUMNS = [
    "run_id",
    "episode_id",
    "task_id",
    "instance_id",
    "prompt_level",
    "seed",
    "agent",
    "model",
    "status",
    "final_score",
    "hard_gates_passed",
    "score_results_json",
    "finished_at",
    "group_id",
    "rollout_index",
    "prompt",
    "system_prompt",
    "tools_json",
    "tool_format",
    "message_format",
]


STEP_COLUMNS = [
    "episode_id",
    "step_index",
    "action_raw",
    "tool",
    "arguments_json",
    "action_error",
    "observation",
    "turn_id",
    "tool_call_id",
    "request_messages_json",
    "request_full",
    "assistant_message_json",
]
"""What a conversation is rebuilt from (trajectories.conversation); token ids and logprobs stay on disk."""


@dataclass(frozen=True)
class RunEpisode:
    """One finished episode of a run folder: its episodes-table row and its steps in order."""

    run_dir: Path
    row: dict[str, Any]
    steps: list[dict[str, Any]]

    @property
    def episode_id(self) -> str:
        """The episode's id (unique across runs)."""
        return str(self.row["episode_id"])

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        """Task, level, instance, episode id: the order of the exported rows."""
        row = self.row
        return row["task_id"], row["prompt_level"], row["instance_id"], row["episode_id"]


def check_run_dir(run_dir: Path) -> Path:
    """``run_dir`` when it holds a run's episodes table; else :class:`ExportError` saying what to give."""
    if not (Path(run_dir) / "trajectories" / "episodes").is_dir():
        raise ExportError(
            f"{run_dir} is not a run folder (no trajectories/episodes table in it); give folders written by "
            "`asibench-env run` or `asibench-env rollouts`"
        )
    return Path(run_dir)


def _episode_rows(run_dir: Path) -> list[dict[str, Any]]:
    return load(run_dir, "episodes").to_table(columns=EPISODE_COLUMNS).to_pylist()


def _status_reason(row: dict[str, Any], scored_only: bool) -> str | None:
    status = row["status"]
    if status == "infra_error":
        return SKIP_INFRA_ERROR
    if status == "produced":
        return SKIP_UNSCORED
    if row["final_score"] is None:
        return SKIP_NO_SCORE
    if scored_only and status != "scored":
        return SKIP_NOT_SCORED_STATUS
    return None


def _replay_key(run_dir: Path, row: dict[str, Any]) -> Hashable:
    return str(run_dir), row["task_id"], row["prompt_level"], row["instance_id"], row["group_id"], row["rollout_index"]


def _last_finished(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return max(rows, key=lambda r: (r["finished_at"] is not None, r["finished_at"] or 0, r["episode_id"]))


def _steps(run_dir: Path, episode_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    wanted = sorted(set(episode_ids))
    if not wanted or not (run_dir / "trajectories" / "steps").is_dir():
        return {}
    table = load(run_dir).to_table(columns=STEP_COLUMNS, filter=ds.field("episode_id").isin(wanted))
    by_episode: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for step in table.to_pylist():
        by_episode[step["episode_id"]].setdefault(int(step["step_index"]), step)
    return {eid: [steps[i] for i in sorted(steps)] for eid, steps in by_episode.items()}


def read_episodes(
    run_dirs: Sequence[Path],
    report: ExportReport,
    *,
    scored_only: bool,
    skip: Callable[[dict[str, Any]], str | None] | None = None,
) -> list[RunEpisode]:
    """The episodes of ``run_dirs`` that may enter a dataset, sorted by task, level, instance and episode id.

    ``scored_only`` also leaves out episodes whose status is not ``scored`` (an ``agent_error`` with a
    score of 0). ``skip`` gives the reason to leave out an episode (its episodes-table row) after
    duplicates are resolved, before its steps are read (None: keep it). The result does not depend on
    the order of ``run_dirs``. Raises :class:`ExportError` for a folder that is not a run.
    """
    folders = sorted((check_run_dir(Path(d)) for d in run_dirs), key=lambda p: str(p.resolve()))
    seen: set[str] = set()
    kept: dict[Hashable, list[dict[str, Any]]] = defaultdict(list)
    home: dict[str, Path] = {}
    for folder in folders:
        for row in sorted(_episode_rows(folder), key=lambda r: r["episode_id"]):
            report.episodes_read += 1
            if row["episode_id"] in seen:
                report.skip(SKIP_DUPLICATE)
                continue
            seen.add(row["episode_id"])
            reason = _status_reason(row, scored_only)
            if reason is not None:
                report.skip(reason)
                continue
            kept[_replay_key(folder, row)].append(row)
            home[row["episode_id"]] = folder
    chosen: list[dict[str, Any]] = []
    for rows in kept.values():
        report.skip(SKIP_DUPLICATE, len(rows) - 1)
        last = _last_finished(rows)
        reason = skip(last) if skip is not None else None
        if reason is not None:
            report.skip(reason)
            continue
        chosen.append(last)
    by_folder: dict[Path, list[str]] = defaultdict(list)
    for row in chosen:
        by_folder[home[row["episode_id"]]].append(row["episode_id"])
    steps: dict[str, list[dict[str, Any]]] = {}
    for folder, ids in by_folder.items():
        steps.update(_steps(folder, ids))
    episodes = [RunEpisode(home[r["episode_id"]], r, steps.get(r["episode_id"], [])) for r in chosen]
    return sorted(episodes, key=lambda e: e.sort_key)
