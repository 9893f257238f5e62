"""`tasks validate` on official-like folders: n/a for what needs a missing solver or generator; --schema-only."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from asibench_env.runs.validation import ValidationOptions, validate_task
from tests.helpers import CLI, cli_env

TASKS = Path(__file__).parent / "fixtures" / "official_like" / "tasks"
CONTRACT, JUDGED, SAMPLE = (
    TASKS / "contract" / "mean_estimate",
    TASKS / "contract" / "judged_summary",
    TASKS / "sample" / "noisy_mean",
)
SCHEMA = ValidationOptions(schema_only=True)


def _status(report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def test_schema_only_loads_the_custom_scorer_and_its_names() -> None:
    report = validate_task(CONTRACT, SCHEMA)
    assert _status(report) == {"files": "pass", "custom scorer": "pass"} and report.ok
    detail = {c.name: c.detail for c in report.checks}
    assert "registers 1: mean_close" in detail["custom scorer"]
    assert "no generate_gt.py" in detail["files"] and "no solution/solve.py" in detail["files"]


def test_a_scorer_needing_a_missing_package_names_the_module() -> None:
    report = validate_task(JUDGED, SCHEMA)
    assert _status(report) == {"files": "pass", "custom scorer": "FAIL"} and not report.ok
    assert "'asibench_fixture_missing_package'" in report.checks[1].detail


def test_an_unregistered_scorer_name_fails(tmp_path: Path) -> None:
    task = tmp_path / "mean_estimate"
    task.mkdir()
    for name in ("task_meta.yaml", "task_eval.yaml", "custom_scorer.py"):
        (task / name).write_text((CONTRACT / name).read_text())
    (task / "task_eval.yaml").write_text((CONTRACT / "task_eval.yaml").read_text().replace("mean_close", "mean_far"))
    report = validate_task(task, SCHEMA)
    assert not report.ok and "does not register the scorer(s) the evaluation uses: mean_far" in report.checks[1].detail


def test_a_contract_only_task_has_every_episode_check_na() -> None:
    report = validate_task(CONTRACT)
    assert report.ok
    assert _status(report) == {
        "files": "pass",
        "custom scorer": "pass",
        **dict.fromkeys(["prompts", "determinism", "leaks", "oracle", "null", "naive"], "n/a"),
        **dict.fromkeys(["scoring determinism", "figures"], "n/a"),
    }


def test_a_sample_task_without_a_solver_runs_the_other_checks() -> None:
    report = validate_task(SAMPLE, ValidationOptions(levels=("B1",), seeds=1))
    assert report.ok, [(c.name, c.detail) for c in report.checks]
    assert _status(report) == {
        **dict.fromkeys(["files", "custom scorer", "prompts", "determinism", "leaks"], "pass"),
        "oracle": "n/a",
        "null": "pass",
        **dict.fromkeys(["naive", "scoring determinism", "figures"], "n/a"),
    }


def test_the_cli_prints_na_and_names_the_missing_module(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "tasks", "validate", "--schema-only", str(TASKS)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 1
    text = " ".join(proc.stdout.split())
    assert (
        "asibench_fixture_missing_package" in text and "1 of 3 task(s) failed (files and custom scorers only)" in text
    )
    full = subprocess.run(
        [*CLI, "tasks", "validate", str(CONTRACT)], capture_output=True, text=True, env=cli_env(tmp_path), timeout=300
    )
    assert full.returncode == 0, full.stdout
    assert "n/a" in full.stdout and "1 task(s) valid" in full.stdout


def test_determinism_ignores_the_generation_time_in_instance_meta(tmp_path: Path) -> None:
    task = tmp_path / "noisy_mean"
    shutil.copytree(SAMPLE, task)
    generator = task / "generate_gt.py"
    timed = '{"task_id": "sample.noisy_mean", "params_used": params, "generation_time_seconds": time.time()}'
    generator.write_text(
        generator.read_text().replace('{"task_id": "sample.noisy_mean", "params_used": params}', timed)
    )
    options = ValidationOptions(levels=("B1",), seeds=1)
    assert _status(validate_task(task, options))["determinism"] == "pass"
    generator.write_text(generator.read_text().replace('"generation_time_seconds"', '"omega"'))
    report = validate_task(task, options)
    assert _status(report)["determinism"] == "FAIL"
    assert "instance_meta.json" in {c.name: c.detail for c in report.checks}["determinism"]
