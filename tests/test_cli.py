"""The asibench-env command line, run as a real subprocess."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

from helpers import CLI, cli_env


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)


def test_help_reads_well(tmp_path: Path):
    proc = _run(["--help"], tmp_path)
    assert proc.returncode == 0
    for command in ("run", "tasks"):
        assert command in proc.stdout
    run_help = _run(["run", "--help"], tmp_path).stdout
    for option in ("--agent", "--tasks", "--levels", "--seeds", "--out", "--tasks-dir", "--instances-dir"):
        assert option in run_help


def test_run_oracle_writes_results(tmp_path: Path, fixture_tasks_dir: Path):
    out = tmp_path / "run"
    proc = _run(
        [
            "run",
            "--agent",
            "oracle",
            "--tasks",
            "demo.line_fit",
            "--tasks-dir",
            str(fixture_tasks_dir),
            "--levels",
            "B1,B3",
            "--seeds",
            "0-1",
            "--out",
            str(out),
            "--quiet",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "demo.line_fit" in proc.stdout and "Mean score" in proc.stdout
    files = sorted((out / "results").glob("*.json"))
    assert len(files) == 4
    for path in files:
        doc = json.loads(path.read_text())
        assert doc["result_schema_version"] == 1
        assert doc["task_id"] == "demo.line_fit" and doc["prompt_level"] in ("b1", "b3")
        assert doc["episode_status"] == "scored" and doc["status"] == "completed"
        assert doc["final_score"] >= 99.0
        assert path.name == f"{doc['instance_id']}__{doc['prompt_level']}.json"
    meta = json.loads((out / "run_metadata.json").read_text())
    assert meta["framework"] == "asibench-env" and meta["agent"] == {"name": "oracle"}
    assert meta["task_versions"] == {"demo.line_fit": "1.0"}
    assert meta["sandbox"]["requested_mode"] == "local"
    assert meta["sandbox"]["effective_mode"] in ("namespaces", "none")
    assert meta["levels"] == ["B1", "B3"] and meta["seeds"] == [0, 1]


def test_run_null_agent_scores_zero(tmp_path: Path, fixture_tasks_dir: Path):
    out = tmp_path / "null"
    proc = _run(
        [
            "run",
            "--agent",
            "null",
            "--tasks",
            "demo.line_fit",
            "--tasks-dir",
            str(fixture_tasks_dir),
            "--levels",
            "B2",
            "--seeds",
            "3",
            "--out",
            str(out),
            "--quiet",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (doc,) = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert doc["final_score"] == 0.0


def test_tasks_list_and_show(tmp_path: Path, fixture_tasks_dir: Path):
    proc = _run(["tasks", "list", "--tasks-dir", str(fixture_tasks_dir)], tmp_path)
    assert proc.returncode == 0
    assert "demo.line_fit" in proc.stdout and "builtin" in proc.stdout
    show = _run(["tasks", "show", "demo.line_fit", "--tasks-dir", str(fixture_tasks_dir)], tmp_path)
    assert show.returncode == 0
    assert "coef.npy" in show.stdout and "numerical" in show.stdout


def test_bad_arguments_are_clear(tmp_path: Path):
    proc = _run(["run", "--levels", "B7", "--out", str(tmp_path / "x")], tmp_path)
    assert proc.returncode == 2 and "levels must be among" in proc.stderr
    proc = _run(["run", "--tasks", "no.such_task", "--out", str(tmp_path / "x")], tmp_path)
    assert proc.returncode == 2 and "unknown task" in proc.stderr
    proc = _run(["tasks", "show", "no.such_task"], tmp_path)
    assert proc.returncode == 2


def test_score_table_breaks_long_task_ids_after_the_domain_on_narrow_terminals():
    from rich.console import Console

    from asibench_env.cli import score_table
    from asibench_env.envs.episode import EpisodeResult

    task_ids = ["electrical_engineering.filter_identification", "physics.damped_oscillator_fit"]
    results = [
        EpisodeResult(
            task_id=task_id,
            task_version="1",
            instance_id=f"{task_id}-0",
            prompt_level=level,
            seed=0,
            status="scored",
            end_reason="submit",
            final_score=97.5,
        )
        for task_id in task_ids
        for level in ("B1", "B2", "B3", "B4")
    ]

    def render(width: int) -> str:
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(score_table(results, width=width))
        return console.export_text()

    narrow, wide = render(80), render(200)
    for part in ("electrical_engineering.", "filter_identification", "physics.", "damped_oscillator_fit"):
        assert part in narrow
    assert max(map(len, narrow.splitlines())) <= 80
    for task_id in task_ids:  # a wide terminal keeps each id on one line
        assert task_id in wide and task_id not in narrow
    assert narrow.count("97.5") == wide.count("97.5") == 12  # 2 tasks and the "all" row, 4 levels each


def test_score_table_counts_produced_episodes_apart():
    from rich.console import Console

    from asibench_env.cli import score_table
    from asibench_env.envs.episode import EpisodeResult

    def result(status: str, score: float | None) -> EpisodeResult:
        return EpisodeResult(
            task_id="demo.line_fit",
            task_version="1",
            instance_id=f"demo.line_fit__{status}",
            prompt_level="B1",
            seed=0,
            status=status,  # type: ignore[arg-type]
            end_reason="submit",
            final_score=score,
        )

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(score_table([result("scored", 80.0), result("produced", None), result("produced", None)]))
    text = console.export_text()
    assert "produced" in text and "infra errors" in text
    row = next(line for line in text.splitlines() if "demo.line_fit" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["demo.line_fit", "80.0", "0", "2"]
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(score_table([result("scored", 80.0)]))
    assert "produced" not in console.export_text()  # the column appears only when there are produced episodes
