"""Scorer for the fitted rate law of chemistry.consecutive_reaction_kinetics.

Reads results/rate_law.json from the submission and rate_law_ref.json from the reference folder. Shares
of the weight: the order of the first step (exact), k1 (credited only when the order is right, since
its units depend on the order), k2, and the time of the [B] maximum of the new run. Each of the last
three earns full credit within `full_score_threshold` relative error, none beyond
`zero_score_threshold`, linearly in between. Any unreadable or malformed submission scores 0 with a
message; the scorer never raises.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ai4sci_bench.core.scorer import Scorer, register_scorer
from ai4sci_bench.core.types import ScoreDetail

SHARES = {"order_A": 0.3, "k1": 0.25, "k2": 0.25, "t_max_min": 0.2}


def _ramp(error: float, full: float, zero: float) -> float:
    if not math.isfinite(error):
        return 0.0
    if error <= full:
        return 1.0
    if error >= zero:
        return 0.0
    return 1.0 - (error - full) / (zero - full)


@register_scorer("kinetics_rate_law")
class KineticsRateLawScorer(Scorer):
    def score(self, pred_dir: Path, ref_dir: Path, config: dict) -> ScoreDetail:
        weight = float(config.get("weight", 1.0))
        pred_file = str(config.get("pred_file", "results/rate_law.json"))
        ref_file = str(config.get("ref_file", "rate_law_ref.json"))
        full = float(config.get("full_score_threshold", 0.05))
        zero = float(config.get("zero_score_threshold", 0.5))

        def fail(message: str) -> ScoreDetail:
            return ScoreDetail(
                scorer_name="kinetics_rate_law", score=0.0, max_score=weight, passed=False, details={}, message=message
            )

        try:
            ref = json.loads((Path(ref_dir) / ref_file).read_text(encoding="utf-8"))
        except Exception as exc:  # a broken reference is reported, not raised
            return fail(f"reference unreadable: {type(exc).__name__}")
        try:
            pred = json.loads((Path(pred_dir) / pred_file).read_text(encoding="utf-8"))
        except Exception as exc:
            return fail(f"{pred_file} missing or not valid JSON ({type(exc).__name__})")
        if not isinstance(pred, dict):
            return fail(f"{pred_file} must hold a JSON object")

        def number(key: str) -> float | None:
            value = pred.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            value = float(value)
            return value if math.isfinite(value) else None

        fractions: dict[str, float] = {}
        errors: dict[str, float | None] = {}
        order = number("order_A")
        order_right = order is not None and order == float(ref["order_A"])
        fractions["order_A"] = 1.0 if order_right else 0.0
        for key in ("k1", "k2", "t_max_min"):
            value = number(key)
            if value is None:
                errors[key], fractions[key] = None, 0.0
                continue
            err = abs(value - ref[key]) / abs(ref[key])
            errors[key] = err
            fractions[key] = _ramp(err, full, zero)
        if not order_right:
            fractions["k1"] = 0.0  # k1 of the wrong rate law has different units
        raw = sum(SHARES[k] * fractions[k] for k in SHARES)
        score = raw * weight
        parts = ", ".join(
            f"{k}: {'n/a' if errors.get(k) is None else format(errors[k], '.3g')}" for k in ("k1", "k2", "t_max_min")
        )
        message = (
            f"order {'correct' if order_right else 'wrong'}; relative errors {parts}; score={score:.2f}/{weight:.2f}"
        )
        return ScoreDetail(
            scorer_name="kinetics_rate_law",
            score=score,
            max_score=weight,
            passed=raw > 0,
            details={"fractions": fractions, "relative_errors": errors},
            message=message,
        )
