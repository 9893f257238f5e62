"""The Docker sandbox's options (``sandbox_options`` of the env, ``--image``/``--warm-pool`` of the CLI)."""

from __future__ import annotations

from pydantic import Field

from asibench_env.sandbox.options import SandboxOptions


class DockerSandboxOptions(SandboxOptions):
    """How a Docker sandbox's container is made (equal options share a warm pool)."""

    image: str | None = None
    """The sandbox image; default ``$ASIBENCH_ENV_IMAGE``, else the tag derived from the requirements."""
    cpus: float = Field(default=2.0, gt=0)
    """CPU quota of the container (``nano_cpus``)."""
    workspace_bytes: int = Field(default=2 * 1024**3, gt=0)
    """Size cap of the ``/workspace`` tmpfs (counts as the container's memory)."""
    tmp_bytes: int = Field(default=1024**3, gt=0)
    """Size cap of the ``/tmp`` tmpfs (counts as the container's memory)."""
    warm_pool: int = Field(default=0, ge=0)
    """How many started containers to keep ready for the next sandboxes of these options (0: none)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for the agent's processes."""
