"""Calibration of every built-in task at a larger N than CI: the task validator with many seeds.

Reports, per task: the oracle's minimum and mean score over N seeds x 4 levels (even seeds default
parameters, odd seeds random draws), the empty submission's score, the worst naive score (zeros and
data mean, over several seeds), and the time the checks took.

Run: .venv/bin/python benchmarks/bench_tasks.py [--seeds 12] [--naive-seeds 4] [--tasks id,id]
"""

from __future__ import annotations

import argparse
import time

from asibench_env.paths import BUILTIN_TASKS_DIR
from asibench_env.runs.validation import ValidationOptions, validate_task
from asibench_env.tasks.loading import load_task
from asibench_env.tasks.registry import task_dirs_under


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--naive-seeds", type=int, default=4)
    parser.add_argument("--tasks", default="", help="Task ids separated by commas (default: all built-in).")
    parser.add_argument("--sandbox", default="local")
    args = parser.parse_args()
    wanted = {t.strip() for t in args.tasks.split(",") if t.strip()}
    options = ValidationOptions(seeds=args.seeds, naive_seeds=args.naive_seeds, sandbox=args.sandbox)
    print(f"{'task':<44}{'oracle min':>11}{'mean':>7}{'empty':>7}{'naive max':>10}{'min':>6}  verdict")
    failed = 0
    for task_dir in task_dirs_under(BUILTIN_TASKS_DIR):
        task_id = load_task(task_dir).id
        if wanted and task_id not in wanted:
            continue
        started = time.monotonic()
        report = validate_task(task_dir, options)
        checks = {c.name: c for c in report.checks}
        oracle = checks.get("oracle")
        naive = checks.get("naive")
        empty = checks.get("null")
        worst_naive = max(naive.values.values()) if naive and naive.values else float("nan")
        print(
            f"{task_id:<44}{oracle.values.get('min', float('nan')) if oracle else float('nan'):>11.1f}"
            f"{oracle.values.get('mean', float('nan')) if oracle else float('nan'):>7.1f}"
            f"{empty.values.get('score', float('nan')) if empty else float('nan'):>7.1f}"
            f"{worst_naive:>10.1f}{(time.monotonic() - started) / 60:>6.1f}  {'ok' if report.ok else 'FAILED'}"
        )
        for check in report.checks:
            if not check.ok:
                print(f"    {check.name}: {check.detail}")
        failed += not report.ok
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
