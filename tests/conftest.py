"""Shared fixtures: the demo task folder, a private instance cache, and env factories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry

FIXTURE_TASKS = Path(__file__).parent / "fixtures" / "tasks"


@pytest.fixture(scope="session")
def fixture_tasks_dir() -> Path:
    return FIXTURE_TASKS


@pytest.fixture(scope="session")
def registry() -> TaskRegistry:
    """Built-in tasks plus the demo fixture task."""
    return TaskRegistry([FIXTURE_TASKS])


@pytest.fixture(scope="session")
def instance_cache(tmp_path_factory: pytest.TempPathFactory) -> InstanceCache:
    return InstanceCache(tmp_path_factory.mktemp("instances"))


@pytest.fixture
def make_env(registry: TaskRegistry, instance_cache: InstanceCache):
    """Build envs on the shared registry and cache; closes them after the test."""
    from asibench_env.envs.task_env import AsiBenchEnv

    envs: list[AsiBenchEnv] = []

    def factory(task_id: str = "demo.line_fit", **kwargs) -> AsiBenchEnv:
        kwargs.setdefault("registry", registry)
        kwargs.setdefault("instance_cache", instance_cache)
        env = AsiBenchEnv(task_id, **kwargs)
        envs.append(env)
        return env

    yield factory
    for env in envs:
        env.close()


@pytest.fixture
def copy_task(tmp_path: Path):
    """Copy the demo task into a temporary tasks folder so a test may break it."""

    def factory(name: str = "line_fit") -> Path:
        dest = tmp_path / "tasks" / "demo" / name
        shutil.copytree(FIXTURE_TASKS / "demo" / "line_fit", dest)
        return dest

    return factory
