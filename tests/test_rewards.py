"""The native scorer on hand-made artifacts, and the isolated score_outputs path."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from asibench_env.rewards import evaluate, list_native_scorers, resolve_templates, score_outputs


def _eval(*scoring, gates=()):
    return {"gates": list(gates), "scoring": list(scoring)}


@pytest.fixture
def dirs(tmp_path: Path):
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    pred.mkdir()
    ref.mkdir()
    np.save(ref / "y_ref.npy", np.array([1.0, 2.0, 3.0, 4.0]))
    return pred, ref


def test_templates():
    params = {"n": 4, "k": 2.5}
    assert resolve_templates({"a": "{n+1}", "b": ["{n*2}", "x"], "c": "{n, n//3}"}, params) == {
        "a": 5,
        "b": [8, "x"],
        "c": [4, 1],
    }
    assert resolve_templates("{-k % 2}", params) == pytest.approx(1.5)
    with pytest.raises(KeyError, match="unknown parameter 'm'"):
        resolve_templates("{m}", params)
    with pytest.raises(ValueError, match="unsupported"):
        resolve_templates("{__import__('os')}", params)


def test_list_native_scorers():
    assert list_native_scorers() == ["code_analysis", "composite", "file_match", "numerical"]


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 10.0),  # exact
        ([1.0, 2.0, 3.0, 4.5], 10.0 * (1 - (0.5 / np.sqrt(30) - 0.01) / (0.5 - 0.01))),
        ([0.0, 0.0, 0.0, 0.0], 0.0),
    ],
)
def test_numerical_linear_interpolation(dirs, pred, expected):
    pred_dir, ref = dirs
    np.save(pred_dir / "y.npy", np.array(pred))
    cfg = {
        "metric": "relative_l2",
        "pred_file": "y.npy",
        "ref_file": "y_ref.npy",
        "scoring": "linear_interpolation",
        "full_score_threshold": 0.01,
        "zero_score_threshold": 0.5,
    }
    report = evaluate(_eval({"scorer": "numerical", "weight": 10, "config": cfg}), pred_dir, ref, {})
    assert report.final_score == pytest.approx(expected)
    assert report.max_possible_score == 10


def test_hard_gate_failure_zeroes_and_soft_failure_counts(dirs):
    pred_dir, ref = dirs
    np.save(pred_dir / "y.npy", np.array([1.0, 2.0, 3.0, 4.0]))
    numerical = {
        "scorer": "numerical",
        "weight": 100,
        "config": {"metric": "exact_match", "pred_file": "y.npy", "ref_file": "y_ref.npy"},
    }
    soft = {"scorer": "file_match", "severity": "soft", "config": {"checks": [{"file": "notes.md"}]}}
    report = evaluate(_eval(numerical, gates=[soft]), pred_dir, ref, {})
    assert report.final_score == 100 and report.soft_gate_failures == 1 and report.hard_gates_passed
    hard = {"scorer": "file_match", "config": {"checks": [{"file": "y.npy", "shape": "{n}"}]}}
    report = evaluate(_eval(numerical, gates=[hard]), pred_dir, ref, {"n": 5})
    assert report.final_score == 0 and not report.hard_gates_passed and report.score_results == []
    assert "Shape mismatch" in report.gate_results[0].message


@pytest.mark.parametrize(
    ("writer", "message"),
    [
        (lambda p: (p / "y.npy").write_text("not numpy"), "Scoring error"),
        (lambda p: np.save(p / "y.npy", np.zeros(7)), "Shape mismatch"),
        (lambda p: np.save(p / "y.npy", np.full(4, np.nan)), "not finite"),
        (lambda p: None, "Scoring error"),
    ],
)
def test_garbage_outputs_score_zero_with_a_reason(dirs, writer, message):
    pred_dir, ref = dirs
    writer(pred_dir)
    cfg = {"metric": "relative_l2", "pred_file": "y.npy", "ref_file": "y_ref.npy", "threshold": 0.1}
    report = evaluate(_eval({"scorer": "numerical", "weight": 50, "config": cfg}), pred_dir, ref, {})
    assert report.final_score == 0
    assert message.lower() in report.score_results[0].message.lower()


def test_csv_column_and_nested_paths(dirs):
    pred_dir, ref = dirs
    (pred_dir / "results").mkdir()
    (pred_dir / "results" / "t.csv").write_text("a,value\n1,1.0\n2,2.0\n")
    (ref / "t_ref.csv").write_text("a,value\n1,1.0\n2,2.0\n")
    cfg = {
        "metric": "rmse",
        "pred_file": "results/t.csv",
        "ref_file": "t_ref.csv",
        "column": "value",
        "threshold": 1e-9,
    }
    gate = {"scorer": "file_match", "config": {"checks": [{"file": "results/t.csv"}]}}
    assert (
        evaluate(
            _eval({"scorer": "numerical", "weight": 1, "config": cfg}, gates=[gate]), pred_dir, ref, {}
        ).final_score
        == 1
    )
    cfg["column"] = "missing"
    report = evaluate(_eval({"scorer": "numerical", "weight": 1, "config": cfg}), pred_dir, ref, {})
    assert report.final_score == 0 and "missing" in report.score_results[0].message


def test_unknown_and_judge_scorers_score_zero(dirs):
    pred_dir, ref = dirs
    report = evaluate(
        _eval({"scorer": "nonexistent", "weight": 5}, {"scorer": "llm_judge", "weight": 5}), pred_dir, ref, {}
    )
    assert report.final_score == 0
    assert "unknown scorer" in report.score_results[0].message
    assert "needs a model judge" in report.score_results[1].message


def _custom_task(tmp_path: Path, body: str) -> Path:
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    (task_dir / "custom_scorer.py").write_text(
        "from ai4sci_bench.core.scorer import Scorer, register_scorer, get_scorer\n"
        "from ai4sci_bench.core.types import ScoreDetail\n\n"
        "@register_scorer('my_scorer')\nclass MyScorer(Scorer):\n"
        "    def score(self, pred_dir, ref_dir, config):\n" + body
    )
    return task_dir


def test_custom_scorer_is_used_and_can_delegate(tmp_path: Path, dirs):
    pred_dir, ref = dirs
    np.save(pred_dir / "y.npy", np.array([1.0, 2.0, 3.0, 4.0]))
    task_dir = _custom_task(
        tmp_path,
        (
            "        inner = get_scorer('numerical').score(pred_dir, ref_dir, {'metric': 'exact_match', "
            "'pred_file': 'y.npy', 'ref_file': 'y_ref.npy', 'weight': 1.0})\n"
            "        w = config['weight']\n"
            "        level = config['prompt_level']\n"
            "        return ScoreDetail('my_scorer', inner.score * w, w, inner.passed, {'level': level})\n"
        ),
    )
    report = evaluate(
        _eval({"scorer": "my_scorer", "weight": 40}), pred_dir, ref, {}, prompt_level="B2", task_dir=task_dir
    )
    assert report.final_score == 40
    assert report.score_results[0].details == {"level": "b2"}


def test_custom_scorer_that_raises(tmp_path: Path, dirs):
    pred_dir, ref = dirs
    task_dir = _custom_task(tmp_path, "        raise RuntimeError('scorer bug')\n")
    report = score_outputs(_eval({"scorer": "my_scorer", "weight": 100}), pred_dir, ref, {}, task_dir=task_dir)
    assert report.final_score == 0 and report.error is None
    assert "scorer bug" in report.score_results[0].message


def test_custom_scorer_that_hangs_is_killed(tmp_path: Path, dirs):
    """A scorer that waits past the limit (it does not compute on the outputs) is our failure, not a 0."""
    pred_dir, ref = dirs
    task_dir = _custom_task(tmp_path, "        import time\n        time.sleep(1000)\n")
    started = time.monotonic()
    report = score_outputs(
        _eval({"scorer": "my_scorer", "weight": 100}), pred_dir, ref, {}, task_dir=task_dir, timeout_s=2
    )
    assert time.monotonic() - started < 10
    assert report.infra_error and "timed out after 2 s while the scorer was mostly waiting" in report.infra_error
    again = score_outputs(_eval({"scorer": "file_match", "weight": 1, "config": {"checks": []}}), pred_dir, ref, {})
    assert again.final_score == 1  # the worker survived


def test_custom_scorer_that_kills_its_process(tmp_path: Path, dirs):
    pred_dir, ref = dirs
    task_dir = _custom_task(tmp_path, "        import os\n        os._exit(9)\n")
    report = score_outputs(_eval({"scorer": "my_scorer", "weight": 100}), pred_dir, ref, {}, task_dir=task_dir)
    assert report.infra_error and "crashed" in report.infra_error and "exit status 9" in report.infra_error


def test_memory_hungry_scorer_is_stopped(tmp_path: Path, dirs):
    pred_dir, ref = dirs
    task_dir = _custom_task(tmp_path, "        x = bytearray(3 * 1024**3)\n        return None\n")
    report = score_outputs(
        _eval({"scorer": "my_scorer", "weight": 100}), pred_dir, ref, {}, task_dir=task_dir, memory_bytes=1024**3
    )
    assert report.final_score == 0
    assert "MemoryError" in report.score_results[0].message


def test_symlinked_outputs_are_not_followed(tmp_path: Path, dirs):
    pred_dir, ref = dirs
    (pred_dir / "y.npy").symlink_to(ref / "y_ref.npy")  # the agent points its output at the answer
    cfg = {"metric": "exact_match", "pred_file": "y.npy", "ref_file": "y_ref.npy"}
    report = score_outputs(_eval({"scorer": "numerical", "weight": 100, "config": cfg}), pred_dir, ref, {})
    assert report.final_score == 0


def test_invalid_divisor_is_reported_not_raised(dirs):
    pred_dir, ref = dirs
    report = score_outputs({"scoring": [{"scorer": "file_match", "weight": 1}], "score_divisor": 0}, pred_dir, ref, {})
    assert report.final_score == 0 and "score_divisor" in report.error


def test_a_custom_scorer_needing_a_missing_module_is_an_infra_error(tmp_path: Path, dirs, copy_task):
    """A package missing where scoring runs is our environment's fault: infra_error naming it, never a 0."""
    pred_dir, ref = dirs
    task_dir = tmp_path / "needs_pkg"
    task_dir.mkdir()
    (task_dir / "custom_scorer.py").write_text("import asibench_no_such_package_xyz\n")
    report = score_outputs(_eval({"scorer": "my_scorer", "weight": 100}), pred_dir, ref, {}, task_dir=task_dir)
    assert report.infra_error and "'asibench_no_such_package_xyz'" in report.infra_error
    assert "pip install asibench_no_such_package_xyz" in report.infra_error

    from asibench_env.agents import NullAgent
    from asibench_env.envs.task_env import AsiBenchEnv
    from asibench_env.runs.runner import EpisodeSpec, run_episode
    from asibench_env.tasks.registry import TaskRegistry

    broken = copy_task("needs_pkg")
    (broken / "custom_scorer.py").write_text("import asibench_no_such_package_xyz\n")
    registry = TaskRegistry([broken.parent.parent], include_builtin=False)
    (task_id,) = registry.ids()
    env = AsiBenchEnv(task_id, registry=registry, instance_cache=None)
    result = run_episode(env, NullAgent(), EpisodeSpec(task_id, "B3", 0))
    assert result.status == "infra_error" and result.final_score is None
    assert "asibench_no_such_package_xyz" in (result.error or "")


def _probe_wheel(folder: Path) -> Path:
    """A minimal wheel of a package nobody has installed (built by hand: no build backend, no network)."""
    import base64
    import hashlib
    import zipfile

    files = {
        "asibench_probe_pkg/__init__.py": b"VALUE = 42\n",
        "asibench_probe_pkg-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: asibench-probe-pkg\nVersion: 0.1\n",
        "asibench_probe_pkg-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in files.items()
    ]
    files["asibench_probe_pkg-0.1.dist-info/RECORD"] = (
        "\n".join([*record, "asibench_probe_pkg-0.1.dist-info/RECORD,,"]) + "\n"
    ).encode()
    wheel = folder / "asibench_probe_pkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.mark.slow  # builds a task runtime
def test_a_custom_scorer_finds_packages_of_the_task_runtime(tmp_path: Path, dirs, monkeypatch: pytest.MonkeyPatch):
    """A module missing where scoring runs but listed in the task's runtime.packages is found there."""
    pred_dir, ref = dirs
    monkeypatch.setenv("ASIBENCH_ENV_RUNTIMES", str(tmp_path / "runtimes"))  # a throwaway runtime
    wheel = _probe_wheel(tmp_path)
    task_dir = _custom_task(
        tmp_path,
        "        import asibench_probe_pkg\n"
        "        return ScoreDetail('my_scorer', float(asibench_probe_pkg.VALUE), config['weight'], True, {})\n",
    )
    evaluation = _eval({"scorer": "my_scorer", "weight": 100})
    inside = score_outputs(evaluation, pred_dir, ref, {}, task_dir=task_dir)  # imported inside score()
    assert inside.missing_module == "asibench_probe_pkg" and "runtime.packages" in (inside.infra_error or "")
    found = score_outputs(evaluation, pred_dir, ref, {}, task_dir=task_dir, runtime_packages=[str(wheel)])
    assert found.infra_error is None and found.final_score == 42
    (task_dir / "custom_scorer.py").write_text(  # imported when the module loads
        "import asibench_probe_pkg\n" + (task_dir / "custom_scorer.py").read_text()
    )
    missing = score_outputs(evaluation, pred_dir, ref, {}, task_dir=task_dir)
    assert missing.missing_module == "asibench_probe_pkg" and missing.infra_error
    found = score_outputs(evaluation, pred_dir, ref, {}, task_dir=task_dir, runtime_packages=[str(wheel)])
    assert found.infra_error is None and found.final_score == 42
