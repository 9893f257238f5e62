"""Helpers shared by the native scorers."""

from __future__ import annotations

from typing import Any


def weight_of(config: dict[str, Any]) -> float:
    return config.get("weight", 1.0)


def fraction_score(results: list[dict[str, Any]], weight: float, mode: str) -> float:
    """all_or_nothing: the full weight only if every check passed; per_check: the passed share of it."""
    if mode == "all_or_nothing":
        return weight if all(r.get("passed", False) for r in results) else 0.0
    if mode == "per_check":
        if not results:
            return weight
        return weight * sum(1 for r in results if r.get("passed", False)) / len(results)
    raise ValueError(f"unknown scoring_mode {mode!r}; use all_or_nothing or per_check")


def failure_message(results: list[dict[str, Any]], all_passed: bool, fallback: str) -> str:
    if all_passed:
        return ""
    messages = [r["message"] for r in results if not r.get("passed") and r.get("message")]
    return "; ".join(messages) if messages else fallback
