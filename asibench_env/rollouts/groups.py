"""A rollout group's end: which rollouts count, its statistics, its groups-table row and its episodes' columns.

A rollout counts when it has a score: ``scored``, or ``agent_error`` (the policy's own failure, scored
0). Rollouts that ended in ``infra_error`` after their retries, ``produced`` ones (no reference files
here) and rollouts not run (the run was stopped) are left out of the statistics, and the group is then
marked incomplete with the reason. A group is never silently short.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from asibench_env.rollouts.spec import RolloutSpec
from asibench_env.rollouts.stats import DEFAULT_EPS, group_stats
from asibench_env.trajectories import TrajectoryWriter
from asibench_env.trajectories.rewrite import set_group_stats


class RolloutRecord(BaseModel):
    """What a group needs of one finished rollout (from its result file or its result)."""

    rollout_index: int
    status: str
    final_score: float | None = None
    episode_id: str | None = None
    instance_id: str | None = None

    @property
    def counts(self) -> bool:
        """Whether the rollout enters the group's statistics (it has a score)."""
        return self.status in ("scored", "agent_error") and self.final_score is not None

    @property
    def reward(self) -> float | None:
        """The rollout's reward, ``final_score / 100``; None when it does not count."""
        return self.final_score / 100.0 if self.counts and self.final_score is not None else None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> RolloutRecord:
        """The record of a rollout's result file (one with a ``rollout`` section)."""
        rollout = doc["rollout"]
        return cls(
            rollout_index=rollout["rollout_index"],
            status=doc.get("episode_status", "scored"),
            final_score=doc.get("final_score"),
            episode_id=rollout.get("episode_id"),
            instance_id=doc.get("instance_id"),
        )


class GroupRecord(BaseModel):
    """One group's row of the groups table: how many rollouts it asked for and got, and its statistics."""

    group_id: str
    task_id: str
    prompt_level: str
    seed: int | None
    instance_id: str | None = None
    group_size: int
    completed: int = Field(description="Rollouts that count in the statistics (they have a score).")
    infra_errors: int
    complete: bool
    mean: float | None = None
    std: float | None = None
    eps: float = DEFAULT_EPS
    rewards: list[float] = Field(default_factory=list, description="The counted rewards, by rollout index.")
    episode_ids: list[str] = Field(default_factory=list, description="The counted rollouts' episode ids.")
    reason: str | None = Field(default=None, description="Why the group is incomplete.")


def _reason(spec: RolloutSpec, records: dict[int, RolloutRecord]) -> str | None:
    size = spec.group_size
    infra = sum(1 for r in records.values() if r.status == "infra_error")
    produced = sum(1 for r in records.values() if r.status == "produced")
    missing = size - len(records)
    parts = []
    if infra:
        parts.append(f"{infra} of {size} rollouts ended in infra_error after retries")
    if produced:
        parts.append(f"{produced} of {size} produced outputs that cannot be scored here (no reference files)")
    if missing:
        parts.append(f"{missing} of {size} rollouts not run (the run stopped; continue with --resume)")
    return "; ".join(parts) or None


def group_record(spec: RolloutSpec, records: Iterable[RolloutRecord], eps: float = DEFAULT_EPS) -> GroupRecord:
    """The group of ``spec`` (any of its rollouts) given its finished rollouts' records (at most one per index)."""
    by_index = {r.rollout_index: r for r in records if r.rollout_index < spec.group_size}
    counted = [by_index[i] for i in sorted(by_index) if by_index[i].counts]
    rewards = [r.reward for r in counted if r.reward is not None]
    stats = group_stats(rewards, eps) if rewards else None
    instance = next((r.instance_id for r in by_index.values() if r.instance_id), spec.instance_id)
    return GroupRecord(
        group_id=spec.group_id,
        task_id=spec.task_id,
        prompt_level=spec.level,
        seed=spec.seed,
        instance_id=instance,
        group_size=spec.group_size,
        completed=len(counted),
        infra_errors=sum(1 for r in by_index.values() if r.status == "infra_error"),
        complete=len(counted) == spec.group_size,
        mean=stats.mean if stats else None,
        std=stats.std if stats else None,
        eps=eps,
        rewards=rewards,
        episode_ids=[r.episode_id or "" for r in counted],
        reason=None if len(counted) == spec.group_size else _reason(spec, by_index),
    )


def write_group(
    out_dir: Path, run_id: str, spec: RolloutSpec, records: Iterable[RolloutRecord], eps: float
) -> GroupRecord:
    """Compute the group's record, write its groups-table row and set its statistics on its episodes' rows.

    Idempotent: a resumed run writes the same group again with whatever rollouts have finished since.
    Raises ``OSError`` when a file cannot be written.
    """
    records = list(records)
    group = group_record(spec, records, eps)
    TrajectoryWriter(Path(out_dir), run_id).write_group(
        {"run_id": run_id, **group.model_dump(), "updated_at": datetime.now(UTC)}
    )
    stats = group_stats(group.rewards, eps) if group.rewards else None
    advantages = (
        dict(zip(group.episode_ids, zip(stats.advantages, stats.centered, strict=True), strict=True)) if stats else {}
    )
    common = {
        "group_complete": group.complete,
        "group_scored": group.completed,
        "group_mean": group.mean,
        "group_std": group.std,
    }
    for record in records:
        if not record.episode_id:
            continue
        advantage, centered = advantages.get(record.episode_id, (None, None))
        set_group_stats(
            out_dir,
            spec.task_id,
            spec.level,
            record.episode_id,
            {**common, "advantage": advantage, "advantage_centered": centered},
        )
    return group
