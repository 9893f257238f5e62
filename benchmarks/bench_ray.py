"""Oracle episodes per hour: the threads executor vs the Ray executor, at 1, 2 and 4 episodes in flight.

Ray runs on a real local cluster made with Ray's own utilities: a head that schedules nothing and two
worker nodes of two CPUs each (four one-CPU episode slots), all on this machine, so the Ray numbers carry
Ray's own costs (task dispatch, shipping rows and outputs back, the driver writing every file) but no
network. Instances are generated once before timing (both executors then read a warm cache).

Run: .venv/bin/python benchmarks/bench_ray.py [--seeds 4] [--in-flight 1,2,4] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from asibench_env.agents.oracle import OracleAgent
from asibench_env.paths import runtimes_dir
from asibench_env.runs.batch import run_batch
from asibench_env.runs.executors import Executor, RayExecutor, ThreadExecutor
from asibench_env.runs.runner import EpisodeSpec, plan_episodes
from asibench_env.tasks.registry import TaskRegistry

TASKS = ["physics.damped_oscillator_fit", "statistics.changepoint_detection"]


def timed_batch(specs: list[EpisodeSpec], registry: TaskRegistry, executor: Executor, out: Path) -> float:
    """Seconds to run every spec to its result file, checking all were scored."""
    started = time.perf_counter()
    outcome = run_batch(
        specs,
        lambda: OracleAgent(registry=registry),
        out,
        registry=registry,
        env_kwargs={"sandbox": "local"},
        agent_config={"name": "oracle"},
        show_progress=False,
        executor=executor,
    )
    elapsed = time.perf_counter() - started
    bad = [r for r in outcome.results if r.status != "scored"]
    if bad or len(outcome.results) != len(specs):
        raise SystemExit(f"benchmark run failed: {len(outcome.results)} results, {len(bad)} not scored: {bad[:1]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=4, help="seeds per task (episodes = 2 tasks x seeds)")
    parser.add_argument("--in-flight", default="1,2,4")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    levels = [int(n) for n in args.in_flight.split(",")]

    import ray
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ASIBENCH_ENV_RUNTIMES"] = str(runtimes_dir())  # keep the slow-to-build runtimes shared
        os.environ["ASIBENCH_ENV_CACHE"] = str(Path(tmp) / "cache")  # a private instance cache (nodes inherit it)
        registry = TaskRegistry()
        specs = plan_episodes(TASKS, ["B1"], range(args.seeds))
        print(f"{len(specs)} oracle episodes per measurement ({', '.join(TASKS)}; B1; seeds 0-{args.seeds - 1})")
        timed_batch(specs, registry, ThreadExecutor(2), Path(tmp) / "warm-threads")  # generates the instances

        rows: list[dict[str, object]] = []
        for n in levels:
            seconds = timed_batch(specs, registry, ThreadExecutor(n), Path(tmp) / f"threads-{n}")
            rows.append({"executor": "threads", "in_flight": n, "seconds": seconds})

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        try:
            for _ in range(2):
                cluster.add_node(num_cpus=2)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            timed_batch(specs, registry, RayExecutor(4, address=cluster.address), Path(tmp) / "warm-ray")
            for n in levels:
                seconds = timed_batch(specs, registry, RayExecutor(n, address=cluster.address), Path(tmp) / f"ray-{n}")
                rows.append({"executor": "ray (2 nodes)", "in_flight": n, "seconds": seconds})
        finally:
            ray.shutdown()
            cluster.shutdown()

    print(f"{'executor':<16} {'in flight':>9} {'wall s':>8} {'s/episode':>10} {'episodes/hour':>14}")
    for row in rows:
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        row["episodes_per_hour"] = round(len(specs) * 3600 / seconds)
        row["episodes"] = len(specs)
        print(
            f"{row['executor']:<16} {row['in_flight']:>9} {seconds:>8.1f} {seconds / len(specs):>10.2f} "
            f"{row['episodes_per_hour']:>14}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
