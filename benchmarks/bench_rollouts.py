"""Grouped rollouts per minute from the scripted policy server, at several concurrencies.

Run: .venv/bin/python benchmarks/bench_rollouts.py [--groups 4] [--group-size 4] [--delay 0.2] [--concurrency 1,4]
The policy (tests/fake_model_server.py ScriptedPolicyServer) solves a built-in task with the oracle's
tool calls, answering every request after ``--delay`` seconds (a stand-in for generation time); the
env side runs for real (local sandbox, scoring, Parquet). Prints rollouts per minute per concurrency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_model_server import ScriptedPolicyServer  # noqa: E402

from asibench_env.agents.oracle import OracleAgent  # noqa: E402
from asibench_env.rollouts import PolicyConfig, collect_rollouts  # noqa: E402
from asibench_env.runs.runner import EpisodeSpec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="computer_science.queue_service_rates")
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the policy takes per request")
    parser.add_argument("--concurrency", default="1,4")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "local")
    episodes = [EpisodeSpec(args.task, "B3", seed) for seed in range(args.groups)]
    actions = OracleAgent().solve_actions(args.task)
    # warm the instance cache and the task runtime, so every concurrency sees cached resets
    with ScriptedPolicyServer(actions) as server, tempfile.TemporaryDirectory() as tmp:
        collect_rollouts(episodes, PolicyConfig(model="scripted", base_url=server.base_url), tmp, group_size=1)
    print(f"task {args.task}, {args.groups} groups x {args.group_size}, policy delay {args.delay} s per request")
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        with ScriptedPolicyServer(actions, delay_s=args.delay) as server, tempfile.TemporaryDirectory() as tmp:
            policy = PolicyConfig(model="scripted", base_url=server.base_url)
            started = time.monotonic()
            outcome = collect_rollouts(episodes, policy, tmp, group_size=args.group_size, concurrency=concurrency)
            elapsed = time.monotonic() - started
        done = len(outcome.results)
        complete = sum(g.complete for g in outcome.groups)
        print(
            f"concurrency {concurrency:>2}: {done} rollouts in {elapsed:6.1f} s = "
            f"{60 * done / elapsed:6.1f} rollouts/min  ({complete}/{len(outcome.groups)} groups complete)"
        )


if __name__ == "__main__":
    main()
