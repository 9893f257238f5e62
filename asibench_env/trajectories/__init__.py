"""Trajectories: a Gymnasium wrapper that logs steps and episodes to a typed, versioned Parquet dataset."""

from asibench_env.trajectories.conversation import agent_messages, chat_messages, chat_tools
from asibench_env.trajectories.logger import TrajectoryLogger
from asibench_env.trajectories.reader import load
from asibench_env.trajectories.schema import EPISODES_SCHEMA, GROUPS_SCHEMA, SCHEMA_VERSION, STEPS_SCHEMA
from asibench_env.trajectories.writer import TrajectoryWriter

__all__ = [
    "EPISODES_SCHEMA",
    "GROUPS_SCHEMA",
    "SCHEMA_VERSION",
    "STEPS_SCHEMA",
    "TrajectoryLogger",
    "TrajectoryWriter",
    "agent_messages",
    "chat_messages",
    "chat_tools",
    "load",
]
