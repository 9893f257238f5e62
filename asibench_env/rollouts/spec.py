"""What one rollout is: a task instance at a level (one group) and the rollout's index in its group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asibench_env.runs.results import rollout_suffix
from asibench_env.runs.runner import EpisodeSpec, spec_key

RolloutKey = tuple[str, str, int | None, str | None, int]
"""A rollout's identity in a run folder: the episode's spec key and the rollout index."""


def group_id_for(task_id: str, level: str, seed: int | None, instance_id: str | None = None) -> str:
    """The group of a task, level and seed (or downloaded instance): ``<task>__<level>__seed<N>``."""
    if seed is None:
        return f"{instance_id}__{level.lower()}"
    return f"{task_id}__{level.lower()}__seed{seed}"


@dataclass(frozen=True)
class RolloutSpec:
    """One rollout: an episode (task, level, seed or downloaded instance) and its index in its group."""

    task_id: str
    level: str
    seed: int | None
    rollout_index: int
    group_size: int
    instance_id: str | None = None

    @property
    def group_id(self) -> str:
        """The id shared by the rollouts of one group."""
        return group_id_for(self.task_id, self.level, self.seed, self.instance_id)

    @property
    def episode(self) -> EpisodeSpec:
        """The episode this rollout plays."""
        return EpisodeSpec(self.task_id, self.level, self.seed, self.instance_id)

    @property
    def key(self) -> RolloutKey:
        """What identifies the rollout in a run folder (for resuming)."""
        return (*spec_key(self.task_id, self.level, self.seed, self.instance_id), self.rollout_index)

    @property
    def suffix(self) -> str:
        """The result file name's suffix (``__r003``): G rollouts of one instance and level, G files."""
        return rollout_suffix(self.rollout_index)


def plan_rollouts(episodes: Sequence[EpisodeSpec], group_size: int) -> list[RolloutSpec]:
    """``group_size`` rollouts of each episode, group by group (the rollouts of a group are queued together).

    Raises :class:`ValueError` when ``group_size`` is below 1.
    """
    if group_size < 1:
        raise ValueError(f"the group size must be at least 1, not {group_size}")
    return [
        RolloutSpec(e.task_id, e.level.upper(), e.seed, index, group_size, e.instance_id)
        for e in episodes
        for index in range(group_size)
    ]


def rollout_key(task_id: str, level: str, seed: int | None, instance_id: str | None, index: int) -> RolloutKey:
    """A rollout's key from its parts (as a result file or an episodes row holds them)."""
    return (*spec_key(task_id, level, seed, instance_id), index)


def row_key(row: dict[str, Any]) -> RolloutKey | None:
    """The rollout key of an episodes-table row (None for an episode that is not a rollout)."""
    if row.get("rollout_index") is None:
        return None
    return rollout_key(row["task_id"], row["prompt_level"], row["seed"], row["instance_id"], row["rollout_index"])
