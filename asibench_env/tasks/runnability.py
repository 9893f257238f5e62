"""Whether a task can run here, and how: from its generator, from downloaded instances, or not at all.

A task folder of the public repository may hold only its contract (task files and a custom scorer):
without ``generate_gt.py`` and without downloaded instances (``--instances-dir``) no episode of it can
start. This module says so up front, for ``tasks list``, ``run`` and ``register_tasks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asibench_env.tasks.loading import Task

JUDGE_SCORERS = frozenset({"llm_judge", "agent_judge", "multimodal"})
"""Scorers that call a model judge over the network; offline they score 0 with a clear message."""

RunsFrom = Literal["generator", "instances", "contract only"]

UNRUNNABLE_FIX = (
    "download their instances (`asibench task pull`) and pass --instances-dir, "
    "or pass --skip-unrunnable to run the others"
)
"""What to do about tasks that cannot run here (the end of the one-line refusal)."""


@dataclass(frozen=True)
class Runnability:
    """How a task's episodes get their instances here, and whether its scoring needs a model judge."""

    task_id: str
    runs_from: RunsFrom
    """``generator`` (has generate_gt.py: any seed), ``instances`` (downloaded ones only) or ``contract only``."""
    instances: int = 0
    """Downloaded instances found under the instances folders."""
    judge_scorers: tuple[str, ...] = ()
    """The model-judge scorers (llm_judge, agent_judge, multimodal) the task's evaluation uses."""

    @property
    def runnable(self) -> bool:
        """Whether an episode of the task can start here."""
        return self.runs_from != "contract only"

    @property
    def label(self) -> str:
        """``generator``, ``generator + 3 instances``, ``1 instance``, ``3 instances`` or ``contract only``."""
        count = f"{self.instances} instance{'s' if self.instances != 1 else ''}"
        if self.runs_from == "generator":
            return f"generator + {count}" if self.instances else "generator"
        return count if self.runs_from == "instances" else "contract only"

    @property
    def judge_label(self) -> str:
        """The judge scorers, comma-separated, or ``-``."""
        return ", ".join(self.judge_scorers) or "-"


def _scorer_names(node: Any) -> Iterator[str]:
    """Every ``scorer:`` value in an evaluation mapping, however deeply nested (composite scorers)."""
    if isinstance(node, Mapping):
        name = node.get("scorer")
        if isinstance(name, str):
            yield name
        for value in node.values():
            yield from _scorer_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _scorer_names(item)


def evaluation_scorer_names(evaluation: Mapping[str, Any]) -> list[str]:
    """The names of every scorer an evaluation uses (gates, weighted and nested), in order, once each."""
    return list(dict.fromkeys(_scorer_names(evaluation)))


def scorer_names(task: Task) -> list[str]:
    """The names of every scorer the task's evaluation uses (gates, weighted and nested), in order, once each."""
    return evaluation_scorer_names(task.evaluation)


def judge_scorers(task: Task) -> tuple[str, ...]:
    """The model-judge scorers of the task's evaluation."""
    return tuple(name for name in scorer_names(task) if name in JUDGE_SCORERS)


def runnability(task: Task, downloaded: int = 0) -> Runnability:
    """How ``task`` runs here, given the number of its downloaded instances."""
    if task.has_generator:
        runs_from: RunsFrom = "generator"
    elif downloaded:
        runs_from = "instances"
    else:
        runs_from = "contract only"
    return Runnability(task.id, runs_from, downloaded, judge_scorers(task))


def summary_counts(items: Iterable[Runnability]) -> dict[str, int]:
    """How many tasks run from each source, and how many need a model judge."""
    counts = {"generator": 0, "instances": 0, "contract only": 0, "judge": 0}
    for item in items:
        counts[item.runs_from] += 1
        counts["judge"] += bool(item.judge_scorers)
    return counts


def summary_line(items: Sequence[Runnability]) -> str:
    """One line: how many tasks run from a generator, from downloaded instances, not at all; how many need a judge."""
    counts = summary_counts(items)
    return (
        f"{len(items)} task(s): {counts['generator']} with a generator, {counts['instances']} from downloaded "
        f"instances, {counts['contract only']} contract only (cannot run here); "
        f"{counts['judge']} need a model judge"
    )


def unrunnable_message(task_ids: Sequence[str]) -> str:
    """The one-line refusal naming the tasks that cannot run and the fix."""
    shown = ", ".join(task_ids[:10]) + (f" and {len(task_ids) - 10} more" if len(task_ids) > 10 else "")
    return (
        f"{len(task_ids)} task(s) cannot run here (no generator and no downloaded instances): {shown}; "
        + UNRUNNABLE_FIX
    )
