"""file_match: output files exist and have the declared shape and dtype; value checks.

A file named like a figure (.png, .jpg, .jpeg, .svg, .pdf) must also be a real image of one of those
kinds, checked by its header only (:func:`asibench_env.tasks.figures.read_image_header`): a non-image
named like a figure fails its check as a missing file would, with the reason in the check's message.
The official scorer checks only that the file exists; this is what its figure gate intends (a real
figure), so a fake figure scores lower here than there, and every real image scores the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers._common import failure_message, fraction_score, weight_of
from asibench_env.tasks.figures import NotAFigureError, is_figure_name, read_image_header


def _expected_shape(raw: Any) -> list[Any]:
    if isinstance(raw, str):  # "2,200" or "{2,200}"
        return [int(part.strip()) for part in raw.strip("{}").split(",")]
    if isinstance(raw, int):
        return [raw]
    return list(raw)


def _check_file(pred_dir: Path, check: dict[str, Any]) -> dict[str, Any]:
    name = check["file"]
    path = pred_dir / name
    if not path.exists():
        return {"passed": False, "file": name, "message": f"File not found: {name}"}
    outcome: dict[str, Any] = {"passed": True, "file": name}
    if is_figure_name(name):
        try:
            read_image_header(path)
        except NotAFigureError as exc:
            return {"passed": False, "file": name, "message": f"Not a figure: {exc}"}
        return outcome
    if not name.endswith(".npy"):
        return outcome
    try:
        array = np.load(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a failed check
        return {"passed": False, "file": name, "message": f"Cannot load: {exc}"}
    outcome["actual_shape"] = list(array.shape)
    outcome["actual_dtype"] = str(array.dtype)
    if "shape" in check:
        expected = _expected_shape(check["shape"])
        outcome["expected_shape"] = expected
        if array.shape != tuple(expected):
            outcome["passed"] = False
            outcome["message"] = f"Shape mismatch: expected {tuple(expected)}, got {array.shape}"
            return outcome
    if "dtype" in check:
        dtype = np.dtype(check["dtype"])
        outcome["expected_dtype"] = str(dtype)
        if array.dtype != dtype:
            outcome["passed"] = False
            outcome["message"] = f"Dtype mismatch: expected {dtype}, got {array.dtype}"
    return outcome


def _no_nan_inf(pred_dir: Path) -> dict[str, Any]:
    # Like the official scorer: every .npy at the top of the output folder; unreadable files are skipped.
    for path in sorted(pred_dir.glob("*.npy")):
        try:
            array = np.load(path)
            if np.any(np.isnan(array)):
                return {"passed": False, "check": "no_nan_inf", "message": f"NaN found in {path.name}"}
            if np.any(np.isinf(array)):
                return {"passed": False, "check": "no_nan_inf", "message": f"Inf found in {path.name}"}
        except Exception:  # noqa: BLE001, S112
            continue
    return {"passed": True, "check": "no_nan_inf"}


def _value_range(pred_dir: Path, check: dict[str, Any]) -> dict[str, Any]:
    name = check.get("file")
    if not name:
        return {"passed": False, "check": "value_range", "message": "No file specified"}
    path = pred_dir / name
    if not path.exists():
        return {"passed": False, "check": "value_range", "message": f"File not found: {name}"}
    array = np.load(path)
    low, high = check.get("min"), check.get("max")
    if low is not None and np.min(array) < low:
        return {
            "passed": False,
            "check": "value_range",
            "message": f"Values below minimum {low}: min={np.min(array):.6f}",
        }
    if high is not None and np.max(array) > high:
        return {
            "passed": False,
            "check": "value_range",
            "message": f"Values above maximum {high}: max={np.max(array):.6f}",
        }
    return {"passed": True, "check": "value_range"}


def _run_check(pred_dir: Path, check: dict[str, Any]) -> dict[str, Any]:
    if "check" in check:
        kind = check["check"]
        if kind == "no_nan_inf":
            return _no_nan_inf(pred_dir)
        if kind == "value_range":
            return _value_range(pred_dir, check)
        return {"passed": False, "message": f"Unknown check type: {kind}"}
    if "file" in check:
        return _check_file(pred_dir, check)
    return {"passed": False, "message": f"Unknown check: {check}"}


def score_file_match(pred_dir: Path, ref_dir: Path, config: dict[str, Any]) -> ScorerResult:
    """Check presence, shape, dtype and value properties of output files."""
    weight = weight_of(config)
    mode = config.get("scoring_mode", "all_or_nothing")
    results = [_run_check(pred_dir, check) for check in config.get("checks", [])]
    all_passed = all(r["passed"] for r in results)
    return ScorerResult(
        scorer_name="file_match",
        score=fraction_score(results, weight, mode),
        max_score=weight,
        passed=all_passed,
        details={"checks": results, "scoring_mode": mode},
        message=failure_message(results, all_passed, "Some file checks failed"),
    )
