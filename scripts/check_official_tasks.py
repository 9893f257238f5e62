"""Run the official ASI-Bench sample tasks end to end: the null agent must score 0, a reference writer 100.

Usage: .venv/bin/python scripts/check_official_tasks.py PATH/TO/ASI-Bench/tasks [--level B3]

Needs a checkout of the public ASI-Bench repository (not shipped here, so this is a maintainer's
check rather than a test). Every task of the folder that has a generator is run twice at the level:
with :class:`~asibench_env.agents.NullAgent`, and with an agent that writes each declared output from
the instance's reference file of the same name (or ``<stem>_ref<suffix>``, or the ``ref_file`` a
scorer pairs with it), with placeholders for the rest. Prints one line per episode; exits 1 when a
null episode scores above 0 or a reference episode below 99.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asibench_env.agents import NullAgent
from asibench_env.envs.task_env import AsiBenchEnv
from asibench_env.runs.runner import EpisodeSpec, run_episode
from asibench_env.tasks.instances import InstanceCache
from asibench_env.tasks.registry import TaskRegistry


def _scorer_pairs(node: Any) -> Iterator[tuple[str, str]]:
    """(prediction file, reference file) pairs named in scorer configs, however nested."""
    if isinstance(node, dict):
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        if config.get("pred_file") and config.get("ref_file"):
            yield config["pred_file"], config["ref_file"]
        for value in node.values():
            yield from _scorer_pairs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _scorer_pairs(value)


def _write(path: str, data: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    code = (
        f"import base64, pathlib; p = pathlib.Path({path!r}); p.parent.mkdir(parents=True, exist_ok=True); "
        f"p.write_bytes(base64.b64decode({encoded!r}))"
    )
    return {"tool": "python", "arguments": {"code": code}}


class ReferenceWriter:
    """Writes the reference answers as the outputs (privileged: it reads the host-side reference folder)."""

    name = "reference-writer"

    def __init__(self, env: AsiBenchEnv) -> None:
        self.env = env
        self.plan: list[dict[str, Any]] = []

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        instance, task = self.env.instance, self.env.task
        assert instance is not None
        sources = dict(_scorer_pairs(task.evaluation))
        self.plan = []
        for spec in task.outputs:
            name = Path(spec.name)
            candidates = [sources.get(spec.name), name.name, f"{name.stem}_ref{name.suffix}"]
            found = next(
                (instance.reference_dir / c for c in candidates if c and (instance.reference_dir / c).is_file()), None
            )
            self.plan.append(_write(spec.name, found.read_bytes() if found else b"# placeholder\n"))
        self.plan.append({"tool": "submit", "arguments": {}})

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        return self.plan.pop(0)

    def end(self, reward: float, info: dict[str, Any]) -> None:
        self.plan = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks_dir", type=Path, help="the tasks/ folder of an ASI-Bench checkout")
    parser.add_argument("--level", default="B3")
    args = parser.parse_args()
    registry = TaskRegistry([args.tasks_dir], include_builtin=False)
    cache = InstanceCache(Path(tempfile.mkdtemp(prefix="asibench-official-")))
    failed = 0
    for task in [t for t in registry if t.has_generator]:
        for kind in ("null", "reference"):
            env = AsiBenchEnv(task.id, registry=registry, instance_cache=cache, level=args.level, max_wall_time_s=7200)
            agent = NullAgent() if kind == "null" else ReferenceWriter(env)
            started = time.monotonic()
            result = run_episode(env, agent, EpisodeSpec(task.id, args.level, 0))
            score = result.final_score
            bad = score is None or (score > 0 if kind == "null" else score < 99)
            failed += bad
            print(
                f"{'FAIL' if bad else 'ok  '} {task.id:55s} {kind:9s} {result.status:11s} "
                f"{'-' if score is None else f'{score:.1f}'}  {time.monotonic() - started:.0f} s  {result.error or ''}",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
