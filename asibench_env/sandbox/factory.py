"""Pick a sandbox backend by name; new backends register here without touching the env.

A backend is a :class:`~asibench_env.sandbox.base.Sandbox` subclass. It is registered either as the
class itself or as a loader that imports it on first use, so that optional dependencies (the Docker
SDK) stay optional: ``register_backend("docker", load_docker)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from asibench_env.sandbox.base import Sandbox, SandboxLimits
from asibench_env.sandbox.options import SandboxOptions, resolve_options

BackendLoader = Callable[[], type[Sandbox]]
SandboxFactory = BackendLoader
"""Former name of :data:`BackendLoader`."""
_BACKENDS: dict[str, BackendLoader] = {}


def register_backend(name: str, backend: type[Sandbox] | BackendLoader) -> None:
    """Register a backend under ``name`` (replacing any of that name).

    Args:
        name: what ``open_sandbox`` and ``AsiBenchEnv(sandbox=...)`` call it.
        backend: the :class:`Sandbox` subclass, or a function that imports and returns it.
    """
    if isinstance(backend, type):
        cls = backend
        _BACKENDS[name] = lambda: cls
    else:
        _BACKENDS[name] = backend


def backend_names() -> list[str]:
    """The registered backends' names, sorted."""
    return sorted(_BACKENDS)


def backend_class(name: str) -> type[Sandbox]:
    """The :class:`Sandbox` subclass of a registered backend (imported on first use).

    Its classmethods manage the backend's shared resources: ``start()``, ``shutdown()``, ``sweep()``.

    Raises:
        ValueError: no backend has that name.
        TypeError: the registered loader did not return a Sandbox subclass.
    """
    if name not in _BACKENDS:
        raise ValueError(f"unknown sandbox {name!r}; choose one of: {', '.join(backend_names())}")
    cls = _BACKENDS[name]()
    if not (isinstance(cls, type) and issubclass(cls, Sandbox)):
        raise TypeError(f"the {name!r} sandbox backend is not a Sandbox subclass: {cls!r}")
    return cls


def options_model(name: str) -> type[SandboxOptions]:
    """The options model of a registered backend (an empty model when it declares none)."""
    return getattr(backend_class(name), "options_model", SandboxOptions)


def open_sandbox(
    backend: str,
    seed_dir: Path,
    *,
    runtime_packages: Sequence[str] = (),
    limits: SandboxLimits | None = None,
    options: SandboxOptions | None = None,
    **option_values: Any,
) -> Sandbox:
    """Start a sandbox of the named backend, seeded with the files in ``seed_dir``.

    Args:
        backend: a registered name (see :func:`backend_names`).
        seed_dir: the files the workspace starts with.
        runtime_packages: requirements the task's Python must meet.
        limits: resource limits (default :class:`SandboxLimits`).
        options: the backend's options model instance.
        **option_values: plain keyword options, validated into the backend's options model
            (they override ``options``).

    Raises:
        ValueError: no backend has that name.
        SandboxOptionsError: an unknown or invalid option (a ValueError naming it and the valid ones).
        SandboxError: the sandbox could not start.
    """
    cls = backend_class(backend)
    model = getattr(cls, "options_model", SandboxOptions)
    resolved = resolve_options(model, options, option_values, backend=backend)
    return cls(seed_dir, runtime_packages=runtime_packages, limits=limits or SandboxLimits(), options=resolved)


def _local() -> type[Sandbox]:
    from asibench_env.sandbox.local import LocalSandbox

    return LocalSandbox


def _docker() -> type[Sandbox]:
    from asibench_env.sandbox.container.sandbox import DockerSandbox

    return DockerSandbox


register_backend("local", _local)
register_backend("docker", _docker)
