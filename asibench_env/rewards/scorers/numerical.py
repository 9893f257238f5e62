"""numerical: compare output arrays (or CSV columns) with the reference by a metric."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers._common import weight_of

Config = dict[str, Any]


def _csv_column(path: Path, column: str) -> np.ndarray:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path)
    if column not in table.column_names:
        raise KeyError(f"column {column!r} not in {path.name} (columns: {', '.join(table.column_names)})")
    values = table.column(column).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def _file_name(config: Config, key: str) -> str:
    """``config[key]``, else ``config['file']``: the name of an output file to compare."""
    name = config.get(key, config.get("file"))
    if name is None:
        raise ValueError(f"the numerical scorer needs {key!r} or 'file' in its config")
    return name


def load_pair(pred_dir: Path, ref_dir: Path, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The predicted and reference arrays, float64, with equal shapes."""
    pred_file = _file_name(config, "pred_file")
    ref_file = _file_name(config, "ref_file")
    if str(pred_file).endswith(".csv") or str(ref_file).endswith(".csv"):
        column = config.get("column")
        if column is None:
            raise ValueError(f"a CSV comparison needs 'column' (pred_file={pred_file!r}, ref_file={ref_file!r})")
        pred, ref = _csv_column(pred_dir / pred_file, column), _csv_column(ref_dir / ref_file, column)
    else:
        pred, ref = np.load(pred_dir / pred_file), np.load(ref_dir / ref_file)
        row = config.get("row")
        if row is not None:
            pred, ref = pred[row : row + 1], ref[row : row + 1]
    if pred.shape != ref.shape:
        raise ValueError(
            f"shape mismatch between {pred_file} and {ref_file}: predicted {pred.shape}, reference {ref.shape}"
        )
    return pred.astype(np.float64), ref.astype(np.float64)


def apply_scoring(error: float, config: Config, weight: float) -> tuple[float, bool, dict[str, Any]]:
    """Map an error to (score, passed, details): linear interpolation, a threshold, or 1 - error."""
    if not np.isfinite(error):
        return 0.0, False, {"scoring_mode": "non_finite_error", "raw_fraction": 0.0}
    if config.get("scoring") == "linear_interpolation":
        full = config.get("full_score_threshold", 0.0)
        zero = config.get("zero_score_threshold", 1.0)
        if error <= full:
            fraction = 1.0
        elif error >= zero:
            fraction = 0.0
        else:
            fraction = 1.0 - (error - full) / (zero - full)
        meta = {
            "scoring_mode": "linear_interpolation",
            "raw_fraction": fraction,
            "full_score_threshold": full,
            "zero_score_threshold": zero,
        }
        return fraction * weight, True, meta
    threshold = config.get("threshold")
    if threshold is not None:
        passed = error <= threshold
        return (
            (weight if passed else 0.0),
            passed,
            {
                "scoring_mode": "threshold",
                "raw_fraction": 1.0 if passed else 0.0,
                "threshold": threshold,
            },
        )
    fraction = max(0.0, 1.0 - error)
    return fraction * weight, True, {"scoring_mode": "proportional", "raw_fraction": fraction}


def _describe(metric: str, error: float, score: float, weight: float, meta: dict[str, Any]) -> str:
    mode = meta.get("scoring_mode")
    if mode == "non_finite_error":
        return f"{metric} is not finite; score 0/{weight:.2f}"
    text = f"{metric}={error:.6g}; score {score:.2f}/{weight:.2f}"
    if mode == "linear_interpolation":
        text += f" (full at <= {meta['full_score_threshold']}, zero at >= {meta['zero_score_threshold']})"
    elif mode == "threshold":
        text += f" (threshold {meta['threshold']})"
    return text


def _scored(metric: str, error: float, config: Config, extra: dict[str, Any] | None = None) -> ScorerResult:
    weight = weight_of(config)
    score, passed, meta = apply_scoring(error, config, weight)
    return ScorerResult(
        scorer_name=f"numerical:{metric}",
        score=score,
        max_score=weight,
        passed=passed,
        details={metric: error, **(extra or {}), **meta},
        message=_describe(metric, error, score, weight, meta),
    )


def _relative(diff_norm: np.floating[Any], ref_norm: np.floating[Any], pred_norm: np.floating[Any]) -> np.floating[Any]:
    return diff_norm / ref_norm if ref_norm != 0 else pred_norm


def _relative_l2(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    if config.get("nan_policy") == "omit":
        keep = np.isfinite(pred) & np.isfinite(ref)
        pred, ref = pred[keep], ref[keep]
    error = float(_relative(np.linalg.norm(pred - ref), np.linalg.norm(ref), np.linalg.norm(pred)))
    return _scored("relative_l2", error, config, {"pred_file": config.get("pred_file", config.get("file"))})


def _frame_error(pred: np.ndarray, ref: np.ndarray) -> float:
    return float(_relative(np.linalg.norm(pred - ref), np.linalg.norm(ref), np.linalg.norm(pred)))


def _per_frame_relative_l2(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    weight = weight_of(config)
    threshold = config.get("threshold", 0.30)
    per_item = config.get("per_item_score", weight / pred.shape[0])
    n_items: int = config["items"] if "items" in config else pred.shape[0]
    alignment = config.get("alignment", {})
    max_shift = alignment.get("max_shift", 0) if alignment.get("enabled", False) else 0
    total, frames = 0.0, {}
    for i in range(n_items):
        best, best_shift = float("inf"), (0, 0)
        if max_shift > 0:
            for dx in range(-max_shift, max_shift + 1):
                for dy in range(-max_shift, max_shift + 1):
                    shifted = np.roll(np.roll(pred[i], dx, axis=0), dy, axis=1)
                    err = _frame_error(shifted, ref[i])
                    if err < best:
                        best, best_shift = err, (dx, dy)
        else:
            best = _frame_error(pred[i], ref[i])
        points = per_item if best <= threshold else 0.0
        total += points
        frames[f"frame_{i}"] = {"rel_err": round(best, 6), "shift": list(best_shift), "pts": points}
    return ScorerResult(
        scorer_name="numerical:per_frame_relative_l2",
        score=total,
        max_score=weight,
        passed=True,
        details=frames,
        message=f"per-frame relative L2: {total:.2f}/{weight:.2f} over {n_items} frame(s), threshold {threshold}",
    )


def _mean_relative_l2(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    errors = [_frame_error(pred[i], ref[i]) for i in range(pred.shape[0])]
    return _scored("mean_relative_l2", float(np.mean(errors)), config, {"per_frame_errors": errors})


def _max_ratio(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred = np.load(pred_dir / _file_name(config, "file")).astype(np.float64)
    weight, threshold = weight_of(config), config.get("threshold", 2.0)
    if pred[0] == 0:
        ratio = float("inf") if np.max(np.abs(pred)) > 0 else 1.0
    else:
        ratio = float(np.max(np.abs(pred)) / np.abs(pred[0]))
    passed = ratio <= threshold
    score = weight if passed else 0.0
    return ScorerResult(
        scorer_name="numerical:max_ratio",
        score=score,
        max_score=weight,
        passed=passed,
        details={"ke_ratio": round(ratio, 4)},
        message=f"max ratio {ratio:.4f} vs threshold {threshold}",
    )


def _pass_fail(metric: str, passed: bool, config: Config, details: dict[str, Any]) -> ScorerResult:
    weight = weight_of(config)
    return ScorerResult(
        scorer_name=f"numerical:{metric}",
        score=weight if passed else 0.0,
        max_score=weight,
        passed=bool(passed),
        details=details,
        message="" if passed else f"{metric} check failed: {details}",
    )


def _exact_match(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    match = bool(np.array_equal(pred, ref))
    return _pass_fail("exact_match", match, config, {"match": match})


def _absolute_error(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    tolerance = config.get("tolerance", 1e-6)
    error = float(np.max(np.abs(pred - ref)))
    return _pass_fail(
        "absolute_error", error <= tolerance, config, {"max_absolute_error": error, "tolerance": tolerance}
    )


def _relative_error(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    scale = np.abs(ref)
    error = float(np.max(np.abs(pred - ref) / np.where(scale == 0, 1.0, scale)))
    if "scoring" in config or "threshold" in config:
        result = _scored("relative_error", error, config)
        details = dict(result.details)
        details["max_relative_error"] = details.pop("relative_error")
        return result.model_copy(update={"details": details})
    tolerance = config.get("tolerance", 1e-4)
    weight = weight_of(config)
    passed = error <= tolerance
    meta = {"scoring_mode": "threshold", "raw_fraction": 1.0 if passed else 0.0, "threshold": tolerance}
    score = weight if passed else 0.0
    return ScorerResult(
        scorer_name="numerical:relative_error",
        score=score,
        max_score=weight,
        passed=passed,
        details={"max_relative_error": error, **meta},
        message=_describe("relative_error", error, score, weight, meta),
    )


def _cosine_similarity(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    threshold = config.get("threshold", 0.99)
    a, b = pred.flatten(), ref.flatten()
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    similarity = float(np.dot(a, b) / norms) if norms > 0 else 0.0
    return _pass_fail(
        "cosine_similarity", similarity >= threshold, config, {"cosine_similarity": similarity, "threshold": threshold}
    )


def _rmse(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    return _scored("rmse", float(np.sqrt(np.mean((pred - ref) ** 2))), config)


def _correlation(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(np.corrcoef(pred.flatten(), ref.flatten())[0, 1])
    weight = weight_of(config)
    if config.get("scoring") == "linear_interpolation":
        # Higher is better here: the thresholds are correlation values, not errors.
        full, zero = config.get("full_score_threshold", 0.95), config.get("zero_score_threshold", 0.50)
        if not np.isfinite(corr) or corr <= zero:
            fraction = 0.0
        elif corr >= full:
            fraction = 1.0
        else:
            fraction = (corr - zero) / (full - zero)
        return ScorerResult(
            scorer_name="numerical:correlation",
            score=fraction * weight,
            max_score=weight,
            passed=True,
            details={
                "correlation": corr,
                "scoring_mode": "linear_interpolation",
                "raw_fraction": fraction,
                "full_score_threshold": full,
                "zero_score_threshold": zero,
            },
            message=f"correlation={corr:.4f}; score {fraction * weight:.2f}/{weight:.2f}",
        )
    threshold = config.get("threshold", 0.95)
    passed = bool(np.isfinite(corr) and corr >= threshold)
    return _pass_fail("correlation", passed, config, {"correlation": corr, "threshold": threshold})


def _mape(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    scale = np.abs(ref)
    mask = scale > 0
    error = 0.0 if mask.sum() == 0 else float(np.mean(np.abs(pred[mask] - ref[mask]) / scale[mask]))
    return _scored("mape", error, config)


METRICS: dict[str, Callable[[Path, Path, Config], ScorerResult]] = {
    "relative_l2": _relative_l2,
    "per_frame_relative_l2": _per_frame_relative_l2,
    "mean_relative_l2": _mean_relative_l2,
    "max_ratio": _max_ratio,
    "exact_match": _exact_match,
    "absolute_error": _absolute_error,
    "relative_error": _relative_error,
    "cosine_similarity": _cosine_similarity,
    "rmse": _rmse,
    "correlation": _correlation,
    "mape": _mape,
}


def score_numerical(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    """Compare arrays by ``config['metric']``; any failure to load or compare scores 0 with the reason."""
    metric = config.get("metric", "relative_l2")
    name = f"numerical:{metric}"
    weight = weight_of(config)
    if metric not in METRICS:
        known = ", ".join(METRICS)
        return ScorerResult(
            scorer_name=name,
            score=0.0,
            max_score=weight,
            passed=False,
            details={"error": f"Unknown metric: {metric}"},
            message=f"Unknown metric {metric!r}; known: {known}",
        )
    try:
        return METRICS[metric](pred_dir, ref_dir, config)
    except Exception as exc:  # noqa: BLE001 - missing or malformed outputs score 0
        return ScorerResult(
            scorer_name=name,
            score=0.0,
            max_score=weight,
            passed=False,
            details={"error": str(exc)},
            message=f"Scoring error: {exc}",
        )
