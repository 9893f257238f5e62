"""What an executor runs and returns: the job every attempt shares, one attempt's record, the executor API.

An executor runs *attempts* of episodes somewhere (threads of this process, Ray tasks on a cluster) and
hands back :class:`EpisodeRecord` s: the result, the trajectory rows and the kept outputs. It never
writes into the run folder; the batch driver (``runs/batch.py``) writes every file, so a run needs no
shared filesystem and a killed driver resumes exactly like a local run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from asibench_env.agents.base import Agent, AsyncAgent
from asibench_env.envs.episode import EpisodeResult
from asibench_env.runs.runner import EpisodeSpec
from asibench_env.tasks.instances import GenerationStatus
from asibench_env.tasks.registry import TaskRegistry


@dataclass(frozen=True)
class EpisodeJob:
    """What every attempt of a run shares (put in Ray's object store once per run; must pickle for Ray).

    ``env_kwargs`` are :class:`~asibench_env.envs.task_env.AsiBenchEnv` options; an executor that runs
    on other machines drops ``instance_cache`` and builds each node's own. ``out_dir`` is the driver's
    run folder: workers only name it, they never write into it.
    """

    registry: TaskRegistry
    make_agent: Callable[[], Agent | AsyncAgent]
    out_dir: Path
    run_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agent_config: dict[str, Any] | None = None


@dataclass(frozen=True)
class TrajectoryRows:
    """One logged episode's Parquet rows, as the trajectory logger would have written them."""

    steps: list[dict[str, Any]]
    episode: dict[str, Any]


@dataclass
class EpisodeRecord:
    """What one attempt of one episode produced, carried back to the driver.

    ``outputs`` maps each kept output's path (relative, as in ``result.artifacts``) to its bytes;
    ``result.outputs_dir`` is None (the worker's folder is gone). ``node`` says where it ran.
    """

    spec: EpisodeSpec
    attempt: int
    result: EpisodeResult
    agent_name: str
    trajectories: list[TrajectoryRows] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)
    node: str | None = None


class Executor(ABC):
    """Runs attempts of episodes, at most :attr:`max_in_flight` at a time; the driver polls for records.

    Lifecycle: :meth:`start` once, then :meth:`submit` and :meth:`wait` in any order, then :meth:`close`.
    An attempt that cannot finish (its worker or node died for good) still comes back, as an
    ``infra_error`` record, so the driver can retry it; an executor never returns two records for
    one submission.
    """

    name: ClassVar[str]

    def __init__(self, max_in_flight: int = 1):
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight

    @abstractmethod
    def start(self, job: EpisodeJob, on_generation: Callable[[GenerationStatus], None] | None = None) -> None:
        """Get ready to run attempts of ``job`` (``on_generation`` shows long instance generations, if local)."""

    @abstractmethod
    def submit(self, spec: EpisodeSpec, attempt: int) -> None:
        """Start one attempt (numbered from 1) of an episode."""

    @abstractmethod
    def wait(self, timeout: float) -> list[EpisodeRecord]:
        """The records of attempts finished since the last call, waiting up to ``timeout`` s for the first."""

    @abstractmethod
    def in_flight(self) -> int:
        """Attempts submitted whose record has not been returned yet."""

    @abstractmethod
    def cancel(self) -> None:
        """Abandon the running attempts (a second Ctrl-C); their records may never come back."""

    def describe(self) -> dict[str, Any]:
        """Where the episodes run, for the run's metadata and logs."""
        return {"executor": self.name, "max_in_flight": self.max_in_flight}

    @abstractmethod
    def close(self) -> None:
        """Release the workers (idempotent)."""
