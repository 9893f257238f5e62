"""Env latency on this machine: step (`bash: true`), reset (cached and fresh instance), scoring.

Run: .venv/bin/python benchmarks/bench_env.py [--steps 2000] [--task TASK_ID]
Prints p50/p99 per measurement; the targets are step p50 <= 1 ms and cached reset <= 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tasks"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def row(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    stats = f"p50={pct(ms, 0.5):8.3f} ms  p99={pct(ms, 0.99):8.3f} ms  mean={statistics.fmean(ms):8.3f} ms"
    return f"{name:<38} n={len(ms):>5}  {stats}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--task", default=None, help="a built-in task id (default: the first)")
    args = parser.parse_args()

    registry = TaskRegistry([FIXTURES])
    task_id = args.task or next(t for t in registry.ids() if not t.startswith("demo."))
    with tempfile.TemporaryDirectory() as tmp:
        cache = InstanceCache(Path(tmp) / "instances")
        env = AsiBenchEnv(task_id, registry=registry, instance_cache=cache, max_steps=10**9)
        t0 = time.perf_counter()
        env.reset(seed=0)
        first_reset = time.perf_counter() - t0

        fresh = []
        for seed in range(1, 4):
            t0 = time.perf_counter()
            env.reset(seed=seed)
            fresh.append(time.perf_counter() - t0)
        cached = []
        for i in range(args.resets):
            t0 = time.perf_counter()
            env.reset(seed=i % 4)
            cached.append(time.perf_counter() - t0)

        action = {"tool": "bash", "arguments": {"command": "true"}}
        for _ in range(50):
            env.step(action)
        steps = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            env.step(action)
            steps.append(time.perf_counter() - t0)
        py = []
        for _ in range(args.steps // 4):
            t0 = time.perf_counter()
            env.step({"tool": "python", "arguments": {"code": "x = 1"}})
            py.append(time.perf_counter() - t0)

        scoring = []
        for seed in range(5):
            env.reset(seed=seed % 4)
            _, _, _, _, info = env.step({"tool": "submit"})
            scoring.append(info["scoring_time_s"])
        env.close()

    print(f"task {task_id}; isolation {env.last_result.sandbox.get('level') if env.last_result else '?'}")
    print(f"{'first reset (runtime + generation)':<38} {first_reset * 1000:10.1f} ms")
    print(row("reset, fresh instance (generator)", fresh))
    print(row("reset, cached instance", cached))
    print(row("step bash `true`", steps))
    print(row("step python `x = 1`", py))
    print(row("scoring (child process)", scoring))


if __name__ == "__main__":
    main()
