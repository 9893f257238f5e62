"""Every built-in task passes the task validator, and its oracle scores the same bar on Docker.

The validator runs the real environment, local sandbox and scorer: generator determinism, no leaks,
the oracle >= 95 at every level on seed 0 (default parameters), empty and naive answers
<= 10, deterministic scoring. `benchmarks/bench_tasks.py` runs the same checks with more seeds.
"""

from __future__ import annotations

import pytest

from asibench_env.agents import OracleAgent
from asibench_env.paths import BUILTIN_TASKS_DIR
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.runs.validation import ValidationOptions, validate_task
from asibench_env.tasks.models import LEVELS
from asibench_env.tasks.registry import builtin_registry, task_dirs_under

BUILTIN_DIRS = list(task_dirs_under(BUILTIN_TASKS_DIR))
BUILTIN = builtin_registry().ids()


@pytest.mark.parametrize("task_dir", BUILTIN_DIRS, ids=lambda p: p.name)
def test_builtin_task_passes_the_validator(task_dir):
    report = validate_task(task_dir, ValidationOptions(seeds=1))
    failures = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
    assert report.ok, failures


@pytest.mark.parametrize("task_id", BUILTIN)
def test_oracle_reaches_95_on_docker_at_every_level(task_id, docker_client, instance_cache):
    from asibench_env.envs.task_env import AsiBenchEnv

    for level in LEVELS:
        env = AsiBenchEnv(task_id, level=level, sandbox="docker", instance_cache=instance_cache)
        try:
            result = run_episode(env, OracleAgent(), EpisodeSpec(task_id, level, 0))
        finally:
            env.close()
        assert result.status == "scored", result.error
        assert result.sandbox["backend"] == "docker"
        assert result.final_score >= 95.0, (level, result.score_results)
