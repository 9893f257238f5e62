"""Task custom scorers: ``custom_scorer.py`` registers classes through the official registry.

Each task's module is loaded once under its own module name, and only the classes it defined are
looked up for that task, so two tasks' scorers of the same name never collide.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import cache
from pathlib import Path
from typing import Any

from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers import NATIVE_SCORERS, ScorerFn

CUSTOM_SCORER_FILE = "custom_scorer.py"


@cache
def task_scorers(task_dir: Path) -> dict[str, type]:
    """The scorer classes a task's custom_scorer.py registers, by name (empty when it has none)."""
    path = Path(task_dir) / CUSTOM_SCORER_FILE
    if not path.is_file():
        return {}
    from ai4sci_bench.core import scorer as official

    _register_native_builtins(official)
    module_name = "asibench_custom_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return {
        name: cls
        for name, cls in official._SCORER_REGISTRY.items()  # noqa: SLF001 - the registry is the official contract
        if getattr(cls, "__module__", None) == module_name
    }


def run_official_scorer(cls: type, pred_dir: Path, ref_dir: Path, config: dict[str, Any]) -> ScorerResult:
    """Run an official-style scorer class and convert its ScoreDetail."""
    detail = cls().score(pred_dir, ref_dir, config)
    return ScorerResult(
        scorer_name=detail.scorer_name,
        score=detail.score,
        max_score=detail.max_score,
        passed=bool(detail.passed),
        details=detail.details or {},
        message=detail.message or "",
        severity=detail.severity,
    )


def _register_native_builtins(official: Any) -> None:
    """Custom scorers may delegate to built-ins through ``get_scorer``; serve those from the native ones."""
    from ai4sci_bench.core.types import ScoreDetail

    for name, function in NATIVE_SCORERS.items():
        if name in official._SCORER_REGISTRY:  # noqa: SLF001
            continue

        def score(
            self: Any,
            pred_dir: str | Path,
            ref_dir: str | Path,
            config: dict[str, Any],
            _function: ScorerFn = function,
        ) -> ScoreDetail:
            result = _function(Path(pred_dir), Path(ref_dir), config)
            return ScoreDetail(
                scorer_name=result.scorer_name,
                score=result.score,
                max_score=result.max_score,
                passed=result.passed,
                details=result.details,
                message=result.message,
            )

        official.register_scorer(name)(type(f"Native_{name}", (official.Scorer,), {"score": score}))
