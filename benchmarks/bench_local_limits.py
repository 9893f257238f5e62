"""What the local sandbox's whole-sandbox limits cost: start, first round trips and close, whole_limits auto vs off.

``whole_limits="auto"`` creates a cgroup per sandbox (memory, pids, cpu) and mounts a size-capped tmpfs
on its workspace where the host allows it (see docs/security.md, "Local sandbox"); ``"off"`` keeps the
per-process rlimits only. Both use namespaces and no warm pool. Each of ``--sandboxes`` rounds starts,
uses and closes one sandbox of each setting, in alternating order (auto first, then off first) to cancel
drift, and times:

- start: ``LocalSandbox(seed, whole_limits=...)`` (folders, cgroup and tmpfs, namespaces, shell, seed copy);
- first exec: the first ``exec("true")`` round trip;
- first python: the first ``run_python("1")`` (starts the interpreter, which joins the cgroup too);
- close: ``close()`` (kills the namespace, removes the cgroup, unmounts the tmpfs, removes the folder).

The first sandbox of each setting (runtime build, sweep) is not counted. What each setting reports as
enforced (``isolation.details``) is printed at the end.

Run: .venv/bin/python benchmarks/bench_local_limits.py [--sandboxes 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from asibench_env.sandbox.local import LocalSandbox

MODES = ("auto", "off")
PHASES = ("start", "first exec", "first python", "close", "total")
DETAILS = ("memory", "processes", "cpu", "workspace", "cgroup", "limits")


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def one_sandbox(seed: Path, mode: str) -> tuple[dict[str, float], dict[str, str | None]]:
    """Start, use and close one sandbox; the seconds of each phase and its isolation details."""
    t0 = time.perf_counter()
    box = LocalSandbox(seed, whole_limits=mode)
    t1 = time.perf_counter()
    try:
        exec_result = box.exec("true")
        t2 = time.perf_counter()
        python_result = box.run_python("1")
        t3 = time.perf_counter()
        if exec_result.exit_code != 0 or python_result.exit_code != 0:
            raise SystemExit(f"whole_limits={mode}: a round trip failed: {exec_result!r} {python_result!r}")
        details = dict(box.isolation.details)
    finally:
        t4 = time.perf_counter()
        box.close()
        t5 = time.perf_counter()
    times = {"start": t1 - t0, "first exec": t2 - t1, "first python": t3 - t2, "close": t5 - t4, "total": t5 - t0}
    return times, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sandboxes", type=int, default=15, help="Sandboxes timed per setting.")
    args = parser.parse_args()
    seed = Path(tempfile.mkdtemp(prefix="bench-local-limits-seed-"))
    try:
        (seed / "data").mkdir()
        (seed / "data" / "x.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(1000)))
        (seed / "prompt.md").write_text("benchmark")
        details: dict[str, dict[str, str | None]] = {}
        for mode in MODES:  # runtime build and sweep, outside the measurement
            details[mode] = one_sandbox(seed, mode)[1]
        samples: dict[str, dict[str, list[float]]] = {m: {p: [] for p in PHASES} for m in MODES}
        for round_index in range(args.sandboxes):
            order = MODES if round_index % 2 == 0 else MODES[::-1]
            for mode in order:
                times, _ = one_sandbox(seed, mode)
                for phase, seconds in times.items():
                    samples[mode][phase].append(seconds)
    finally:
        shutil.rmtree(seed, ignore_errors=True)

    print(f"local sandbox, namespaces, no warm pool; {args.sandboxes} sandboxes per setting, interleaved\n")
    print(f"{'phase':<14}" + "".join(f"{m + ' p50':>11}{m + ' p90':>11}" for m in MODES) + f"{'auto/off p50':>14}")
    for phase in PHASES:
        line = f"{phase:<14}"
        for mode in MODES:
            values = samples[mode][phase]
            line += f"{statistics.median(values) * 1e3:>9.1f}ms{p90(values) * 1e3:>9.1f}ms"
        ratio = statistics.median(samples["auto"][phase]) / statistics.median(samples["off"][phase])
        print(f"{line}{ratio:>13.2f}x")
    for mode in MODES:
        print(f"\nwhole_limits={mode!r}: isolation.details")
        for key in DETAILS:
            print(f"  {key:<10} {details[mode].get(key, '(not reported)')}")


if __name__ == "__main__":
    main()
