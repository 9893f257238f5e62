"""Where a batch's episodes run: threads of this process, or Ray tasks across machines.

Every executor runs the same unit (:func:`~asibench_env.runs.executors.unit.run_attempt`) and hands its
records back to the batch driver, which alone writes the run folder.
"""

from asibench_env.runs.executors.base import EpisodeJob, EpisodeRecord, Executor, TrajectoryRows
from asibench_env.runs.executors.ray_cluster import DOCKER_RESOURCE, RayExecutor, RayFutures, RayUnavailableError
from asibench_env.runs.executors.threads import ThreadExecutor
from asibench_env.runs.executors.unit import run_attempt

__all__ = [
    "DOCKER_RESOURCE",
    "EpisodeJob",
    "EpisodeRecord",
    "Executor",
    "RayExecutor",
    "RayFutures",
    "RayUnavailableError",
    "ThreadExecutor",
    "TrajectoryRows",
    "run_attempt",
]
