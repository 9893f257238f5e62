"""The task validator (`asibench-env tasks validate`) on good and deliberately broken task folders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import CLI, cli_env

from asibench_env.runs.validation import ValidationOptions, ValidationReport, find_leaks, validate_task

pytestmark = pytest.mark.slow  # whole validator runs: generators, reference solvers and episodes

CHECKS = [
    "files",
    "custom scorer",
    "prompts",
    "determinism",
    "leaks",
    "oracle",
    "null",
    "naive",
    "scoring determinism",
    "figures",
]
FAST = ValidationOptions(seeds=1, levels=("B1", "B4"))


@pytest.fixture
def valid_task(copy_task) -> Path:
    """The demo task with its presence credit cut to 5 %, so that naive answers stay under 10."""
    task = copy_task()
    eval_file = task / "task_eval.yaml"
    eval_file.write_text(eval_file.read_text().replace("weight: 20", "weight: 5").replace("weight: 80", "weight: 95"))
    return task


def _by_name(report: ValidationReport) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.detail) for c in report.checks}


def _edit_generator(task: Path, old: str, new: str) -> None:
    path = task / "generate_gt.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_good_task_passes_every_check(valid_task: Path):
    report = validate_task(valid_task, FAST)
    assert [c.name for c in report.checks] == CHECKS
    assert report.ok, report.checks
    checks = _by_name(report)
    assert "min 100.0" in checks["oracle"][1] or "min 99" in checks["oracle"][1]
    assert checks["figures"] == (True, "no figure outputs declared")


def _declare_figure(task: Path, writer: str) -> None:
    """Declare a figure output, results/fit.png, that the task's reference solver writes with ``writer``."""
    meta = task / "task_meta.yaml"
    meta.write_text(
        meta.read_text().replace(
            "    - {name: results/fit.py,",
            '    - {name: results/fit.png, type: figure, description: "the data and the line"}\n'
            "    - {name: results/fit.py,",
        )
    )
    with (task / "solution" / "solve.py").open("a") as solver:
        solver.write(writer)


def test_a_figure_the_oracle_draws_passes_the_figure_check(valid_task: Path):
    _declare_figure(
        valid_task,
        "import matplotlib.pyplot as plt\n"
        "plt.switch_backend('Agg')\n"
        "fig, ax = plt.subplots(figsize=(4, 3))\n"
        "ax.plot(x, y, '.', x, slope * x + intercept)\n"
        "fig.savefig('results/fit.png', dpi=100)\n",
    )
    ok, detail = _by_name(validate_task(valid_task, FAST))["figures"]
    assert ok and detail == "results/fit.png: PNG 400x300", detail


def test_a_figure_output_that_is_no_image_fails(valid_task: Path):
    _declare_figure(valid_task, "Path('results/fit.png').write_text('a line through the points')\n")
    report = validate_task(valid_task, FAST)
    ok, detail = _by_name(report)["figures"]
    assert not ok and "fit.png is not a PNG, JPEG, SVG or PDF image" in detail
    assert not report.ok


def test_presence_credit_above_ten_fails_the_naive_check(copy_task):
    report = validate_task(copy_task(), FAST)
    ok, detail = _by_name(report)["naive"]
    assert not ok and "zeros seed 0: 20.0" in detail
    assert not report.ok


def test_a_nondeterministic_generator_fails(valid_task: Path):
    _edit_generator(
        valid_task,
        '    np.save(out / "data" / "x.npy", x)\n',
        '    np.save(out / "data" / "x.npy", x)\n    np.save(out / "data" / "jitter.npy", np.random.random(3))\n',
    )
    ok, detail = _by_name(validate_task(valid_task, FAST))["determinism"]
    assert not ok and "data/jitter.npy" in detail


def test_leaked_reference_values_fail(valid_task: Path):
    _edit_generator(
        valid_task,
        '    np.save(out / "data" / "x.npy", x)\n',
        '    np.save(out / "data" / "x.npy", x)\n'
        '    np.save(out / "data" / "hint.npy", np.array([slope, intercept]))\n'
        '    (out / "data" / "notes.txt").write_text(f"calibration slope {slope:.6g}")\n',
    )
    ok, detail = _by_name(validate_task(valid_task, FAST))["leaks"]
    assert not ok
    assert "equal to data/hint.npy" in detail and "appears in data/notes.txt" in detail


def test_values_of_a_json_reference_are_searched(tmp_path: Path):
    (tmp_path / "reference").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "reference" / "answer.json").write_text(json.dumps({"fit": {"rate": 0.031472}, "count": 12}))
    (tmp_path / "data" / "table.csv").write_text("t,y,gain\n0,1.5,0.031472\n1,2.5,0.031472\n")
    (tmp_path / "prompt_b1.md").write_text("Twelve runs; the rate is about 0.03147.\n")
    (tmp_path / "prompt_b2.md").write_text("Estimate the rate.\n")
    leaks = find_leaks(tmp_path)
    assert "reference/answer.json: column gain of data/table.csv holds it" in leaks
    assert "reference/answer.json: the value 0.03147 appears in prompt_b1.md" in leaks
    assert not any("12" in leak for leak in leaks)  # whole numbers match by chance and are not searched
    (tmp_path / "prompt_b1.md").write_text("Twelve runs.\n")
    (tmp_path / "data" / "table.csv").write_text("t,y\n0,1.5\n1,2.5\n")
    assert find_leaks(tmp_path) == []


def test_identical_prompts_fail(valid_task: Path):
    (valid_task / "prompt_b2.md").write_text((valid_task / "prompt_b1.md").read_text())
    ok, detail = _by_name(validate_task(valid_task, FAST))["prompts"]
    assert not ok and "B1 = B2" in detail


def test_a_wrong_reference_solver_fails_the_oracle_check(valid_task: Path):
    solver = valid_task / "solution" / "solve.py"
    solver.write_text(solver.read_text().replace("[slope, intercept]", "[slope * 1.5, intercept]"))
    ok, detail = _by_name(validate_task(valid_task, FAST))["oracle"]
    assert not ok and "scored under 95" in detail and "B1 seed 0" in detail


def test_a_missing_solver_makes_the_oracle_checks_na_and_a_broken_file_stops_early(valid_task: Path, tmp_path: Path):
    (valid_task / "solution" / "solve.py").unlink()
    report = validate_task(valid_task, FAST)
    assert report.ok and "solution/solve.py" in report.checks[0].detail
    assert report.not_applicable == ["oracle", "naive", "scoring determinism", "figures"]
    assert {c.name: c.status for c in report.checks}["null"] == "pass"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "task_meta.yaml").write_text("id: Not A Valid Id\n")
    report = validate_task(broken, FAST)
    assert not report.ok and "task_meta.yaml" in report.checks[0].detail


def test_the_cli_reports_and_exits_nonzero_on_failure(valid_task: Path, copy_task, tmp_path: Path):
    bad = copy_task("other")
    (bad / "prompt_b3.md").write_text((bad / "prompt_b4.md").read_text())
    args = [*CLI, "tasks", "validate", str(valid_task), str(bad), "--seeds", "1", "--levels", "B2"]
    proc = subprocess.run(args, capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "demo.line_fit: valid" in proc.stdout and "INVALID" in proc.stdout and "B3 = B4" in proc.stdout
    assert "1 of 2 task(s) failed" in proc.stdout
    good = subprocess.run(args[:6] + args[7:], capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)
    assert good.returncode == 0 and "1 task(s) valid" in good.stdout
    empty = subprocess.run([*CLI, "tasks", "validate"], capture_output=True, text=True, env=cli_env(tmp_path))
    assert empty.returncode == 2 and "--builtin" in empty.stderr
