"""Batch records in the ASI-Bench layout: batch_overview, task_scoreboard, task_level_long (.json, .csv, .md).

Means are over scored episodes only; episodes that ended in ``infra_error`` and ``produced`` episodes
(outputs kept, not scored here) are counted in their own columns and never enter a mean. A value that
has no scored episode behind it is empty, never 0.0.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from asibench_env.atomic import write_text_atomic
from asibench_env.envs.episode import ArtifactRecord, EpisodeResult
from asibench_env.runs.results import rollout_suffix, write_result
from asibench_env.trajectories import load

LEVELS = ("b1", "b2", "b3", "b4")


class EpisodeSummary(BaseModel):
    """What the reports need of one episode (built from EpisodeResult or a Parquet episodes row)."""

    task_id: str
    prompt_level: str
    status: str
    final_score: float | None
    hard_gates_passed: bool | None = None
    soft_gate_failures: int | None = 0
    agent: str | None = None
    model: str | None = None
    cost_usd: float | None = None

    @property
    def scored(self) -> bool:
        """Whether the episode counts in means (infrastructure errors and produced episodes never do)."""
        return self.status not in ("infra_error", "produced") and self.final_score is not None

    @property
    def produced(self) -> bool:
        """Whether the episode's outputs were kept for scoring elsewhere (no reference files here)."""
        return self.status == "produced"


def _infra_errors(rows: list[EpisodeSummary]) -> int:
    return sum(1 for e in rows if not e.scored and not e.produced)


def _produced(rows: list[EpisodeSummary]) -> int:
    return sum(1 for e in rows if e.produced)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _std(values: list[float]) -> float | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) if len(values) > 1 else 0.0


def _level_columns(episodes: list[EpisodeSummary]) -> dict[str, str]:
    by_level: dict[str, list[float]] = defaultdict(list)
    for e in episodes:
        if e.scored:
            by_level[e.prompt_level.lower()].append(e.final_score)  # type: ignore[arg-type]
    return {level: _fmt(_mean(by_level.get(level, []))) for level in LEVELS}


def build_tables(episodes: Iterable[EpisodeSummary], generated_at: str | None = None) -> dict[str, list[dict]]:
    """The three tables as lists of rows (strings for numbers, as written to CSV)."""
    episodes = list(episodes)
    generated_at = generated_at or datetime.now(UTC).replace(microsecond=0).isoformat()
    by_agent: dict[str, list[EpisodeSummary]] = defaultdict(list)
    for e in episodes:
        by_agent[e.agent or "unknown"].append(e)
    overview, scoreboard, long_rows = [], [], []
    for agent, rows in sorted(by_agent.items()):
        scored = [e for e in rows if e.scored]
        costs = [e.cost_usd for e in rows if e.cost_usd is not None]
        identity = {"agent_label": agent, "agent_name": agent, "model_name": rows[0].model or ""}
        overview.append(
            {
                **identity,
                "n_tasks": len({e.task_id for e in rows}),
                "n_instances": len(rows),
                "n_scored": len(scored),
                "infra_errors": _infra_errors(rows),
                "produced": _produced(rows),
                "overall_mean_score": _fmt(_mean([e.final_score for e in scored])),  # type: ignore[misc]
                "hard_gate_failures": sum(1 for e in scored if not e.hard_gates_passed),
                "soft_gate_warnings": sum(
                    1
                    for e in scored
                    if e.hard_gates_passed and (e.soft_gate_failures or 0) > 0 and (e.final_score or 0) > 0
                ),
                **_level_columns(rows),
                "mean_cost_usd": _fmt(_mean(costs), 6),
                "generated_at": generated_at,
            }
        )
        by_task: dict[str, list[EpisodeSummary]] = defaultdict(list)
        for e in rows:
            by_task[e.task_id].append(e)
        for task_id, task_rows in sorted(by_task.items()):
            scores = [e.final_score for e in task_rows if e.scored]
            scored_rows = [e for e in task_rows if e.scored]
            scoreboard.append(
                {
                    **identity,
                    "task_id": task_id,
                    "n_instances": len(task_rows),
                    "infra_errors": _infra_errors(task_rows),
                    "produced": _produced(task_rows),
                    "mean_score": _fmt(_mean(scores)),  # type: ignore[arg-type]
                    "min_score": _fmt(min(scores) if scores else None),  # type: ignore[type-var]
                    "max_score": _fmt(max(scores) if scores else None),  # type: ignore[type-var]
                    "std_score": _fmt(_std(scores)),  # type: ignore[arg-type]
                    "gates_pass_rate": _fmt(_mean([1.0 if e.hard_gates_passed else 0.0 for e in scored_rows]), 3),
                    **_level_columns(task_rows),
                    "generated_at": generated_at,
                }
            )
            by_level: dict[str, list[EpisodeSummary]] = defaultdict(list)
            for e in task_rows:
                by_level[e.prompt_level.lower()].append(e)
            for level, level_rows in sorted(by_level.items()):
                scored_level = [e for e in level_rows if e.scored]
                long_rows.append(
                    {
                        **identity,
                        "task_id": task_id,
                        "prompt_level": level,
                        "n_instances": len(level_rows),
                        "infra_errors": _infra_errors(level_rows),
                        "produced": _produced(level_rows),
                        "mean_score": _fmt(_mean([e.final_score for e in scored_level])),  # type: ignore[misc]
                        "gates_pass_rate": _fmt(_mean([1.0 if e.hard_gates_passed else 0.0 for e in scored_level]), 3),
                        "mean_cost_usd": _fmt(_mean([e.cost_usd for e in level_rows if e.cost_usd is not None]), 6),
                        "generated_at": generated_at,
                    }
                )
    return {"batch_overview": overview, "task_scoreboard": scoreboard, "task_level_long": long_rows}


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _markdown(name: str, rows: list[dict[str, Any]]) -> str:
    title = name.replace("_", " ").capitalize()
    if not rows:
        return f"# {title}\n\n(no episodes)\n"
    columns = [c for c in rows[0] if c != "generated_at"]
    lines = [
        f"# {title}",
        "",
        f"Generated at {rows[0]['generated_at']}. Empty cells have no scored episode.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_batch_records(out_dir: Path, episodes: Iterable[EpisodeSummary]) -> list[Path]:
    """Write ``out_dir/batch_records/<table>.{json,csv,md}`` atomically; returns the paths."""
    import json

    folder = Path(out_dir) / "batch_records"
    written = []
    for name, rows in build_tables(episodes).items():
        for suffix, text in (
            ("json", json.dumps(rows, indent=2) + "\n"),
            ("csv", _csv_text(rows)),
            ("md", _markdown(name, rows)),
        ):
            path = folder / f"{name}.{suffix}"
            write_text_atomic(path, text)
            written.append(path)
    return written


def summaries_from_parquet(run_dir: Path) -> list[EpisodeSummary]:
    """Episode summaries from the run's Parquet episodes table (the last attempt of each episode)."""
    rows = load(run_dir, "episodes").to_table().to_pylist()
    latest: dict[tuple, dict] = {}
    for row in sorted(rows, key=lambda r: r["finished_at"]):
        latest[(row["agent"], row["task_id"], row["prompt_level"], row["seed"], row["instance_id"])] = row
    return [EpisodeSummary.model_validate(row) for row in latest.values()]


def summaries_from_results(run_dir: Path) -> list[EpisodeSummary]:
    """Episode summaries from the run's result files."""
    import json

    summaries = []
    for path in sorted((Path(run_dir) / "results").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        summaries.append(
            EpisodeSummary(
                task_id=doc["task_id"],
                prompt_level=doc["prompt_level"],
                status=doc.get("episode_status", "scored"),
                final_score=doc.get("final_score"),
                hard_gates_passed=doc.get("hard_gates_passed"),
                soft_gate_failures=doc.get("soft_gate_failures"),
                agent=doc.get("agent_name"),
                model=(doc.get("provenance", {}).get("agent_config") or {}).get("model"),
                cost_usd=(doc.get("cost") or {}).get("estimated_cost_usd"),
            )
        )
    return summaries


def results_from_parquet(run_dir: Path) -> list[tuple[EpisodeResult, dict[str, Any]]]:
    """Every episode of the run's Parquet episodes table, oldest first, with its agent name and config.

    Raises :class:`FileNotFoundError` when the folder holds no trajectories.
    """
    rows = load(run_dir, "episodes").to_table().to_pylist()
    out = []
    for row in sorted(rows, key=lambda r: r["finished_at"]):
        result = EpisodeResult(
            task_id=row["task_id"],
            task_version=row["task_version"] or "",
            instance_id=row["instance_id"],
            prompt_level=row["prompt_level"],
            seed=row["seed"],
            parameters=json.loads(row["parameters_json"] or "{}"),
            status=row["status"],
            end_reason=row["end_reason"] or row["status"],
            final_score=row["final_score"],
            max_possible_score=row["max_possible_score"] or 100.0,
            gates_passed=bool(row["hard_gates_passed"]),
            hard_gates_passed=bool(row["hard_gates_passed"]),
            soft_gate_failures=row["soft_gate_failures"] or 0,
            gate_results=json.loads(row["gate_results_json"] or "[]"),
            score_results=json.loads(row["score_results_json"] or "[]"),
            score_error=row["score_error"],
            error=row["error"],
            steps=row["steps"] or 0,
            wall_time_s=row["wall_time_s"] or 0.0,
            artifacts=[ArtifactRecord(**a) for a in row["artifacts"] or []],
            sandbox={"backend": row["sandbox_backend"], "level": row["sandbox_isolation"]},
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cost_usd=row["cost_usd"],
            judge_calls=row.get("judge_calls"),
            judge_input_tokens=row.get("judge_input_tokens"),
            judge_output_tokens=row.get("judge_output_tokens"),
            judge_cost_usd=row.get("judge_cost_usd"),
        )
        agent: dict[str, Any] = {"name": row["agent"], "model": row["model"]}
        if row.get("rollout_index") is not None:  # a rollout: its result file is one of its group's G
            agent["rollout"] = {
                "group_id": row["group_id"],
                "rollout_index": row["rollout_index"],
                "group_size": row["group_size"],
                "episode_id": row["episode_id"],
                "reward": row.get("reward"),
            }
        out.append((result, agent))
    return out


def latest_attempts(results: Iterable[EpisodeResult]) -> list[EpisodeResult]:
    """One result per episode (instance and level): the last one given wins, as in the results/ folder."""
    latest: dict[tuple[str, str], EpisodeResult] = {}
    for result in results:
        latest[(result.instance_id, result.prompt_level)] = result
    return list(latest.values())


def rebuild_from_parquet(run_dir: Path) -> list[Path]:
    """Rewrite ``results/`` and ``batch_records/`` from the Parquet episodes table alone.

    A later attempt of an episode replaces an earlier one. Returns the files written; raises
    :class:`FileNotFoundError` when the folder holds no trajectories.
    """
    written = []
    for result, agent in results_from_parquet(run_dir):
        rollout = agent.pop("rollout", None)
        suffix = rollout_suffix(rollout["rollout_index"]) if rollout else ""
        extra = {"rollout": rollout} if rollout else None
        path = write_result(
            Path(run_dir) / "results",
            result,
            agent["name"] or "unknown",
            agent_config=agent,
            suffix=suffix,
            extra=extra,
        )
        written.append(path)
    written += write_batch_records(run_dir, summaries_from_results(run_dir))
    return written
