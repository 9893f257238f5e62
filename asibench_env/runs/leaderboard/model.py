"""The leaderboard document (``leaderboard.json``): the contract a static site reads.

Every score is on the 0-100 scale of ``final_score``. A mean is None when nothing was counted for it.
``schema_version`` changes when a field is removed or changes meaning; new optional fields may be added.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LEADERBOARD_SCHEMA_VERSION = 1

TrustLabel = Literal["official", "reproduced", "community", "unverified"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(_Doc):
    """A 95% confidence interval (percentile hierarchical bootstrap: tasks, then instances within a task)."""

    low: float = Field(description="2.5th percentile of the bootstrap means.")
    high: float = Field(description="97.5th percentile of the bootstrap means.")


class Estimate(_Doc):
    """A mean and its interval."""

    mean: float | None = Field(description="Mean over tasks of each task's mean over its instances (0-100).")
    ci95: Interval | None = Field(description="95% interval; None when nothing was counted.")
    episodes: int = Field(description="Episodes counted in this mean (scored and agent_error).")


class Configuration(_Doc):
    """What identifies an agent configuration; runs with the same identity merge into one row."""

    agent: str = Field(description="The agent (harness) name as logged, e.g. 'openai', 'oracle', 'naive-mean'.")
    model: str | None = Field(default=None, description="The model name, for model agents.")
    provider: str | None = Field(
        default=None, description="The API provider: the agent's protocol (openai, anthropic) or a named provider."
    )
    base_url_host: str | None = Field(default=None, description="The host of the API base URL (no path, no key).")
    model_revision: str | None = Field(default=None, description="The model revision or snapshot, when known.")
    quantization: str | None = Field(default=None, description="The model's quantization, when known.")
    sampling: dict[str, Any] = Field(
        default_factory=dict,
        description="Sampling and request settings (temperature, top_p, max_tokens, reasoning_effort, native_tools, "
        "options). The model's sampling seed is not part of the identity: runs with other seeds are replicates.",
    )


class Coverage(_Doc):
    """What a row counted against what its runs planned."""

    tasks_counted: int = Field(description="Tasks with at least one counted episode.")
    tasks_planned: int = Field(description="Tasks the runs planned (run_metadata.json).")
    instances_counted: int = Field(description="Instances (task instance ids) with at least one counted episode.")
    episodes_counted: int = Field(description="Episodes counted in the means (scored or agent_error).")
    episodes_planned: int = Field(description="Episodes the runs planned (task x level x seed or instance).")
    missing_tasks: list[str] = Field(description="Planned tasks with no counted episode.")
    missing_episodes: list[str] = Field(
        description="Planned episodes with no counted result, as 'task_id/level/seed=N' or 'task_id/level/instance_id'."
    )


class RunSource(_Doc):
    """One run folder merged into a row."""

    path: str = Field(description="The run folder as given.")
    run_ids: list[str] = Field(description="The logger run ids of its Parquet episodes.")
    package_version: str | None = Field(description="asibench-env version that wrote the run.")
    benchmark_version: str | None = Field(description="Version of the official asibench package the run used.")
    task_set_sha256: str | None = Field(description="Hash of the task folders the run recorded; None if not recorded.")
    mean: float | None = Field(description="This run's own overall mean (on its own episodes).")
    ci95: Interval | None = Field(description="This run's own 95% interval.")
    episodes: int = Field(description="Episodes of this run counted in the row.")


class Row(_Doc):
    """One agent configuration: its means, intervals, coverage, costs, provenance and trust label."""

    rank: int | None = Field(description="1 = best overall mean; None when the row has no mean.")
    config_id: str = Field(description="Short stable hash of `configuration` (12 hex characters).")
    name: str = Field(description="Display name: agent, model and host.")
    configuration: Configuration
    overall: Estimate = Field(description="The overall score over the levels and tasks compared.")
    levels: dict[str, Estimate] = Field(description="Per prompt level (B1..B4).")
    domains: dict[str, Estimate] = Field(description="Per task domain (from the task registry).")
    coverage: Coverage
    partial: bool = Field(description="The row does not cover every episode compared (only with --allow-partial).")
    mixed: bool = Field(description="A run of another package or benchmark version was admitted (--allow-mixed).")
    package_versions: list[str] = Field(description="asibench-env versions of the merged runs.")
    benchmark_versions: list[str] = Field(description="Official asibench versions of the merged runs.")
    task_set_sha256: list[str] = Field(description="Task-set hashes of the merged runs (docs/leaderboard.md).")
    evaluated_from: str | None = Field(description="ISO time of the earliest counted episode.")
    evaluated_to: str | None = Field(description="ISO time of the latest counted episode.")
    mean_cost_usd: float | None = Field(description="Agent dollars per counted episode (judges excluded).")
    mean_tokens: float | None = Field(description="Input plus output tokens per counted episode.")
    mean_steps: float | None = Field(description="Steps per counted episode.")
    mean_wall_time_s: float | None = Field(description="Wall seconds per counted episode.")
    infra_errors: int = Field(description="Episodes that ended in an infrastructure error: never averaged in.")
    produced: int = Field(description="Episodes produced but not scored here: never averaged in.")
    agent_errors: int = Field(description="Episodes where the agent crashed: counted as 0.")
    trust: TrustLabel = Field(description="official, reproduced, community or unverified (docs/leaderboard.md).")
    trust_reasons: list[str] = Field(description="The evidence for the label: checks passed and failed.")
    runs: list[RunSource]


class Leaderboard(_Doc):
    """The whole board."""

    schema_version: int = Field(default=LEADERBOARD_SCHEMA_VERSION, description="Version of this document.")
    generated_at: str = Field(description="ISO time the board was built.")
    generator_version: str = Field(description="asibench-env version that built it.")
    seed: int = Field(description="Seed of the bootstrap (--seed); the same runs and seed give the same intervals.")
    resamples: int = Field(description="Bootstrap resamples per interval.")
    compared_on: Literal["common", "own"] = Field(
        description="'common': every row on the episodes all rows counted; "
        "'own': each row on its own (--allow-partial)."
    )
    common_episodes: int | None = Field(description="Episodes in the common coverage ('common' only).")
    allow_mixed: bool = Field(description="Whether runs of other versions were admitted.")
    levels: list[str] = Field(description="Prompt levels present.")
    domains: list[str] = Field(description="Task domains present.")
    rows: list[Row] = Field(description="Rows, best overall mean first.")
    warnings: list[str] = Field(description="What was read with a problem (half-written runs, mixed versions).")
