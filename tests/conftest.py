"""Shared fixtures: a private cache for the session, the demo task folder, and env factories."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from asibench_env.paths import instances_cache_dir, runtimes_dir
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry

FIXTURE_TASKS = Path(__file__).parent / "fixtures" / "tasks"


def _listing(folder: Path) -> set[str]:
    return {entry.name for entry in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session gets its own cache folder; the user's instance cache is never written.

    The task runtimes (virtual environments, slow to build) stay shared through
    ``ASIBENCH_ENV_RUNTIMES``. The session fails if the user's instance cache changed.
    """
    user_instances = instances_cache_dir()
    before = _listing(user_instances)
    cache = tmp_path_factory.mktemp("asibench-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASIBENCH_ENV_RUNTIMES", str(runtimes_dir()))
        patch.setenv("ASIBENCH_ENV_CACHE", str(cache))
        yield cache
    assert _listing(user_instances) == before, f"tests wrote into the user's instance cache {user_instances}"


@pytest.fixture(scope="session")
def fixture_tasks_dir() -> Path:
    return FIXTURE_TASKS


@pytest.fixture(scope="session")
def registry() -> TaskRegistry:
    """Built-in tasks plus the demo fixture task."""
    return TaskRegistry([FIXTURE_TASKS])


@pytest.fixture(scope="session")
def instance_cache(private_cache: Path) -> InstanceCache:
    return InstanceCache(private_cache / "instances")


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


# ---------------------------------------------------------------------- the Docker engine
@pytest.fixture(scope="session")
def docker_client():
    """The real Docker engine with the sandbox image (built offline when missing). Never skipped.

    At the end of the session every pooled container is discarded, and the session fails if any
    container this process started (or any volume) is left behind.
    """
    from asibench_env.sandbox.container import launcher
    from asibench_env.sandbox.container.images import build_image, default_image, find_image
    from asibench_env.sandbox.container.sandbox import DockerSandbox

    client = launcher.docker_client()
    if find_image(client, default_image()) is None:
        build_image(client, offline=True)
    volumes_before = {v.name for v in client.volumes.list()}
    yield client
    DockerSandbox.shutdown()
    mine = {c.id for c in launcher.our_containers(client) if c.owner == launcher.owner_id()}
    left = launcher.wait_until_gone(client, mine, timeout=60)
    assert not left, f"sandbox containers left behind: {sorted(left)}"
    assert {v.name for v in client.volumes.list()} <= volumes_before, "the docker sandbox left volumes behind"


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    """A small starting workspace, with an agent instruction file that must not reach the sandbox."""
    seed = tmp_path / "seed"
    (seed / "data").mkdir(parents=True)
    (seed / "data" / "x.npy").write_bytes(b"placeholder")
    (seed / "prompt.md").write_text("do the task")
    (seed / "CLAUDE.md").write_text("leaked hints")
    return seed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that starts Docker sandboxes is ``slow`` (``make test-fast`` leaves them out)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_docker = callspec is not None and callspec.params.get("backend") == "docker"
        if on_docker or "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
