"""Reset latency: the instance cache, instance prefetch and the sandboxes' warm pools, in one run.

Every configuration runs the same loop: reset, one `python` step (`x = 1`), then a pause standing for
the agent's episode (--episode, default 1.5 s; it gives pools and prefetch the time they get in real
use), and measures the reset alone and the reset plus that first python step. The first reset of
each configuration (runtime checks, first pool) is not counted.

1. local sandbox, cached instance, without and with a warm pool (warm_pool=2);
2. local sandbox with its warm pool, fresh seeds (a new instance per reset) without prefetch and with
   prefetch=1 and 2 (AsiBenchEnv(prefetch=K): the next K seeds are generated in the background);
3. the Docker sandbox, cached instance, cold and with its warm pool (skipped with the reason when there
   is no engine or image).

Targets: cached reset from the local warm pool p50 <= 20 ms; fresh-seed reset with prefetch within
1.5x of a cached reset. Ratios are printed at the end.

Run: .venv/bin/python benchmarks/bench_reset.py [--resets 20] [--episode 1.5] [--task TASK_ID]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.errors import InfraError
from asibench_env.sandbox.factory import backend_class
from asibench_env.tasks.instances import InstanceCache

TASK = "physics.damped_oscillator_fit"
PYTHON = {"tool": "python", "arguments": {"code": "x = 1"}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def measure(
    task: str,
    cache: InstanceCache,
    seeds: list[int],
    episode_s: float,
    sandbox: str = "local",
    options: dict[str, Any] | None = None,
    prefetch: int = 0,
) -> tuple[list[float], list[float]]:
    """(reset seconds, reset + first python step seconds) for each seed after the first."""
    env = AsiBenchEnv(task, sandbox=sandbox, sandbox_options=options or {}, instance_cache=cache, prefetch=prefetch)
    resets, with_python = [], []
    try:
        for i, seed in enumerate(seeds):
            t0 = time.perf_counter()
            env.reset(seed=seed)
            t1 = time.perf_counter()
            env.step(PYTHON)
            t2 = time.perf_counter()
            if i:
                resets.append(t1 - t0)
                with_python.append(t2 - t0)
            time.sleep(episode_s)
    finally:
        env.close()
        backend_class(sandbox).shutdown()
    return resets, with_python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--episode", type=float, default=1.5, help="Pause between resets: the agent's episode (s).")
    parser.add_argument("--task", default=TASK)
    args = parser.parse_args()
    n = args.resets + 1
    cache = InstanceCache(Path(tempfile.mkdtemp(prefix="bench-reset-instances-")), max_bytes=None)
    results: dict[str, tuple[list[float], list[float]]] = {}
    cached = [0] * n
    configs: list[tuple[str, str, dict[str, Any], list[int], int]] = [
        ("local, cached, no pool", "local", {}, cached, 0),
        ("local, cached, warm pool 2", "local", {"warm_pool": 2}, cached, 0),
        ("local pool, fresh seeds, no prefetch", "local", {"warm_pool": 2}, list(range(1000, 1000 + n)), 0),
        ("local pool, fresh seeds, prefetch 1", "local", {"warm_pool": 2}, list(range(2000, 2000 + n)), 1),
        ("local pool, fresh seeds, prefetch 2", "local", {"warm_pool": 2}, list(range(3000, 3000 + n)), 2),
        ("docker, cached, cold", "docker", {"warm_pool": 0}, cached, 0),
        ("docker, cached, warm pool 2", "docker", {"warm_pool": 2}, cached, 0),
    ]
    print(f"task {args.task}; {args.resets} resets per row, {args.episode:.1f} s episode pause\n")
    print(f"  {'env.reset':<40}{'p50 ms':>10}{'p95 ms':>10}{'+python p50':>13}{'+python p95':>13}")
    for label, sandbox, options, seeds, prefetch in configs:
        try:
            resets, with_python = measure(args.task, cache, seeds, args.episode, sandbox, options, prefetch)
        except (InfraError, ImportError) as exc:
            print(f"  {label:<40}skipped: {str(exc).splitlines()[0][:120]}")
            continue
        results[label] = (resets, with_python)
        print(
            f"  {label:<40}{pct(resets, 0.5):>10.1f}{pct(resets, 0.95):>10.1f}"
            f"{pct(with_python, 0.5):>13.1f}{pct(with_python, 0.95):>13.1f}"
        )

    def ratio(a: str, b: str, text: str) -> None:
        if a in results and b in results:
            print(f"  {text:<62}{pct(results[a][0], 0.5) / pct(results[b][0], 0.5):>7.2f}x")

    print("\nratios of p50 reset times")
    ratio("local, cached, no pool", "local, cached, warm pool 2", "local cached: no pool / warm pool")
    ratio("local pool, fresh seeds, no prefetch", "local, cached, warm pool 2", "fresh seed without prefetch / cached")
    for k in (1, 2):
        ratio(
            f"local pool, fresh seeds, prefetch {k}",
            "local, cached, warm pool 2",
            f"fresh seed with prefetch {k} / cached (target <= 1.5)",
        )
    ratio("docker, cached, cold", "docker, cached, warm pool 2", "docker cached: cold / warm pool")
    if "local, cached, warm pool 2" in results:
        p50 = pct(results["local, cached, warm pool 2"][0], 0.5)
        print(f"  local warm-pool cached reset p50 {p50:.1f} ms (target <= 20 ms): {'met' if p50 <= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
