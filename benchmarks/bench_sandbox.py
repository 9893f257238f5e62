"""LocalSandbox latency: exec("true"), run_python("1"), and start+close, with and without namespaces.

Run: .venv/bin/python benchmarks/bench_sandbox.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from asibench_env.sandbox.local import LocalSandbox


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()
    seed = Path(tempfile.mkdtemp())
    (seed / "data").mkdir()
    (seed / "prompt.md").write_text("benchmark")
    LocalSandbox(seed).close()  # build the runtime outside the measurement
    print(f"{'isolation':<12}{'measure':<26}{'p50 ms':>10}{'p99 ms':>10}")
    for isolation in ("namespaces", "none"):
        starts = []
        for _ in range(args.starts):
            t0 = time.perf_counter()
            LocalSandbox(seed, isolation=isolation).close()
            starts.append(time.perf_counter() - t0)
        with LocalSandbox(seed, isolation=isolation) as box:
            box.exec("true")
            box.run_python("1")
            rows = {
                'exec("true")': timed(lambda box=box: box.exec("true"), args.calls),
                'run_python("1")': timed(lambda box=box: box.run_python("1"), args.calls),
                "start + close": starts,
            }
        for name, values in rows.items():
            print(f"{isolation:<12}{name:<26}{pct(values, 0.5):>10.3f}{pct(values, 0.99):>10.3f}")


if __name__ == "__main__":
    main()
