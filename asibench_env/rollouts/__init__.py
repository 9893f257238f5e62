"""Grouped rollouts from a served policy, for RL training: G rollouts per task instance, with group statistics.

- :func:`collect_rollouts`: many groups, ``concurrency`` rollouts in flight, resumable, into a run folder;
- :func:`run_rollout`: one rollout (the picklable unit of work any executor can run), i.e.
  :func:`play_rollout` (anywhere, writes nothing) then :func:`write_rollout` (on the driver);
- :class:`PolicyConfig`: an OpenAI-compatible endpoint and its sampling settings (or a Python callable);
- :func:`group_stats`: mean, std and advantages of a group's rewards.

See docs/trajectories.md for the columns written.
"""

from asibench_env.rollouts.collect import RolloutOutcome, collect_rollouts
from asibench_env.rollouts.groups import GroupRecord, RolloutRecord, group_record
from asibench_env.rollouts.policy import ChatPolicy, PolicyConfig, make_policy_agent
from asibench_env.rollouts.spec import RolloutSpec, group_id_for, plan_rollouts
from asibench_env.rollouts.stats import DEFAULT_EPS, GroupStats, group_stats
from asibench_env.rollouts.worker import (
    RolloutProduct,
    RolloutResult,
    RolloutStep,
    play_rollout,
    run_rollout,
    write_rollout,
)

__all__ = [
    "DEFAULT_EPS",
    "ChatPolicy",
    "GroupRecord",
    "GroupStats",
    "PolicyConfig",
    "RolloutOutcome",
    "RolloutRecord",
    "RolloutProduct",
    "RolloutResult",
    "RolloutSpec",
    "RolloutStep",
    "collect_rollouts",
    "group_id_for",
    "group_record",
    "group_stats",
    "make_policy_agent",
    "plan_rollouts",
    "play_rollout",
    "run_rollout",
    "write_rollout",
]
