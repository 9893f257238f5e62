"""Docker sandbox versus local sandbox, in one run on this machine.

1. Step latency (env.step with `bash: true`) on both backends, interleaved: p50 and p99.
2. Reset latency (cached instance): Docker cold (a container started per reset) and from a warm pool,
   and local for comparison.
3. Memory per idle Docker sandbox (the container's cgroup usage: supervisor, bash, a started
   interpreter).
4. Concurrency: N Docker sandboxes, each driven by an "idle agent" (a think pause between steps),
   for growing N until the p99 of step latency exceeds 100 ms (or --max-sandboxes).

Run: .venv/bin/python benchmarks/bench_docker.py [--steps 500] [--resets 20] [--max-sandboxes 96]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.sandbox.base import SandboxLimits
from asibench_env.sandbox.container.launcher import docker_client
from asibench_env.sandbox.container.pool import shutdown_pools
from asibench_env.sandbox.container.sandbox import DockerSandbox
from asibench_env.tasks.instances import InstanceCache

TASK = "physics.damped_oscillator_fit"
STEP = {"tool": "bash", "arguments": {"command": "true"}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def row(name: str, values: list[float]) -> None:
    print(f"  {name:<44}{pct(values, 0.5):>10.2f}{pct(values, 0.99):>10.2f}{len(values):>8}")


def step_latency(cache: InstanceCache, steps: int) -> None:
    envs = {
        name: AsiBenchEnv(TASK, sandbox=name, instance_cache=cache, max_steps=10**9) for name in ("local", "docker")
    }
    timings: dict[str, list[float]] = {name: [] for name in envs}
    for env in envs.values():
        env.reset(seed=0)
        env.step(STEP)
    for _ in range(steps):
        for name, env in envs.items():  # interleaved, so both see the same machine load
            t0 = time.perf_counter()
            env.step(STEP)
            timings[name].append(time.perf_counter() - t0)
    for env in envs.values():
        env.close()
    print("\nenv.step(bash: true)                         p50 ms    p99 ms   calls")
    for name, values in timings.items():
        row(name, values)
    print(f"  docker / local p50 ratio: {pct(timings['docker'], 0.5) / pct(timings['local'], 0.5):.1f}x")


def reset_latency(cache: InstanceCache, resets: int) -> None:
    print("\nenv.reset (cached instance)                  p50 ms    p99 ms  resets")
    for label, sandbox, options in (
        ("local", "local", {}),
        ("docker, cold (container start per reset)", "docker", {"warm_pool": 0}),
        ("docker, warm pool of 2", "docker", {"warm_pool": 2}),
    ):
        env = AsiBenchEnv(TASK, sandbox=sandbox, sandbox_options=options, instance_cache=cache)
        env.reset(seed=0)
        values = []
        for _ in range(resets):
            if options.get("warm_pool"):
                time.sleep(1.5)  # an agent's episode: gives the pool time to refill, as in real use
            t0 = time.perf_counter()
            env.reset(seed=0)
            values.append(time.perf_counter() - t0)
        env.close()
        row(label, values)
    shutdown_pools()


def idle_memory(seed: Path, count: int = 5) -> None:
    client = docker_client()
    boxes = [DockerSandbox(seed) for _ in range(count)]
    for box in boxes:
        box.run_python("import numpy")  # an interpreter that has been used, as in a real episode
    time.sleep(1)
    usages = []
    for box in boxes:
        stats = client.api.stats(box.container_id, stream=False)
        memory = stats["memory_stats"]
        cache = memory.get("stats", {}).get("cache", 0)
        usages.append((memory["usage"] - cache) / 2**20)
    for box in boxes:
        box.close()
    print(f"\nmemory per idle Docker sandbox (RSS, after `import numpy`): {statistics.median(usages):.1f} MiB median")


_timings_lock = threading.Lock()


def _idle_agent(box: DockerSandbox, think_s: float, stop: float, timings: list[float]) -> None:
    """Steps with a think pause in between, until ``stop``; appends each step's latency."""
    rng = random.Random(id(box))
    time.sleep(rng.uniform(0, think_s))
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        box.exec("true")
        with _timings_lock:
            timings.append(time.perf_counter() - t0)
        time.sleep(rng.uniform(0.5, 1.5) * think_s)


def concurrency(seed: Path, max_sandboxes: int, think_s: float, window_s: float) -> None:
    print(f"\nconcurrent Docker sandboxes, idle agents ({think_s:.1f} s think time), {window_s:.0f} s per level")
    print("  sandboxes    step p50 ms   step p99 ms   steps")
    boxes: list[DockerSandbox] = []
    limits = SandboxLimits(memory_bytes=1024**3)
    caps = {"workspace_bytes": 256 * 1024**2, "tmp_bytes": 128 * 1024**2}
    level = 1
    while level <= max_sandboxes:
        while len(boxes) < level:
            boxes.append(DockerSandbox(seed, limits=limits, **caps))
        timings: list[float] = []
        stop = time.monotonic() + window_s
        threads = [threading.Thread(target=_idle_agent, args=(box, think_s, stop, timings)) for box in boxes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        p99 = pct(timings, 0.99)
        print(f"  {level:>9}    {pct(timings, 0.5):>11.2f}   {p99:>11.2f}   {len(timings):>5}")
        if p99 > 100:
            print(f"  -> step p99 passed 100 ms at {level} sandboxes")
            break
        level = level * 2 if level < 8 else level + 8
    else:
        print(f"  -> step p99 stayed under 100 ms up to {max_sandboxes} sandboxes (the limit of this run)")
    for box in boxes:
        box.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--max-sandboxes", type=int, default=96)
    parser.add_argument("--think", type=float, default=1.0, help="Mean pause between an idle agent's steps (s).")
    parser.add_argument("--window", type=float, default=10.0, help="Seconds measured per concurrency level.")
    args = parser.parse_args()
    cache = InstanceCache(Path(tempfile.mkdtemp(prefix="bench-instances-")))
    seed = Path(tempfile.mkdtemp(prefix="bench-seed-"))
    (seed / "data").mkdir()
    (seed / "prompt.md").write_text("benchmark")
    step_latency(cache, args.steps)
    reset_latency(cache, args.resets)
    idle_memory(seed)
    concurrency(seed, args.max_sandboxes, args.think, args.window)
    shutdown_pools()


if __name__ == "__main__":
    main()
