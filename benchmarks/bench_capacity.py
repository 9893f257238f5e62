"""Capacity of one machine: how many concurrent episodes the env side sustains within a step-latency bound.

Run: .venv/bin/python benchmarks/bench_capacity.py [--quick] [--backends local,docker] [--json OUT.json]

1. Records trajectories by running the oracle agent (agents/oracle.py) on built-in tasks with the sync
   batch runner at concurrency 1, 2 and 4 (local sandbox; instances generated beforehand), which also
   gives the oracle's episodes per hour at each concurrency. The replay corpus is each recorded
   trajectory's tool calls read back from the run's Parquet steps table, without its submit. A call
   that ran the agent's own program (the solver: its recorded in-sandbox time is over 50 ms) is
   replayed as ``ls -la`` of the same folder: its compute is the agent's, not the env's.
2. For each sandbox backend, agents on one event loop (the async env API) think for a lognormal time
   (seeded; median ``--think-median`` s, sigma ``--think-sigma``, capped at 60 s), then replay the next
   call of their task's trajectory. The number of concurrent episodes is ramped (8, 16, 32, ...) until
   the step latency p99 (time from ``step_async`` to its return; think time excluded) goes over the
   bound (``--p99-ms``, 50), then binary-searched between the last level within it and the first over.
   Each level also reports the env's overhead: the latency minus the command's own run time in the
   sandbox (``info["duration_s"]``; the Docker supervisor measures it inside the container);
   ``--bound-on overhead`` searches on that instead.
3. At each level, memory per idle episode: for the local sandbox the PSS of every process of the
   sandboxes (/proc/PID/smaps_rollup, from each sandbox's unshare process down); for Docker the
   containers' cgroup memory (memory.usage_in_bytes: processes, page cache and their tmpfs files) plus
   the PSS of their containerd shims, plus the growth of dockerd, containerd and the fuse-overlayfs
   daemons (one per container where that is the storage driver); plus, for both, the
   growth of this process's RSS (the env objects). Reported beside it, not added: the kernel's growth
   (slab, kernel stacks, page tables, shmem) and the drop of MemAvailable per episode (both machine-wide,
   so other work on the machine shows in them).

Prints a table per phase and, with ``--json``, writes every number. ``--quick`` runs it at a tiny scale
(for the smoke test in tests/test_bench_capacity.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

P99_BOUND_MS = 50.0
SOLVER_MS = 50.0
RAMP = (8, 16, 32, 64, 128, 256, 384, 512, 768, 1024)
MIN_FREE_BYTES = 3 * 1024**3


# ---------------------------------------------------------------------------------------- statistics
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)] if ordered else float("nan")


# ---------------------------------------------------------------------------------------- memory
def _kib_field(path: str, field: str) -> int:
    with contextlib.suppress(OSError), open(path) as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def pss(pid: int) -> int:
    """Proportional set size of one process in bytes (0 when it is gone)."""
    return _kib_field(f"/proc/{pid}/smaps_rollup", "Pss")


def rss_self() -> int:
    return _kib_field("/proc/self/status", "VmRSS")


def mem_available() -> int:
    return _kib_field("/proc/meminfo", "MemAvailable")


def mem_total() -> int:
    return _kib_field("/proc/meminfo", "MemTotal")


def kernel_memory() -> int:
    """The kernel's own memory (slab, kernel stacks, page tables) and shared memory (tmpfs), in bytes."""
    return sum(_kib_field("/proc/meminfo", f) for f in ("Slab", "KernelStack", "PageTables", "Shmem"))


def process_tree(pid: int) -> Iterator[int]:
    """``pid`` and all its descendants."""
    yield pid
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    yield from process_tree(int(child))


def pids_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as handle:
                if handle.read().strip() == name:
                    found.append(int(entry))
    return found


def daemons_pss() -> int:
    # fuse-overlayfs: the storage driver's daemon, one per container where Docker uses it.
    return sum(pss(pid) for name in ("dockerd", "containerd", "fuse-overlayfs") for pid in pids_named(name))


def container_memory(container_id: str) -> int:
    """A container's cgroup memory (v1 or v2) plus its containerd shim's PSS, in bytes."""
    total = 0
    for path in (
        f"/sys/fs/cgroup/memory/docker/{container_id}/memory.usage_in_bytes",
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.current",
        f"/sys/fs/cgroup/docker/{container_id}/memory.current",
    ):
        with contextlib.suppress(OSError, ValueError):
            total = int(Path(path).read_text())
            break
    for pid in pids_named("containerd-shim"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as handle:
            if container_id.encode() in handle.read():
                total += pss(pid)
    return total


def sandbox_memory(env: Any) -> int:
    """Memory of one episode's sandbox (see the module docstring)."""
    box = env.sandbox
    if box is None:
        return 0
    if getattr(box, "container_id", None):
        return container_memory(box.container_id)
    shell = getattr(box, "_shell", None)
    return sum(pss(pid) for pid in process_tree(shell.pid)) if shell is not None else 0


# ---------------------------------------------------------------------------------------- phase 1
def oracle_phase(tasks: list[str], seeds: list[int], concurrencies: list[int], work: Path) -> dict[str, Any]:
    """Oracle episodes per hour at each concurrency (sync batch runner), and the recorded trajectories."""
    from asibench_env.agents.oracle import OracleAgent
    from asibench_env.runs.batch import run_batch
    from asibench_env.runs.runner import plan_episodes
    from asibench_env.tasks.instances import InstanceCache, sample_params
    from asibench_env.tasks.registry import builtin_registry

    registry = builtin_registry()
    cache = InstanceCache()
    for task_id in tasks:  # generate every instance first: the runs measure episodes, not generators
        task = registry.get(task_id)
        for seed in seeds:
            cache.get(task, sample_params(task, seed, "default"))
    specs = plan_episodes(tasks, ["B3"], seeds)
    rows = []
    for concurrency in concurrencies:
        out = work / f"oracle-c{concurrency}"
        started = time.perf_counter()
        outcome = run_batch(
            specs, OracleAgent, out, registry=registry, concurrency=concurrency, show_progress=False, max_retries=0
        )
        wall = time.perf_counter() - started
        scored = sum(1 for r in outcome.results if r.status == "scored")
        rows.append(
            {
                "concurrency": concurrency,
                "episodes": len(outcome.results),
                "scored": scored,
                "wall_s": wall,
                "episodes_per_hour": len(outcome.results) / wall * 3600,
            }
        )
        print(
            f"oracle  concurrency={concurrency}  episodes={len(outcome.results):>3} (scored {scored})  "
            f"wall={wall:7.1f} s  -> {rows[-1]['episodes_per_hour']:8.0f} episodes/hour"
        )
    return {"rows": rows, "trajectories": work / f"oracle-c{concurrencies[0]}"}


def replay_corpus(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each task's recorded tool calls (no submit), solver runs replaced by a listing (see the docstring)."""
    from asibench_env.trajectories.reader import load

    table = load(run_dir).to_table(
        columns=["task_id", "episode_id", "step_index", "tool", "arguments_json", "tool_duration_s"]
    )
    rows = sorted(table.to_pylist(), key=lambda r: (r["task_id"], r["episode_id"], r["step_index"]))
    corpus: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["tool"] in (None, "submit"):
            continue
        arguments = json.loads(row["arguments_json"] or "{}")
        if row["tool"] in ("bash", "python") and (row["tool_duration_s"] or 0) * 1000 > SOLVER_MS:
            call = {"tool": "bash", "arguments": {"command": "ls -la .oracle"}}
        else:
            call = {"tool": row["tool"], "arguments": arguments}
        corpus.setdefault(row["task_id"], []).append(call)
    if not corpus:
        raise SystemExit(f"no tool calls recorded under {run_dir}")
    return corpus


# ---------------------------------------------------------------------------------------- phase 2
class CapacityProbe:
    """Agents on one event loop against one sandbox backend; the number of episodes can be moved."""

    def __init__(self, backend: str, corpus: dict[str, list[dict[str, Any]]], args: argparse.Namespace):
        from asibench_env.tasks.instances import InstanceCache
        from asibench_env.tasks.registry import builtin_registry

        self.backend, self.corpus, self.args = backend, corpus, args
        self.registry, self.cache = builtin_registry(), InstanceCache()
        self.rng = random.Random(args.seed)
        self.agents: list[tuple[asyncio.Task[None], Any]] = []
        self.samples: list[tuple[float, float]] | None = None
        self.errors = 0
        self.reset_gate = asyncio.Semaphore(args.reset_concurrency)
        self.started = 0

    def think(self) -> float:
        return min(60.0, self.rng.lognormvariate(math.log(self.args.think_median), self.args.think_sigma))

    async def agent(self, index: int, holder: dict[str, Any], ready: asyncio.Event) -> None:
        from asibench_env.envs.task_env import AsiBenchEnv

        task_id = sorted(self.corpus)[index % len(self.corpus)]
        calls = self.corpus[task_id]
        options = {"warm_pool": 0} if self.backend == "docker" else {}
        env = AsiBenchEnv(
            task_id,
            registry=self.registry,
            instance_cache=self.cache,
            sandbox=self.backend,
            sandbox_options=options,
            max_steps=10**9,
            max_wall_time_s=1e9,
        )
        holder["env"] = env
        try:
            async with self.reset_gate:
                await env.reset_async(seed=index % 2)
            self.started += 1
            ready.set()
            step = 0
            await asyncio.sleep(self.rng.uniform(0, self.args.think_median))  # spread the first steps out
            while True:
                await asyncio.sleep(self.think())
                t0 = time.perf_counter()
                _, _, terminated, truncated, info = await env.step_async(calls[step % len(calls)])
                elapsed = time.perf_counter() - t0
                step += 1
                if info.get("status") == "infra_error" or terminated or truncated:
                    self.errors += 1
                    await env.reset_async(seed=index % 2)
                elif self.samples is not None:
                    # The command's own run time in the sandbox (the Docker supervisor measures it inside).
                    ran = float(info.get("duration_s") or 0.0)
                    self.samples.append((elapsed, max(0.0, elapsed - ran)))
        finally:
            ready.set()
            await asyncio.shield(asyncio.to_thread(env.close))

    async def set_episodes(self, count: int) -> None:
        while len(self.agents) > count:
            task, _ = self.agents.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        waits = []
        while len(self.agents) < count:
            holder: dict[str, Any] = {}
            ready = asyncio.Event()
            task = asyncio.create_task(self.agent(len(self.agents), holder, ready))
            self.agents.append((task, holder))
            waits.append(ready.wait())
        await asyncio.gather(*waits)
        for task, _ in self.agents:
            if task.done() and task.exception() is not None:
                raise RuntimeError(f"an episode failed to start: {task.exception()}")

    def memory(self) -> int:
        return sum(sandbox_memory(holder["env"]) for _, holder in self.agents if "env" in holder)

    async def measure(self, count: int) -> dict[str, Any]:
        await self.set_episodes(count)
        await asyncio.sleep(self.args.settle)
        self.samples = []
        started = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            waited = time.monotonic() - started
            if waited >= self.args.window and (
                len(self.samples) >= self.args.min_samples or waited >= 4 * self.args.window
            ):
                break
        samples, self.samples = self.samples, None
        sandboxes = await asyncio.to_thread(self.memory)
        ms = [s[0] * 1000 for s in samples]
        overhead = [s[1] * 1000 for s in samples]
        return {
            "episodes": count,
            "steps": len(ms),
            "p50_ms": pct(ms, 0.5),
            "p99_ms": pct(ms, 0.99),
            "overhead_p50_ms": pct(overhead, 0.5),
            "overhead_p99_ms": pct(overhead, 0.99),
            "max_ms": max(ms) if ms else float("nan"),
            "steps_per_s": len(ms) / max(1e-9, time.monotonic() - started),
            "sandbox_bytes": sandboxes,
            "mem_available": mem_available(),
            "load_average_1m": os.getloadavg()[0],
        }


async def capacity_phase(
    backend: str, corpus: dict[str, list[dict[str, Any]]], args: argparse.Namespace
) -> dict[str, Any]:
    probe = CapacityProbe(backend, corpus, args)
    rss0, daemons0, available0, kernel0 = rss_self(), daemons_pss(), mem_available(), kernel_memory()
    levels: list[dict[str, Any]] = []

    async def level(count: int) -> bool:
        row = await probe.measure(count)
        row["host_process_bytes_per_episode"] = (rss_self() - rss0) / count
        if backend == "docker":
            row["daemon_bytes_per_episode"] = (daemons_pss() - daemons0) / count
        per = (
            row["sandbox_bytes"] / count
            + row.get("daemon_bytes_per_episode", 0)
            + max(0, row["host_process_bytes_per_episode"])
        )
        row["bytes_per_episode"] = per
        row["machine_available_drop_per_episode"] = (available0 - row["mem_available"]) / count
        row["kernel_bytes_per_episode"] = (kernel_memory() - kernel0) / count
        row["within_bound"] = row["overhead_p99_ms" if args.bound_on == "overhead" else "p99_ms"] < args.p99_ms
        levels.append(row)
        print(
            f"{backend:<6} N={count:>5}  steps={row['steps']:>6}  p50={row['p50_ms']:7.2f} ms  "
            f"p99={row['p99_ms']:7.2f} ms  max={row['max_ms']:7.1f} ms  {row['steps_per_s']:6.1f} steps/s  "
            f"overhead p99={row['overhead_p99_ms']:6.2f} ms  "
            f"mem/episode={per / 2**20:6.1f} MiB (MemAvailable drop "
            f"{row['machine_available_drop_per_episode'] / 2**20:6.1f} MiB)  load {row['load_average_1m']:4.1f}  "
            f"{'ok' if row['within_bound'] else 'OVER'}"
        )
        return bool(row["within_bound"])

    best, first_over = 0, None
    try:
        for count in [n for n in RAMP if n <= args.max_episodes] or [args.max_episodes]:
            if mem_available() < MIN_FREE_BYTES:
                print(f"{backend}: stopping the ramp, less than {MIN_FREE_BYTES / 2**30:.0f} GiB of memory left")
                break
            if await level(count):
                best = count
            else:
                first_over = count
                break
        if first_over is not None:
            low, high = best, first_over
            while high - low > max(args.resolution, low // 8):
                middle = (low + high) // 2
                if await level(middle):
                    low = middle
                else:
                    high = middle
            best = low
    finally:
        await probe.set_episodes(0)
    idle = [row for row in levels if row["episodes"] >= 8] or levels
    per_episode = min(idle, key=lambda r: -r["episodes"])["bytes_per_episode"] if idle else float("nan")
    cores = os.cpu_count() or 1
    total = mem_total()
    return {
        "backend": backend,
        "max_episodes_within_bound": best,
        "bound_reached": first_over is not None,
        "searched_up_to": max(row["episodes"] for row in levels) if levels else 0,
        "episodes_per_core": best / cores,
        "episodes_per_gib": best / (total / 2**30),
        "bytes_per_idle_episode": per_episode,
        "memory_bound_episodes": int(total * 0.9 / per_episode) if per_episode > 0 else None,
        "step_errors": probe.errors,
        "levels": levels,
    }


# ---------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny scale, for the smoke test")
    parser.add_argument("--backends", default="local,docker")
    parser.add_argument("--json", type=Path, default=None, help="write every number to this file")
    parser.add_argument("--p99-ms", type=float, default=P99_BOUND_MS)
    parser.add_argument("--max-episodes", type=int, default=512)
    parser.add_argument("--think-median", type=float, default=3.0, help="seconds")
    parser.add_argument("--think-sigma", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured per level (at least)")
    parser.add_argument("--min-samples", type=int, default=500)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--reset-concurrency", type=int, default=4)
    parser.add_argument("--oracle-tasks", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oracle-concurrency", type=lambda text: [int(c) for c in text.split(",")], default=[1, 2, 4])
    parser.add_argument(
        "--bound-on",
        choices=["total", "overhead"],
        default="total",
        help="the latency the bound applies to: the whole step, or the step minus the command's own run "
        "time in the sandbox (what the env side adds)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.max_episodes, args.window, args.min_samples, args.settle = 8, 2.0, 20, 0.5
        args.think_median, args.resolution, args.oracle_tasks = 0.2, 4, 1

    from asibench_env.paths import runtimes_dir
    from asibench_env.tasks.registry import builtin_registry

    with tempfile.TemporaryDirectory(prefix="asibench-capacity-") as tmp:
        work = Path(tmp)
        # A private instance cache; the task runtimes (slow to build) stay shared.
        os.environ.setdefault("ASIBENCH_ENV_RUNTIMES", str(runtimes_dir()))
        os.environ["ASIBENCH_ENV_CACHE"] = str(work / "cache")
        tasks = builtin_registry().ids()[: args.oracle_tasks]
        seeds = [0, 1] if args.quick else [0]
        oracle = oracle_phase(tasks, seeds, args.oracle_concurrency, work)
        corpus = replay_corpus(oracle["trajectories"])
        print(f"replay corpus: {sum(map(len, corpus.values()))} calls of {len(corpus)} tasks")
        report: dict[str, Any] = {
            "machine": {"cores": os.cpu_count(), "memory_bytes": mem_total()},
            "settings": {k: v for k, v in vars(args).items() if k != "json"},
            "oracle": oracle["rows"],
            "corpus": {task: calls for task, calls in corpus.items()},
            "capacity": [],
        }
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            result = asyncio.run(capacity_phase(backend, corpus, args))
            report["capacity"].append(result)
            reached = result["max_episodes_within_bound"]
            stopped = "" if result["bound_reached"] else f" (searched up to {result['searched_up_to']}: bound not hit)"
            print(
                f"{backend}: {reached} concurrent episodes within p99 < {args.p99_ms:.0f} ms{stopped}; "
                f"{result['episodes_per_core']:.0f}/core, {result['episodes_per_gib']:.1f}/GiB; "
                f"{result['bytes_per_idle_episode'] / 2**20:.1f} MiB per idle episode"
            )
            if backend == "docker":
                from asibench_env.sandbox.container.pool import shutdown_pools

                shutdown_pools()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return report


if __name__ == "__main__":
    main()
