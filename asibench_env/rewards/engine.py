"""The scoring contract: gates first, then weighted scorers, normalised by the task's score divisor."""

from __future__ import annotations

import copy
import math
import time
import traceback
from pathlib import Path
from typing import Any

from asibench_env.rewards.custom import run_official_scorer, task_scorers
from asibench_env.rewards.failures import is_host_failure
from asibench_env.rewards.judge import JudgeRequest, judge_totals, judge_unavailable, no_judge_message, run_judge_scorer
from asibench_env.rewards.results import ScoreReport, ScorerResult
from asibench_env.rewards.scorers import JUDGE_SCORERS, NATIVE_SCORERS
from asibench_env.rewards.templates import resolve_templates


def score_divisor(evaluation: dict[str, Any]) -> float:
    """The evaluation's ``score_divisor`` (default 1); a non-positive or non-numeric one raises ``ValueError``."""
    raw = evaluation.get("score_divisor", 1.0)
    try:
        divisor = float(raw) if not isinstance(raw, bool) else float("nan")
    except (TypeError, ValueError):
        divisor = float("nan")
    if not math.isfinite(divisor) or divisor <= 0:
        raise ValueError(f"score_divisor must be a finite positive number, got {raw!r}")
    return divisor


class ScorerSet:
    """Finds a scorer by name: the task's custom scorers, the native built-ins, then the official judges."""

    def __init__(self, task_dir: Path | None, judge: JudgeRequest | None = None):
        self.custom = task_scorers(Path(task_dir).resolve()) if task_dir else {}
        self.judge = judge

    def run(self, name: str, pred_dir: Path, ref_dir: Path, config: dict[str, Any]) -> ScorerResult:
        """Run scorer ``name`` (the task's custom ones first, then the native ones) on one gate or scoring entry."""
        if name in self.custom:
            return run_official_scorer(self.custom[name], pred_dir, ref_dir, config)
        if name == "composite":
            return self._composite(pred_dir, ref_dir, config)
        if name in NATIVE_SCORERS:
            return NATIVE_SCORERS[name](pred_dir, ref_dir, config)
        if name in JUDGE_SCORERS:
            if self.judge is None:
                return ScorerResult(
                    scorer_name=name,
                    score=0.0,
                    max_score=config.get("weight", 1.0),
                    passed=False,
                    details={"judge_configured": False},
                    message=no_judge_message(name),
                )
            return run_judge_scorer(name, pred_dir, ref_dir, config, self.judge)
        raise LookupError(f"unknown scorer {name!r}; native scorers: composite, {', '.join(NATIVE_SCORERS)}")

    def _composite(self, pred_dir: Path, ref_dir: Path, config: dict[str, Any]) -> ScorerResult:
        weight = config.get("weight", 1.0)
        parts = config.get("sub_scorers", [])
        if not parts:
            return ScorerResult(
                scorer_name="composite",
                score=0.0,
                max_score=weight,
                passed=False,
                details={"error": "No sub_scorers defined"},
                message="composite has no sub_scorers",
            )
        total_weight = sum(part.get("weight", 1.0) for part in parts)
        weighted, sub_results = 0.0, []
        for part in parts:
            sub_config = dict(part.get("config", {}))
            sub_config["weight"] = 1.0
            result = self.run(part["scorer"], pred_dir, ref_dir, sub_config)
            sub_results.append(
                {
                    "scorer": part["scorer"],
                    "score": result.score,
                    "max_score": result.max_score,
                    "passed": result.passed,
                    "details": result.details,
                }
            )
            if result.max_score > 0:
                weighted += result.score / result.max_score * part.get("weight", 1.0)
        score = weighted / total_weight * weight if total_weight > 0 else 0.0
        return ScorerResult(
            scorer_name="composite",
            score=score,
            max_score=weight,
            passed=all(r["passed"] for r in sub_results),
            details={"sub_results": sub_results},
        )


def _missing_module_reason(name: str | None) -> str:
    return (
        f"a scorer of the task imports {name!r}, which is installed neither where scoring runs nor in the "
        f"task's runtime; install it (pip install {name}), list it in the task's runtime.packages, or fix the task"
    )


def _crashed(name: str, max_score: float, exc: BaseException) -> ScorerResult:
    return ScorerResult(
        scorer_name=name,
        score=0.0,
        max_score=max_score,
        passed=False,
        message=f"Scorer crashed: {type(exc).__name__}: {exc}",
        details={
            "scorer_internal_error": True,
            "exception_type": type(exc).__name__,
            "traceback_tail": traceback.format_exc().splitlines()[-5:],
            **({"missing_module": exc.name} if isinstance(exc, ModuleNotFoundError) else {}),
            **({"host_failure": True} if is_host_failure(exc) else {}),
        },
    )


def _host_failure(results: list[ScorerResult]) -> str | None:
    """The first scorer crash the host caused (disk full, I/O error, ...): an infrastructure error."""
    failed = next((r for r in results if r.details.get("host_failure")), None)
    return f"scorer {failed.scorer_name} failed on the host: {failed.message}" if failed else None


def _run_one(
    scorers: ScorerSet,
    entry: dict[str, Any],
    pred_dir: Path,
    ref_dir: Path,
    parameters: dict[str, Any],
    level: str | None,
    weight: float,
) -> ScorerResult:
    name = entry["scorer"]
    try:
        config = resolve_templates(copy.deepcopy(entry.get("config") or {}), parameters)
        if level is not None:
            config["prompt_level"] = level
        config["weight"] = weight
        return scorers.run(name, pred_dir, ref_dir, config)
    except Exception as exc:  # noqa: BLE001 - a broken scorer scores 0 with the reason
        return _crashed(name, weight, exc)


def evaluate(
    evaluation: dict[str, Any],
    pred_dir: Path,
    ref_dir: Path,
    parameters: dict[str, Any],
    *,
    prompt_level: str | None = None,
    task_dir: Path | None = None,
    judge: JudgeRequest | None = None,
) -> ScoreReport:
    """Score the outputs in ``pred_dir`` against ``ref_dir`` under a task's evaluation contract.

    Judge scorers run through the official ones under ``judge``; without one they score 0 with a
    message saying how to configure one. A judge that could not be reached, a custom scorer that
    imports a module missing from this environment, or a scorer failing on the host's resources (an
    ``OSError`` such as a full disk: :func:`~asibench_env.rewards.failures.is_host_failure`) sets
    ``infra_error``.
    """
    started = time.perf_counter()
    pred_dir, ref_dir = Path(pred_dir), Path(ref_dir)
    level = prompt_level.lower() if prompt_level else None
    try:
        scorers = ScorerSet(task_dir, judge)
    except ModuleNotFoundError as exc:  # our environment lacks a package: never the agent's 0
        why = _missing_module_reason(exc.name)
        return ScoreReport(
            error=why, infra_error=why, missing_module=exc.name, duration_s=time.perf_counter() - started
        )
    gates, hard_ok, soft_failures = [], True, 0
    for gate in evaluation.get("gates", []) or []:
        result = _run_one(scorers, gate, pred_dir, ref_dir, parameters, level, 1.0)
        severity = str(gate.get("severity", "hard")).strip().lower()
        if severity not in ("hard", "soft"):
            raise ValueError(f"gate severity must be hard or soft, got {severity!r}")
        result = result.model_copy(update={"severity": severity})
        gates.append(result)
        if not result.passed:
            hard_ok, soft_failures = (False, soft_failures) if severity == "hard" else (hard_ok, soft_failures + 1)
    scores: list[ScorerResult] = []
    raw = 0.0
    if hard_ok:
        for entry in evaluation.get("scoring", []) or []:
            result = _run_one(scorers, entry, pred_dir, ref_dir, parameters, level, entry.get("weight", 1.0))
            scores.append(result)
            raw += result.score
    elif str(evaluation.get("hard_fail_score_mode", "zero")) == "gate_score_sum":
        raw = sum(g.score for g in gates)
    missing = next((m for r in [*gates, *scores] if (m := r.details.get("missing_module"))), None)
    divisor = score_divisor(evaluation)
    max_raw = float(sum(float(e.get("weight", 1.0)) for e in evaluation.get("scoring", []) or []))
    return ScoreReport(
        gate_results=gates,
        score_results=scores,
        gates_passed=hard_ok,
        hard_gates_passed=hard_ok,
        soft_gate_failures=soft_failures,
        final_score=raw / divisor,
        max_possible_score=max_raw / divisor,
        infra_error=next((reason for r in [*gates, *scores] if (reason := judge_unavailable(r))), None)
        or (_missing_module_reason(missing) if missing else None)
        or _host_failure([*gates, *scores]),
        missing_module=missing,
        duration_s=time.perf_counter() - started,
        **judge_totals([*gates, *scores]),
    )
