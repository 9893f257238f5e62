"""What the export writes into a Harbor ``task.toml`` (schema 1.4 of Harbor 0.25.0), as pydantic models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from asibench_env.integrations.harbor import toml_text

HARBOR_VERSION = "0.25.0"
"""The Harbor release whose task format the export writes (and the tests load with)."""
TASK_SCHEMA_VERSION = "1.4"
AGENT_UID = 1000
"""The sandbox image's ``agent`` user: the agent runs as it, and the verifier stops its processes."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HarborPackage(_Section):
    """``[task]``: the task's name (``org/name``), description and keywords."""

    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*/[a-zA-Z0-9][a-zA-Z0-9._-]*$")
    description: str = ""
    keywords: list[str] = Field(default_factory=list)


class HarborMetadata(_Section):
    """``[metadata]``: where the task comes from, enough to rebuild the instance (never the reference)."""

    source: Literal["asibench-env"] = "asibench-env"
    asibench_env_version: str
    task_id: str
    task_version: str
    domain: str
    level: str
    seed: int
    instance_id: str
    params: dict[str, Any]
    sandbox_image: str


class HarborVerifier(_Section):
    """``[verifier]``: the scorer's time limit; it runs in the agent's container after the agent, offline.

    It runs as root, so processes the agent (uid 1000) left behind cannot signal or trace it.
    """

    timeout_sec: float
    network_mode: Literal["no-network"] = "no-network"
    user: str = "root"


class HarborAgent(_Section):
    """``[agent]``: the agent's time limit, network (none) and user (the sandbox image's ``agent``, uid 1000)."""

    timeout_sec: float
    network_mode: Literal["no-network"] = "no-network"
    user: int = AGENT_UID


class HarborEnvironment(_Section):
    """``[environment]``: resources, no network, and the workspace as working directory."""

    build_timeout_sec: float = 600.0
    cpus: float | int
    memory_mb: int
    network_mode: Literal["no-network"] = "no-network"
    workdir: str = "/workspace"


class HarborTaskConfig(_Section):
    """The whole ``task.toml`` of one exported instance."""

    schema_version: str = TASK_SCHEMA_VERSION
    source: str = "asibench-env"
    task: HarborPackage
    metadata: HarborMetadata
    verifier: HarborVerifier
    agent: HarborAgent
    environment: HarborEnvironment

    def to_toml(self) -> str:
        """The file's text: fields in declaration order, so the same config gives the same bytes."""
        data = self.model_dump(mode="json")
        data["metadata"]["params"] = dict(sorted(data["metadata"]["params"].items()))
        return toml_text.dumps(data)
