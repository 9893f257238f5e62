"""run_metadata.json: what produced a run (versions, git state, agent, tasks, sandbox)."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

from asibench_env._version import __version__
from asibench_env.atomic import write_json_atomic
from asibench_env.paths import PACKAGE_DIR

DEPENDENCIES = ("asibench", "gymnasium", "numpy", "pyarrow", "pydantic", "pyyaml", "docker", "openai", "anthropic")


class SandboxProvenance(BaseModel):
    """The sandbox a run asked for and the isolation its episodes really got."""

    requested_mode: str
    effective_mode: str | None = None
    """The isolation level the episodes really got (namespaces, container, none); None before any ran."""
    backend: str | None = None
    network: bool | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class BaselineProvenance(BaseModel):
    """The baseline file a run was started from (``asibench-env run --config``)."""

    name: str
    """The baseline's ``name`` field."""
    path: str
    """The file as given on the command line, resolved."""
    file_name: str
    """The file's name (``gpt-4.1.yaml``), looked up under the repository's ``baselines/`` to check it."""
    sha256: str
    """SHA-256 of the file's bytes when the run started."""
    overrides: list[str] = Field(default_factory=list)
    """Settings given on the command line on top of the file (empty: the file as pinned)."""


class PlannedEpisode(BaseModel):
    """One episode a run planned: a task and level, and a seed (generated) or an instance id (downloaded)."""

    task_id: str
    level: str
    seed: int | None = None
    instance_id: str | None = None


class Invocation(BaseModel):
    """One ``run``/``rollouts`` invocation that wrote into the run folder (a resume adds one; none is overwritten)."""

    timestamp: str
    framework_version: str
    agent: dict[str, Any]
    """The agent's public settings (never an API key)."""
    sandbox: SandboxProvenance
    executor: str | None = None
    """Where the episodes ran (the executor's class name), when known."""
    session: str | None = None
    """The invocation's run id (the ``run_id`` of its result files), when known."""
    planned: list[PlannedEpisode] = Field(default_factory=list)


MIXABLE = {"agent": "--agent", "model": "--model", "endpoint": "--base-url", "sandbox": "--sandbox"}
"""The settings a resumed run must share with the folder's earlier invocations (unless ``--allow-mixed``)."""


def run_identity(agent: dict[str, Any], sandbox: str | None) -> dict[str, str | None]:
    """The settings that make a run one run: agent, model, endpoint (base URL) and sandbox backend."""
    name = agent.get("name", agent.get("agent"))
    return {
        "agent": None if name is None else str(name),
        "model": None if agent.get("model") is None else str(agent["model"]),
        "endpoint": None if agent.get("base_url") is None else str(agent["base_url"]),
        "sandbox": sandbox,
    }


class RunMetadata(BaseModel):
    """The run_metadata.json document: the latest invocation's view at the top, every invocation in ``invocations``.

    A document written before ``invocations`` existed is read as one invocation (its top-level fields).
    """

    framework: str = "asibench-env"
    framework_version: str = __version__
    git_commit: str | None = None
    git_dirty: bool | None = None
    timestamp: str
    python_version: str
    platform: str
    dependencies: dict[str, str]
    agent: dict[str, Any]
    task_versions: dict[str, str]
    sandbox: SandboxProvenance
    levels: list[str] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=list)
    judge: dict[str, Any] | None = None
    """The model judge's public settings (endpoint, model, protocol, key variable name; never the key)."""
    task_hashes: dict[str, str] = Field(default_factory=dict)
    """SHA-256 of each task's folder (asibench_env.tasks.hashing.task_sha256) when the run started."""
    planned: list[PlannedEpisode] = Field(default_factory=list)
    """Every episode the run planned (what a leaderboard counts coverage against)."""
    baseline: BaselineProvenance | None = None
    """The baseline file the run was started from, when it was (``--config``)."""
    invocations: list[Invocation] = Field(default_factory=list)
    """Every invocation that wrote into the folder, oldest first."""

    @model_validator(mode="before")
    @classmethod
    def _upgrade_single_invocation(cls, data: Any) -> Any:
        if isinstance(data, dict) and "invocations" not in data and "timestamp" in data:
            first = {
                "timestamp": data["timestamp"],
                "framework_version": data.get("framework_version", "unknown"),
                "agent": data.get("agent", {}),
                "sandbox": data.get("sandbox", {"requested_mode": "local"}),
                "planned": data.get("planned", []),
            }
            data = {**data, "invocations": [first]}
        return data


def load_run_metadata(out_dir: Path) -> RunMetadata | None:
    """``out_dir/run_metadata.json`` (either form), or None when there is none; raises ``OSError``/``ValueError``."""
    path = Path(out_dir) / "run_metadata.json"
    if not path.exists():
        return None
    return RunMetadata.model_validate(json.loads(path.read_text(encoding="utf-8")))


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(PACKAGE_DIR.parent), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _dependency_versions() -> dict[str, str]:
    found = {}
    for name in DEPENDENCIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def collect_run_metadata(
    *,
    agent: dict[str, Any],
    task_versions: dict[str, str],
    sandbox: SandboxProvenance,
    levels: list[str],
    seeds: list[int],
    judge: dict[str, Any] | None = None,
    task_hashes: dict[str, str] | None = None,
    planned: list[PlannedEpisode] | None = None,
    baseline: BaselineProvenance | None = None,
) -> RunMetadata:
    """Metadata for a run; the git fields are set only when running from a checkout."""
    commit = _git("rev-parse", "HEAD") if (PACKAGE_DIR.parent / ".git").exists() else None
    dirty = None
    if commit:
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(status) if status is not None else None
    return RunMetadata(
        git_commit=commit,
        git_dirty=dirty,
        timestamp=datetime.now(UTC).isoformat(),
        python_version=platform.python_version(),
        platform=platform.platform(),
        dependencies=_dependency_versions(),
        agent=agent,
        task_versions=task_versions,
        sandbox=sandbox,
        levels=levels,
        seeds=seeds,
        judge=judge,
        task_hashes=task_hashes or {},
        planned=planned or [],
        baseline=baseline,
    )


def save_run_metadata(out_dir: Path, metadata: RunMetadata) -> Path:
    """Write ``out_dir/run_metadata.json`` atomically and return its path; raises ``OSError``."""
    path = Path(out_dir) / "run_metadata.json"
    write_json_atomic(path, metadata.model_dump(mode="json"))
    return path
