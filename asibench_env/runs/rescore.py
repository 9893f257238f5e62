"""Score a run's kept outputs again: ``produced`` episodes become ``scored`` once references are here.

Each result file of the run whose episode was ``produced`` and whose instance now has reference files
(``--instances-dir`` holding the public split, or a generated instance) is scored with the same scorer
as a live episode (:func:`asibench_env.rewards.score_outputs`) on the outputs persisted beside it
(``results/<base>.outputs/``). The result file is rewritten, and the batch records rebuilt.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from asibench_env.envs.episode import EpisodeResult
from asibench_env.rewards import score_outputs
from asibench_env.runs.batch import rebuild_batch_records
from asibench_env.runs.results import outputs_dirname, result_from_document, write_result
from asibench_env.tasks.registry import TaskRegistry


@dataclass
class RescoreOutcome:
    """What :func:`rescore_run` did: the run's results after it, and counts."""

    results: list[EpisodeResult] = field(default_factory=list)
    rescored: int = 0
    still_produced: int = 0


def _score(result: EpisodeResult, registry: TaskRegistry, outputs: Path, timeout_s: float) -> EpisodeResult:
    task = registry.get(result.task_id)
    instance = registry.instance(result.instance_id)
    with tempfile.TemporaryDirectory(prefix="asibench-rescore-") as empty:
        pred_dir = outputs if outputs.is_dir() and not outputs.is_symlink() else Path(empty)
        score = score_outputs(
            task.evaluation,
            pred_dir,
            instance.reference_dir,
            dict(instance.params),
            prompt_level=result.prompt_level,
            task_dir=task.task_dir,
            timeout_s=timeout_s,
        )
    return result.model_copy(
        update={
            "status": "scored",
            "error": None,
            "final_score": float(score.final_score),
            "max_possible_score": float(score.max_possible_score),
            "gates_passed": score.gates_passed,
            "hard_gates_passed": score.hard_gates_passed,
            "soft_gate_failures": score.soft_gate_failures,
            "gate_results": [r.model_dump() for r in score.gate_results],
            "score_results": [r.model_dump() for r in score.score_results],
            "score_error": score.error,
            "scoring_time_s": score.duration_s,
        }
    )


def rescore_run(run_dir: Path, registry: TaskRegistry, *, timeout_s: float = 120.0) -> RescoreOutcome:
    """Score every ``produced`` result of ``run_dir`` that has reference files in ``registry`` now.

    Other results are left as they are. Raises :class:`FileNotFoundError` for a folder without
    ``results/``; a task or instance the registry does not know leaves that result ``produced``.
    """
    results_dir = Path(run_dir) / "results"
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} has no results/ folder")
    outcome = RescoreOutcome()
    for path in sorted(results_dir.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        result = result_from_document(doc)
        if result.status == "produced":
            known = result.task_id in registry and any(
                i.instance_id == result.instance_id for i in registry.instances(result.task_id)
            )
            if known and registry.instance(result.instance_id).has_reference:
                outputs = results_dir / outputs_dirname(result.instance_id, result.prompt_level)
                result = _score(result, registry, outputs, timeout_s)
                write_result(
                    results_dir,
                    result,
                    doc.get("agent_name") or "unknown",
                    attempt=int(doc.get("attempt") or 1),
                    agent_config=(doc.get("provenance") or {}).get("agent_config") or {},
                )
                outcome.rescored += 1
            else:
                outcome.still_produced += 1
        outcome.results.append(result)
    rebuild_batch_records(run_dir)
    return outcome
