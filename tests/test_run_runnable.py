"""`run` checks runnability before starting, and plans downloaded instances by id (seeds select generated ones)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from asibench_env.runs.batch import finished_specs
from asibench_env.runs.runner import EpisodeSpec, plan_episodes
from asibench_env.trajectories import load
from tests.helpers import CLI, cli_env

OFFICIAL_LIKE = Path(__file__).parent / "fixtures" / "official_like"
TASKS, INSTANCES = OFFICIAL_LIKE / "tasks", OFFICIAL_LIKE / "instances"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*CLI, "run", "--agent", "null", "--quiet", "--tasks-dir", str(TASKS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)


def test_plan_runs_downloaded_instances_once_per_level_without_seeds() -> None:
    specs = plan_episodes(["a.gen", "b.dl"], ["B1", "B3"], [0, 1, 2], {"b.dl": ["b.dl__x", "b.dl__y"]})
    assert [s for s in specs if s.task_id == "a.gen"] == [
        EpisodeSpec("a.gen", level, seed) for level in ("B1", "B3") for seed in (0, 1, 2)
    ]
    assert [s for s in specs if s.task_id == "b.dl"] == [
        EpisodeSpec("b.dl", level, None, name) for level in ("B1", "B3") for name in ("b.dl__x", "b.dl__y")
    ]
    assert len({s.key for s in specs}) == len(specs)


def test_unrunnable_tasks_are_refused_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    for tasks in ("all", "contract.mean_estimate,sample.noisy_mean"):
        proc = _run(tmp_path, "--tasks", tasks, "--out", str(out))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "contract.mean_estimate" in lines[0] and "cannot run here" in lines[0]
        assert "--instances-dir" in lines[0] and "--skip-unrunnable" in lines[0]
        assert "sample.noisy_mean" not in lines[0]
        assert not out.exists()


def test_skip_unrunnable_runs_the_others_and_lists_the_skipped(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _run(
        tmp_path,
        *("--tasks", "contract.mean_estimate,contract.judged_summary,sample.noisy_mean"),
        *("--levels", "B1", "--seeds", "0", "--out", str(out), "--skip-unrunnable"),
    )
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "Skipped 2 task(s) that cannot run here" in text
    assert "contract.mean_estimate, contract.judged_summary" in text
    results = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert [(r["task_id"], r["seed"], r["episode_status"]) for r in results] == [("sample.noisy_mean", 0, "scored")]


def test_only_unrunnable_tasks_even_when_skipping_is_an_error(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--tasks", "contract.mean_estimate", "--out", str(tmp_path / "r"), "--skip-unrunnable")
    assert proc.returncode == 2
    assert "none of the 1 selected task(s) can run here" in proc.stderr


def test_downloaded_instances_run_once_per_level_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("--tasks", "contract.mean_estimate", "--instances-dir", str(INSTANCES), "--levels", "B1,B3")
    proc = _run(tmp_path, *args, "--seeds", "0-4", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "1 task(s), 4 episode(s)" in text
    assert "seeds apply to generated instances only" in text and "contract.mean_estimate (2)" in text
    results = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert sorted((r["instance_id"], r["prompt_level"], r["seed"]) for r in results) == [
        (f"contract.mean_estimate__seed{n}", level, None) for n in (1, 2) for level in ("b1", "b3")
    ]
    assert all(r["episode_status"] == "scored" for r in results)
    assert len(finished_specs(out)) == 4
    episodes = load(out, "episodes").to_table(columns=["instance_id", "seed"]).to_pylist()
    assert sorted(row["instance_id"] for row in episodes) == sorted(r["instance_id"] for r in results)
    assert all(row["seed"] is None for row in episodes)
    again = _run(tmp_path, *args, "--seeds", "0-4", "--out", str(out), "--resume")
    assert again.returncode == 0, again.stderr
    assert "All 4 planned episode(s) were already finished" in " ".join(again.stdout.split())
