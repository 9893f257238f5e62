"""The record of one finished episode: how it ended and how it scored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

EpisodeStatus = Literal["scored", "produced", "agent_error", "infra_error"]
"""``produced``: the outputs were collected and kept but not scored (the instance has no reference
files here, e.g. the private seed42 split); it has no score and stays out of every mean."""
EndReason = Literal["submit", "max_steps", "wall_time", "budget", "infra_error", "agent_error", "closed"]


class ArtifactRecord(BaseModel):
    """One declared output as collected from the sandbox."""

    path: str
    size: int
    sha256: str


class EpisodeResult(BaseModel):
    """Everything the final ``info`` of an episode reports, also written to the run's result files."""

    task_id: str
    task_version: str
    instance_id: str
    prompt_level: str
    seed: int | None
    parameters: dict[str, Any] = Field(default_factory=dict)
    status: EpisodeStatus
    end_reason: EndReason
    final_score: float | None
    """0-100, or None when the episode was not scored (infra_error, produced)."""
    max_possible_score: float = 100.0
    gates_passed: bool = False
    hard_gates_passed: bool = False
    soft_gate_failures: int = 0
    gate_results: list[dict[str, Any]] = Field(default_factory=list)
    score_results: list[dict[str, Any]] = Field(default_factory=list)
    score_error: str | None = None
    error: str | None = None
    steps: int = 0
    wall_time_s: float = 0.0
    scoring_time_s: float = 0.0
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    refused_outputs: dict[str, str] = Field(default_factory=dict)
    missing_outputs: list[str] = Field(default_factory=list)
    outputs_dir: str | None = None
    """The host folder holding the collected copy of the declared outputs (``artifacts`` lists its
    files), kept by the env until its next reset (or until it is garbage collected); None when nothing
    was collected. Never written to result files or Parquet: the runs layer persists the files."""
    sandbox: dict[str, Any] = Field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    """Token and dollar totals, when the agent calls a model."""
    judge_calls: int | None = None
    judge_input_tokens: int | None = None
    judge_output_tokens: int | None = None
    judge_cost_usd: float | None = None
    """Model-judge usage while scoring (None when no judge ran); never part of the agent's ``cost_usd``."""

    @property
    def reward(self) -> float:
        """The episode's terminal reward: ``final_score / 100``, 0.0 when it was not scored."""
        return 0.0 if self.final_score is None else self.final_score / 100.0
