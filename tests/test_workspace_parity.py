"""The agent's starting workspace is the official runner's, byte for byte.

The official ``InstanceGenerator.generate_instance`` runs a task's generator and prepares the agent's
workspace (``data/``, ``prompt.md``, ``task_info.json``, agent memory files stripped); ours builds it
from a cached instance with :func:`asibench_env.envs.workspace.build_seed_dir`. Both are compared file by
file for the same task, parameters and level.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import pytest
from ai4sci_bench.core.task import TaskLoader
from ai4sci_bench.core.types import PromptLevel
from ai4sci_bench.generators.instance_generator import InstanceGenerator

from asibench_env.envs.workspace import build_seed_dir
from asibench_env.paths import BUILTIN_TASKS_DIR
from asibench_env.tasks.instances import InstanceCache, sample_params
from asibench_env.tasks.registry import TaskRegistry

FIXTURES = Path(__file__).parent / "fixtures" / "tasks"
TIMEOUT_S = 3600


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _compare(tasks_dir: Path, task_id: str, level: str, tmp_path: Path, instance_cache: InstanceCache) -> None:
    task = TaskRegistry([tasks_dir], include_builtin=tasks_dir == BUILTIN_TASKS_DIR).get(task_id)
    params = sample_params(task, 0, "default")
    instance, _ = instance_cache.get(task, params)
    ours = tmp_path / "ours"
    build_seed_dir(task, instance, level, ours, TIMEOUT_S)

    generator = InstanceGenerator(tasks_dir, execution_timeout_seconds=TIMEOUT_S)
    official = generator.generate_instance(
        TaskLoader(tasks_dir).load_task_by_id(task_id), params, tmp_path / "official", PromptLevel(level.lower())
    )
    try:
        theirs = _tree(official.workspace_dir)
        assert sorted(theirs) == sorted(_tree(ours)), "the workspaces hold different files"
        assert theirs == _tree(ours)
        assert not filecmp.dircmp(official.workspace_dir, ours).diff_files
    finally:
        shutil.rmtree(official.workspace_dir.parent, ignore_errors=True)  # the official runner's temp folder


@pytest.mark.parametrize("level", ["B1", "B2", "B3", "B4"])
def test_demo_task_workspace_matches_the_official_runner(
    level: str, tmp_path: Path, instance_cache: InstanceCache, fixture_tasks_dir: Path
):
    _compare(fixture_tasks_dir, "demo.line_fit", level, tmp_path, instance_cache)


@pytest.mark.slow
@pytest.mark.parametrize("task_id", ["physics.damped_oscillator_fit", "statistics.changepoint_detection"])
def test_builtin_task_workspace_matches_the_official_runner(task_id: str, tmp_path: Path, instance_cache):
    _compare(BUILTIN_TASKS_DIR, task_id, "B4", tmp_path, instance_cache)
