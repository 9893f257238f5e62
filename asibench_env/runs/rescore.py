"""Score a run's kept outputs again: ``produced`` episodes become ``scored`` once references are here.

Each result file of the run whose episode was ``produced`` and whose instance now has reference files
(``--instances-dir`` holding the public split, or a generated instance), and whose judge is configured
when its scorers need one, is scored with the same scorer
as a live episode (:func:`asibench_env.rewards.score_outputs`) on the outputs persisted beside it
(``results/<base>.outputs/``). The result file and the episode's Parquet row are rewritten, and the
batch records rebuilt, so ``asibench-env report`` later rebuilds the scored results.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from asibench_env.envs.episode import EpisodeResult
from asibench_env.errors import InfraError
from asibench_env.rewards import JudgeSettings, needs_judge, score_outputs
from asibench_env.runs.batch import rebuild_batch_records
from asibench_env.runs.results import outputs_dirname, result_from_document, write_result
from asibench_env.tasks.instances import InstanceCache, instance_id_for
from asibench_env.tasks.loading import Task
from asibench_env.tasks.registry import InstanceRef, TaskRegistry
from asibench_env.trajectories.rewrite import score_columns, update_episode


@dataclass
class RescoreOutcome:
    """What :func:`rescore_run` did: the run's results after it, and counts."""

    results: list[EpisodeResult] = field(default_factory=list)
    rescored: int = 0
    still_produced: int = 0


def _score(
    result: EpisodeResult,
    task: Task,
    instance: InstanceRef,
    outputs: Path,
    timeout_s: float,
    judge: JudgeSettings | None,
) -> EpisodeResult:
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
            judge=judge,
            runtime_packages=task.runtime_packages,
        )
    if score.infra_error is not None:  # e.g. the judge was unreachable: the result stays produced
        raise InfraError(f"scoring {result.instance_id} [{result.prompt_level}] failed: {score.infra_error}")
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
            **score.model_dump(include={"judge_calls", "judge_input_tokens", "judge_output_tokens", "judge_cost_usd"}),
        }
    )


def _instance_for(result: EpisodeResult, registry: TaskRegistry, cache: InstanceCache) -> InstanceRef | None:
    """The instance a result was run on: a downloaded one by id, else the generated one of its parameters."""
    if result.task_id not in registry:
        return None
    for instance in registry.instances(result.task_id):
        if instance.instance_id == result.instance_id:
            return instance
    task = registry.get(result.task_id)
    if not task.has_generator or instance_id_for(task.id, dict(result.parameters)) != result.instance_id:
        return None  # not an instance generated here: only its own reference files may score it
    instance, _ = cache.get(task, dict(result.parameters))
    return instance


def rescore_run(
    run_dir: Path,
    registry: TaskRegistry,
    *,
    timeout_s: float = 120.0,
    judge: JudgeSettings | None = None,
    instance_cache: InstanceCache | None = None,
) -> RescoreOutcome:
    """Score every ``produced`` result of ``run_dir`` that can be scored here now.

    A result can be scored when its instance has reference files (a downloaded instance of
    ``registry``, or a generated one, regenerated from its parameters into ``instance_cache``) and, for a
    task whose scorers call a model judge, when ``judge`` is given. Other results are left as they are.
    Raises :class:`FileNotFoundError` for a folder without ``results/`` and
    :class:`~asibench_env.errors.InfraError` when scoring itself fails (an unreachable judge): the
    results scored before it are kept, the rest stay ``produced``.
    """
    results_dir = Path(run_dir) / "results"
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} has no results/ folder")
    cache = instance_cache or InstanceCache()
    outcome = RescoreOutcome()
    try:
        for path in sorted(results_dir.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            result = result_from_document(doc)
            if result.status == "produced":
                instance = _instance_for(result, registry, cache)
                task = registry.get(result.task_id) if instance is not None else None
                if (
                    task is not None
                    and instance is not None
                    and instance.has_reference
                    and (judge is not None or not needs_judge(task.evaluation))
                ):
                    outputs = results_dir / outputs_dirname(result.instance_id, result.prompt_level)
                    result = _score(result, task, instance, outputs, timeout_s, judge)
                    update_episode(
                        run_dir, result.task_id, result.prompt_level, result.instance_id, score_columns(result)
                    )
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
    finally:
        rebuild_batch_records(run_dir)
    return outcome
