"""Our native scorer gives the official ASI-Bench scorer's numbers on the same artifacts.

The official side is ``ai4sci_bench.core.scoring._evaluate_gates_and_scores`` with the official
built-in scorers (the ``asibench[full]`` install) and the tasks' custom scorers.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import ai4sci_bench.scorers  # noqa: E402,F401  (registers the official built-in scorers)
from ai4sci_bench.core.scorer import normalize_task_score, scoring_max_score  # noqa: E402
from ai4sci_bench.core.scoring import _evaluate_gates_and_scores  # noqa: E402

from asibench_env.rewards import evaluate  # noqa: E402
from asibench_env.tasks.instances import InstanceCache, sample_params  # noqa: E402
from asibench_env.tasks.registry import TaskRegistry  # noqa: E402

pytestmark = pytest.mark.parity
FIXTURES = Path(__file__).parent / "fixtures" / "tasks"


def official(evaluation, pred, ref, params, level="b3", task_dir=None):
    if task_dir is not None and (Path(task_dir) / "custom_scorer.py").is_file():
        spec = importlib.util.spec_from_file_location(
            f"official_custom_{Path(task_dir).name}", Path(task_dir) / "custom_scorer.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    gates, hard_ok, soft, scores, final = _evaluate_gates_and_scores(
        copy.deepcopy(evaluation), pred, ref, params, prompt_level=level
    )
    final, maximum = normalize_task_score(evaluation, final, scoring_max_score(evaluation))
    return gates, hard_ok, soft, scores, final, maximum


def assert_same(evaluation, pred, ref, params, level="b3", task_dir=None):
    gates, hard_ok, soft, scores, final, maximum = official(evaluation, pred, ref, params, level, task_dir)
    ours = evaluate(evaluation, pred, ref, params, prompt_level=level, task_dir=task_dir)
    assert ours.hard_gates_passed == hard_ok
    assert ours.soft_gate_failures == soft
    assert [g.passed for g in ours.gate_results] == [g.passed for g in gates]
    assert [g.score for g in ours.gate_results] == pytest.approx([g.score for g in gates], rel=1e-9, abs=1e-12)
    assert [s.scorer_name for s in ours.score_results] == [s.scorer_name for s in scores]
    assert [s.score for s in ours.score_results] == pytest.approx([s.score for s in scores], rel=1e-9, abs=1e-12)
    assert [s.passed for s in ours.score_results] == [bool(s.passed) for s in scores]
    assert ours.final_score == pytest.approx(final, rel=1e-9, abs=1e-12)
    assert ours.max_possible_score == pytest.approx(maximum)
    return ours.final_score


# --------------------------------------------------------------------------- synthetic contracts
METRICS = {
    "relative_l2": {"scoring": "linear_interpolation", "full_score_threshold": 0.01, "zero_score_threshold": 0.5},
    "mean_relative_l2": {"threshold": 0.1},
    "per_frame_relative_l2": {"threshold": 0.05},
    "rmse": {},
    "mape": {"scoring": "linear_interpolation", "full_score_threshold": 0.02, "zero_score_threshold": 0.3},
    "relative_error": {"tolerance": 0.05},
    "absolute_error": {"tolerance": 0.1},
    "exact_match": {},
    "cosine_similarity": {"threshold": 0.999},
    "correlation": {"scoring": "linear_interpolation", "full_score_threshold": 0.99, "zero_score_threshold": 0.5},
    "max_ratio": {"threshold": 1.5},
}


def synthetic_evaluation() -> dict:
    scoring = [
        {
            "scorer": "file_match",
            "weight": 5,
            "config": {
                "scoring_mode": "per_check",
                "checks": [{"file": "field.npy"}, {"file": "results/table.csv"}, {"file": "analysis.py"}],
            },
        },
        {
            "scorer": "code_analysis",
            "weight": 5,
            "config": {
                "target_file": "analysis.py",
                "scoring_mode": "per_check",
                "min_lines": 3,
                "checks": [
                    {"pattern": "np\\.fft", "required": True},
                    {"pattern": "sklearn", "forbidden": True},
                    {"forbidden_imports": ["torch"]},
                    {"pattern": "def ", "min_count": 2},
                    {"pattern": "plot\\.png", "required": True},
                ],
            },
        },
        {
            "scorer": "composite",
            "weight": 10,
            "config": {
                "sub_scorers": [
                    {
                        "scorer": "numerical",
                        "weight": 2,
                        "config": {"metric": "rmse", "file": "field.npy", "threshold": 0.2},
                    },
                    {
                        "scorer": "file_match",
                        "weight": 1,
                        "config": {"checks": [{"file": "field.npy", "dtype": "float64"}]},
                    },
                ]
            },
        },
        {
            "scorer": "numerical",
            "weight": 5,
            "config": {
                "metric": "relative_l2",
                "pred_file": "results/table.csv",
                "ref_file": "table_ref.csv",
                "column": "value",
                "threshold": 0.05,
            },
        },
    ]
    for metric, extra in METRICS.items():
        scoring.append(
            {
                "scorer": "numerical",
                "weight": 5,
                "config": {
                    "metric": metric,
                    "pred_file": "series.npy" if metric == "max_ratio" else "field.npy",
                    "file": "series.npy" if metric == "max_ratio" else None,
                    "ref_file": "field_ref.npy",
                    **extra,
                },
            }
        )
    for entry in scoring:
        entry["config"] = {k: v for k, v in entry["config"].items() if v is not None}
    scoring.append(
        {
            "scorer": "numerical",
            "weight": 5,
            "config": {
                "metric": "mean_relative_l2",
                "pred_file": "field.npy",
                "ref_file": "field_ref.npy",
                "row": 1,
                "scoring": "linear_interpolation",
                "full_score_threshold": 0.01,
                "zero_score_threshold": 0.4,
            },
        }
    )
    return {
        "gates": [
            {
                "scorer": "file_match",
                "severity": "hard",
                "config": {
                    "checks": [
                        {"file": "field.npy", "shape": "{n_rows, n_cols}", "dtype": "float64"},
                        {"check": "no_nan_inf"},
                    ]
                },
            },
            {"scorer": "file_match", "severity": "soft", "config": {"checks": [{"file": "extra.json"}]}},
            {
                "scorer": "code_analysis",
                "severity": "soft",
                "config": {"target_file": "analysis.py", "checks": [{"pattern": "import numpy", "required": True}]},
            },
        ],
        "scoring": scoring,
    }


def make_reference(ref: Path, rng: np.random.Generator) -> np.ndarray:
    ref.mkdir(parents=True)
    field = rng.normal(size=(4, 6)) + 3.0
    np.save(ref / "field_ref.npy", field)
    (ref / "table_ref.csv").write_text("name,value\n" + "".join(f"r{i},{v:.6f}\n" for i, v in enumerate(field[0])))
    return field


def make_outputs(pred: Path, field: np.ndarray, noise: float, rng: np.random.Generator, drop: str | None) -> None:
    pred.mkdir(parents=True)
    noisy = field + rng.normal(scale=noise, size=field.shape) if noise else field.copy()
    np.save(pred / "field.npy", noisy)
    np.save(pred / "series.npy", np.abs(noisy[0]) if noise < 0.5 else noisy[0] * 3)
    (pred / "results").mkdir()
    (pred / "results" / "table.csv").write_text(
        "name,value\n" + "".join(f"r{i},{v:.6f}\n" for i, v in enumerate(noisy[0]))
    )
    (pred / "analysis.py").write_text(
        "import numpy as np\n# sklearn is not used\ndef a():\n    return np.fft.fft([1])\ndef b():\n    pass\n"
    )
    (pred / "plot.png").write_bytes(b"\x89PNG")
    if drop:
        (pred / drop).unlink()


@pytest.mark.parametrize("noise", [0.0, 1e-4, 1e-3, 0.01, 0.05, 0.2, 1.0])
@pytest.mark.parametrize("drop", [None, "analysis.py", "results/table.csv", "series.npy"])
def test_synthetic_contract(tmp_path: Path, noise: float, drop: str | None):
    rng = np.random.default_rng(int(noise * 1e6) + len(drop or ""))
    field = make_reference(tmp_path / "ref", rng)
    make_outputs(tmp_path / "pred", field, noise, rng, drop)
    assert_same(synthetic_evaluation(), tmp_path / "pred", tmp_path / "ref", {"n_rows": 4, "n_cols": 6})


def test_synthetic_contract_garbage_and_empty(tmp_path: Path):
    rng = np.random.default_rng(0)
    field = make_reference(tmp_path / "ref", rng)
    (tmp_path / "empty").mkdir()
    assert assert_same(synthetic_evaluation(), tmp_path / "empty", tmp_path / "ref", {"n_rows": 4, "n_cols": 6}) == 0
    make_outputs(tmp_path / "bad", field, 0.0, rng, None)
    np.save(tmp_path / "bad" / "field.npy", np.full((4, 6), np.nan))
    assert_same(synthetic_evaluation(), tmp_path / "bad", tmp_path / "ref", {"n_rows": 4, "n_cols": 6})
    (tmp_path / "bad" / "field.npy").write_text("not an array")
    assert_same(synthetic_evaluation(), tmp_path / "bad", tmp_path / "ref", {"n_rows": 4, "n_cols": 6})
    np.save(tmp_path / "bad" / "field.npy", np.zeros((6, 4), dtype=np.float32))
    assert_same(synthetic_evaluation(), tmp_path / "bad", tmp_path / "ref", {"n_rows": 4, "n_cols": 6})


def test_gate_score_sum_and_divisor(tmp_path: Path):
    rng = np.random.default_rng(1)
    field = make_reference(tmp_path / "ref", rng)
    make_outputs(tmp_path / "pred", field, 0.01, rng, None)
    evaluation = synthetic_evaluation()
    evaluation["gates"].append({"scorer": "file_match", "config": {"checks": [{"file": "missing.npy"}]}})
    evaluation["hard_fail_score_mode"] = "gate_score_sum"
    evaluation["score_divisor"] = 2
    assert_same(evaluation, tmp_path / "pred", tmp_path / "ref", {"n_rows": 4, "n_cols": 6}, level="b1")


# --------------------------------------------------------------------------- the built-in tasks
def _tasks():
    registry = TaskRegistry([FIXTURES])
    return [task for task in registry if task.source == "builtin" or task.id == "demo.line_fit"]


def test_there_are_builtin_tasks_to_compare():
    assert sum(task.source == "builtin" for task in _tasks()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("task", _tasks(), ids=lambda task: task.id)
def test_task_parity(task, tmp_path: Path, instance_cache: InstanceCache):
    instance, _ = instance_cache.get(task, sample_params(task, 0))
    perfect = tmp_path / "perfect"
    shutil.copytree(instance.path / "data", perfect / "data")
    from asibench_env.tasks.runtime import ensure_runtime

    python = ensure_runtime(task.runtime_packages) / "bin" / "python"
    subprocess.run([str(python), str(task.solution_path)], cwd=perfect, check=True, capture_output=True)
    shutil.rmtree(perfect / "data")
    params = instance.params
    outputs = [spec.name for spec in task.outputs]
    assert assert_same(task.evaluation, perfect, instance.reference_dir, params, task_dir=task.task_dir) >= 95
    rng = np.random.default_rng(0)
    for scale in (0.01, 0.05, 0.3):
        noisy = tmp_path / f"noisy{scale}"
        shutil.copytree(perfect, noisy)
        for path in noisy.rglob("*.npy"):
            array = np.load(path)
            np.save(path, array * (1 + rng.normal(scale=scale, size=array.shape)))
        assert_same(task.evaluation, noisy, instance.reference_dir, params, task_dir=task.task_dir)
    for name in outputs:
        partial = tmp_path / f"partial_{name.replace('/', '_')}"
        shutil.copytree(perfect, partial)
        (partial / name).unlink()
        assert_same(task.evaluation, partial, instance.reference_dir, params, task_dir=task.task_dir)
    (tmp_path / "empty").mkdir()
    assert assert_same(task.evaluation, tmp_path / "empty", instance.reference_dir, params, task_dir=task.task_dir) == 0
