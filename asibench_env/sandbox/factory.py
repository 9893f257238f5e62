"""Pick a sandbox backend by name; new backends register here without touching the env."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from asibench_env.sandbox.base import Sandbox, SandboxLimits

SandboxFactory = Callable[..., Sandbox]
_BACKENDS: dict[str, Callable[[], SandboxFactory]] = {}


def register_backend(name: str, loader: Callable[[], SandboxFactory]) -> None:
    """Register a backend; ``loader`` imports it lazily so optional dependencies stay optional."""
    _BACKENDS[name] = loader


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def open_sandbox(
    backend: str,
    seed_dir: Path,
    *,
    runtime_packages: Sequence[str] = (),
    limits: SandboxLimits | None = None,
    **options: Any,
) -> Sandbox:
    """Start a sandbox of the named backend, seeded with the files in ``seed_dir``."""
    if backend not in _BACKENDS:
        raise ValueError(f"unknown sandbox {backend!r}; choose one of: {', '.join(backend_names())}")
    factory = _BACKENDS[backend]()
    return factory(seed_dir, runtime_packages=runtime_packages, limits=limits or SandboxLimits(), **options)


def _local() -> SandboxFactory:
    from asibench_env.sandbox.local import LocalSandbox

    return LocalSandbox


def _docker() -> SandboxFactory:
    from asibench_env.sandbox.container.sandbox import DockerSandbox

    return DockerSandbox


register_backend("local", _local)
register_backend("docker", _docker)
