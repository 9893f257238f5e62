"""Scoring latency on the demo task: evaluate() in-process versus score_outputs() in the worker.

Run: .venv/bin/python benchmarks/bench_scoring.py [--runs 200]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asibench_env.rewards import evaluate, score_outputs
from asibench_env.tasks.instances import InstanceCache, sample_params
from asibench_env.tasks.loading import load_task

DEMO = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tasks" / "demo" / "line_fit"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    task = load_task(DEMO)
    tmp = Path(tempfile.mkdtemp())
    instance, _ = InstanceCache(tmp / "cache", python_for=lambda _t: sys.executable).get(task, sample_params(task, 0))
    outputs = tmp / "outputs"
    shutil.copytree(instance.path / "data", outputs / "data")
    subprocess.run([sys.executable, str(task.solution_path)], cwd=outputs, check=True)
    call = dict(
        evaluation=task.evaluation,
        pred_dir=outputs,
        ref_dir=instance.reference_dir,
        parameters=instance.params,
        prompt_level="B3",
        task_dir=task.task_dir,
    )
    score_outputs(**call)  # start the worker
    rows = {}
    for name, fn in (("evaluate (in-process)", evaluate), ("score_outputs (worker, copy)", score_outputs)):
        values = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            report = fn(**call)
            values.append(time.perf_counter() - t0)
        assert report.final_score > 99
        rows[name] = values
    for name, values in rows.items():
        print(f"{name:<32} p50 {pct(values, 0.5):8.3f} ms   p99 {pct(values, 0.99):8.3f} ms")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
