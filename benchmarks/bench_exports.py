"""Dataset exports (sft, dpo, kto) on synthetic runs of 200 and 1000 episodes: time, memory, bytes, determinism.

A run folder per size is written with TrajectoryWriter in trajectory schema 3, as an OpenAI chat agent
logs it: each episode has a prompt, the system prompt and the six built-in tools (message_format
``openai_chat``); each of its steps (20 by default) is one model turn with turn_id, tool_call_id, the
request's new messages (the previous tool result, about 2 KB) and the assistant's tool call. Episodes
come in rollout groups of 5 per instance (3 tasks x 2 levels, one seed per group), with varied scores
(0 to 100, ties included), about 5 % agent errors (score 0) and 3 % infra errors (left out).
The number of instances grows with N, so DPO pairs (at most 10 per group) grow linearly too; with a
fixed set of instances they would grow with the square of the episodes per instance.

Each export runs in a fresh process, through the functions the CLI calls (``sft_rows``, ``dpo_rows``,
``kto_rows`` with the CLI's defaults, kto at --threshold 50, then ``write_dataset`` to Parquet), so its
peak RSS growth (ru_maxrss after the export minus after the imports) is its own. Each export is run a
second time in another process and the two files' sha256 compared; the times shown are the faster of
the two runs (the machine may be shared), the memory and bytes those of the first.

Run: .venv/bin/python benchmarks/bench_exports.py [--sizes 200,1000] [--steps 20] [--obs-bytes 2048]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

KINDS = ("sft", "dpo", "kto")
TASKS = ("physics.damped_oscillator_fit", "chemistry.rate_constant_fit", "biology.growth_curve_fit")
LEVELS = ("B2", "B3")
GROUP_SIZE = 5
KTO_THRESHOLD = 50.0
SCORES = (0.0, 12.5, 40.0, 65.0, 80.0, 100.0, 100.0)
COMMANDS = ("ls -la data", "head -n 40 data/measurements.csv", "python fit.py", "cat results.json", "wc -l data/*.csv")


# ---------------------------------------------------------------------------------------------- the run folder
def _observation(rng: random.Random, size: int) -> str:
    """A tool output of about ``size`` characters: a table of numbers, as a fit or a listing prints."""
    line_count = max(1, size // 34)
    return "\n".join(f"{i:5d}  {rng.uniform(-5, 5):+.6f}  {rng.uniform(0, 1e3):11.4f}  ok" for i in range(line_count))


def _prompt(task: str, level: str, seed: int, rng: random.Random) -> str:
    body = " ".join(
        rng.choice(("fit", "the", "model", "to", "data", "report", "parameters", "with")) for _ in range(220)
    )
    return f"# {task} ({level}, seed {seed})\n\n{body}\n\nWrite results.json in the workspace, then submit."


def write_run(root: Path, episodes: int, steps: int, obs_bytes: int) -> float:
    """Write a synthetic run of ``episodes`` episodes to ``root``; return the seconds it took."""
    from asibench_env.agents.prompts import SYSTEM_PROMPT
    from asibench_env.envs.tools import tool_specs
    from asibench_env.trajectories import TrajectoryWriter

    started = time.perf_counter()
    rng = random.Random(0)
    tools = json.dumps(tool_specs("openai"))
    writer = TrajectoryWriter(root, "bench-run")
    clock = datetime(2026, 1, 1, tzinfo=UTC)
    prompts: dict[int, str] = {}
    for index in range(episodes):
        group, rollout = divmod(index, GROUP_SIZE)
        task, level = TASKS[group % len(TASKS)], LEVELS[(group // len(TASKS)) % len(LEVELS)]
        prompt = prompts.setdefault(group, _prompt(task, level, group, rng))
        draw = rng.random()
        status, score = (
            ("infra_error", None) if draw < 0.03 else ("agent_error", 0.0) if draw < 0.08 else ("scored", None)
        )
        if status == "scored":
            score = rng.choice(SCORES)
        identity = {
            "run_id": "bench-run",
            "episode_id": f"ep-{index:06d}",
            "task_id": task,
            "instance_id": f"{task}:{level}:{group}",
            "prompt_level": level,
            "seed": group,
        }
        rows: list[dict[str, Any]] = []
        for step in range(steps):
            last = step == steps - 1
            call_id = f"call_{index}_{step}"
            tool, arguments = ("submit", {}) if last else ("bash", {"command": rng.choice(COMMANDS)})
            if step == 0:
                delta: list[dict[str, Any]] = [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": prompt},
                ]
            else:
                previous = rows[-1]
                delta = [{"role": "tool", "tool_call_id": previous["tool_call_id"], "content": previous["observation"]}]
            reply = {
                "role": "assistant",
                "content": "Let me check the data next." if step % 4 == 0 else None,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": tool, "arguments": json.dumps(arguments)}}
                ],
            }
            observation = "Submitted." if last else _observation(rng, obs_bytes)
            clock += timedelta(seconds=2)
            rows.append(
                {
                    **identity,
                    "step_index": step,
                    "tool": tool,
                    "arguments_json": json.dumps(arguments),
                    "observation": observation,
                    "observation_chars": len(observation),
                    "observation_truncated": False,
                    "exit_code": 0,
                    "timed_out": False,
                    "tool_duration_s": 0.05,
                    "reward": (score or 0.0) / 100 if last else 0.0,
                    "terminated": last,
                    "truncated": False,
                    "started_at": clock,
                    "ended_at": clock + timedelta(seconds=1),
                    "model": "bench-model",
                    "input_tokens": 1500 + 600 * step,
                    "output_tokens": 40,
                    "turn_id": step,
                    "tool_call_id": call_id,
                    "finish_reason": "tool_calls",
                    "request_messages_json": json.dumps(delta),
                    "request_full": False,
                    "assistant_message_json": json.dumps(reply),
                    "assistant_text": reply["content"],
                }
            )
        scorers = [
            {"scorer_name": "file_match", "score": 20.0 if score else 0.0, "max_score": 20.0},
            {"scorer_name": "numerical:relative_l2", "score": max(0.0, (score or 0.0) - 20.0), "max_score": 80.0},
        ]
        episode = {
            **identity,
            "task_version": "1",
            "parameters_json": "{}",
            "agent": "openai",
            "model": "bench-model",
            "status": status,
            "end_reason": "submitted" if status == "scored" else status,
            "final_score": score,
            "max_possible_score": 100.0,
            "hard_gates_passed": status == "scored",
            "score_results_json": json.dumps(scorers) if status == "scored" else None,
            "steps": steps,
            "wall_time_s": 3.0 * steps,
            "finished_at": clock,
            "group_id": f"group-{group}",
            "rollout_index": rollout,
            "group_size": GROUP_SIZE,
            "reward": None if score is None else score / 100,
            "prompt": prompt,
            "system_prompt": SYSTEM_PROMPT,
            "tools_json": tools,
            "tool_format": "openai",
            "message_format": "openai_chat",
            "artifacts": [],
        }
        writer.write_episode(rows, episode)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- one export (child)
def export_once(kind: str, run_dir: Path, out: Path) -> dict[str, Any]:
    """Run one export as the CLI does and measure it (call in a fresh process)."""
    import pyarrow as pa
    import pyarrow.dataset  # noqa: F401 - imported before the baseline, as the export uses them
    import pyarrow.parquet  # noqa: F401

    from asibench_env.integrations.exports import ExportReport, dpo_rows, kto_rows, sft_rows, write_dataset
    from asibench_env.integrations.exports.models import RowModel

    builders: dict[str, Callable[[], tuple[Sequence[RowModel], ExportReport]]] = {
        "sft": lambda: sft_rows([run_dir]),
        "dpo": lambda: dpo_rows([run_dir]),
        "kto": lambda: kto_rows([run_dir], threshold=KTO_THRESHOLD),
    }
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rows, report = builders[kind]()
    t1 = time.perf_counter()
    write_dataset(rows, "sft" if kind == "sft" else "dpo" if kind == "dpo" else "kto", out)
    t2 = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": len(rows),
        "episodes_read": report.episodes_read,
        "build_s": t1 - t0,
        "write_s": t2 - t1,
        "rss_growth_mb": (peak_kb - base_kb) / 1024,
        "arrow_peak_mb": pa.default_memory_pool().max_memory() / 2**20,
        "bytes": out.stat().st_size,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }


def run_child(kind: str, run_dir: Path, out: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(run_dir), str(out)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} export of {run_dir} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,1000", help="Episode counts, separated by commas.")
    parser.add_argument("--steps", type=int, default=20, help="Steps (model turns) per episode.")
    parser.add_argument("--obs-bytes", type=int, default=2048, help="Size of each tool output.")
    parser.add_argument("--dir", type=Path, default=None, help="Where to write the runs (default: a temporary folder).")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "RUN_DIR", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, run_dir, out = args.child
        print(json.dumps(export_once(kind, Path(run_dir), Path(out))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-exports-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, int], dict[str, Any]] = {}
    checks: list[tuple[str, int, bool, float]] = []
    try:
        print(f"{args.steps} steps per episode, {args.obs_bytes} B tool outputs, groups of {GROUP_SIZE} per instance")
        for n in sizes:
            run_dir = work / f"run-{n}"
            seconds = write_run(run_dir, n, args.steps, args.obs_bytes)
            size = sum(p.stat().st_size for p in run_dir.rglob("*.parquet"))
            print(f"wrote {n} episodes in {seconds:.1f} s ({size / 2**20:.1f} MB of Parquet)")
        print(
            f"\n{'export':<6}{'episodes':>9}{'rows':>7}{'total s':>9}{'read+build':>11}{'write':>7}"
            f"{'episodes/s':>11}{'RSS +MB':>9}{'arrow MB':>9}{'out MB':>8}"
        )
        for kind in KINDS:
            for n in sizes:
                run_dir = work / f"run-{n}"
                first = run_child(kind, run_dir, work / f"{kind}-{n}.parquet")
                again = run_child(kind, run_dir, work / f"{kind}-{n}-again.parquet")
                if again["build_s"] + again["write_s"] < first["build_s"] + first["write_s"]:
                    first = {**first, "build_s": again["build_s"], "write_s": again["write_s"]}
                results[(kind, n)] = first
                total = first["build_s"] + first["write_s"]
                checks.append((kind, n, first["sha256"] == again["sha256"], again["build_s"] + again["write_s"]))
                print(
                    f"{kind:<6}{n:>9}{first['rows']:>7}{total:>9.2f}{first['build_s']:>11.2f}{first['write_s']:>7.2f}"
                    f"{first['episodes_read'] / total:>11.0f}{first['rss_growth_mb']:>9.0f}"
                    f"{first['arrow_peak_mb']:>9.0f}{first['bytes'] / 2**20:>8.2f}"
                )
        if len(sizes) >= 2:
            small, big = sizes[0], sizes[-1]
            print(f"\nratios {big} / {small} episodes (linear: {big / small:.1f}x)")
            print(f"{'export':<6}{'time':>8}{'rows':>8}{'RSS':>8}{'bytes':>8}")
            for kind in KINDS:
                a, b = results[(kind, small)], results[(kind, big)]
                time_ratio = (b["build_s"] + b["write_s"]) / (a["build_s"] + a["write_s"])
                rss = b["rss_growth_mb"] / a["rss_growth_mb"] if a["rss_growth_mb"] > 0 else float("nan")
                print(
                    f"{kind:<6}{time_ratio:>7.2f}x{b['rows'] / a['rows']:>7.2f}x{rss:>7.2f}x"
                    f"{b['bytes'] / a['bytes']:>7.2f}x"
                )
        print("\nre-export in a new process: identical bytes?")
        for kind, n, same, seconds in checks:
            print(f"{kind:<6}{n:>9}  {'identical' if same else 'DIFFERENT'}  ({seconds:.2f} s)")
        if not all(check[2] for check in checks):
            raise SystemExit("a re-export gave different bytes")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
