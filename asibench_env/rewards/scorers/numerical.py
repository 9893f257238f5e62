"""``numerical``: compare output arrays (or CSV columns) with the reference by one metric.

Metrics: relative_l2, per_frame_relative_l2, mean_relative_l2, max_ratio, exact_match, absolute_error,
relative_error, cosine_similarity, correlation, rmse, mape. Error metrics map to a score by
``scoring: linear_interpolation`` (full at ``full_score_threshold``, zero at ``zero_score_threshold``),
by ``threshold`` (all or nothing), or else proportionally (``1 - error``). A file that is missing,
unreadable or of the wrong shape scores 0 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers._arrays import load_pair
from asibench_env.rewards.scorers._common import weight_of

Config = dict[str, Any]


def apply_scoring(error: float, config: Config, weight: float) -> tuple[float, bool, dict[str, Any]]:
    """Map an error (lower is better) to ``(score, passed, details)``."""
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
        return fraction * weight, True, meta  # interpolation always "passes"
    threshold = config.get("threshold")
    if threshold is not None:
        passed = error <= threshold
        meta = {"scoring_mode": "threshold", "raw_fraction": 1.0 if passed else 0.0, "threshold": threshold}
        return (weight if passed else 0.0), passed, meta
    fraction = max(0.0, 1.0 - error)
    return fraction * weight, True, {"scoring_mode": "proportional", "raw_fraction": fraction}


def _describe(metric: str, error: float, score: float, weight: float, meta: dict[str, Any]) -> str:
    mode = meta.get("scoring_mode")
    if mode == "non_finite_error":
        return f"{metric} is not finite; score 0.00/{weight:.2f}"
    text = f"{metric}={error:.6g}; score {score:.2f}/{weight:.2f}"
    if mode == "linear_interpolation":
        text += f" (linear: full at <= {meta['full_score_threshold']}, zero at >= {meta['zero_score_threshold']})"
    elif mode == "threshold":
        text += f" ({'<=' if meta['raw_fraction'] else '>'} threshold {meta['threshold']})"
    else:
        text += " (proportional: 1 - error)"
    return text


def _scored(metric: str, error: float, config: Config, key: str | None = None, **extra: Any) -> ScorerResult:
    weight = weight_of(config)
    score, passed, meta = apply_scoring(error, config, weight)
    return ScorerResult(
        scorer_name=f"numerical:{metric}",
        score=score,
        max_score=weight,
        passed=passed,
        details={key or metric: error, **extra, **meta},
        message=_describe(metric, error, score, weight, meta),
    )


def _pass_fail(metric: str, passed: bool, config: Config, details: dict[str, Any], summary: str) -> ScorerResult:
    weight = weight_of(config)
    score = weight if passed else 0.0
    return ScorerResult(
        scorer_name=f"numerical:{metric}",
        score=score,
        max_score=weight,
        passed=passed,
        details=details,
        message=f"{summary}; score {score:.2f}/{weight:.2f}",
    )


def _frame_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """||pred - ref|| / ||ref||, or ||pred|| when the reference is all zeros."""
    ref_norm = np.linalg.norm(ref)
    if ref_norm == 0:
        return float(np.linalg.norm(pred))
    return float(np.linalg.norm(pred - ref) / ref_norm)


def _relative_l2(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    if config.get("nan_policy") == "omit":
        keep = np.isfinite(pred) & np.isfinite(ref)
        pred, ref = pred[keep], ref[keep]
    pred_file = config.get("pred_file", config.get("file"))
    return _scored("relative_l2", _frame_error(pred, ref), config, pred_file=pred_file)


def _per_frame_relative_l2(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    weight = weight_of(config)
    threshold = config.get("threshold", 0.30)
    default_points = weight / pred.shape[0]  # evaluated even when per_item_score is given, as upstream
    per_item = config.get("per_item_score", default_points)
    n_items = config.get("items", pred.shape[0])
    alignment = config.get("alignment", {})
    max_shift = alignment.get("max_shift", 0) if alignment.get("enabled", False) else 0
    total, frames = 0.0, {}
    for i in range(n_items):
        best, best_shift = float("inf"), (0, 0)
        if max_shift > 0:
            for dx in range(-max_shift, max_shift + 1):
                for dy in range(-max_shift, max_shift + 1):
                    error = _frame_error(np.roll(np.roll(pred[i], dx, axis=0), dy, axis=1), ref[i])
                    if error < best:
                        best, best_shift = error, (dx, dy)
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
        message=f"per_frame_relative_l2: {total:.2f}/{weight:.2f} over {n_items} frame(s) at threshold {threshold}",
    )


def _mean_relative_l2(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    errors = [_frame_error(pred[i], ref[i]) for i in range(pred.shape[0])]
    return _scored("mean_relative_l2", float(np.mean(errors)), config, per_frame_errors=errors)


def _max_ratio(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    """max |x| / |x[0]| of the output ``file`` alone (e.g. energy growth); no reference involved."""
    pred = np.load(pred_dir / config.get("file")).astype(np.float64)
    threshold = config.get("threshold", 2.0)
    if pred[0] == 0:
        ratio = float("inf") if np.max(np.abs(pred)) > 0 else 1.0
    else:
        ratio = float(np.max(np.abs(pred)) / np.abs(pred[0]))
    passed = ratio <= threshold
    summary = f"max_ratio={ratio:.4f} {'<=' if passed else '>'} threshold {threshold}"
    return _pass_fail("max_ratio", passed, config, {"ke_ratio": round(ratio, 4)}, summary)


def _exact_match(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    match = bool(np.array_equal(pred, ref))
    return _pass_fail("exact_match", match, config, {"match": match}, f"exact match: {match}")


def _absolute_error(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    tolerance = config.get("tolerance", 1e-6)
    error = float(np.max(np.abs(pred - ref)))
    passed = error <= tolerance
    summary = f"max_absolute_error={error:.6g} {'<=' if passed else '>'} tolerance {tolerance}"
    details = {"max_absolute_error": error, "tolerance": tolerance}
    return _pass_fail("absolute_error", passed, config, details, summary)


def _relative_error(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    scale = np.abs(ref)
    error = float(np.max(np.abs(pred - ref) / np.where(scale == 0, 1.0, scale)))
    if "scoring" in config or "threshold" in config:
        return _scored("relative_error", error, config, key="max_relative_error")
    # Without a scoring mode: all or nothing at ``tolerance`` (default 1e-4).
    weight = weight_of(config)
    tolerance = config.get("tolerance", 1e-4)
    passed = error <= tolerance
    score = weight if passed else 0.0
    meta = {"scoring_mode": "threshold", "raw_fraction": 1.0 if passed else 0.0, "threshold": tolerance}
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
    passed = similarity >= threshold
    summary = f"cosine_similarity={similarity:.6f} {'>=' if passed else '<'} threshold {threshold}"
    details = {"cosine_similarity": similarity, "threshold": threshold}
    return _pass_fail("cosine_similarity", passed, config, details, summary)


def _rmse(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    pred, ref = load_pair(pred_dir, ref_dir, config)
    return _scored("rmse", float(np.sqrt(np.mean((pred - ref) ** 2))), config)


def _correlation(pred_dir: Path, ref_dir: Path, config: Config) -> ScorerResult:
    """Pearson correlation (higher is better): linear between the thresholds, or at least ``threshold``."""
    pred, ref = load_pair(pred_dir, ref_dir, config)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(np.corrcoef(pred.flatten(), ref.flatten())[0, 1])
    weight = weight_of(config)
    if config.get("scoring") == "linear_interpolation":
        full, zero = config.get("full_score_threshold", 0.95), config.get("zero_score_threshold", 0.50)
        if not np.isfinite(corr):
            fraction = 0.0
        elif corr >= full:
            fraction = 1.0
        elif corr <= zero:
            fraction = 0.0
        else:
            fraction = (corr - zero) / (full - zero)
        score = fraction * weight
        return ScorerResult(
            scorer_name="numerical:correlation",
            score=score,
            max_score=weight,
            passed=True,
            details={
                "correlation": corr,
                "scoring_mode": "linear_interpolation",
                "raw_fraction": fraction,
                "full_score_threshold": full,
                "zero_score_threshold": zero,
            },
            message=f"correlation={corr:.4f}; score {score:.2f}/{weight:.2f} (linear: 0 at <= {zero}, full at >= {full})",
        )
    threshold = config.get("threshold", 0.95)
    passed = bool(np.isfinite(corr) and corr >= threshold)
    summary = f"correlation={corr:.4f} {'>=' if passed else 'not >='} threshold {threshold}"
    return _pass_fail("correlation", passed, config, {"correlation": corr, "threshold": threshold}, summary)


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
    """Score by ``config['metric']`` (default relative_l2); any failure to load or compare scores 0."""
    metric = config.get("metric", "relative_l2")
    name = f"numerical:{metric}"
    weight = weight_of(config)
    function = METRICS.get(metric) if isinstance(metric, str) else None
    if function is None:
        return ScorerResult(
            scorer_name=name,
            score=0.0,
            max_score=weight,
            passed=False,
            details={"error": f"Unknown metric: {metric}"},
            message=f"Unknown metric {metric!r}; known: {', '.join(METRICS)}",
        )
    try:
        return function(pred_dir, ref_dir, config)
    except Exception as exc:  # noqa: BLE001 - missing or malformed outputs score 0
        return ScorerResult(
            scorer_name=name,
            score=0.0,
            max_score=weight,
            passed=False,
            details={"error": str(exc)},
            message=f"Scoring error: {exc}",
        )
