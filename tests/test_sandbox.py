"""The sandbox contract (asibench_env/sandbox/conformance.py), run on both backends with real processes
and containers; and the backend registry, options and lifecycle around it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asibench_env.errors import InfraError
from asibench_env.rewards.isolation import ScoringWorkerError
from asibench_env.sandbox import (
    Sandbox,
    SandboxLimits,
    SandboxOptions,
    SandboxOptionsError,
    backend_class,
    backend_names,
    open_sandbox,
    options_model,
    register_backend,
)
from asibench_env.sandbox.conformance import SandboxConformance
from asibench_env.sandbox.container.options import DockerSandboxOptions
from asibench_env.sandbox.container.sandbox import DockerSandbox
from asibench_env.sandbox.local import LocalSandbox, LocalSandboxOptions
from asibench_env.tasks.instances import InstanceGenerationError

DOCKER_TEST_CAPS = {"workspace_bytes": 512 * 1024**2, "tmp_bytes": 256 * 1024**2}


class TestLocalSandbox(SandboxConformance):
    backend = "local"
    isolation_level = "namespaces"

    def open_sandbox(self, seed_dir: Path, **limits: Any) -> Sandbox:
        return open_sandbox("local", seed_dir, limits=SandboxLimits(**limits))


class TestDockerSandbox(SandboxConformance):
    backend = "docker"
    isolation_level = "container"

    @pytest.fixture(autouse=True)
    def _engine(self, docker_client: Any) -> None:
        """The real engine and image; the session fixture checks that nothing is left behind."""

    def open_sandbox(self, seed_dir: Path, **limits: Any) -> Sandbox:
        options = DockerSandboxOptions(**DOCKER_TEST_CAPS)
        return open_sandbox("docker", seed_dir, limits=SandboxLimits(**limits), options=options)


# ---------------------------------------------------------------------- registry, options, lifecycle
def test_backends_are_registered_with_their_options():
    assert {"local", "docker"} <= set(backend_names())
    assert backend_class("local") is LocalSandbox and backend_class("docker") is DockerSandbox
    assert options_model("local") is LocalSandboxOptions and options_model("docker") is DockerSandboxOptions
    with pytest.raises(ValueError, match="unknown sandbox 'nope'; choose one of: .*docker"):
        open_sandbox("nope", Path("."))


def test_an_unknown_option_names_itself_and_the_valid_ones(seed_dir: Path):
    with pytest.raises(
        SandboxOptionsError,
        match=r"unknown option 'image' for the local sandbox; valid options: cpus, env, isolation, warm_pool, "
        r"whole_limits, workspace_bytes",
    ):
        open_sandbox("local", seed_dir, image="x")
    with pytest.raises(SandboxOptionsError, match=r"warm_pol.*valid options: cpus, env, image, tmp_bytes, warm_pool"):
        open_sandbox("docker", seed_dir, warm_pol=1)  # refused before any engine is contacted
    with pytest.raises(SandboxOptionsError, match=r"isolation: Input should be 'auto', 'namespaces' or 'none'"):
        open_sandbox("local", seed_dir, isolation="chroot")
    with pytest.raises(SandboxOptionsError, match=r"warm_pool: Input should be greater than or equal to 0"):
        open_sandbox("docker", seed_dir, warm_pool=-1)
    with pytest.raises(SandboxOptionsError, match=r"warm_pool: Input should be greater than or equal to 0"):
        open_sandbox("local", seed_dir, warm_pool=-1)
    with pytest.raises(SandboxOptionsError, match="takes LocalSandboxOptions options, not DockerSandboxOptions"):
        open_sandbox("local", seed_dir, options=DockerSandboxOptions())
    assert issubclass(SandboxOptionsError, ValueError) and not issubclass(SandboxOptionsError, InfraError)


def test_options_as_a_model_or_as_keywords(seed_dir: Path):
    with open_sandbox("local", seed_dir, options=LocalSandboxOptions(isolation="none", env={"A": "1"})) as box:
        assert box.isolation.level == "none" and box.exec("echo $A").output.strip() == "1"
    with open_sandbox("local", seed_dir, options=LocalSandboxOptions(env={"A": "1"}), isolation="none") as box:
        assert box.isolation.level == "none" and box.exec("echo $A").output.strip() == "1"  # keywords add to it


def test_a_third_party_backend_registers_as_a_class(seed_dir: Path):
    class EchoOptions(SandboxOptions):
        greeting: str = "hello"

    class EchoSandbox(LocalSandbox):
        options_model = EchoOptions  # type: ignore[assignment]

        def __init__(self, seed_dir: Path, *, options: EchoOptions, **kwargs: Any):
            self.greeting = options.greeting
            super().__init__(seed_dir, **kwargs)

    register_backend("echo-test", EchoSandbox)
    with open_sandbox("echo-test", seed_dir, greeting="hi") as box:
        assert isinstance(box, EchoSandbox) and box.greeting == "hi"
    assert EchoSandbox.sweep() == 0
    EchoSandbox.start()
    EchoSandbox.shutdown()


def test_every_infrastructure_failure_is_an_infra_error():
    for error in (InstanceGenerationError, ScoringWorkerError):
        assert issubclass(error, InfraError)


def test_the_package_does_not_import_the_conformance_suite():
    code = (
        "import sys, asibench_env, asibench_env.sandbox, asibench_env.envs.task_env\n"
        "print(sorted(m for m in sys.modules if m.endswith('conformance') or m == 'pytest'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
