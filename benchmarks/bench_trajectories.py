"""Trajectory logging cost: env.step with and without TrajectoryLogger, and Parquet write throughput.

Run: .venv/bin/python benchmarks/bench_trajectories.py [--steps 2000]
Both variants run in the same process on the same task; the rows are interleaved to cancel drift.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.tasks.registry import builtin_registry
from asibench_env.trajectories import TrajectoryLogger, TrajectoryWriter, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    task_id = builtin_registry().ids()[0]
    action = {"tool": "bash", "arguments": {"command": "true"}}
    with tempfile.TemporaryDirectory() as tmp:
        plain = AsiBenchEnv(task_id, max_steps=10**9)
        logged = TrajectoryLogger(AsiBenchEnv(task_id, max_steps=10**9), Path(tmp) / "run")
        plain.reset(seed=0)
        logged.reset(seed=0)
        off, on = [], []
        for _ in range(args.steps):
            for env, bucket in ((plain, off), (logged, on)):
                t0 = time.perf_counter()
                env.step(action)
                bucket.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        logged.step({"tool": "submit"})
        flush = time.perf_counter() - t0
        plain.close()
        logged.close()
        rows = load(Path(tmp) / "run").to_table().num_rows

        writer = TrajectoryWriter(Path(tmp) / "throughput", "bench")
        now = datetime.now(UTC)
        step = {
            "run_id": "bench",
            "episode_id": "e",
            "task_id": task_id,
            "instance_id": "i",
            "prompt_level": "B3",
            "seed": 0,
            "step_index": 0,
            "observation": "x" * 200,
            "reward": 0.0,
            "terminated": False,
            "truncated": False,
            "started_at": now,
            "ended_at": now,
        }
        episode = {k: step[k] for k in ("run_id", "task_id", "instance_id", "prompt_level", "seed")}
        episode.update(status="scored", artifacts=[])
        n_episodes, per_episode = 50, 200
        t0 = time.perf_counter()
        for e in range(n_episodes):
            steps = [{**step, "episode_id": f"e{e}", "step_index": i} for i in range(per_episode)]
            writer.write_episode(steps, {**episode, "episode_id": f"e{e}"})
        write_s = time.perf_counter() - t0

    p50_off, p50_on = statistics.median(off), statistics.median(on)
    print(f"task {task_id}; {args.steps} steps each, interleaved")
    print(f"step without logger  p50 {p50_off * 1e3:.4f} ms   mean {statistics.fmean(off) * 1e3:.4f} ms")
    print(f"step with logger     p50 {p50_on * 1e3:.4f} ms   mean {statistics.fmean(on) * 1e3:.4f} ms")
    print(f"logging overhead     p50 {(p50_on / p50_off - 1) * 100:+.1f} %  (target <= 2 %)")
    print(f"episode flush at submit (scoring + {rows} rows to Parquet): {flush * 1e3:.1f} ms")
    print(
        f"write throughput     {n_episodes * per_episode / write_s:,.0f} steps/s "
        f"({n_episodes} episodes x {per_episode} steps in {write_s:.2f} s)"
    )


if __name__ == "__main__":
    main()
