"""Per-episode result files in the official ASI-Bench result schema (version 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asibench_env.atomic import write_json_atomic
from asibench_env.envs.episode import EpisodeResult

RESULT_SCHEMA_VERSION = 1

# The official loader reads ``status`` as its run status (completed, failed, timeout, ...); our own
# episode status (scored, agent_error, infra_error) travels in ``episode_status``.
_OFFICIAL_STATUS = {"scored": "completed", "agent_error": "failed", "infra_error": "failed"}


def result_filename(instance_id: str, level: str) -> str:
    """``<instance_id>__<level>.json`` with the level lowercase, as the official runner names them."""
    return f"{instance_id}__{level.lower()}.json"


def result_document(
    result: EpisodeResult, agent_name: str, attempt: int = 1, agent_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document for one episode."""
    return {
        "result_schema_version": RESULT_SCHEMA_VERSION,
        "instance_id": result.instance_id,
        "task_id": result.task_id,
        "task_version": result.task_version,
        "attempt": attempt,
        "prompt_level": result.prompt_level.lower(),
        "agent_name": agent_name,
        "parameters": result.parameters,
        "seed": result.seed,
        "gates_passed": result.gates_passed,
        "hard_gates_passed": result.hard_gates_passed,
        "soft_gate_failures": result.soft_gate_failures,
        "gate_results": result.gate_results,
        "score_results": result.score_results if result.final_score is not None else [_unscored(result)],
        "final_score": result.final_score,
        "max_possible_score": result.max_possible_score,
        "execution_time_seconds": round(result.wall_time_s, 6),
        "status": _OFFICIAL_STATUS[result.status],
        "episode_status": result.status,
        "end_reason": result.end_reason,
        "error": result.error,
        "score_error": result.score_error,
        "steps": result.steps,
        "cost": None
        if result.input_tokens is None
        else {
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "total_tokens": result.input_tokens + (result.output_tokens or 0),
            "estimated_cost_usd": result.cost_usd,
        },
        "judge_usage": None
        if result.judge_calls is None
        else {
            "calls": result.judge_calls,
            "input_tokens": result.judge_input_tokens,
            "output_tokens": result.judge_output_tokens,
            "estimated_cost_usd": result.judge_cost_usd,
        },
        "provenance": {
            "harness": "asibench-env",
            "sandbox": result.sandbox,
            "agent_config": agent_config or {},
        },
        "agent_output": {
            "code_files": [a.path for a in result.artifacts if a.path.endswith(".py")],
            "data_files": [a.path for a in result.artifacts if not a.path.endswith(".py")],
            "artifacts": [a.model_dump() for a in result.artifacts],
            "refused_outputs": result.refused_outputs,
            "missing_outputs": result.missing_outputs,
            "log": "",
            "error_message": result.error,
            "status": _OFFICIAL_STATUS[result.status],
        },
    }


def _unscored(result: EpisodeResult) -> dict[str, Any]:
    """The official marker for a result that must stay out of every mean (here: an infrastructure failure)."""
    return {
        "scorer_name": "unscored_submission",
        "score": 0.0,
        "max_score": result.max_possible_score,
        "passed": False,
        "details": {"unscored_submission": True, "episode_status": result.status, "reason": result.error},
        "message": f"not scored: {result.error}",
    }


def write_result(
    results_dir: Path,
    result: EpisodeResult,
    agent_name: str,
    attempt: int = 1,
    agent_config: dict[str, Any] | None = None,
) -> Path:
    """Write one episode's result file and return its path."""
    path = results_dir / result_filename(result.instance_id, result.prompt_level)
    write_json_atomic(path, result_document(result, agent_name, attempt, agent_config))
    return path
