"""Runnability per task: generator, downloaded instances, or contract only; and model-judge scorers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from asibench_env.rewards.scorers import JUDGE_SCORERS
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.tasks.runnability import Runnability, summary_counts, summary_line, unrunnable_message
from tests.helpers import CLI, cli_env

OFFICIAL_LIKE = Path(__file__).parent / "fixtures" / "official_like"
TASKS, INSTANCES = OFFICIAL_LIKE / "tasks", OFFICIAL_LIKE / "instances"


def _registry(with_instances: bool) -> TaskRegistry:
    return TaskRegistry([TASKS], [INSTANCES] if with_instances else [], include_builtin=False)


def test_without_instances_contract_tasks_cannot_run() -> None:
    registry = _registry(with_instances=False)
    runs = {task_id: registry.runnability(task_id) for task_id in registry.ids()}
    assert runs["sample.noisy_mean"].runs_from == "generator" and runs["sample.noisy_mean"].runnable
    assert runs["contract.mean_estimate"].runs_from == "contract only"
    assert not runs["contract.mean_estimate"].runnable
    assert runs["contract.mean_estimate"].label == "contract only"
    assert summary_counts(runs.values()) == {"generator": 1, "instances": 0, "contract only": 2, "judge": 1}


def test_downloaded_instances_make_a_contract_task_runnable() -> None:
    run = _registry(with_instances=True).runnability("contract.mean_estimate")
    assert (run.runs_from, run.instances, run.runnable, run.label) == ("instances", 2, True, "2 instances")


def test_judge_scorers_are_found_nested_in_composites() -> None:
    registry = _registry(with_instances=False)
    assert registry.runnability("contract.judged_summary").judge_scorers == ("llm_judge",)
    assert registry.runnability("sample.noisy_mean").judge_scorers == ()
    assert "llm_judge" in JUDGE_SCORERS  # the rewards layer re-exports the tasks layer's set


def test_summary_and_refusal_texts() -> None:
    registry = _registry(with_instances=False)
    line = summary_line([registry.runnability(t) for t in registry.ids()])
    assert line.startswith("3 task(s): 1 with a generator, 0 from downloaded instances, 2 contract only")
    message = unrunnable_message(["a.b", "c.d"])
    assert "\n" not in message and "a.b, c.d" in message and "--instances-dir" in message
    assert "--skip-unrunnable" in message


@pytest.mark.parametrize("columns", ["200", "70"])
def test_tasks_list_says_how_each_task_runs(tmp_path: Path, columns: str) -> None:
    proc = subprocess.run(
        [*CLI, "tasks", "list", "--tasks-dir", str(TASKS)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path, COLUMNS=columns),
        check=True,
    )
    out = proc.stdout
    assert "contract only" in out and "generator" in out
    assert "2 contract only (cannot run here)" in " ".join(out.split())
    with_instances = subprocess.run(
        [*CLI, "tasks", "list", "--tasks-dir", str(TASKS), "--instances-dir", str(INSTANCES)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path, COLUMNS=columns),
        check=True,
    ).stdout
    assert "2 instances" in with_instances
    assert "1 from downloaded instances, 1 contract only" in " ".join(with_instances.split())


def test_tasks_show_says_how_the_task_runs(tmp_path: Path) -> None:
    def show(task_id: str, *extra: str) -> str:
        args = [*CLI, "tasks", "show", task_id, "--tasks-dir", str(TASKS), *extra]
        proc = subprocess.run(args, capture_output=True, text=True, env=cli_env(tmp_path), check=True)
        return " ".join(proc.stdout.split())

    assert "runs: cannot run here" in show("contract.mean_estimate")
    assert "runs: from 2 downloaded instance(s) only" in show(
        "contract.mean_estimate", "--instances-dir", str(INSTANCES)
    )
    assert "runs: from its generator" in show("sample.noisy_mean")
    assert "model judge: llm_judge" in show("contract.judged_summary")


def test_labels() -> None:
    assert Runnability("a.b", "generator", 1).label == "generator + 1 instance"
    assert Runnability("a.b", "generator", 3).label == "generator + 3 instances"
    assert Runnability("a.b", "instances", 1).label == "1 instance"
    assert Runnability("a.b", "contract only").judge_label == "-"
