"""Leaderboard build time over 100,000 synthetic episode rows, and its ratio to a per-row Python pass.

Run: .venv/bin/python benchmarks/bench_leaderboard.py [--configs 4] [--tasks 25] [--seeds 250]

Writes one run folder per configuration with run_metadata.json and Parquet episodes in the trajectory
schema (pyarrow, one file per task and level), then times ``build_leaderboard`` (read, merge, means,
hierarchical bootstrap of every overall, level and domain estimate, trust checks). The baseline is a
plain per-row Python pass over the same rows (``to_pylist`` and dicts) computing only the point means:
the ratio shows what vectorizing buys. The runs have no result files, so each is read with a
half-written warning (expected here).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from asibench_env._version import __version__
from asibench_env.runs.leaderboard import build_leaderboard
from asibench_env.runs.leaderboard.aggregate import installed_benchmark_version
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import EPISODES_SCHEMA, load

LEVELS = ("B1", "B2", "B3", "B4")


def synthesize(root: Path, configs: int, tasks: int, seeds: int) -> list[Path]:
    rng = np.random.default_rng(0)
    schema = pa.schema([f for f in EPISODES_SCHEMA if f.name not in ("task_id", "prompt_level")])
    schema = schema.with_metadata(EPISODES_SCHEMA.metadata)
    task_ids = [f"domain{t % 5}.task_{t:02d}" for t in range(tasks)]
    now = datetime.now(UTC)
    dirs = []
    for c in range(configs):
        run = root / f"config{c}"
        config = {
            "name": "openai",
            "agent": "openai",
            "model": f"model-{c}",
            "base_url": "https://api.example.com/v1",
            "temperature": 0.0,
        }
        skill = 20 + 15 * c
        for task_id in task_ids:
            difficulty = rng.normal(0, 10)
            for level in LEVELS:
                n = seeds
                seed = np.arange(n, dtype=np.int64)
                status = np.where(rng.random(n) < 0.02, "infra_error", "scored")
                score = np.clip(rng.normal(skill - difficulty, 20, n), 0, 100)
                columns = {
                    "run_id": pa.array([f"run{c}"] * n),
                    "episode_id": pa.array([f"{c}-{task_id}-{level}-{s}" for s in range(n)]),
                    "task_version": pa.array(["1.0"] * n),
                    "instance_id": pa.array([f"{task_id}__seed{s}" for s in range(n)]),
                    "seed": pa.array(seed),
                    "agent": pa.array(["openai"] * n),
                    "model": pa.array([config["model"]] * n),
                    "agent_config_json": pa.array([json.dumps(config)] * n),
                    "status": pa.array(status),
                    "final_score": pa.array(np.where(status == "scored", score, np.nan), mask=status != "scored"),
                    "steps": pa.array(rng.integers(1, 60, n).astype(np.int32)),
                    "wall_time_s": pa.array(rng.random(n) * 300),
                    "input_tokens": pa.array(rng.integers(1000, 100000, n)),
                    "output_tokens": pa.array(rng.integers(100, 10000, n)),
                    "cost_usd": pa.array(rng.random(n)),
                    "finished_at": pa.array([now] * n, type=pa.timestamp("us", tz="UTC")),
                }
                table = pa.table({f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)
                folder = run / "trajectories" / "episodes" / f"task_id={task_id}" / f"prompt_level={level}"
                folder.mkdir(parents=True)
                pq.write_table(table, folder / "part-0.parquet", compression="zstd")
        metadata = {
            "framework": "asibench-env",
            "framework_version": __version__,
            "timestamp": now.isoformat(),
            "python_version": "3",
            "platform": "bench",
            "dependencies": {"asibench": installed_benchmark_version()},
            "agent": config,
            "task_versions": {t: "1.0" for t in task_ids},
            "sandbox": {"requested_mode": "local"},
            "levels": list(LEVELS),
            "seeds": list(range(seeds)),
        }
        (run / "run_metadata.json").write_text(json.dumps(metadata))
        dirs.append(run)
    return dirs


def per_row_python(dirs: list[Path]) -> dict[str, float]:
    """The same point means (mean over tasks of instance means) with a Python loop over every row."""
    means = {}
    for run in dirs:
        rows = load(run, "episodes").to_table(columns=["agent_config_json", "task_id", "seed", "status", "final_score"])
        by_instance: dict[tuple[str, str, int], list[float]] = defaultdict(list)
        for row in rows.to_pylist():
            if row["status"] in ("scored", "agent_error"):
                config = json.loads(row["agent_config_json"])["model"]
                by_instance[(config, row["task_id"], row["seed"])].append(row["final_score"] or 0.0)
        by_task: dict[tuple[str, str], list[float]] = defaultdict(list)
        for (config, task, _), scores in by_instance.items():
            by_task[(config, task)].append(sum(scores) / len(scores))
        per_config: dict[str, list[float]] = defaultdict(list)
        for (config, _), values in by_task.items():
            per_config[config].append(sum(values) / len(values))
        means.update({k: sum(v) / len(v) for k, v in per_config.items()})
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=25)
    parser.add_argument("--seeds", type=int, default=250)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the expected half-written warnings, one per run
    with tempfile.TemporaryDirectory() as tmp:
        dirs = synthesize(Path(tmp), args.configs, args.tasks, args.seeds)
        rows = sum(load(d, "episodes").count_rows() for d in dirs)
        registry = TaskRegistry(include_builtin=False)
        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            board = build_leaderboard(dirs, registry=registry, seed=0, allow_partial=True)
            timings.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build_leaderboard(dirs, registry=registry, seed=0)  # on common coverage
        common_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        python_means = per_row_python(dirs)
        python_s = time.perf_counter() - t0
    best = min(timings)
    print(f"episode rows: {rows:,} in {len(dirs)} configurations x {args.tasks} tasks x 4 levels")
    print(
        f"build_leaderboard (bootstrap {board.resamples} resamples, every estimate): "
        f"best {best:.2f} s of {len(timings)} ({rows / best:,.0f} rows/s)"
    )
    print(f"build_leaderboard on common coverage (the default): {common_s:.2f} s")
    print(f"per-row Python point means only: {python_s:.2f} s; ratio python/leaderboard = {python_s / best:.2f}")
    for row in board.rows:
        model = row.configuration.model or ""
        ref = python_means[model]
        assert row.overall.mean is not None and abs(row.overall.mean - ref) < 1e-3, (row.overall.mean, ref)
        print(
            f"  {row.name:40s} mean {row.overall.mean:6.2f} [{row.overall.ci95.low if row.overall.ci95 else 0:.2f}, "
            f"{row.overall.ci95.high if row.overall.ci95 else 0:.2f}] infra {row.infra_errors}"
        )


if __name__ == "__main__":
    main()
